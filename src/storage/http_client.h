// storage/http_client.h — the one way object-store drivers talk to the
// network: one HTTP request in, one response out. The real client
// (CurlHttpClient) signs with AWS SigV4 and reuses connections; tests put a
// fake or a fault-injecting server behind it.
//
// A client does not retry and does not interpret statuses: an answer of any
// status is a response; only a request that got no complete answer
// (connection refused or reset, timeout, TLS failure) is an error (kIo).
//
// Thread safety: Send may be called from several threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

struct HttpRequest {
  std::string method;  // GET, HEAD, PUT, POST, DELETE
  // Path and query as sent: already percent-encoded, query names sorted
  // ("/bucket/key?partNumber=1&uploadId=x"); signing depends on it.
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  ByteView body;
  // A response body longer than this fails the request (kIo) instead of
  // being held in memory.
  uint64_t max_response_bytes = 16 << 20;
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercase
  Bytes body;

  std::optional<std::string> Header(const std::string& lowercase_name) const {
    for (const auto& [name, value] : headers)
      if (name == lowercase_name) return value;
    return std::nullopt;
  }
};

// What a client does with the connection, counted for benchmarks and tests.
struct HttpCounters {
  uint64_t requests = 0;
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
  virtual HttpCounters Counters() const = 0;
};

}  // namespace pgkeep
