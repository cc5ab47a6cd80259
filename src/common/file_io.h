// common/file_io.h — whole-file operations on plain files outside the
// repository: WAL files PostgreSQL hands over or asks for, restored data
// directories, the key cache. (The repository's own objects go through
// storage/, which adds temp-file naming and cleanup for crashed writers.)
//
// Thread safety: the functions keep no state.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

// "cannot <what> "<path>": <strerror(errno)>", kNoSpace for ENOSPC/EDQUOT,
// else kIo. Call right after the failing system call.
Status ErrnoError(const std::string& what, const std::string& path);

// The whole file; kNotFound when it does not exist.
Result<Bytes> ReadWholeFile(const std::string& path);

// Writes `data` to "<path>.pgkeep-tmp", fsyncs it, renames it over `path`
// and fsyncs the directory: `path` holds the old content or all of the new.
Status WriteFileAtomically(const std::string& path, ByteView data, mode_t mode);

// fsync of a directory, making the entries in it durable.
Status SyncDirectory(const std::string& path);

}  // namespace pgkeep
