// monitor/status.h — "are we safe right now?", per database and overall.
//
// Reads snapshot metadata, the index objects (not the chunk index: only
// which packs they name, to find missing ones) and the listing, and
// asks each physical database's server for pg_stat_archiver, so it is cheap
// enough to run every minute. The JSON shape (StatusToJson) is a contract documented in
// docs/status.md: the daemon, dashboard and metrics read it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "policy/effective_retention.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "wal/timeline_history.h"
#include "wal/wal_timeline.h"

namespace pgkeep {

struct BackupSummary {
  std::string id;
  std::string kind;
  int64_t end_time = 0;
  int64_t age_seconds = 0;
  uint64_t bytes = 0;
  uint64_t stored_bytes = 0;
};

struct SizeAnomaly {
  uint64_t bytes = 0;            // the newest backup's size
  uint64_t reference_bytes = 0;  // median of up to 7 backups before it
  double drop = 0;               // 1 - bytes / reference
  double threshold = 0;
  bool suspicious = false;
};

// pg_stat_archiver of the server: does archive_command succeed?
struct ArchiverStatus {
  std::string error;  // non-empty when the server could not be asked
  uint64_t archived_count = 0;
  uint64_t failed_count = 0;
  std::string last_archived_wal, last_archived_time;
  std::string last_failed_wal, last_failed_time;
  bool failing = false;  // the last attempt failed (failure newer than success)
};

struct WalStatus {
  WalAnalysis analysis;      // gaps and the PITR window, from the repository
  TimelineReport timelines;  // the timeline tree, damaged history files, concurrent writers
  int64_t last_archived_age_seconds = -1;
  ArchiverStatus archiver;
};

// The newest drill report of a database (drill/drill_report.h).
struct DrillSummary {
  std::string id;
  bool passed = false;
  int64_t finished = 0;
  int64_t age_seconds = 0;
  double rto_seconds = 0;
  double rpo_seconds = 0;
  std::vector<std::string> failures;
};

// A [[copy]] target as seen for one database.
struct CopyStatus {
  std::string target;
  std::string newest_backup;  // "" when the target has none (or cannot be read)
  int64_t newest_end_time = 0;
  int64_t age_seconds = 0;
  int64_t max_age_seconds = 0;  // 0: no age required
  std::string error;            // why the target could not be read
};

struct DatabaseStatus {
  std::string name;
  std::string method;
  std::string criticality;
  bool healthy = true;
  std::vector<std::string> reasons;
  uint64_t backups = 0;
  std::optional<BackupSummary> last_backup;
  int64_t max_backup_age_seconds = 0;
  std::optional<SizeAnomaly> size_anomaly;
  std::optional<WalStatus> wal;  // physical databases
  std::optional<DrillSummary> last_drill;
  int64_t max_drill_age_seconds = 0;  // 0: no drill required (EffectiveMaxDrillAge)
  std::vector<CopyStatus> copies;     // one per [[copy]] target (monitor/copy_status.h)
};

struct RepositoryStatus {
  std::string location;
  uint64_t snapshots = 0;
  uint64_t stored_bytes = 0;
  int64_t free_bytes = -1;  // -1: unknown (object storage)
  std::optional<nlohmann::json> last_expire;
  // Damaged snapshot or index objects, packs the index names that are gone:
  // each makes the report unhealthy.
  std::vector<std::string> damaged;
};

struct StatusReport {
  int64_t time = 0;
  bool healthy = true;
  std::vector<std::string> reasons;  // every reason, prefixed by what it concerns
  std::vector<DatabaseStatus> databases;
  RepositoryStatus repository;
  // Each [[retention_policy]] (of the database asked for): how long erased
  // rows live in backups. A contradiction is a warning, never unhealthy.
  std::vector<PolicyRetention> retention;
};

// The time is the repository's clock; pg_stat_archiver is read through
// `connector` (a server that cannot be reached is a reason, not a failure).
Result<StatusReport> ComputeStatus(const Repository& repo, PgConnector& connector,
                                   const Config& config, const std::string& only_database);
nlohmann::json StatusToJson(const StatusReport& report);

}  // namespace pgkeep
