#include "server/metrics.h"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <vector>

namespace pgkeep {

namespace {

using Labels = std::vector<std::pair<std::string, std::string>>;

std::string EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// The shortest text that reads back as the same double.
std::string Number(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : "NaN";
}

// Writes families in order: HELP and TYPE once, then the samples.
class Exposition {
 public:
  void Family(const std::string& name, const char* type, const std::string& help) {
    name_ = name;
    text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  void Sample(const Labels& labels, double value) {
    text_ += name_;
    if (!labels.empty()) {
      text_ += "{";
      for (size_t i = 0; i < labels.size(); ++i)
        text_ += (i ? "," : "") + labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
      text_ += "}";
    }
    text_ += " " + Number(value) + "\n";
  }
  std::string Take() { return std::move(text_); }

 private:
  std::string name_;
  std::string text_;
};

double NumberAt(const nlohmann::json& j, const char* key, double fallback = -1) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_number()) return fallback;
  return j.at(key).get<double>();
}

// The newest backup per (database, kind) in `pgkeep list` order (oldest first).
std::map<std::pair<std::string, std::string>, const nlohmann::json*> NewestBackups(
    const nlohmann::json& backups) {
  std::map<std::pair<std::string, std::string>, const nlohmann::json*> newest;
  for (const auto& b : backups) {
    if (!b.is_object() || !b.contains("meta") || !b["meta"].is_object()) continue;
    const std::string db = b["meta"].value("database", "");
    if (db.empty()) continue;
    newest[{db, b.value("kind", "")}] = &b;
  }
  return newest;
}

}  // namespace

int64_t ParseIsoSeconds(const std::string& text) {
  int y, mo, d, h, mi, s;
  char z = 0;
  if (text.size() != 20 ||
      std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z')
    return -1;
  const std::chrono::year_month_day day{std::chrono::year{y}, std::chrono::month(mo),
                                        std::chrono::day(d)};
  if (!day.ok()) return -1;
  return std::chrono::sys_days(day).time_since_epoch().count() * 86400 + h * 3600 + mi * 60 + s;
}

std::string RenderMetrics(const DaemonSnapshot& snap, const RunCounts& runs) {
  Exposition m;
  m.Family("pgkeep_daemon_start_time_seconds", "gauge", "When the daemon started (unix time).");
  m.Sample({}, static_cast<double>(snap.started));
  m.Family("pgkeep_status_refresh_timestamp_seconds", "gauge",
           "When the repository status was last read (0: not yet).");
  m.Sample({}, static_cast<double>(snap.refreshed));

  const nlohmann::json& status = snap.status;
  const nlohmann::json dbs = status.is_object() ? status.value("databases", nlohmann::json::array())
                                                : nlohmann::json::array();
  if (status.is_object()) {
    m.Family("pgkeep_healthy", "gauge", "1 when every database and the repository are healthy.");
    m.Sample({}, status.value("healthy", false) ? 1 : 0);
    m.Family("pgkeep_database_healthy", "gauge",
             "1 when the database's backups, WAL and drills meet their targets.");
    for (const auto& d : dbs)
      m.Sample({{"database", d.value("name", "")}}, d.value("healthy", false));
    m.Family("pgkeep_backups", "gauge", "Backups kept in the repository.");
    for (const auto& d : dbs)
      m.Sample({{"database", d.value("name", "")}}, NumberAt(d, "backups", 0));
    m.Family("pgkeep_backup_max_age_seconds", "gauge", "The configured max_backup_age.");
    for (const auto& d : dbs)
      m.Sample({{"database", d.value("name", "")}}, NumberAt(d, "max_backup_age_seconds", 0));
  }

  const auto newest = NewestBackups(snap.backups);
  m.Family("pgkeep_backup_last_success_timestamp_seconds", "gauge",
           "When the newest backup of this database and kind finished (unix time).");
  for (const auto& [key, b] : newest)
    m.Sample({{"database", key.first}, {"kind", key.second}}, NumberAt(*b, "stop_unix", 0));
  m.Family("pgkeep_backup_last_duration_seconds", "gauge",
           "How long the newest backup of this database and kind took.");
  for (const auto& [key, b] : newest)
    m.Sample({{"database", key.first}, {"kind", key.second}},
             NumberAt(*b, "stop_unix", 0) - NumberAt(*b, "start_unix", 0));
  m.Family("pgkeep_backup_last_size_bytes", "gauge",
           "Bytes the newest backup of this database and kind holds.");
  for (const auto& [key, b] : newest)
    m.Sample({{"database", key.first}, {"kind", key.second}},
             NumberAt(b->value("stats", nlohmann::json::object()), "bytes", 0));
  m.Family("pgkeep_backup_last_stored_bytes", "gauge",
           "Bytes the newest backup of this database and kind added to the repository.");
  for (const auto& [key, b] : newest)
    m.Sample({{"database", key.first}, {"kind", key.second}},
             NumberAt(b->value("stats", nlohmann::json::object()), "stored_bytes", 0));

  m.Family("pgkeep_wal_archive_lag_seconds", "gauge",
           "Seconds since the newest WAL segment reached the repository.");
  for (const auto& d : dbs)
    if (d.contains("wal") && d["wal"].is_object() &&
        NumberAt(d["wal"], "last_archived_age_seconds") >= 0)
      m.Sample({{"database", d.value("name", "")}},
               NumberAt(d["wal"], "last_archived_age_seconds"));
  m.Family("pgkeep_wal_gaps", "gauge", "Missing WAL ranges in the archive.");
  for (const auto& d : dbs)
    if (d.contains("wal") && d["wal"].is_object())
      m.Sample({{"database", d.value("name", "")}},
               d["wal"].value("gaps", nlohmann::json::array()).size());
  m.Family("pgkeep_pitr_window_start_timestamp_seconds", "gauge",
           "The earliest point-in-time recovery target (unix time).");
  std::vector<std::pair<std::string, const nlohmann::json*>> windows;
  for (const auto& d : dbs)
    if (d.contains("wal") && d["wal"].is_object() && d["wal"].contains("pitr_window") &&
        d["wal"]["pitr_window"].is_object())
      windows.emplace_back(d.value("name", ""), &d["wal"]["pitr_window"]);
  for (const auto& [name, w] : windows)
    m.Sample({{"database", name}}, static_cast<double>(ParseIsoSeconds(w->value("earliest", ""))));
  m.Family("pgkeep_pitr_window_end_timestamp_seconds", "gauge",
           "The latest point-in-time recovery target (unix time).");
  for (const auto& [name, w] : windows)
    m.Sample({{"database", name}}, static_cast<double>(ParseIsoSeconds(w->value("latest", ""))));

  m.Family("pgkeep_database_up", "gauge", "1 when the database answered the last health check.");
  for (const auto& [name, h] : snap.health) m.Sample({{"database", name}}, h.status != "error");
  m.Family("pgkeep_database_latency_seconds", "gauge", "Connect and one round trip, last check.");
  for (const auto& [name, h] : snap.health)
    if (h.status != "error") m.Sample({{"database", name}}, h.latency_ms / 1000.0);
  m.Family("pgkeep_database_connections", "gauge", "Connections in use on the server.");
  for (const auto& [name, h] : snap.health)
    if (h.status != "error") m.Sample({{"database", name}}, static_cast<double>(h.connections));
  m.Family("pgkeep_database_max_connections", "gauge", "The server's max_connections.");
  for (const auto& [name, h] : snap.health)
    if (h.status != "error") m.Sample({{"database", name}}, static_cast<double>(h.max_connections));
  m.Family("pgkeep_database_xid_age", "gauge",
           "Age in transactions of the oldest database's datfrozenxid.");
  for (const auto& [name, h] : snap.health)
    if (h.status != "error") m.Sample({{"database", name}}, static_cast<double>(h.xid_age));
  m.Family("pgkeep_db_pool_connections", "gauge",
           "Connections of the health checks' pool, by state (idle, busy).");
  for (const auto& [name, p] : snap.pools) {
    m.Sample({{"database", name}, {"state", "idle"}}, p.idle);
    m.Sample({{"database", name}, {"state", "busy"}}, p.busy);
  }
  m.Family("pgkeep_db_pool_max_connections", "gauge", "The pool's limit (DB_POOL_MAX).");
  for (const auto& [name, p] : snap.pools) m.Sample({{"database", name}}, p.max);
  m.Family("pgkeep_db_pool_waiting", "gauge", "Callers waiting for a pooled connection.");
  for (const auto& [name, p] : snap.pools) m.Sample({{"database", name}}, p.waiting);
  m.Family("pgkeep_db_pool_opened_total", "counter", "Connections the pool opened.");
  for (const auto& [name, p] : snap.pools)
    m.Sample({{"database", name}}, static_cast<double>(p.opened_total));
  m.Family("pgkeep_database_health_problems", "gauge", "Warnings of the last health check.");
  for (const auto& [name, h] : snap.health)
    m.Sample({{"database", name}}, static_cast<double>(h.problems.size()));

  if (status.is_object() && status.contains("repository") && status["repository"].is_object()) {
    const auto& r = status["repository"];
    m.Family("pgkeep_repository_stored_bytes", "gauge", "Bytes the repository's objects hold.");
    m.Sample({}, NumberAt(r, "stored_bytes", 0));
    m.Family("pgkeep_repository_snapshots", "gauge", "Snapshots in the repository.");
    m.Sample({}, NumberAt(r, "snapshots", 0));
    if (NumberAt(r, "free_bytes") >= 0) {
      m.Family("pgkeep_repository_free_bytes", "gauge", "Free space where the repository lives.");
      m.Sample({}, NumberAt(r, "free_bytes"));
    }
  }

  m.Family("pgkeep_job_runs_total", "counter", "Job runs the daemon finished, by kind and result.");
  for (const auto& [key, n] : runs)
    if (key.second != "running" && key.second != "queued")
      m.Sample({{"kind", key.first}, {"result", key.second}}, static_cast<double>(n));
  m.Family("pgkeep_job_failures_total", "counter",
           "Job runs that failed, timed out or were interrupted, by kind.");
  std::map<std::string, int64_t> failures;
  for (const auto& [key, n] : runs) {
    failures[key.first] += 0;
    if (key.second == "failed" || key.second == "timeout" || key.second == "interrupted")
      failures[key.first] += n;
  }
  for (const auto& [kind, n] : failures) m.Sample({{"kind", kind}}, static_cast<double>(n));
  m.Family("pgkeep_jobs_running", "gauge", "Job runs running or queued now.");
  int64_t active = 0;
  for (const auto& [key, n] : runs)
    if (key.second == "running" || key.second == "queued") active += n;
  m.Sample({}, static_cast<double>(active));

  std::vector<std::pair<std::string, const nlohmann::json*>> drills;
  for (const auto& d : dbs)
    if (d.contains("last_drill") && d["last_drill"].is_object())
      drills.emplace_back(d.value("name", ""), &d["last_drill"]);
  m.Family("pgkeep_drill_last_passed", "gauge", "1 when the newest drill passed.");
  for (const auto& [name, d] : drills) m.Sample({{"database", name}}, d->value("passed", false));
  m.Family("pgkeep_drill_last_timestamp_seconds", "gauge", "When the newest drill finished.");
  for (const auto& [name, d] : drills)
    m.Sample({{"database", name}}, static_cast<double>(ParseIsoSeconds(d->value("finished", ""))));
  m.Family("pgkeep_drill_last_rto_seconds", "gauge", "Recovery time the newest drill measured.");
  for (const auto& [name, d] : drills)
    m.Sample({{"database", name}}, NumberAt(*d, "rto_seconds", 0));
  m.Family("pgkeep_drill_last_rpo_seconds", "gauge",
           "Recovery point (data at risk) the newest drill measured.");
  for (const auto& [name, d] : drills)
    m.Sample({{"database", name}}, NumberAt(*d, "rpo_seconds", 0));
  return m.Take();
}

}  // namespace pgkeep
