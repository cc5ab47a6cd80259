// server/api.h — the HTTP API's routes, independent of any socket: a request
// in, a response out (server/http_server.h puts it on the network). The
// routes and their JSON are documented in docs/api.md.
//
//   GET  /health                 no key: is the daemon serving
//   GET  /api/status             viewer: `pgkeep status` JSON, refreshed in the background
//   GET  /api/backups[?db=]      viewer: backups, newest last
//   POST /api/backups            operator: {"db":..,"type":..} queued now; 202 + job id
//   GET  /api/jobs[?db=&limit=]  viewer: job runs, newest first
//   GET  /api/jobs/<id>          viewer: one run, with its output
//   GET  /api/drills[?db=]       viewer: drill reports
//   POST /api/drills             operator: {"db":..} queued now; 202 + job id
//   GET  /api/health[?db=]       viewer: the newest health sample per database
//   GET  /api/alerts             viewer: the alerts open now
//   GET  /api/databases          viewer: each database's settings (schedule, retention, targets)
//   GET  /api/whoami             viewer: the key's name and role (the dashboard's login)
//   GET  /metrics                viewer: Prometheus text format
//   POST /internal/retention/run x-internal-key: every [[retention_policy]]
//                                run now; the seed team's answer shape
//
// Every error is JSON, {"error": "...", "hint": "..."}: 401 without a valid
// key (the same answer for a missing and a wrong one), 403 for a role too
// low, 400 for a malformed body or parameter, 404 for an unknown route or
// database, 405 for a known route with another method, 503 before the
// first refresh. Keys are never echoed or logged.
//
// Thread safety: Handle may be called from many threads at once; what it
// reads is immutable (DaemonSnapshot) or serialised (StateStore).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "config/config.h"
#include "server/api_auth.h"
#include "server/daemon_view.h"
#include "state/state_store.h"

namespace pgkeep {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query
  std::map<std::string, std::string> query;
  std::string authorization;  // the Authorization header, or empty
  std::string internal_key;   // the x-internal-key header, or empty
  std::string body;
};

struct ApiResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// A job asked for through the API: what the daemon should run.
struct ManualJob {
  std::string kind;      // "full", "incr", "logical", "drill"
  std::string database;  // a configured database
  std::string caller;    // the API key's name, for the record
};

// What a reload (SIGHUP) replaces as one.
struct ApiSettings {
  Config config;
  ApiAuth auth;
};

struct ApiDeps {
  // The settings of the moment (a request keeps the ones it started with).
  std::function<std::shared_ptr<const ApiSettings>()> settings;
  const DaemonView* view = nullptr;
  StateStore* state = nullptr;
  // Records the job as queued and hands it to the daemon's loop; the run id.
  std::function<Result<int64_t>(const ManualJob&)> submit;
  // The Prometheus text of the moment.
  std::function<std::string()> metrics;
  // Runs `pgkeep retention run` to the end; its JSON output.
  std::function<Result<nlohmann::json>()> run_retention;
  // The time now, Unix seconds (the retention answer's timestamp).
  std::function<int64_t()> now;
};

class ApiRouter {
 public:
  explicit ApiRouter(ApiDeps deps) : deps_(std::move(deps)) {}
  ApiResponse Handle(const ApiRequest& request) const;
  // The answer when the route, method, key or role refuses the request
  // before its body is read (the HTTP server calls it first); nullopt
  // when it may go on. Sets *caller when a key was checked.
  std::optional<ApiResponse> Precheck(const std::string& method, const std::string& path,
                                      const std::string& authorization,
                                      std::optional<ApiCaller>* caller = nullptr,
                                      const std::string& internal_key = "") const;

 private:
  ApiResponse StatusRoute(const ApiRequest& r) const;
  ApiResponse Backups(const ApiRequest& r, const Config& config) const;
  ApiResponse Drills(const ApiRequest& r, const Config& config) const;
  ApiResponse Jobs(const ApiRequest& r, const Config& config) const;
  ApiResponse Job(const std::string& id) const;
  ApiResponse Health(const ApiRequest& r, const Config& config) const;
  ApiResponse Alerts() const;
  ApiResponse Databases(const Config& config) const;
  ApiResponse RetentionRun() const;
  ApiResponse Submit(const ApiRequest& r, const Config& config, const ApiCaller& caller,
                     bool drill) const;

  ApiDeps deps_;
};

// {"error": message, "hint": hint} with `status`.
ApiResponse ApiError(int status, const std::string& message, const std::string& hint = "");

}  // namespace pgkeep
