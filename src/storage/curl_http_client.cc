#include "storage/curl_http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace pgkeep {

namespace {

struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  bool too_large = false;
};

// The body's Content-Length when it is given and within bounds: the body
// is then received into one buffer, not one regrown a dozen times.
size_t ExpectedBodySize(const HttpResponse& response, uint64_t max_bytes) {
  auto length = response.Header("content-length");
  uint64_t n = 0;
  if (!length ||
      std::from_chars(length->data(), length->data() + length->size(), n).ec != std::errc())
    return 0;
  return n <= max_bytes ? n : 0;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t.response->body.size() + len > t.request->max_response_bytes) {
    t.too_large = true;
    return 0;  // less than given: libcurl stops the transfer
  }
  Bytes& body = t.response->body;
  if (body.empty()) body.reserve(ExpectedBodySize(*t.response, t.request->max_response_bytes));
  Append(body, ByteView(reinterpret_cast<const uint8_t*>(data), len));
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    t.response->headers.clear();  // a new response (after 100 Continue)
    return len;
  }
  const size_t colon = line.find(':');
  if (colon == std::string::npos || t.response->headers.size() >= 200) return len;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string value = line.substr(colon + 1);
  const size_t first = value.find_first_not_of(" \t");
  const size_t last = value.find_last_not_of(" \t\r\n");
  value = first == std::string::npos ? "" : value.substr(first, last - first + 1);
  t.response->headers.emplace_back(std::move(name), std::move(value));
  return len;
}

}  // namespace

struct CurlHttpClient::Handle {
  CURL* curl = nullptr;
  Handle() : curl(curl_easy_init()) {}
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

CurlHttpClient::CurlHttpClient(CurlHttpOptions options) : options_(std::move(options)) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sigv4_ = "aws:amz:" + options_.region + ":s3";
  options_.max_connections = std::clamp(options_.max_connections, 1, 64);
}

CurlHttpClient::~CurlHttpClient() = default;

std::unique_ptr<CurlHttpClient::Handle> CurlHttpClient::Borrow() {
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return in_use_ < options_.max_connections; });
  ++in_use_;
  if (!idle_.empty()) {
    auto handle = std::move(idle_.back());
    idle_.pop_back();
    return handle;
  }
  lock.unlock();
  return std::make_unique<Handle>();
}

void CurlHttpClient::Return(std::unique_ptr<Handle> handle) {
  std::lock_guard lock(mu_);
  --in_use_;
  if (handle && handle->curl != nullptr) idle_.push_back(std::move(handle));
  returned_.notify_one();
}

HttpCounters CurlHttpClient::Counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  auto handle = Borrow();
  CURL* c = handle->curl;
  if (c == nullptr) {
    Return(nullptr);
    return Status::Error(ErrorCode::kInternal, "cannot start an HTTP request (libcurl)");
  }
  curl_easy_reset(c);  // keeps the connection, clears the last request's options

  HttpResponse response;
  Transfer transfer{&request, &response};
  Slist headers;
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
  };
  for (const auto& [name, value] : request.headers) add_header(name + ": " + value);
  if (!options_.credentials.session_token.empty())
    add_header("x-amz-security-token: " + options_.credentials.session_token);
  const std::string url = options_.base_url + request.target;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_USERNAME, options_.credentials.access_key.c_str());
  curl_easy_setopt(c, CURLOPT_PASSWORD, options_.credentials.secret_key.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4_.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  // libcurl asks before a large body ("Expect: 100-continue"), which costs a
  // round trip per upload. Removing the header with "Expect:" would make
  // libcurl 7.88 sign it as an empty header that is never sent, so the wait
  // is cut short instead.
  curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  if (!options_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.verify_tls) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  Slist connect_to;
  if (!options_.connect_to.empty()) {
    connect_to.reset(curl_slist_append(nullptr, options_.connect_to.c_str()));
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }
  // The body goes as "postfields" whatever the method: libcurl then hashes
  // exactly these bytes into the signature, and sends them without a copy.
  if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, reinterpret_cast<const char*>(request.body.data()));
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  {
    std::lock_guard lock(mu_);
    ++counters_.requests;
    counters_.bytes_sent += request.body.size();
    counters_.bytes_received += response.body.size();
  }
  Return(std::move(handle));
  // Sending again would get the same answer: not kIo, which is retried.
  if (transfer.too_large)
    return Status::Error(ErrorCode::kRepoFormat, request.method + " " + options_.base_url +
                                                     ": the answer is larger than the " +
                                                     std::to_string(request.max_response_bytes) +
                                                     " bytes pgkeep reads for it");
  if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
      rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
    return Status::Error(
        ErrorCode::kConfig,
        request.method + " " + options_.base_url + ": " + curl_easy_strerror(rc),
        "check endpoint, and ca_file for a private certificate authority ([repository.s3])");
  if (rc != CURLE_OK)
    return Status::Error(ErrorCode::kIo,
                         request.method + " " + options_.base_url + ": " + curl_easy_strerror(rc));
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace pgkeep
