// wal/wal_verify.h — the WAL half of `verify`: for every database with a
// physical backup, its timeline tree (damaged history files are errors, two
// servers archiving at once a warning), continuity per timeline (a gap is an
// error: recovery cannot pass it), and with `read_data` every WAL object read
// and checked (wal_archive.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "repo/repository.h"
#include "wal/timeline_history.h"

namespace pgkeep {

struct WalVerifyReport {
  uint64_t segments = 0;                            // archived segments of those databases
  std::map<std::string, TimelineReport> timelines;  // by database, those with physical backups
  std::vector<std::string> errors;                  // whole sentences naming the database
  std::vector<std::string> warnings;
  uint64_t bytes_read = 0;  // with read_data
};

// `snapshots` in commit order (Repository::ListSnapshots). Fails only when
// the repository cannot be listed or read; problems found are in the report.
Result<WalVerifyReport> VerifyWal(Repository& repo, const std::vector<Snapshot>& snapshots,
                                  bool read_data);

}  // namespace pgkeep
