// drill/drill.h — a restore drill: a backup restored into scratch space,
// checked, timed against the database's RTO and RPO targets, torn down, and
// its report stored in the repository (drill/drill_report.h).
//
// Physical (a copy that never archives, on a free loopback port, as the data
// directory's OS user):
//   1. prepare: leftovers of earlier drills removed (drill/scratch.h); a
//      scratch directory; when the source answers, a restore point made with
//      every table of every database briefly share-locked, and the row counts read in a
//      snapshot exported at that instant (exact for the copy, see
//      docs/drills.md); WAL switched so the point is archived
//   2. restore (RTO): RunPhysicalRestore with archive_mode off, tablespaces
//      mapped into the scratch directory, recovery to the restore point (else
//      to the end of the archived WAL, or the user's target)
//   3. recovery (RTO): the server started and recovery awaited
//   4. checks (RTO): recovery reached its target; the user checks
//   5. verification (RTO): every table read end to end, its rows counted
//      against the source, pg_amcheck (heap and btree)
//   6. cleanup: server stopped, scratch directory removed
// Logical (a scratch cluster of its own, or a scratch database on the
// database's own server; drill_scratch):
//   restore (RTO) with RunLogicalRestore, the user checks (RTO), every table
//   read, its rows counted against those recorded at backup time, and
//   pg_amcheck (verification, RTO), then teardown.
//
// RTO is the wall time from the start of the restore to a verified,
// connectable database; RPO is the drill's start minus the newest point a
// disaster now could recover to (the newest archived WAL, or the newest
// logical backup). A drill fails when any check fails or a target is missed.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"

namespace pgkeep {

struct DrillOptions {
  std::string backup = "latest";  // snapshot id or "latest"
  std::string target_time;        // physical only; at most one target
  std::string target_lsn;
  // Where scratch data directories go (a drill needs the size of the
  // database there); tracked drills live in <scratch_dir>/pgkeep-drill-<id>.
  std::string scratch_dir = "/var/tmp";
  std::string config_path;                  // for the copy's restore_command
  std::string from_copy;                    // the [[copy]] target read from; "" = [repository]
  std::vector<std::string> child_env_drop;  // secrets children must not inherit (all of them)
  // The one of them a physical copy's server keeps: its restore_command
  // (pgkeep wal-fetch) reads the repository password from it.
  std::vector<std::string> restore_command_env;
  // Every configured database, so leftovers of drills of any of them are
  // cleaned with their own settings (drill/scratch.h); null: only this one.
  const std::map<std::string, DatabaseConfig>* databases = nullptr;
  // File writers (physical) or pg_restore jobs (logical); 0: physical as
  // restore chooses (PhysicalRestoreOptions::threads), logical 4.
  int threads = 0;
  int recovery_timeout_seconds = 6 * 3600;
  Progress progress;
  // Nonzero (a signal number, set by a handler): clean up and fail with kInterrupted.
  const std::atomic<int>* cancel = nullptr;
};

struct DrillCheck {
  std::string
      name;  // "recovery target", "tables readable", "row counts", "pg_amcheck", or a user check's
  bool user = false;
  enum class Result { kPass, kFail, kSkip } result = Result::kPass;
  std::string saw;  // what it observed, one line
  double seconds = 0;
};

struct DrillPhase {
  std::string name;  // "prepare", "restore", "recovery", "checks", "verification", "cleanup"
  double seconds = 0;
  bool in_rto = false;
};

struct DrillTable {
  std::string table;  // schema.name (database.schema.name when not the configured database)
  int64_t rows = -1;  // -1: not readable
  std::optional<int64_t> expected;
  int64_t bytes = 0;  // pg_total_relation_size
};

struct DrillTarget {
  std::optional<int64_t> target_seconds;  // from the config; nullopt: no target
  double seconds = 0;
  // Compared with the target: false without one, or when there was nothing
  // to measure (a restore that did not finish has no RTO).
  bool judged = false;
  bool met = false;   // judged and within the target
  std::string basis;  // how it was measured
};

struct DrillResult {
  std::string id;  // like a snapshot id; the report's name in the repository
  std::string database;
  std::string method;  // "physical" | "logical"
  std::string backup;  // the snapshot restored
  std::string host;
  int64_t started = 0;  // unix seconds
  int64_t finished = 0;
  bool passed = false;
  bool interrupted = false;
  std::vector<std::string> failures;  // one line each; empty when passed
  std::vector<DrillPhase> phases;
  DrillTarget rto;
  DrillTarget rpo;
  std::string recovery_target;  // what recovery aimed at, as written
  std::string reached;          // what it reached (LSN, time)
  std::vector<DrillCheck> checks;
  std::vector<DrillTable> tables;
  std::vector<std::string> notes;
  std::vector<std::string> cleanup_problems;
};

// "4.2 s" under ten seconds, "42 s" from there: how reports show durations.
std::string FormatDrillSeconds(double seconds);

// kUsage for a request that does not fit the database (targets of a logical
// database, two targets, an unusable scratch directory); cheap, so callers
// check before opening anything.
Status CheckDrillRequest(Env& env, const DatabaseConfig& db, const DrillOptions& options);

// Runs the drill. Fails (no report) only before it starts: a bad request, a
// ledger that cannot be written; every later failure, no backup to drill
// included, is a failed drill in the result. A --backup id that does not
// exist is the caller's to refuse before (cli/cmd_drill.cc: exit 12). The caller holds the shared
// repository lock with the index loaded, and stores the report
// (WriteDrillReport).
Result<DrillResult> RunDrill(Env& env, Repository& repo, PgConnector& connector,
                             const DatabaseConfig& db, const DrillOptions& options);

}  // namespace pgkeep
