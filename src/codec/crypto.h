// codec/crypto.h — the cryptographic primitives pgkeep uses, all from OpenSSL 3:
// random bytes, keyed chunk hashing (HMAC-SHA-256), content hashing (SHA-256),
// authenticated encryption (AES-256-GCM) and password key derivation (scrypt).
//
// Thread safety: the free functions are thread-safe. Hasher and Aead objects
// hold OpenSSL contexts and must be used by one thread at a time; create one per
// worker thread (construction is cheap).
#pragma once

#include <array>
#include <memory>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

using Digest = std::array<uint8_t, 32>;

Bytes RandomBytes(size_t n);
Digest Sha256(ByteView data);

// Keyed hash: HMAC-SHA-256 under a fixed key. The key is copied.
class Hasher {
 public:
  explicit Hasher(ByteView key);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  Digest Mac(ByteView data);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// AES-256-GCM with a random 96-bit nonce per message.
// Sealed layout: nonce(12) || ciphertext || tag(16). The associated data binds
// a message to its name or id, so a blob moved elsewhere fails to open.
class Aead {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kNonceSize = 12;
  static constexpr size_t kTagSize = 16;
  static constexpr size_t kOverhead = kNonceSize + kTagSize;

  explicit Aead(ByteView key);
  ~Aead();
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;

  // Appends the sealed message to `out` (appending lets callers build packs
  // without an extra copy).
  void Seal(ByteView plaintext, ByteView aad, Bytes& out);
  // Appends the plaintext to `out`; kCorrupt if the tag does not verify.
  Status Open(ByteView sealed, ByteView aad, Bytes& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

struct ScryptParams {
  uint64_t n = 1 << 15;  // 32 MiB of memory with r = 8
  uint64_t r = 8;
  uint64_t p = 1;
};

// Derives `length` bytes from a password with scrypt (memory-hard).
Result<Bytes> DeriveKeyScrypt(const std::string& password, ByteView salt,
                              const ScryptParams& params, size_t length);

}  // namespace pgkeep
