// repo/key_cache.h — opening a repository without paying for scrypt each time.
//
// wal-push and wal-fetch run once per WAL segment; unwrapping the master key
// with scrypt (~0.1 s, by design) would dominate them. The first run on a host
// writes the unwrapped key to a cache file beside the state database, sealed
// (AES-256-GCM) under HMAC-SHA-256(random salt, password): only someone who
// has the password (which already sits on this host, in the environment or
// password_file) can open it, and the repository itself stays scrypt-protected
// wherever it is copied. A cache file that no longer opens the repository (new
// password, other repository) is ignored and rewritten.
//
//   <cache_dir>/<first 32 hex of SHA-256(storage description)>.key, mode 0600
//   {"version":1,"salt":"<hex>","sealed":"<hex>"}
//
// Thread safety: functions keep no state; concurrent writers of one cache file
// each rename a complete file into place.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "repo/repository.h"

namespace pgkeep {

// Repository::Open through the cache in `cache_dir` (no cache when empty or
// the repository is unencrypted). Cache problems are never errors: the slow
// path runs and the cache is rewritten when possible.
Result<std::unique_ptr<Repository>> OpenRepositoryCached(Storage& storage, const Clock& clock,
                                                         const std::optional<std::string>& password,
                                                         const std::string& cache_dir,
                                                         std::optional<bool> expect_encrypted = std::nullopt);

}  // namespace pgkeep
