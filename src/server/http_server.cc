#include "server/http_server.h"

#include <httplib.h>

#include <optional>

namespace pgkeep {

namespace {

ApiRequest ToApiRequest(const httplib::Request& req) {
  ApiRequest r;
  r.method = req.method;
  r.path = req.path;
  for (const auto& [key, value] : req.params) r.query.emplace(key, value);
  r.authorization = req.get_header_value("Authorization");
  r.internal_key = req.get_header_value("x-internal-key");
  r.body = req.body;
  return r;
}

void Send(const ApiResponse& a, httplib::Response& res) {
  res.status = a.status;
  res.set_content(a.body, a.content_type.c_str());
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
}

}  // namespace

HttpServer::HttpServer(const ApiRouter& router, HttpServerOptions options)
    : router_(router), options_(std::move(options)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  const size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos)
    return Status::Error(ErrorCode::kConfig,
                         "listen address \"" + options_.listen + "\" is not HOST:PORT");
  std::string host = options_.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  const int port = std::atoi(options_.listen.c_str() + colon + 1);
  if (options_.tls_cert.empty()) {
    server_ = std::make_unique<httplib::Server>();
  } else {
    auto tls =
        std::make_unique<httplib::SSLServer>(options_.tls_cert.c_str(), options_.tls_key.c_str());
    if (!tls->is_valid())
      return Status::Error(ErrorCode::kConfig,
                           "cannot use the TLS certificate \"" + options_.tls_cert +
                               "\" with the key \"" + options_.tls_key + "\"",
                           "both must be PEM files the daemon can read, and belong together");
    server_ = std::move(tls);
  }
  httplib::Server& s = *server_;
  s.set_payload_max_length(kMaxRequestBody);
  s.set_read_timeout(10, 0);
  s.set_write_timeout(10, 0);
  s.set_keep_alive_max_count(100);
  s.set_keep_alive_timeout(5);
  // Answers go out at once, not after the client's delayed ACK (~40 ms).
  s.set_tcp_nodelay(true);
  // A kept-alive connection holds a worker while it stays open: enough of
  // them that a dashboard, Prometheus and a few scripts never queue behind
  // each other. cpp-httplib owns (and deletes) the queue it is given.
  s.new_task_queue = [] { return new httplib::ThreadPool(kHttpWorkers); };

  auto handle = [this](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" && options_.static_file) {
      if (const StaticFile* file = options_.static_file(req.path)) {
        res.set_content(file->body, file->content_type.c_str());
        res.set_header("Cache-Control", "no-cache");
        res.set_header("X-Content-Type-Options", "nosniff");
        res.set_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
        return;
      }
    }
    ApiResponse a = router_.Handle(ToApiRequest(req));
    if (a.status >= 500 && options_.log)
      options_.log(req.method + " " + req.path + ": " + std::to_string(a.status));
    Send(a, res);
  };
  for (const char* pattern : {R"(/.*)"}) {
    s.Get(pattern, handle);
    s.Post(pattern, handle);
    s.Put(pattern, handle);
    s.Delete(pattern, handle);
    s.Patch(pattern, handle);
    s.Options(pattern, handle);
  }
  // Refusals that need no body are made before the body is read: a chunked
  // body (its size is not known up front; 411), and anything the router
  // refuses on its route, method or key. The connection then closes, so an
  // unread body is never taken for the next request.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    using Handled = httplib::Server::HandlerResponse;
    if (req.method == "GET" && options_.static_file && options_.static_file(req.path))
      return Handled::Unhandled;
    std::optional<ApiResponse> refused;
    if (req.has_header("Transfer-Encoding"))
      refused = ApiError(411, "a chunked request body is not accepted",
                         "send the body with a Content-Length (at most 64 KiB)");
    else
      refused = router_.Precheck(req.method, req.path, req.get_header_value("Authorization"),
                                 nullptr, req.get_header_value("x-internal-key"));
    if (!refused) return Handled::Unhandled;
    Send(*refused, res);
    res.set_header("Connection", "close");
    return Handled::Handled;
  });
  // What cpp-httplib answers itself (413 for a body over the bound, 400 for
  // a request it cannot parse) gets a JSON body too.
  s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string message =
        res.status == 413
            ? "the request body is larger than " + std::to_string(kMaxRequestBody / 1024) + " KiB"
            : "bad request (HTTP " + std::to_string(res.status) + ")";
    res.set_content(ApiError(res.status, message).body, "application/json");
  });
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content(ApiError(500, "internal error").body, "application/json");
  });

  if (port == 0) {
    port_ = s.bind_to_any_port(host);
  } else {
    port_ = s.bind_to_port(host, port) ? port : -1;
  }
  if (port_ <= 0)
    return Status::Error(ErrorCode::kIo, "cannot listen on " + options_.listen,
                         "is another process using the port, or is the address not local?");
  ended_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    ended_ = true;
  });
  // Until it listens, a stop would not reach it: wait for it (microseconds).
  while (!server_->is_running() && !ended_) std::this_thread::yield();
  if (ended_) {
    thread_.join();
    return Status::Error(ErrorCode::kIo, "cannot listen on " + options_.listen);
  }
  return Status::Ok();
}

void HttpServer::Stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace pgkeep
