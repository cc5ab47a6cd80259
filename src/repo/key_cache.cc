#include "repo/key_cache.h"

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "common/file_io.h"

namespace pgkeep {

namespace {

constexpr size_t kSaltSize = 32;

std::string CacheAad(const Storage& storage) { return "pgkeep key cache\n" + storage.Describe(); }

std::string CachePath(const Storage& storage, const std::string& dir) {
  return dir + "/" + HexEncode(Sha256(AsBytes(storage.Describe()))).substr(0, 32) + ".key";
}

Bytes CacheKek(const std::string& password, ByteView salt) {
  Hasher hasher(salt);
  Digest d = hasher.Mac(AsBytes(password));
  return Bytes(d.begin(), d.end());
}

std::optional<MasterKey> ReadCache(const Storage& storage, const std::string& path,
                                   const std::string& password) {
  auto text = ReadWholeFile(path);
  if (!text.ok()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(AsString(*text), nullptr, false);
  if (!j.is_object() || j.value("version", 0) != 1) return std::nullopt;
  auto salt = HexDecode(j.value("salt", ""));
  auto sealed = HexDecode(j.value("sealed", ""));
  if (!salt || !sealed) return std::nullopt;
  Aead aead(CacheKek(password, *salt));
  Bytes plain;
  if (!aead.Open(*sealed, AsBytes(CacheAad(storage)), plain).ok() || plain.size() != 96)
    return std::nullopt;
  return MasterKeyFromBytes(plain, true);
}

void WriteCache(const Storage& storage, const std::string& dir, const std::string& path,
                const std::string& password, const MasterKey& key) {
  // The state directory may not exist yet: create it and the cache (0700).
  for (size_t slash = dir.find('/', 1); slash != std::string::npos; slash = dir.find('/', slash + 1))
    ::mkdir(dir.substr(0, slash).c_str(), 0700);
  ::mkdir(dir.c_str(), 0700);  // may exist; failures show up below
  Bytes salt = RandomBytes(kSaltSize);
  Aead aead(CacheKek(password, salt));
  Bytes sealed;
  aead.Seal(MasterKeyBytes(key), AsBytes(CacheAad(storage)), sealed);
  nlohmann::json j = {{"version", 1}, {"salt", HexEncode(salt)}, {"sealed", HexEncode(sealed)}};
  // A cache that cannot be written is no error: the next run pays for scrypt.
  (void)WriteFileAtomically(path, AsBytes(j.dump() + "\n"), 0600);
}

}  // namespace

Result<std::unique_ptr<Repository>> OpenRepositoryCached(Storage& storage, const Clock& clock,
                                                         const std::optional<std::string>& password,
                                                         const std::string& cache_dir,
                                                         std::optional<bool> expect_encrypted) {
  if (!password || cache_dir.empty()) return Repository::Open(storage, clock, password, expect_encrypted);
  std::string path = CachePath(storage, cache_dir);
  if (auto key = ReadCache(storage, path, *password)) {
    auto repo = Repository::OpenWithKey(storage, clock, *key, expect_encrypted);
    if (repo.ok() || repo.status().code() != ErrorCode::kRepoFormat) return repo;
  }
  auto repo = Repository::Open(storage, clock, password, expect_encrypted);
  if (repo.ok() && (*repo)->key().encrypted) WriteCache(storage, cache_dir, path, *password, (*repo)->key());
  return repo;
}

}  // namespace pgkeep
