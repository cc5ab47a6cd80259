// storage/curl_http_client.h — HttpClient on libcurl, signing every request
// with AWS Signature Version 4 (libcurl's CURLOPT_AWS_SIGV4) for one
// endpoint, region and credential.
//
// Connections: at most `max_connections` requests are in flight; each
// borrows a curl handle from a pool, and a handle keeps its connection open
// for the next request, so a run reuses a few connections instead of
// opening one per object. Bounds: 10 s to connect, a transfer slower than
// 1 KiB/s for 30 s is abandoned, redirects are not followed.
//
// The secret key is handed to libcurl only; it never appears in a URL, a
// message or an error. Errors name the endpoint and what failed.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/http_client.h"

namespace pgkeep {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials; empty when unused
};

struct CurlHttpOptions {
  std::string base_url;  // scheme://host[:port], no trailing '/'
  std::string region;
  S3Credentials credentials;
  int max_connections = 8;
  std::string ca_file;  // CA bundle for a private endpoint's certificate; empty: the system's
  bool verify_tls = true;
  // Tests reach AWS's published examples this way: a host name resolved to
  // another address ("host:port:127.0.0.1:port"); empty in production.
  std::string connect_to;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpOptions options);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  Result<HttpResponse> Send(const HttpRequest& request) override;
  HttpCounters Counters() const override;

 private:
  struct Handle;
  std::unique_ptr<Handle> Borrow();
  void Return(std::unique_ptr<Handle> handle);

  CurlHttpOptions options_;
  std::string sigv4_;  // "aws:amz:<region>:s3"
  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Handle>> idle_;
  int in_use_ = 0;
  HttpCounters counters_;
};

}  // namespace pgkeep
