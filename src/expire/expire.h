// expire/expire.h — apply backup retention, then collect garbage.
//
// Per configured database, every snapshot gets a decision from the
// retention rules (retention/retention.h), with pins honoured. Snapshots of
// databases no longer configured, and plain `store` snapshots without a
// database, are kept: only configured rules delete. Then the expired
// snapshot objects are deleted and CollectGarbage frees what they alone used.
// Last, WAL older than the oldest kept physical backup of each physical
// database is deleted (wal/wal_timeline.h); a database without a kept
// physical backup keeps all its WAL. Forget-log entries written before the
// oldest kept backup of their database (less an hour) go too: a restore
// re-applies only those after its backup's start.
//
// Damage (see docs/repository-format.md, "Threat model and damage"): a
// damaged snapshot object is kept and never expired, and since its chunks
// and WAL needs are unknown, garbage collection and WAL expiry are skipped
// while one exists; retention still expires intact snapshots (deleting a
// snapshot object only drops references, never data another one uses). A
// damaged pin holds (repo/pins.h). An incomplete index makes CollectGarbage
// refuse. Either way ExpireReport::gc_skipped says why and `expire` exits 1.
//
// The caller holds the exclusive repository lock and has loaded the index.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "config/config.h"
#include "repo/garbage_collector.h"
#include "repo/repository.h"

namespace pgkeep {

struct ExpireDecision {
  std::string id;
  std::string database;  // empty for snapshots of no database
  std::string kind;
  int64_t time = 0;
  uint64_t bytes = 0;
  bool keep = true;
  std::vector<std::string> reasons;
};

// WAL retention for one physical database: every segment recovery from the
// oldest kept backup needs stays; older ones go.
struct WalExpiry {
  std::string database;
  std::string keep_from;  // the oldest kept backup's start segment
  std::string backup;     // that backup
  uint64_t removed = 0;   // WAL files (segments, .backup, .partial)
  uint64_t bytes = 0;
};

struct ExpireReport {
  bool dry_run = false;
  std::vector<ExpireDecision> decisions;  // oldest first
  uint64_t expired = 0;
  GcReport gc;
  // Why garbage collection (and with damaged snapshots, WAL expiry) did not
  // run; empty when it did. Retention still applied to the intact snapshots.
  std::string gc_skipped;
  std::vector<std::string> damaged_snapshots;  // object names, kept as they are
  std::vector<WalExpiry> wal;
  // Forget-log entries older than every kept backup of their database
  // (less kForgetMarginSeconds), deleted (policy/forget_log.h).
  uint64_t forget_entries_removed = 0;
  int64_t time = 0;
};

struct ExpireOptions {
  bool dry_run = false;
  GcOptions gc;
  // Steps as they start ("applying retention", "collecting garbage", "expiring
  // WAL of database \"main\""), for a log or a progress display. May be empty.
  Progress progress;
};

Result<ExpireReport> RunExpire(Repository& repo, const Config& config,
                               const ExpireOptions& options);

// The last expire's summary (object state/last-expire), for `status`.
Result<std::optional<nlohmann::json>> ReadLastExpire(const Repository& repo);

}  // namespace pgkeep
