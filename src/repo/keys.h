// repo/keys.h — the repository's secrets and how they are stored.
//
// A random 96-byte master key holds three independent 32-byte keys: one
// encrypts data (AES-256-GCM), one names chunks (HMAC-SHA-256), one seeds the
// content-defined chunker. It is stored in keys/<id>, wrapped (AES-256-GCM)
// under a key derived from the password with scrypt. A repository created
// with encryption = "none" stores the master key in the clear: chunk ids and
// checksums still work, confidentiality does not.
#pragma once

#include <optional>
#include <string>

#include "codec/crypto.h"
#include "common/bytes.h"
#include "common/status.h"
#include "storage/storage.h"

namespace pgkeep {

struct MasterKey {
  Bytes data_key;     // 32 bytes
  Bytes id_key;       // 32 bytes
  Bytes chunker_key;  // 32 bytes
  bool encrypted = true;
};

// The 96 key bytes (data, id, chunker) and back; for the key cache.
Bytes MasterKeyBytes(const MasterKey& key);
MasterKey MasterKeyFromBytes(ByteView bytes, bool encrypted);

// A fresh random master key.
MasterKey GenerateMasterKey(bool encrypted);

// The key file (JSON) for `key`; with a password it is wrapped under scrypt.
Result<std::string> SealKeyFile(const MasterKey& key, const std::optional<std::string>& password,
                                const ScryptParams& params, int64_t created_unix);

// Finds the key file that opens with `password` (nullopt for unencrypted
// repositories), trying every file under keys/: damaged or stray files are
// skipped. kAuth when a file fails the password and none opens; otherwise
// the first damage (kRepoFormat, kIo) naming its file; kRepoFormat when
// keys/ is empty.
Result<MasterKey> UnlockMasterKey(Storage& storage, const std::optional<std::string>& password);

}  // namespace pgkeep
