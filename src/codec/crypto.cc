#include "codec/crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace pgkeep {

namespace {
// OpenSSL failures here mean a broken library or out of memory, never bad
// user input: they end the process's command.
[[noreturn]] void CryptoFailure(const char* what) {
  throw std::runtime_error(std::string("openssl failure: ") + what);
}
}  // namespace

Bytes RandomBytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) CryptoFailure("RAND_bytes");
  return out;
}

Digest Sha256(ByteView data) {
  Digest d;
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1)
    CryptoFailure("EVP_Digest");
  return d;
}

struct Hasher::Impl {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* keyed = nullptr;  // initialised with the key, duplicated per message
  ~Impl() {
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
  }
};

Hasher::Hasher(ByteView key) : impl_(std::make_unique<Impl>()) {
  impl_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!impl_->mac) CryptoFailure("EVP_MAC_fetch");
  impl_->keyed = EVP_MAC_CTX_new(impl_->mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!impl_->keyed || EVP_MAC_init(impl_->keyed, key.data(), key.size(), params) != 1)
    CryptoFailure("EVP_MAC_init");
}

Hasher::~Hasher() = default;

Digest Hasher::Mac(ByteView data) {
  // Duplicating a keyed context skips re-deriving the HMAC pads per message.
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(impl_->keyed);
  if (!ctx) CryptoFailure("EVP_MAC_CTX_dup");
  Digest d;
  size_t len = 0;
  bool good = EVP_MAC_update(ctx, data.data(), data.size()) == 1 &&
              EVP_MAC_final(ctx, d.data(), &len, d.size()) == 1;
  EVP_MAC_CTX_free(ctx);
  if (!good) CryptoFailure("EVP_MAC_final");
  return d;
}

struct Aead::Impl {
  EVP_CIPHER* cipher = nullptr;
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t key[kKeySize];
  ~Impl() {
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    OPENSSL_cleanse(key, sizeof key);
  }
};

Aead::Aead(ByteView key) : impl_(std::make_unique<Impl>()) {
  if (key.size() != kKeySize) throw std::invalid_argument("aes-256-gcm key must be 32 bytes");
  std::memcpy(impl_->key, key.data(), kKeySize);
  impl_->cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  impl_->ctx = EVP_CIPHER_CTX_new();
  if (!impl_->cipher || !impl_->ctx) CryptoFailure("EVP_CIPHER_fetch");
}

Aead::~Aead() = default;

void Aead::Seal(ByteView plaintext, ByteView aad, Bytes& out) {
  size_t base = out.size();
  out.resize(base + kOverhead + plaintext.size());
  uint8_t* nonce = out.data() + base;
  uint8_t* body = nonce + kNonceSize;
  if (RAND_bytes(nonce, kNonceSize) != 1) CryptoFailure("RAND_bytes");
  EVP_CIPHER_CTX* ctx = impl_->ctx;
  int len = 0;
  bool good =
      EVP_EncryptInit_ex2(ctx, impl_->cipher, impl_->key, nonce, nullptr) == 1 &&
      (aad.empty() ||
       EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1) &&
      EVP_EncryptUpdate(ctx, body, &len, plaintext.data(), static_cast<int>(plaintext.size())) ==
          1 &&
      EVP_EncryptFinal_ex(ctx, body + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, body + plaintext.size()) == 1;
  if (!good) CryptoFailure("aes-256-gcm encrypt");
}

Status Aead::Open(ByteView sealed, ByteView aad, Bytes& out) {
  if (sealed.size() < kOverhead)
    return Status::Error(ErrorCode::kCorrupt, "encrypted object is truncated");
  size_t body_len = sealed.size() - kOverhead;
  const uint8_t* nonce = sealed.data();
  const uint8_t* body = nonce + kNonceSize;
  uint8_t tag[kTagSize];
  std::memcpy(tag, body + body_len, kTagSize);
  size_t base = out.size();
  out.resize(base + body_len);
  EVP_CIPHER_CTX* ctx = impl_->ctx;
  int len = 0;
  bool good =
      EVP_DecryptInit_ex2(ctx, impl_->cipher, impl_->key, nonce, nullptr) == 1 &&
      (aad.empty() ||
       EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) == 1) &&
      EVP_DecryptUpdate(ctx, out.data() + base, &len, body, static_cast<int>(body_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx, out.data() + base + len, &len) == 1;
  if (!good) {
    out.resize(base);
    return Status::Error(ErrorCode::kCorrupt, "authentication tag does not match");
  }
  return Status::Ok();
}

Result<Bytes> DeriveKeyScrypt(const std::string& password, ByteView salt,
                              const ScryptParams& params, size_t length) {
  Bytes out(length);
  // Allow the memory scrypt needs (128 * r * n bytes) plus slack.
  uint64_t maxmem = 128 * params.r * params.n + (16u << 20);
  if (EVP_PBE_scrypt(password.data(), password.size(), salt.data(), salt.size(), params.n, params.r,
                     params.p, maxmem, out.data(), out.size()) != 1)
    return Status::Error(ErrorCode::kInternal, "scrypt key derivation failed");
  return out;
}

}  // namespace pgkeep
