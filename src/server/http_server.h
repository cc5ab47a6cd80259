// server/http_server.h — the API router (server/api.h) and the dashboard on
// a socket, through cpp-httplib: plain HTTP, or HTTPS when a certificate and
// key are configured ([server] tls_cert / tls_key).
//
// Bounds: a request body over 64 KiB is refused with 413; reads and writes
// time out after 10 s; keep-alive connections close after 100 requests or 5
// idle seconds; 64 worker threads serve connections. Every error answer is
// JSON.
//
// Thread safety: Start and Stop from one thread; requests are served on
// cpp-httplib's worker threads.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/status.h"
#include "server/api.h"

namespace httplib {
class Server;
}

namespace pgkeep {

inline constexpr size_t kMaxRequestBody = 64 * 1024;
inline constexpr size_t kHttpWorkers = 64;

struct StaticFile {
  std::string content_type;
  std::string body;
};

struct HttpServerOptions {
  std::string listen;             // HOST:PORT
  std::string tls_cert, tls_key;  // both or neither
  // Files served without a key (the dashboard), by path; "/" included.
  std::function<const StaticFile*(const std::string& path)> static_file;
  // Called for every 5xx answer (never with a key in it).
  std::function<void(const std::string&)> log;
};

class HttpServer {
 public:
  HttpServer(const ApiRouter& router, HttpServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on a thread of its own.
  // Failure: kConfig for a bad listen address or unreadable certificate,
  // kIo when the address cannot be bound (in use, not local).
  Status Start();
  // Stops accepting, finishes requests in flight, joins. Idempotent.
  void Stop();
  int port() const { return port_; }

 private:
  const ApiRouter& router_;
  HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> ended_{false};  // the listening thread returned
  int port_ = 0;
};

}  // namespace pgkeep
