#include "repo/keys.h"

#include <nlohmann/json.hpp>

#include "repo/format.h"

namespace pgkeep {

namespace {
constexpr size_t kKeyPartSize = 32;
constexpr size_t kSaltSize = 32;
constexpr char kWrapAad[] = "pgkeep master key";
constexpr uint64_t kMaxScryptMemory = 256 << 20;  // 128 * n * r bytes
constexpr uint64_t kMaxScryptR = 32;
constexpr uint64_t kMaxScryptP = 4;

Bytes Concat(const MasterKey& key) {
  Bytes all;
  Append(all, key.data_key);
  Append(all, key.id_key);
  Append(all, key.chunker_key);
  return all;
}

MasterKey Split(ByteView all, bool encrypted) {
  MasterKey key;
  key.data_key.assign(all.begin(), all.begin() + kKeyPartSize);
  key.id_key.assign(all.begin() + kKeyPartSize, all.begin() + 2 * kKeyPartSize);
  key.chunker_key.assign(all.begin() + 2 * kKeyPartSize, all.begin() + 3 * kKeyPartSize);
  key.encrypted = encrypted;
  return key;
}

Result<MasterKey> OpenKeyFile(const std::string& name, ByteView content,
                              const std::optional<std::string>& password) {
  auto bad = [&](const std::string& why) {
    return Status::Error(ErrorCode::kRepoFormat, "key file \"" + name + "\" is damaged: " + why);
  };
  nlohmann::json j = nlohmann::json::parse(AsString(content), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  auto kdf_it = j.find("kdf");
  std::string kdf = kdf_it != j.end() && kdf_it->is_string() ? kdf_it->get<std::string>() : "";
  if (kdf == "none") {
    auto master_it = j.find("master_key");
    auto master = HexDecode(
        master_it != j.end() && master_it->is_string() ? master_it->get<std::string>() : "");
    if (!master || master->size() != 3 * kKeyPartSize) return bad("bad master_key");
    return Split(*master, false);
  }
  if (kdf != "scrypt") return bad("unknown kdf \"" + kdf + "\"");
  if (!password)
    return Status::Error(
        ErrorCode::kAuth,
        "the repository is encrypted but the configuration says encryption = \"none\"",
        "remove encryption = \"none\" and give the password (PGKEEP_REPO_PASSWORD or "
        "repository.password_file)");
  auto number = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : uint64_t{0};
  };
  auto text = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ScryptParams params{number("n"), number("r"), number("p")};
  auto salt = HexDecode(text("salt"));
  auto wrapped = HexDecode(text("wrapped_key"));
  if (!salt || !wrapped || salt->size() > 1024 || wrapped->size() > 1024)
    return bad("bad kdf parameters");
  // The parameters come from the repository, so whoever can write it chooses
  // how long and how much memory unlocking takes; refuse what init never
  // writes (n = 2^15, r = 8, p = 1: 32 MiB) beyond a generous margin.
  if (params.n < 2 || (params.n & (params.n - 1)) != 0 || params.r == 0 || params.p == 0 ||
      params.r > kMaxScryptR || params.p > kMaxScryptP ||
      params.n > kMaxScryptMemory / 128 / params.r)
    return bad("scrypt parameters n=" + std::to_string(params.n) +
               " r=" + std::to_string(params.r) + " p=" + std::to_string(params.p) +
               " are outside what pgkeep accepts (memory up to " +
               std::to_string(kMaxScryptMemory >> 20) + " MiB, p up to " +
               std::to_string(kMaxScryptP) + ")");
  auto kek = DeriveKeyScrypt(*password, *salt, params, Aead::kKeySize);
  if (!kek.ok()) return kek.status();
  Aead aead(*kek);
  Bytes master;
  Status opened = aead.Open(*wrapped, AsBytes(kWrapAad), master);
  if (!opened.ok()) return Status::Error(ErrorCode::kAuth, "wrong password");
  if (master.size() != 3 * kKeyPartSize) return bad("wrapped key has the wrong size");
  return Split(master, true);
}
}  // namespace

MasterKey GenerateMasterKey(bool encrypted) {
  return Split(RandomBytes(3 * kKeyPartSize), encrypted);
}

Bytes MasterKeyBytes(const MasterKey& key) { return Concat(key); }
MasterKey MasterKeyFromBytes(ByteView bytes, bool encrypted) { return Split(bytes, encrypted); }

Result<std::string> SealKeyFile(const MasterKey& key, const std::optional<std::string>& password,
                                const ScryptParams& params, int64_t created_unix) {
  nlohmann::json j;
  j["version"] = kFormatVersion;
  j["created"] = created_unix;
  if (!key.encrypted) {
    j["kdf"] = "none";
    j["master_key"] = HexEncode(Concat(key));
    return j.dump(2) + "\n";
  }
  if (!password || password->empty())
    return Status::Error(ErrorCode::kAuth, "a repository password is required for encryption",
                         "set PGKEEP_REPO_PASSWORD, or encryption = \"none\" to opt out");
  Bytes salt = RandomBytes(kSaltSize);
  auto kek = DeriveKeyScrypt(*password, salt, params, Aead::kKeySize);
  if (!kek.ok()) return kek.status();
  Aead aead(*kek);
  Bytes wrapped;
  aead.Seal(Concat(key), AsBytes(kWrapAad), wrapped);
  j["kdf"] = "scrypt";
  j["n"] = params.n;
  j["r"] = params.r;
  j["p"] = params.p;
  j["salt"] = HexEncode(salt);
  j["wrapped_key"] = HexEncode(wrapped);
  return j.dump(2) + "\n";
}

Result<MasterKey> UnlockMasterKey(Storage& storage, const std::optional<std::string>& password) {
  auto listing = storage.List(kKeysDir);
  if (!listing.ok()) return listing.status();
  if (listing->empty())
    return Status::Error(ErrorCode::kRepoFormat,
                         "repository \"" + storage.Describe() + "\" has no key file");
  // Every file is tried: a stray or damaged file in keys/ must not lock the
  // owner out while an intact key file is there (verify names the others).
  Status damaged, wrong_password;
  for (const auto& object : *listing) {
    auto content = storage.GetAtMost(object.name, kMaxKeyFileSize);
    Result<MasterKey> key = content.status();
    if (content.ok()) {
      try {
        key = OpenKeyFile(object.name, *content, password);
      } catch (const std::exception& e) {  // a known field of the wrong JSON type
        key = Status::Error(ErrorCode::kRepoFormat,
                            "key file \"" + object.name + "\" is damaged: " + e.what());
      }
    }
    if (key.ok()) return key;
    const Status& s = key.status();
    if (s.code() == ErrorCode::kAuth && !password) return s;  // encrypted, but no password given
    if (s.code() == ErrorCode::kAuth)
      wrong_password = s;
    else if (damaged.ok())
      damaged = s.code() == ErrorCode::kIo ? s.WithContext("key file \"" + object.name + "\"") : s;
  }
  if (!wrong_password.ok() || damaged.ok())
    return Status::Error(ErrorCode::kAuth,
                         "wrong password for repository \"" + storage.Describe() + "\"" +
                             (damaged.ok() ? "" : " (besides, " + damaged.message() + ")"),
                         "check PGKEEP_REPO_PASSWORD (or the file in repository.password_file)");
  return damaged;
}

}  // namespace pgkeep
