// common/file_io.h — whole-file operations through an Env: the one
// durable-write routine every writer of a file that must survive a crash
// uses (repository objects in storage/posix, WAL files wal-fetch hands to
// PostgreSQL, restored configuration), and the one whole-file reader.
//
// Thread safety: the functions keep no state.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "common/bytes.h"
#include "common/env.h"
#include "common/status.h"

namespace pgkeep {

// "cannot <what> "<path>": <strerror(errno)>", kNoSpace for ENOSPC/EDQUOT,
// else kIo. Call right after the failing system call.
Status ErrnoError(const std::string& what, const std::string& path);

// The whole file, read to its end; kNotFound (os_error ENOENT) when it does
// not exist, kIo with os_error EFBIG when it holds more than `max_size` bytes
// (found out before more than that is read).
Result<Bytes> ReadWholeFile(Env& env, const std::string& path, uint64_t max_size = UINT64_MAX);

enum class Publish {
  kReplace,   // rename(2) over `path`
  kIfAbsent,  // link(2) to `path`: kConflict, os_error() EEXIST, when it exists
  kInPlace,   // no temp file: `path` itself is created (temp_mode) and written
};

struct DurableWrite {
  std::string temp;  // where the data is written first
  OpenMode temp_mode = OpenMode::kTruncate;
  mode_t mode = 0600;
  Publish publish = Publish::kReplace;
};

// Writes `data` to `how.temp`, fsyncs it, publishes it as `path`, removes
// the temp name and fsyncs the directory. On Ok `path` holds all of `data`
// and survives a crash; on failure `path` holds what it held before (a
// failing directory sync may leave the new content visible but not
// durable) and the temp file is removed.
Status WriteFileDurably(Env& env, const std::string& path, ByteView data, const DurableWrite& how);

// The same for data produced as a stream: `produce` writes it to the sink.
// kInPlace removes `path` again when anything fails, so no partial file
// is left that looks complete.
Status WriteFileDurably(Env& env, const std::string& path,
                        const std::function<Status(ByteSink&)>& produce, const DurableWrite& how);

// WriteFileDurably through "<path>.pgkeep-tmp", replacing `path`.
Status WriteFileAtomically(Env& env, const std::string& path, ByteView data, mode_t mode);

// `path` and every missing parent (mkdir -p), as std::filesystem does it.
Status CreateDirectories(Env& env, const std::string& path, mode_t mode);

// A new directory "<prefix><6 random letters or digits>" (as mkdtemp(3)
// makes them); its path. Fails with the last error when none could be made.
Result<std::string> CreateUniqueDirectory(Env& env, const std::string& prefix, mode_t mode);

// Removes `path` and, when it is a directory, everything under it (rm -rf),
// never following a symlink: a link is removed, not what it points to. Ok
// when `path` does not exist; else the first error, after trying the rest.
Status RemoveTree(Env& env, const std::string& path);

// fsync of the directory holding `path`.
Status SyncParentDirectory(Env& env, const std::string& path);

}  // namespace pgkeep
