// restore/logical_restore.h — a logical backup (or a dump file) into a new database.
//
//   1. stage the dump as a local file (pg_restore needs a seekable file to
//      run in parallel), checking every chunk on the way; check that a
//      --schema/--table selection matches something
//   2. create the target database (refusing an existing one unless `clean`,
//      which drops it only now)
//   3. run pg_restore --exit-on-error (psql -v ON_ERROR_STOP=1 for plain SQL)
//   4. count the rows of every restored table and compare with the counts
//      recorded at backup time
//   5. re-apply the forget log: rows retention policies erased since the
//      backup started are erased again (policy/forget_log.h)
//
// Any failure in 3 drops the database created in 2: a half-restored database
// is never left behind looking like a restore. A restore that is killed
// (SIGKILL, a crash of the host) cannot drop it, so from its creation until
// the restore returns, the database carries the comment kRestoreMarker
// (with the restoring pid, host and start). The next restore into that name
// drops such a leftover on its own when the pid is gone on this host, and
// otherwise names what it found. A parallel pg_restore that
// fails is retried once without parallelism first (parallel workers fail in
// ways a serial run does not: connection limits, lock timeouts, dying
// workers), into a database dropped and created again.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "policy/forget_log.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"

namespace pgkeep {

// The comment a database carries while a restore writes it.
inline constexpr char kRestoreMarker[] = "pgkeep: restore in progress";

struct LogicalRestoreOptions {
  std::string backup = "latest";     // snapshot id or "latest" (of this database)
  std::string from_file;             // restore this dump file instead of a backup
  std::string into_database;         // required
  std::vector<std::string> schemas;  // restore only these schemas
  std::vector<std::string> tables;   // restore only these tables ("name" or "schema.name")
  std::string target_conninfo;       // server to restore into; default the database's own
  bool clean = false;                // drop and recreate an existing target database
  int jobs = 2;                      // pg_restore --jobs
  std::string temp_dir;              // where the dump is staged; default $TMPDIR or /tmp
  std::vector<std::string>
      child_env_drop;  // secrets pg_restore and psql must not inherit (SecretEnvNames)
  Progress progress;   // its steps as they start
  // pg_restore --no-owner --no-privileges: for a server without the
  // source's roles (a drill's scratch cluster).
  bool no_owner = false;
  // When it becomes non-zero (a signal), the restore stops: pg_restore or
  // psql is stopped, the database it created dropped, kInterrupted.
  const std::atomic<int>* cancel = nullptr;
  // Step 5 (a backup only); false: --no-reapply-erasures.
  bool reapply_erasures = true;
};

struct TableCheck {
  std::string table;
  std::optional<int64_t> expected;  // recorded at backup time (absent for files)
  int64_t restored = 0;
};

struct LogicalRestoreReport {
  std::string source;  // snapshot id or file path
  std::string database;
  uint64_t objects = 0;  // TOC entries pg_restore processed
  std::vector<TableCheck> tables;
  std::vector<std::string> mismatches;  // tables whose counts differ
  // A parallel pg_restore that failed is retried once with --jobs=1 (into a
  // freshly recreated database) before the restore counts as failed; this
  // says it was, and why the parallel run failed.
  bool retried_serial = false;
  std::string retry_reason;
  double seconds = 0;
  // How a backup's dump was staged (restore/dump_staging.h): entries given
  // their data position (0 when the dump had them or was not understood),
  // and its data chunks before and after they were joined.
  int data_offsets_added = 0;
  uint64_t chunks_read = 0;
  uint64_t chunks_written = 0;
  // Set when the dump's data did not parse and it was staged as it is.
  std::string staging_note;
  // Set when the target was the leftover of a restore that was killed, and
  // was dropped first: what its marker said.
  std::string dropped_leftover;
  // The table loaded over several connections (restore/table_load.h), when
  // one was: "schema.table", its parts and rows.
  std::string split_table;
  int split_parts = 0;
  int64_t split_rows = 0;
  // Step 5, when it ran.
  std::optional<ErasureReplay> erasures;
};

// `repo` and `db` may be null only with options.from_file (then
// options.target_conninfo is required). Connections, pg_restore and psql
// come from `connector`.
Result<LogicalRestoreReport> RunLogicalRestore(Env& env, const Repository* repo,
                                               PgConnector& connector, const DatabaseConfig* db,
                                               const LogicalRestoreOptions& options);

// Writes the dump of a logical snapshot to `path` (created, never overwritten).
Status ExportLogicalDump(Env& env, const Repository& repo, const Snapshot& snapshot,
                         const std::string& path);

// Finds the logical snapshot `id` ("latest": the newest of `database`, or
// of any database when `database` is empty).
Result<Snapshot> FindLogicalSnapshot(const Repository& repo, const std::string& database,
                                     const std::string& id);

}  // namespace pgkeep
