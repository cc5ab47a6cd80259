#include "repo/key_cache.h"

namespace pgkeep {

namespace {

constexpr uint8_t kCacheVersion = 2;
constexpr size_t kSaltSize = 32;
constexpr size_t kKeySize = 96;  // MasterKeyBytes

std::string StorageHash(const Storage& storage) {
  return HexEncode(Sha256(AsBytes(storage.Describe()))).substr(0, 32);
}

std::string CacheAad(const Storage& storage) { return "pgkeep key cache\n" + storage.Describe(); }

Bytes CacheKek(const std::string& password, ByteView salt) {
  Hasher hasher(salt);
  Digest d = hasher.Mac(AsBytes(password));
  return Bytes(d.begin(), d.end());
}

std::optional<MasterKey> ReadCache(const Storage& storage, const Keyring& keyring,
                                   const std::string& password) {
  auto value = keyring.Read(KeyCacheName(storage));
  if (!value || value->size() <= 1 + kSaltSize || (*value)[0] != kCacheVersion) return std::nullopt;
  ByteView all(*value);
  Aead aead(CacheKek(password, all.subspan(1, kSaltSize)));
  Bytes plain;
  if (!aead.Open(all.subspan(1 + kSaltSize), AsBytes(CacheAad(storage)), plain).ok() ||
      plain.size() != kKeySize)
    return std::nullopt;
  return MasterKeyFromBytes(plain, true);
}

void WriteCache(const Storage& storage, Keyring& keyring, const std::string& password,
                const MasterKey& key) {
  Bytes salt = RandomBytes(kSaltSize);
  Aead aead(CacheKek(password, salt));
  Bytes sealed;
  aead.Seal(MasterKeyBytes(key), AsBytes(CacheAad(storage)), sealed);
  Bytes value{kCacheVersion};
  value.insert(value.end(), salt.begin(), salt.end());
  value.insert(value.end(), sealed.begin(), sealed.end());
  // A full keyring (the kernel's per-user quota) is emptied of our other
  // entries, each of which costs its repository one scrypt to rebuild. The
  // kernel frees their quota shortly after, so the retry may still fail and
  // the next run store it. A keyring that refuses it is no error: the next
  // run pays for scrypt.
  if (keyring.Write(KeyCacheName(storage), value, kKeyCacheSeconds)) return;
  if (keyring.RemoveByPrefix(kKeyCachePrefix) > 0)
    (void)keyring.Write(KeyCacheName(storage), value, kKeyCacheSeconds);
}

// The file an earlier version left; it is as sensitive as a leaked HMAC.
void RemoveLegacyCache(Env& env, const Storage& storage, const std::string& dir) {
  if (dir.empty()) return;
  const std::string path = dir + "/" + StorageHash(storage) + ".key";
  if (env.RemoveFile(path).ok()) (void)env.RemoveDir(dir);  // only if now empty
}

}  // namespace

std::string KeyCacheName(const Storage& storage) { return kKeyCachePrefix + StorageHash(storage); }

Result<std::unique_ptr<Repository>> OpenRepositoryCached(
    Env& env, Storage& storage, const Clock& clock, const std::optional<std::string>& password,
    Keyring* keyring, const std::string& legacy_dir, std::optional<bool> expect_encrypted) {
  RemoveLegacyCache(env, storage, legacy_dir);
  if (!password || keyring == nullptr)
    return Repository::Open(storage, clock, password, expect_encrypted);
  if (auto key = ReadCache(storage, *keyring, *password)) {
    auto repo = Repository::OpenWithKey(storage, clock, *key, expect_encrypted);
    if (repo.ok() || repo.status().code() != ErrorCode::kRepoFormat) return repo;
  }
  auto repo = Repository::Open(storage, clock, password, expect_encrypted);
  if (repo.ok() && (*repo)->key().encrypted)
    WriteCache(storage, *keyring, *password, (*repo)->key());
  return repo;
}

}  // namespace pgkeep
