// monitor/db_health.h — is a database server well, seen from one short
// connection: what `pgkeep check` prints and what the daemon samples every
// `health_interval`.
//
// Read-only: a connection, `SELECT 1` for the round trip, then two catalog
// queries. Measured and judged:
//   - reachable, and the latency of connect + one round trip: "healthy",
//     "latency" (slower than `slow_ms`) or "error" (no connection, or a
//     query failed), as the seed application's health function answers;
//   - in recovery (a standby, or a server still recovering);
//   - connections in use against max_connections (a warning at 90%);
//   - transaction-id age, the oldest database's age(datfrozenxid) (a
//     warning past 1,000,000,000: wraparound shuts the server down at 2^31);
//   - the archiver: failing when its last failure is newer than its last
//     success (pg_stat_archiver);
//   - replication slots holding WAL: an inactive slot keeping more than
//     1 GiB of WAL is a warning (it fills the disk).
// Warnings make the database unhealthy with a reason in words.
//
// Thread safety: functions keep no state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "postgres/pg_pool.h"

namespace pgkeep {

struct SlotHealth {
  std::string name;
  bool active = false;
  int64_t retained_bytes = 0;
};

struct DatabaseHealth {
  std::string database;
  std::string status;  // "healthy", "latency", "error"
  double latency_ms = 0;
  std::string error;  // when status == "error"
  bool in_recovery = false;
  int64_t connections = 0;
  int64_t max_connections = 0;
  int64_t xid_age = 0;
  int64_t archiver_failed_count = 0;
  bool archiver_failing = false;
  std::string archiver_last_failed_wal;
  std::vector<SlotHealth> slots;
  // Warnings, in words; empty and status "healthy" = well.
  std::vector<std::string> problems;
  bool healthy() const { return status == "healthy" && problems.empty(); }
};

struct HealthThresholds {
  int64_t slow_ms = 1000;
  int connect_timeout_seconds = 10;
  double connections_warn = 0.9;
  int64_t xid_age_warn = 1000000000;
  int64_t slot_retained_warn = int64_t{1} << 30;
};

// Never fails: a server that cannot be reached is a result ("error").
// One new connection (pgkeep check).
DatabaseHealth ProbeDatabase(Env& env, PgConnector& connector, const DatabaseConfig& db,
                             const HealthThresholds& thresholds = {});
// A pooled connection (the daemon): the latency is acquiring it (a reused
// one is usually ready) plus one round trip; a connection that failed a
// query is closed, not reused.
DatabaseHealth ProbeDatabase(Env& env, PgPool& pool, const DatabaseConfig& db,
                             const HealthThresholds& thresholds = {});

nlohmann::json HealthToJson(const DatabaseHealth& h);

}  // namespace pgkeep
