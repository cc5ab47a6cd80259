// restore/physical_restore_steps.h — internal to restore/: what the steps of
// a physical restore (physical_restore.h) share across their files.
//
//   restore_request.cc  step 1: the request checked, --target-time parsed
//   backup_choice.cc    step 2: the timeline and the backup chosen
//   physical_restore.cc step 3: files written; RunPhysicalRestore runs the steps
//   recovery_config.cc  step 4: recovery.signal and postgresql.auto.conf
//   server_start.cc     step 5: PostgreSQL started, recovery awaited
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/env.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "restore/physical_restore.h"

namespace pgkeep::physical_restore_internal {

// kUsage with `message` and `hint`.
Status Usage(const std::string& message, const std::string& hint = "");

// "2026-11-23 14:05:00.000000+00", as PostgreSQL reads a timestamptz.
std::string FormatMicrosUtc(int64_t micros);

// True for an empty or absent directory; kUsage when `dir` is not a directory.
Result<bool> DirectoryIsEmpty(Env& env, const std::string& dir);

// When a backup became consistent (unix microseconds) and its stop LSN.
int64_t SnapshotStopMicros(const Snapshot& s);
uint64_t SnapshotStopLsn(const Snapshot& s);

// Whose files these will be (root restoring for the postgres user).
struct Owner {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// Who gets the files: the data directory's owner when root restores into a
// directory someone else owns, else "postgres" when root restores, else nobody
// (files stay ours).
Owner ChooseOwner(Env& env, const std::string& pgdata);

// Step 4: recovery.signal and the recovery settings in postgresql.auto.conf
// (restore_command, `target_line`, the timeline, archive_mode), owned by `owner`.
Status WriteRecoverySettings(Env& env, const PhysicalRestoreOptions& o, const DatabaseConfig& db,
                             const Owner& owner, const PhysicalRestoreResult& result,
                             const std::string& target_line, int64_t now);

// A postgresql.conf string literal: quotes and backslashes doubled.
std::string ConfQuote(const std::string& value);

// Step 5: pg_ctl start as `owner`, then waits until recovery ends (or the
// server stops, or o.start_timeout_seconds pass); fills result's started,
// port, socket_dir, server_log, reached_lsn and reached_time.
Status StartAndWait(Env& env, PgConnector& connector, const PhysicalRestoreOptions& o,
                    const DatabaseConfig& db, const Owner& owner, const Snapshot& backup,
                    PhysicalRestoreResult& result);

}  // namespace pgkeep::physical_restore_internal
