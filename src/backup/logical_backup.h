// backup/logical_backup.h — a logical backup of one configured database.
//
//   1. connect, open a REPEATABLE READ transaction and export its snapshot
//   2. run pg_dump --snapshot=<it> --format=custom --compress=0 and stream its
//      output through a StoreSession (content-defined chunks: tomorrow's
//      dump shares every unchanged stretch with today's)
//   3. count the rows of every table in scope inside the same snapshot, so
//      restores and drills can compare exactly
//   4. optionally keep roles and tablespaces (pg_dumpall --globals-only)
//   5. commit the snapshot (kind "logical") only if all of that succeeded
//
// Failure at any step leaves no snapshot (the packs written become garbage).
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "repo/store_session.h"

namespace pgkeep {

struct LogicalBackupOptions {
  std::string label;
  StoreOptions store;
  std::vector<std::string>
      child_env_drop;  // secrets pg_dump and pg_dumpall must not inherit (SecretEnvNames)
  Progress progress;   // its steps as they start
};

// The connection, pg_dump and pg_dumpall come from `connector`.
Result<Snapshot> RunLogicalBackup(Env& env, Repository& repo, PgConnector& connector,
                                  const DatabaseConfig& db, const LogicalBackupOptions& options);

}  // namespace pgkeep
