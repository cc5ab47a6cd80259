// backup/backup.h — `backup` as one library call: the kind chosen from the
// request and the database's method, the backup taken (physical_backup.h or
// logical_backup.h), and pinned when asked. The CLI and the daemon both call
// BackupDatabase and render its BackupResult.
//
// The caller holds the shared repository lock and has loaded the index.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "repo/store_session.h"

namespace pgkeep {

struct BackupOptions {
  std::string type;  // "full", "incr", "logical"; empty: by the database's method
  std::string label;
  bool pin = false;  // pin it right away (the pre-deploy case), until unpinned
  std::string note;  // stored with the pin
  StoreOptions store;
  std::string config_path;                  // for the archive_command suggested in errors
  std::vector<std::string> child_env_drop;  // secrets pg_dump must not inherit (SecretEnvNames)
};

struct BackupResult {
  Snapshot snapshot;
  bool pinned = false;
  std::vector<std::string> warnings;  // corrupt pages, "incr" without a parent
  double seconds = 0;                 // wall time of the whole call (Env's monotonic clock)
};

// The backup kind `requested` means for `db`: "full" or "logical" by its
// method when empty. kUsage when the kind does not fit the method; cheap, so
// callers check before opening anything.
Result<std::string> ResolveBackupType(const DatabaseConfig& db, const std::string& requested);

// Takes the backup and, with options.pin, pins it (repo/pins.h) with the
// repository clock's time. `progress` hears each step as it starts ("backing
// up database \"main\" (full)", the backup's own steps, "pinning ..."). Fails like
// RunPhysicalBackup/RunLogicalBackup; a pin that cannot be written fails the call after the backup
// was committed.
Result<BackupResult> BackupDatabase(Env& env, Repository& repo, PgConnector& connector,
                                    const DatabaseConfig& db, const BackupOptions& options,
                                    const Progress& progress = {});

}  // namespace pgkeep
