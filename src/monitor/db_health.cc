#include "monitor/db_health.h"

#include <cstdio>
#include <cstdlib>

namespace pgkeep {

namespace {

int64_t Int(const std::optional<std::string>& v) {
  return v ? std::strtoll(v->c_str(), nullptr, 10) : 0;
}

std::string Gib(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  return text;
}

}  // namespace

// The round trip, the server's state, and the archiver in one query.
constexpr char kStateSql[] =
    "SELECT pg_is_in_recovery()::text, "
    "(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'), "
    "current_setting('max_connections'), "
    "(SELECT max(age(datfrozenxid)) FROM pg_database), "
    "a.failed_count, coalesce(a.last_failed_wal, ''), "
    "(a.last_failed_time IS NOT NULL AND (a.last_archived_time IS NULL OR "
    "a.last_failed_time > a.last_archived_time))::text "
    "FROM pg_stat_archiver a";

// WAL each slot keeps from being removed, from where the server is now.
constexpr char kSlotsSql[] =
    "SELECT slot_name, active::text, "
    "pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
    "ELSE pg_current_wal_lsn() END, restart_lsn)::bigint "
    "FROM pg_replication_slots WHERE restart_lsn IS NOT NULL ORDER BY slot_name";

namespace {

// Everything after the connection: the round trip and the catalog checks.
// A failure (a query failed) is returned; `h` holds what was measured.
Status Judge(Env& env, PgConnection& conn, int64_t started, const DatabaseConfig& db,
             const HealthThresholds& t, DatabaseHealth& h) {
  auto one = conn.Query("SELECT 1");
  if (!one.ok()) return one.status();
  h.latency_ms = static_cast<double>(env.MonotonicMicros() - started) / 1000.0;
  h.status = h.latency_ms > static_cast<double>(t.slow_ms) ? "latency" : "healthy";
  if (h.status == "latency") {
    char line[160];
    std::snprintf(line, sizeof line, "connect and one query took %.0f ms (over %lld ms)",
                  h.latency_ms, static_cast<long long>(t.slow_ms));
    h.problems.push_back("database \"" + db.name + "\": " + line);
  }
  auto state = conn.Query(kStateSql);
  if (!state.ok()) return state.status();
  if (!state->rows.empty() && state->rows[0].values.size() >= 7) {
    const auto& v = state->rows[0].values;
    h.in_recovery = v[0].value_or("") == "true";
    h.connections = Int(v[1]);
    h.max_connections = Int(v[2]);
    h.xid_age = Int(v[3]);
    h.archiver_failed_count = Int(v[4]);
    h.archiver_last_failed_wal = v[5].value_or("");
    h.archiver_failing = v[6].value_or("") == "true";
  }
  if (h.max_connections > 0 && static_cast<double>(h.connections) >=
                                   t.connections_warn * static_cast<double>(h.max_connections))
    h.problems.push_back("database \"" + db.name + "\": " + std::to_string(h.connections) +
                         " of max_connections " + std::to_string(h.max_connections) +
                         " connections in use");
  if (h.xid_age > t.xid_age_warn)
    h.problems.push_back("database \"" + db.name + "\": transaction ID age " +
                         std::to_string(h.xid_age) +
                         " (wraparound stops writes at 2147483647): run VACUUM FREEZE");
  if (h.archiver_failing)
    h.problems.push_back("database \"" + db.name + "\": archive_command is failing (" +
                         std::to_string(h.archiver_failed_count) + " failures, last on " +
                         h.archiver_last_failed_wal + ")");

  auto slots = conn.Query(kSlotsSql);
  if (!slots.ok()) return slots.status();
  for (const auto& row : slots->rows) {
    if (row.values.size() < 3) continue;
    SlotHealth s{row.values[0].value_or(""), row.values[1].value_or("") == "true",
                 Int(row.values[2])};
    if (!s.active && s.retained_bytes > t.slot_retained_warn)
      h.problems.push_back("database \"" + db.name + "\": inactive replication slot \"" + s.name +
                           "\" holds " + Gib(s.retained_bytes) + " of WAL");
    h.slots.push_back(std::move(s));
  }
  return Status::Ok();
}

DatabaseHealth Failed(DatabaseHealth h, const Status& s) {
  h.status = "error";
  h.error = s.message();
  h.problems.push_back(s.message());  // libpq's words name the database
  return h;
}

}  // namespace

DatabaseHealth ProbeDatabase(Env& env, PgConnector& connector, const DatabaseConfig& db,
                             const HealthThresholds& t) {
  DatabaseHealth h;
  h.database = db.name;
  const int64_t started = env.MonotonicMicros();
  auto conn =
      connector.Connect(db.conninfo, "database \"" + db.name + "\"", t.connect_timeout_seconds);
  if (!conn.ok()) return Failed(std::move(h), conn.status());
  Status judged = Judge(env, **conn, started, db, t, h);
  return judged.ok() ? h : Failed(std::move(h), judged);
}

DatabaseHealth ProbeDatabase(Env& env, PgPool& pool, const DatabaseConfig& db,
                             const HealthThresholds& t) {
  DatabaseHealth h;
  h.database = db.name;
  const int64_t started = env.MonotonicMicros();
  auto lease = pool.Acquire();
  if (!lease.ok()) return Failed(std::move(h), lease.status());
  Status judged = Judge(env, **lease, started, db, t, h);
  if (judged.ok()) return h;
  lease->Discard();  // the connection may be broken: never reused
  return Failed(std::move(h), judged);
}

nlohmann::json HealthToJson(const DatabaseHealth& h) {
  nlohmann::json slots = nlohmann::json::array();
  for (const auto& s : h.slots)
    slots.push_back({{"name", s.name}, {"active", s.active}, {"retained_bytes", s.retained_bytes}});
  return {{"database", h.database},
          {"status", h.status},
          {"healthy", h.healthy()},
          {"latency_ms", h.latency_ms},
          {"error", h.error},
          {"in_recovery", h.in_recovery},
          {"connections", h.connections},
          {"max_connections", h.max_connections},
          {"xid_age", h.xid_age},
          {"archiver",
           {{"failed_count", h.archiver_failed_count},
            {"failing", h.archiver_failing},
            {"last_failed_wal", h.archiver_last_failed_wal}}},
          {"slots", slots},
          {"problems", h.problems}};
}

}  // namespace pgkeep
