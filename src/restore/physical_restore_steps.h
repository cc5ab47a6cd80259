// restore/physical_restore_steps.h — the steps of a physical restore that
// more than one file shares, internal to restore/ (the contract is
// physical_restore.h). RunPhysicalRestore (physical_restore.cc) checks the
// request (restore_request.cc), chooses the backup and timeline
// (backup_choice.cc), fetches the files, writes the recovery configuration
// (recovery_config.cc) and optionally starts the server (server_start.cc).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "config/config.h"
#include "restore/physical_restore.h"

namespace pgkeep::restore_internal {

// kUsage.
Status Usage(const std::string& message, const std::string& hint = "");

// "2026-11-23 14:05:00.000000+00".
std::string FormatMicrosUtc(int64_t micros);

// Empty or absent: true. Not a directory: kUsage.
Result<bool> DirectoryIsEmpty(const std::string& dir);

// A postgresql.conf string literal.
std::string ConfQuote(const std::string& value);

// Whose files these will be (root restoring for the postgres user).
struct Owner {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// Writes postgresql.auto.conf's recovery settings and recovery.signal.
Status WriteRecoverySettings(const PhysicalRestoreOptions& o, const DatabaseConfig& db,
                             const Owner& owner, const PhysicalRestoreResult& result,
                             const std::string& target_line, int64_t now);

// --start: runs pg_ctl and waits until recovery has ended.
Status StartAndWait(const PhysicalRestoreOptions& o, const DatabaseConfig& db, const Owner& owner,
                    const Snapshot& backup, PhysicalRestoreResult& result);

}  // namespace pgkeep::restore_internal
