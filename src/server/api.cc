#include "server/api.h"

#include <charconv>

#include "common/clock.h"

namespace pgkeep {

namespace {

ApiResponse Json(int status, const nlohmann::json& body) {
  ApiResponse r;
  r.status = status;
  // Invalid UTF-8 from a child's output is replaced, never a throw mid-request.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

std::string QueryOr(const ApiRequest& r, const std::string& key, const std::string& fallback) {
  auto it = r.query.find(key);
  return it == r.query.end() ? fallback : it->second;
}

nlohmann::json RunToJson(const JobRun& run, bool with_figures) {
  nlohmann::json j = {{"id", run.id},
                      {"job", run.job},
                      {"kind", run.kind},
                      {"database", run.database},
                      {"trigger", run.trigger},
                      {"result", run.result},
                      {"started", FormatIsoTime(run.started)},
                      {"started_unix", run.started}};
  if (run.slot > 0) j["slot"] = FormatIsoTime(run.slot);
  if (run.finished) {
    j["finished"] = FormatIsoTime(*run.finished);
    j["finished_unix"] = *run.finished;
    j["seconds"] = *run.finished - run.started;
  }
  if (run.exit_code) j["exit_code"] = *run.exit_code;
  if (!run.error.empty()) j["error"] = run.error;
  if (with_figures && !run.figures.is_null()) j["output"] = run.figures;
  return j;
}

// Filters an array of objects to those whose `field` (a JSON pointer) is `db`.
nlohmann::json OfDatabase(const nlohmann::json& items, const nlohmann::json::json_pointer& field,
                          const std::string& db) {
  if (db.empty()) return items;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : items)
    if (item.is_object() && item.contains(field) && item.at(field) == db) out.push_back(item);
  return out;
}

// nullopt when `db` is empty or configured; else the 404 to answer.
std::optional<ApiResponse> UnknownDatabase(const Config& config, const std::string& db) {
  if (db.empty() || config.databases.count(db) > 0) return std::nullopt;
  return ApiError(404, "unknown database \"" + db.substr(0, 200) + "\"",
                  "the databases are the [database.NAME] tables of the configuration");
}

}  // namespace

ApiResponse ApiError(int status, const std::string& message, const std::string& hint) {
  nlohmann::json body = {{"error", message}};
  if (!hint.empty()) body["hint"] = hint;
  return Json(status, body);
}

namespace {

struct Route {
  const char* path;
  bool prefix;
  const char* methods;  // the methods it answers, space-separated
};

constexpr Route kRoutes[] = {
    {"/health", false, "GET"},          {"/metrics", false, "GET"},
    {"/api/status", false, "GET"},      {"/api/backups", false, "GET POST"},
    {"/api/drills", false, "GET POST"}, {"/api/jobs", false, "GET"},
    {"/api/jobs/", true, "GET"},        {"/api/health", false, "GET"},
    {"/api/alerts", false, "GET"},      {"/api/databases", false, "GET"},
    {"/api/whoami", false, "GET"},      {"/internal/retention/run", false, "POST"},
};

bool Answers(const Route& route, const std::string& method) {
  std::string_view methods = route.methods;
  while (!methods.empty()) {
    const size_t space = methods.find(' ');
    if (methods.substr(0, space) == method) return true;
    if (space == std::string_view::npos) break;
    methods.remove_prefix(space + 1);
  }
  return false;
}

}  // namespace

std::optional<ApiResponse> ApiRouter::Precheck(const std::string& method, const std::string& p,
                                               const std::string& authorization,
                                               std::optional<ApiCaller>* caller,
                                               const std::string& internal_key) const {
  const Route* route = nullptr;
  for (const Route& candidate : kRoutes) {
    if (candidate.prefix ? p.rfind(candidate.path, 0) == 0 : p == candidate.path) {
      route = &candidate;
      break;
    }
  }
  if (route == nullptr)
    return ApiError(404, "no such route: " + method.substr(0, 16) + " " + p.substr(0, 200),
                    "the routes are listed in docs/api.md");
  if (!Answers(*route, method))
    return ApiError(405, "method " + method.substr(0, 16) + " is not allowed on " + route->path,
                    std::string("use ") + route->methods);
  if (p == "/health") return std::nullopt;
  const auto settings = deps_.settings();
  // The internal endpoints take the internal key, and only it.
  if (p.rfind("/internal/", 0) == 0) {
    if (!settings->auth.has_internal_key())
      return ApiError(404, "the internal endpoints are disabled",
                      "set internal_key_env or internal_key_file in [server]");
    if (!settings->auth.IsInternalKey(internal_key))
      return ApiError(401, "missing or invalid internal key",
                      "send the header \"x-internal-key: <key>\"");
    return std::nullopt;
  }
  if (!settings->auth.has_keys())
    return ApiError(401, "no API keys are configured",
                    "add [[server.api_keys]] with a name, a role and key_env or key_file");
  auto who = settings->auth.Authenticate(authorization);
  if (!who)
    return ApiError(401, "missing or invalid API key",
                    "send the header \"Authorization: Bearer <key>\"");
  const ApiRole needed = method == "POST" ? ApiRole::kOperator : ApiRole::kViewer;
  if (who->role < needed)
    return ApiError(403,
                    std::string("API key \"") + who->name + "\" has the role " +
                        ApiRoleName(who->role) + "; this needs " + ApiRoleName(needed),
                    "use a key with the operator or admin role");
  if (caller) *caller = who;
  return std::nullopt;
}

ApiResponse ApiRouter::Handle(const ApiRequest& r) const {
  const std::string& p = r.path;
  std::optional<ApiCaller> caller;
  if (auto refused = Precheck(r.method, p, r.authorization, &caller, r.internal_key))
    return *refused;
  if (p == "/internal/retention/run") return RetentionRun();
  if (p == "/health") {
    auto snap = deps_.view->Get();
    return Json(200, {{"ok", true},
                      {"serving", true},
                      {"started", FormatIsoTime(snap->started)},
                      {"refreshed", snap->refreshed > 0}});
  }
  const auto settings = deps_.settings();
  const Config& config = settings->config;
  const bool write = r.method == "POST";

  if (p == "/metrics") {
    ApiResponse out;
    out.content_type = "text/plain; version=0.0.4; charset=utf-8";
    out.body = deps_.metrics ? deps_.metrics() : "";
    return out;
  }
  if (p == "/api/status") return StatusRoute(r);
  if (p == "/api/backups") return write ? Submit(r, config, *caller, false) : Backups(r, config);
  if (p == "/api/drills") return write ? Submit(r, config, *caller, true) : Drills(r, config);
  if (p == "/api/jobs") return Jobs(r, config);
  if (p == "/api/health") return Health(r, config);
  if (p == "/api/alerts") return Alerts();
  if (p == "/api/databases") return Databases(config);
  if (p == "/api/whoami")
    return Json(200, {{"ok", true}, {"name", caller->name}, {"role", ApiRoleName(caller->role)}});
  return Job(p.substr(std::string_view("/api/jobs/").size()));
}

// The answer the seed team's endpoint gave, key for key, so that callers
// keep working.
ApiResponse ApiRouter::RetentionRun() const {
  if (!deps_.run_retention) return ApiError(503, "retention runs are not available");
  auto ran = deps_.run_retention();
  if (!ran.ok())
    return ApiError(ran.status().code() == ErrorCode::kLocked ? 409 : 500, ran.status().message(),
                    ran.status().hint());
  const nlohmann::json& o = *ran;
  if (!o.is_object())
    return ApiError(500, "the retention run finished, but its result could not be read",
                    "see the job history (GET /api/jobs) and the daemon's log");
  int64_t ms = 0;
  for (const auto& p : o.value("policies", nlohmann::json::array()))
    ms += p.value("duration_ms", int64_t{0});
  // In the seed's key order too (ordered_json), for callers that compare text.
  const nlohmann::ordered_json body = {{"ok", true},
                                       {"orgsProcessed", o.value("tenants_processed", int64_t{0})},
                                       {"messagesDeleted", o.value("deleted", int64_t{0})},
                                       {"messagesRedacted", o.value("redacted", int64_t{0})},
                                       {"duration_ms", ms},
                                       {"timestamp", FormatIsoTime(deps_.now ? deps_.now() : 0)}};
  ApiResponse out;
  out.body = body.dump();
  return out;
}

ApiResponse ApiRouter::StatusRoute(const ApiRequest&) const {
  auto snap = deps_.view->Get();
  if (snap->status.is_null()) {
    return ApiError(503,
                    snap->refresh_error.empty()
                        ? "the status is being computed for the first time"
                        : "the status could not be computed: " + snap->refresh_error,
                    "try again in a few seconds");
  }
  nlohmann::json body = snap->status;
  body["refreshed"] = FormatIsoTime(snap->refreshed);
  if (!snap->refresh_error.empty()) body["refresh_error"] = snap->refresh_error;
  return Json(200, body);
}

ApiResponse ApiRouter::Backups(const ApiRequest& r, const Config& config) const {
  const std::string db = QueryOr(r, "db", "");
  if (auto bad = UnknownDatabase(config, db)) return *bad;
  auto snap = deps_.view->Get();
  return Json(200, {{"ok", true},
                    {"refreshed", snap->refreshed > 0 ? FormatIsoTime(snap->refreshed) : ""},
                    {"backups", OfDatabase(snap->backups, "/meta/database"_json_pointer, db)}});
}

ApiResponse ApiRouter::Drills(const ApiRequest& r, const Config& config) const {
  const std::string db = QueryOr(r, "db", "");
  if (auto bad = UnknownDatabase(config, db)) return *bad;
  auto snap = deps_.view->Get();
  return Json(200,
              {{"ok", true}, {"drills", OfDatabase(snap->drills, "/database"_json_pointer, db)}});
}

ApiResponse ApiRouter::Jobs(const ApiRequest& r, const Config& config) const {
  const std::string db = QueryOr(r, "db", "");
  if (auto bad = UnknownDatabase(config, db)) return *bad;
  int limit = 50;
  if (auto it = r.query.find("limit"); it != r.query.end()) {
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), limit);
    if (ec != std::errc() || end != text.data() + text.size() || limit < 1 || limit > 1000)
      return ApiError(400, "limit must be a whole number from 1 to 1000", "for instance ?limit=50");
  }
  auto runs = deps_.state->RecentRuns(limit, db);
  if (!runs.ok()) return ApiError(500, runs.status().message());
  nlohmann::json list = nlohmann::json::array();
  for (const JobRun& run : *runs) list.push_back(RunToJson(run, false));
  return Json(200, {{"ok", true}, {"jobs", list}});
}

ApiResponse ApiRouter::Job(const std::string& text) const {
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0)
    return ApiError(404, "no such job: " + text.substr(0, 40), "job ids are positive numbers");
  auto run = deps_.state->Run(id);
  if (!run.ok()) return ApiError(500, run.status().message());
  if (!*run) return ApiError(404, "no such job: " + std::to_string(id));
  return Json(200, {{"ok", true}, {"job", RunToJson(**run, true)}});
}

ApiResponse ApiRouter::Health(const ApiRequest& r, const Config& config) const {
  const std::string db = QueryOr(r, "db", "");
  if (auto bad = UnknownDatabase(config, db)) return *bad;
  auto snap = deps_.view->Get();
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, h] : snap->health) {
    if (!db.empty() && name != db) continue;
    nlohmann::json j = HealthToJson(h);
    j["sampled"] = FormatIsoTime(snap->health_at.at(name));
    if (auto pool = snap->pools.find(name); pool != snap->pools.end())
      j["pool"] = {{"open", pool->second.open},
                   {"idle", pool->second.idle},
                   {"busy", pool->second.busy},
                   {"waiting", pool->second.waiting},
                   {"max", pool->second.max}};
    list.push_back(std::move(j));
  }
  return Json(200, {{"ok", true}, {"databases", list}});
}

ApiResponse ApiRouter::Alerts() const {
  // What is wrong now, whether or not a channel was told (or exists).
  return Json(200, {{"ok", true}, {"alerts", deps_.view->Get()->alerts}});
}

ApiResponse ApiRouter::Databases(const Config& config) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, d] : config.databases) {
    const RetentionConfig& r = d.retention;
    nlohmann::json retention = {{"min_keep", r.min_keep}, {"timezone", r.timezone}};
    for (auto [key, value] :
         {std::pair{"last", r.last}, std::pair{"daily", r.daily}, std::pair{"weekly", r.weekly},
          std::pair{"monthly", r.monthly}, std::pair{"yearly", r.yearly}})
      if (value) retention[key] = *value;
    if (!r.within.empty()) retention["within"] = r.within;
    // Settings only: never the conninfo (a host name is still an address to guard).
    list.push_back({{"name", name},
                    {"method", d.method},
                    {"criticality", d.criticality},
                    {"schedule", EffectiveSchedule(d)},
                    {"retention", retention},
                    {"max_backup_age", d.max_backup_age},
                    {"rto", d.rto},
                    {"rpo", d.rpo}});
  }
  return Json(200, {{"ok", true}, {"databases", list}});
}

ApiResponse ApiRouter::Submit(const ApiRequest& r, const Config& config, const ApiCaller& caller,
                              bool drill) const {
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object())
    return ApiError(
        400, "the body is not a JSON object",
        drill ? "send {\"db\": \"NAME\"}" : "send {\"db\": \"NAME\", \"type\": \"full\"}");
  for (const auto& [key, value] : body.items()) {
    if (key != "db" && (drill || key != "type"))
      return ApiError(400, "unknown field \"" + key.substr(0, 64) + "\" in the body",
                      drill ? "the fields are db" : "the fields are db and type");
    if (!value.is_string()) return ApiError(400, "field \"" + key + "\" must be a string");
  }
  const std::string db = body.value("db", "");
  if (db.empty()) return ApiError(400, "the body has no \"db\"", "send {\"db\": \"NAME\"}");
  if (auto bad = UnknownDatabase(config, db)) return *bad;
  const DatabaseConfig& d = config.databases.at(db);
  ManualJob job;
  job.database = db;
  job.caller = caller.name;
  if (drill) {
    job.kind = "drill";
  } else {
    const bool logical = d.method == "logical";
    job.kind = body.value("type", logical ? "logical" : "full");
    const bool fits = logical ? job.kind == "logical" : job.kind == "full" || job.kind == "incr";
    if (!fits)
      return ApiError(400,
                      "type \"" + job.kind.substr(0, 32) + "\" does not fit database \"" + db +
                          "\" (method " + d.method + ")",
                      logical ? "use \"logical\"" : "use \"full\" or \"incr\"");
  }
  auto id = deps_.submit(job);
  if (!id.ok()) return ApiError(503, id.status().message(), id.status().hint());
  return Json(202, {{"ok", true},
                    {"job_id", *id},
                    {"status", "queued"},
                    {"job", "/api/jobs/" + std::to_string(*id)}});
}

}  // namespace pgkeep
