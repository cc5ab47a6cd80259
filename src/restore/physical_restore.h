// restore/physical_restore.h — a physical backup back into a data directory,
// with point-in-time recovery.
//
//   1. check the request: one target at most, parsable; DIR absent or empty
//   2. choose the timeline and the backup. The timeline: --target-timeline,
//      else the one the newest backup belongs to (wal/timeline_history.h:
//      a restored copy's timeline is never followed by default). The
//      backup, among those on that timeline's history: the one given, else
//      the newest that became consistent before the target (time, LSN); the
//      oldest for a named restore point (its position is unknown, so every
//      one after it works); the newest otherwise
//   3. write directories, then files with `threads` threads (writeback
//      started as each file is done; one syncfs at the end waits for all of
//      it), tablespaces to their recorded locations behind symlinks
//   4. recovery.signal, and in postgresql.auto.conf: restore_command (pgkeep
//      wal-fetch), the recovery target, recovery_target_timeline (always
//      explicit), recovery_target_action = 'promote', and archive_mode = 'off'
//      unless the restore replaces the configured pgdata or --archive-mode
//      preserve asks to archive
//   5. with `start`: start PostgreSQL (as the data directory's owner), wait
//      until recovery ends, report the LSN and time reached, and re-apply
//      the forget log (policy/forget_log.h) in the configured database.
//      Without `start`, a backup older than forget-log entries is refused
//      in step 2 unless reapply_erasures is false (--no-reapply-erasures).
// Run as root, everything written is owned by DIR's owner when it is not
// root, else by the "postgres" user.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "policy/forget_log.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "wal/timeline_history.h"

namespace pgkeep {

// File writers of a restore from local disk, unless told otherwise.
inline constexpr int kLocalRestoreWriters = 4;

struct PhysicalRestoreOptions {
  std::string backup;  // id, "latest" or empty (choose by target)
  std::string pgdata;
  std::string
      target_time;  // any of: "2026-11-23 10:00:00[.ffffff][Z|+HH[:MM]]" (UTC without a zone)
  std::string target_lsn;   // "0/3000028"
  std::string target_name;  // pg_create_restore_point name
  std::string target;       // "latest" | "immediate" | ""
  bool start = false;
  int port = 0;  // 0: the port recorded at backup
  // With start: when the server cannot bind `port` (another process took it
  // since it was chosen), start again on a free loopback port (3 tries).
  bool retry_taken_port = false;
  // File writers; 0: automatic. On local disk 4, more than cores, to
  // overlap I/O (bench/). On a storage that reads ahead in blocks (S3),
  // from a backup whose readers interleaved files in its packs, as many as
  // it had readers (its "readers" meta, 2 before it was recorded), in the
  // same order, biggest first: the writers go through each pack as the
  // backup filled it and every block is fetched once (4 writers against a
  // backup's 2 received 1.75 bytes per byte stored from S3; 2, 1.03).
  int threads = 0;
  // Whether the restored cluster archives into the repository. kAuto: only
  // when restored in place of the configured pgdata (it becomes the primary);
  // anywhere else it is a copy, and a copy that archived would add a
  // timeline beside the original's.
  enum class ArchiveMode { kAuto, kOff, kPreserve };
  ArchiveMode archive_mode = ArchiveMode::kAuto;
  // "" (the lineage of the newest backup), a timeline number, or "latest"
  // (PostgreSQL's: the highest timeline descending from the backup's).
  std::string target_timeline;
  int start_timeout_seconds = 3600;
  std::string config_path;  // the configuration restore_command will use
  std::string from_copy;    // restore_command reads [[copy]] target NAME ("" = [repository])
  // Tablespace OID -> where to put it instead of its recorded location
  // (absolute; absent or empty), e.g. to restore on the same host as the original.
  std::map<std::string, std::string> tablespace_map;
  // Secrets pg_ctl (and so the server) must not inherit; the server's
  // restore_command reads the repository password, so the caller leaves
  // that one in when the configuration takes it from the environment.
  std::vector<std::string> child_env_drop;
  Progress progress;  // its steps as they start
  // With `start`: where the server's socket and log go (an existing empty
  // directory); empty: a new /tmp/pgkeep-restore-XXXXXX.
  std::string run_dir;
  // With `start`: more settings on the server's command line (-c NAME=VALUE;
  // values without spaces or quotes), e.g. listen_addresses for a drill.
  std::vector<std::pair<std::string, std::string>> server_settings;
  // Nonzero (a signal number, set by a handler): stop waiting and fail with
  // kInterrupted. The caller stops a server that was started.
  const std::atomic<int>* cancel = nullptr;
  bool reapply_erasures = true;  // false: --no-reapply-erasures
};

struct PhysicalRestoreResult {
  Snapshot backup;
  uint64_t files = 0;
  uint64_t bytes = 0;
  std::string recovery_target;    // as written, e.g. "recovery_target_time = '...'"
  std::string recovery_timeline;  // recovery_target_timeline as written: a number or "latest"
  bool archiving = false;         // the restored cluster archives into the repository
  std::vector<std::string> notes;
  bool started = false;
  std::string reached_lsn;
  std::string reached_time;  // last replayed transaction's commit time, may be empty
  std::string server_log;
  int port = 0;                           // where the started server listens
  std::string socket_dir;                 // its Unix socket directory
  std::optional<ErasureReplay> erasures;  // with start: the forget log re-applied
};

// The target time as unix microseconds and PostgreSQL's text form (UTC).
struct TargetTime {
  int64_t micros = 0;
  std::string text;
};
Result<TargetTime> ParseTargetTime(const std::string& text);

// Step 2 on its own (for tests): `all` in commit order.
struct RestoreChoice {
  Snapshot backup;
  uint32_t timeline = 0;           // 0: "latest" was asked for
  std::vector<std::string> notes;  // timelines not followed, and how to follow them
};
Result<RestoreChoice> ChooseBackup(const std::vector<Snapshot>& all, const std::string& db,
                                   const PhysicalRestoreOptions& options, const TimelineTree& tree);
// Whether restoring into `pgdata` replaces the configured data directory
// `configured` (same directory, after resolving symlinks).
bool IsInPlaceRestore(Env& env, const std::string& pgdata, const std::string& configured);

// pg_ctl and the connections to the started server come from `connector`.
Result<PhysicalRestoreResult> RunPhysicalRestore(Env& env, Repository& repo, PgConnector& connector,
                                                 const DatabaseConfig& db,
                                                 const PhysicalRestoreOptions& options);

// postgresql.auto.conf `text` without the recovery settings an earlier
// restore of the cluster left (restore_command, recovery_target*, and every
// block pgkeep wrote): they would steer this recovery (an old target time, a
// second target, archive_mode = 'off').
std::string WithoutEarlierRecoverySettings(const std::string& text);

// Stops a server RunPhysicalRestore started on `pgdata` (pg_ctl stop, fast,
// then immediate), as the data directory's owner. Ok when none runs there.
Status StopRestoredServer(Env& env, PgConnector& connector, const DatabaseConfig& db,
                          const std::string& pgdata, int server_major,
                          const std::vector<std::string>& child_env_drop);

// Step 1 on its own, before the repository is opened: kUsage naming the problem.
Status CheckPhysicalRestoreRequest(Env& env, const PhysicalRestoreOptions& options);

}  // namespace pgkeep
