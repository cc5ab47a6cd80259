// wal/wal_archive.h — WAL files in the repository: archive_command and
// restore_command, and the identity of the cluster they come from.
//
// WAL is not chunked or deduplicated (segments never repeat): each file is one
// object, compressed and sealed with its own name as associated data, so an
// object copied under another name fails to open.
//   wal/<db>/cluster                            system identifier of the cluster
//   wal/<db>/<timeline+log, 16 hex>/<file>      segments, .partial, .backup files
//   wal/<db>/<TTTTTTTT>.history                 timeline history files
// Objects are written with the storage's atomic Put and never replaced: a
// second push of a file compares content instead (same: success; different:
// kConflict). The one exception is a copy that no longer decodes (damaged):
// it is replaced by the intact file, atomically. A segment whose page header names another cluster
// than the one recorded for <db> is refused (kConflict), so two clusters can never mix their WAL
// under one name.
//
// No repository lock is taken: WAL objects are only ever added here, and only
// expire (under its exclusive lock) removes them.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "repo/repository.h"

namespace pgkeep {

// "wal/<db>/<first 16 hex>/<segment>" or "wal/<db>/<history file>", under
// the prefix repo/format.h gives (WalPrefix).
std::string WalObjectName(const std::string& db, const std::string& file_name);

struct WalPushResult {
  bool already_archived = false;  // an identical copy was there
  bool replaced_damaged = false;  // a copy that no longer decoded was replaced
  uint64_t bytes = 0;
  uint64_t stored_bytes = 0;
};

// Archives the file at `path` (its base name must be a WAL file name).
// kUsage for a name PostgreSQL never archives; kConflict as described above.
Result<WalPushResult> PushWalFile(Env& env, Repository& repo, const std::string& db,
                                  const std::string& path, int compression_level);

// Writes WAL file `name` to `dest` (through a temporary file and rename).
// kNotFound when the repository does not have it.
Status FetchWalFile(Env& env, Repository& repo, const std::string& db, const std::string& name,
                    const std::string& dest);

// The system identifier recorded for `db`, nullopt when nothing was archived
// or backed up for it yet.
Result<std::optional<uint64_t>> ReadClusterIdentity(Repository& repo, const std::string& db);
// Records `system_id` for `db` if none is recorded; kConflict when another is.
// `source` names where the identifier came from, for the message.
Status CheckClusterIdentity(Repository& repo, const std::string& db, uint64_t system_id,
                            const std::string& source);

// Reads and checks (GCM tag, framing) every WAL object of `db`; returns one
// message per damaged object and adds the bytes read to *bytes_read.
Result<std::vector<std::string>> CheckWalObjects(Repository& repo, const std::string& db,
                                                 uint64_t* bytes_read);

// Names of the WAL files archived for `db` (file names, not object names),
// sorted.
Result<std::vector<std::string>> ListWalFiles(Storage& storage, const std::string& db);

// Waits until WAL file `name` of `db` is in the repository (backup, check
// and drills wait for a segment they made the server switch). kCheckFailed
// after `timeout_seconds`, naming the segment; kInterrupted as soon as
// `cancel` (when given) is nonzero.
Status WaitForArchivedWal(Env& env, Repository& repo, const std::string& db,
                          const std::string& name, int timeout_seconds,
                          const std::atomic<int>* cancel = nullptr);

}  // namespace pgkeep
