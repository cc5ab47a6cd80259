// backup/physical_backup.h — a physical base backup of one configured cluster.
//
//   1. connect; refuse unless WAL archiving reaches pgkeep (backup/archiving.h),
//      and unless the cluster is the one the repository knows for this name
//   2. acquire the files, either
//        local (pgdata set): pg_backup_start, read the data directory with
//          `read_threads` threads, pg_backup_stop; backup_label and
//          tablespace_map from pg_backup_stop are stored as files
//        stream (no pgdata): BASE_BACKUP over the replication protocol, its
//          tar archives unpacked on the fly (postgres/replication.h)
//      both check page checksums on the way (backup/page_verify.h) and store
//      files in fixed blocks (relation files change page by page), so both
//      produce the same snapshot
//   3. wait until the WAL segment holding the stop LSN is in the repository
//   4. commit the snapshot (kind "full" or "incr")
//
// Every backup holds every file: "incr" differs from "full" only in what it
// records (its parent); both store only the blocks the repository lacks, so
// neither depends on another to restore. Failure at any step leaves no
// snapshot; PostgreSQL ends the backup when the session closes.
#pragma once

#include <string>
#include <vector>

#include "backup/data_directory.h"
#include "backup/page_verify.h"
#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"
#include "repo/store_session.h"

namespace pgkeep {

struct PhysicalBackupOptions {
  std::string type = "full";  // "full" | "incr"
  std::string label;
  StoreOptions store;
  // Local method: files are read and stored by this many threads, biggest
  // first, so each pack interleaves the chunks of about this many files
  // (recorded as the snapshot's "readers"; restore/physical_restore.h).
  int read_threads = 2;
  int wal_wait_seconds = 300;  // for the stop segment to be archived
  std::string config_path;     // for the archive_command suggested in errors
  Progress progress;           // its steps as they start
};

struct PhysicalBackupResult {
  Snapshot snapshot;
  std::vector<std::string> warnings;  // corrupt pages, "incr" without a parent
};

// Every connection and the base backup stream come from `connector`.
Result<PhysicalBackupResult> RunPhysicalBackup(Env& env, Repository& repo, PgConnector& connector,
                                               const DatabaseConfig& db,
                                               const PhysicalBackupOptions& options);

// Step 2 for a local data directory, without PostgreSQL: stores every file
// ListDataDirectory names in `session` (pages checked against `start_lsn`
// when `checksums`) with `threads` readers. The caller commits.
Result<std::vector<FileEntry>> StoreDataDirectory(Env& env, StoreSession& session,
                                                  const Chunker& chunker, const std::string& pgdata,
                                                  bool checksums, uint64_t start_lsn, int threads,
                                                  std::vector<Tablespace>* tablespaces,
                                                  PageCheckStats* pages);

}  // namespace pgkeep
