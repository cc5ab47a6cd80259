// repo/key_cache.h — opening a repository without paying for scrypt each time.
//
// Every command opens the repository through this cache. wal-push and
// wal-fetch run once per WAL segment, and a restore or a drill is timed
// against its RTO; unwrapping the master key with scrypt (~0.1-0.2 s, by
// design) would dominate the first and add to the second. The first run writes
// the unwrapped key into the user's kernel keyring (common/keyring.h), sealed
// (AES-256-GCM) under HMAC-SHA-256(random salt, password), for 12 hours:
//
//   name  "pgkeep:repo-key:<first 32 hex of SHA-256(storage description)>"
//   value 0x02 | salt (32 bytes) | sealed key (12-byte nonce, 96 bytes, 16-byte tag)
//
// Nothing is written to disk, so there is no cache file to steal and guess
// the password against offline: whoever can read the keyring entry runs as
// the same user on the same boot, and can read the password itself (its
// environment or password_file). The repository stays scrypt-protected
// wherever it is copied. Where the kernel keeps no keyring for us (some
// containers), every open pays for scrypt. An entry that no longer opens the
// repository (new password, other repository) is ignored and replaced. When
// the user's keyring quota is full (the kernel allows 200 keys and 20000
// bytes by default, which repositories used once, as in tests, can fill
// for 12 hours), the other entries are removed to make room.
//
// Earlier versions kept the sealed key in "<legacy_dir>/<32 hex>.key" under
// the same, cheaply guessable, HMAC; such a file is deleted when found.
//
// Thread safety: functions keep no state.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/env.h"
#include "common/keyring.h"
#include "repo/repository.h"

namespace pgkeep {

// The names of cache entries start with this.
inline constexpr char kKeyCachePrefix[] = "pgkeep:repo-key:";

// How long a cached key lives in the keyring.
inline constexpr int64_t kKeyCacheSeconds = 12 * 3600;

// Repository::Open through the cache in `keyring` (no cache when null or the
// repository is unencrypted). Cache problems are never errors: the slow path
// runs and the cache is rewritten when possible. `legacy_dir` (may be empty)
// is where an old cache file of this repository is removed from.
Result<std::unique_ptr<Repository>> OpenRepositoryCached(
    Env& env, Storage& storage, const Clock& clock, const std::optional<std::string>& password,
    Keyring* keyring, const std::string& legacy_dir,
    std::optional<bool> expect_encrypted = std::nullopt);

// The keyring entry name for the repository on `storage`.
std::string KeyCacheName(const Storage& storage);

}  // namespace pgkeep
