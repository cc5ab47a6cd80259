// backup/data_directory.h — what a physical backup takes from a data directory.
//
// Skipped, as PostgreSQL documents for base backups ("Backing Up the Data
// Directory", and what BASE_BACKUP itself leaves out):
//   contents of pg_wal, pg_dynshmem, pg_notify, pg_replslot, pg_serial,
//   pg_snapshots, pg_stat_tmp, pg_subtrans (the directories themselves are kept);
//   postmaster.pid, postmaster.opts, postgresql.auto.conf.tmp, current_logfiles,
//   backup_label, tablespace_map, backup_manifest (the backup writes its own
//   backup_label and tablespace_map), recovery.signal, standby.signal;
//   pg_internal.init and anything named pgsql_tmp* anywhere.
// Tablespaces (pg_tblspc/<oid> symlinks) are followed; their files are named
// pg_tblspc/<oid>/... in the snapshot. A symlinked pg_wal is kept as a
// directory; any other symlink is left out, as BASE_BACKUP leaves it out.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace pgkeep {

// `path` relative to the data directory, '/'-separated.
bool ExcludedFromBackup(std::string_view path);
// Directories whose contents are skipped but which are kept, empty.
bool ContentsExcludedFromBackup(std::string_view dir_path);

struct DataDirEntry {
  std::string path;      // relative, as stored in the snapshot
  std::string abs_path;  // where to read it
  bool is_dir = false;
  uint32_t mode = 0;  // permission bits
  uint64_t size = 0;
  int64_t mtime = 0;
};

struct Tablespace {
  std::string oid;
  std::string location;
};

// Every entry a backup takes, parents before their children.
// kConfig when `pgdata` is not a readable directory.
Result<std::vector<DataDirEntry>> ListDataDirectory(Env& env, const std::string& pgdata,
                                                    std::vector<Tablespace>* tablespaces);

}  // namespace pgkeep
