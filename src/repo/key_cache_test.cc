#include "repo/key_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "storage/memory_storage.h"
#include "support/process.h"

namespace pgkeep {
namespace {

const std::string kPassword = "correct horse battery staple";
// "pgkeep:repo-key:" + the first 32 hex digits of SHA-256("memory"),
// MemoryStorage's description.
const std::string kEntryName = "pgkeep:repo-key:c064fbca9d9de8dd9bb0624984403b28";
const std::string kLegacyFileName = "c064fbca9d9de8dd9bb0624984403b28.key";

InitOptions CheapInit(bool encrypted = true) {
  InitOptions options;
  options.encrypted = encrypted;
  options.scrypt = ScryptParams{1 << 10, 8, 1};  // fast for tests
  return options;
}

// Names of the entries in `dir`; empty when it does not exist.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void DeleteKeyObjects(Storage& storage) {
  auto keys = storage.List(kKeysDir);
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  for (const auto& o : *keys) ASSERT_TRUE(storage.Delete(o.name).ok());
}

bool Contains(ByteView haystack, ByteView needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("pgkeep-key-cache-");
    legacy_dir_ = root_ + "/keys";
    auto repo = Repository::Init(storage_, clock_, CheapInit(), kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_id_ = (*repo)->settings().id;
    key_bytes_ = MasterKeyBytes((*repo)->key());
  }
  void TearDown() override { testing::RemoveTree(root_); }

  Result<std::unique_ptr<Repository>> Open(Storage& storage, const std::string& password) {
    return OpenRepositoryCached(env_, storage, clock_, password, &keyring_, legacy_dir_);
  }
  Bytes Entry() const { return keyring_.Read(kEntryName).value_or(Bytes{}); }

  PosixEnv env_;
  std::string root_;
  std::string legacy_dir_;
  ManualClock clock_;
  MemoryStorage storage_;
  MemoryKeyring keyring_;
  std::string repo_id_;
  Bytes key_bytes_;
};

TEST_F(KeyCacheTest, FirstOpenSealsTheKeyIntoTheKeyringAndWritesNoFile) {
  EXPECT_EQ(KeyCacheName(storage_), kEntryName);
  auto repo = Open(storage_, kPassword);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_EQ(MasterKeyBytes((*repo)->key()), key_bytes_);

  // version 2 | 32-byte salt | nonce + 96 sealed bytes + tag; never the key in clear.
  ASSERT_EQ(keyring_.size(), 1u);
  const Bytes entry = Entry();
  ASSERT_EQ(entry.size(), 1u + 32 + 12 + 96 + 16);
  EXPECT_EQ(entry[0], 2);
  EXPECT_FALSE(Contains(entry, key_bytes_));
  EXPECT_FALSE(Contains(entry, ByteView(key_bytes_).first(32)));
  EXPECT_TRUE(ListDir(root_).empty());  // nothing on disk to steal
}

TEST_F(KeyCacheTest, SecondOpenUsesTheCacheInsteadOfTheKeyFile) {
  ASSERT_TRUE(Open(storage_, kPassword).ok());
  const Bytes entry = Entry();

  // Without keys/ only the cached key can open the repository.
  DeleteKeyObjects(storage_);
  auto plain = Repository::Open(storage_, clock_, kPassword);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), ErrorCode::kRepoFormat);

  auto repo = Open(storage_, kPassword);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_EQ(MasterKeyBytes((*repo)->key()), key_bytes_);
  EXPECT_TRUE((*repo)->key().encrypted);
  EXPECT_EQ(Entry(), entry);  // used, not rewritten
}

TEST_F(KeyCacheTest, WrongPasswordIsRefusedDespiteTheCache) {
  ASSERT_TRUE(Open(storage_, kPassword).ok());
  const Bytes entry = Entry();

  auto repo = Open(storage_, "wrong password");
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(Entry(), entry);

  DeleteKeyObjects(storage_);
  auto without_keys = Open(storage_, "wrong password");
  ASSERT_FALSE(without_keys.ok());
  EXPECT_EQ(without_keys.status().code(), ErrorCode::kRepoFormat);  // no key file left to try
}

TEST_F(KeyCacheTest, CacheOfAnotherRepositoryIsIgnoredAndReplaced) {
  // Both MemoryStorages describe themselves as "memory", so they share one
  // entry name: exactly the "other repository at the same place" case.
  MemoryStorage other;
  auto created = Repository::Init(other, clock_, CheapInit(), kPassword);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string other_id = (*created)->settings().id;
  ASSERT_NE(other_id, repo_id_);

  ASSERT_TRUE(Open(storage_, kPassword).ok());
  const Bytes first_entry = Entry();

  auto repo = Open(other, kPassword);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, other_id);
  EXPECT_NE(Entry(), first_entry);
  EXPECT_EQ(keyring_.size(), 1u);

  // The entry now holds the other repository's key: it opens that one
  // without key files, and no longer the first.
  DeleteKeyObjects(other);
  auto again = Open(other, kPassword);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->settings().id, other_id);
  DeleteKeyObjects(storage_);
  auto first = Open(storage_, kPassword);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), ErrorCode::kRepoFormat);
}

TEST_F(KeyCacheTest, DamagedEntryIsIgnoredAndReplaced) {
  Bytes valid_but_v1 = Bytes(1 + 32 + 12 + 96 + 16, 0);
  valid_but_v1[0] = 1;
  for (const Bytes& garbage : {Bytes{}, Bytes{2}, Bytes(33, 2), Bytes(300, 2), valid_but_v1}) {
    SCOPED_TRACE(garbage.size());
    ASSERT_TRUE(keyring_.Write(kEntryName, garbage, 60));
    auto repo = Open(storage_, kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_EQ((*repo)->settings().id, repo_id_);
    const Bytes entry = Entry();
    ASSERT_EQ(entry.size(), 1u + 32 + 12 + 96 + 16);
    EXPECT_EQ(entry[0], 2);
  }
}

TEST_F(KeyCacheTest, WithoutAKeyringEveryOpenPaysForScryptAndNothingIsWritten) {
  keyring_.set_unavailable(true);
  for (int i = 0; i < 2; ++i) {
    auto repo = Open(storage_, kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_EQ((*repo)->settings().id, repo_id_);
  }
  EXPECT_EQ(keyring_.size(), 0u);
  EXPECT_TRUE(ListDir(root_).empty());

  auto repo = OpenRepositoryCached(env_, storage_, clock_, kPassword, nullptr, legacy_dir_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  DeleteKeyObjects(storage_);
  auto without_keys = OpenRepositoryCached(env_, storage_, clock_, kPassword, nullptr, legacy_dir_);
  ASSERT_FALSE(without_keys.ok());  // and so nothing to fall back on without key files
  EXPECT_EQ(without_keys.status().code(), ErrorCode::kRepoFormat);
}

TEST_F(KeyCacheTest, AFullKeyringIsEmptiedOfOurOtherEntriesOnly) {
  keyring_.set_capacity(3);
  ASSERT_TRUE(keyring_.Write("pgkeep:repo-key:other-repository", AsBytes("x"), 60));
  ASSERT_TRUE(keyring_.Write("pgkeep:repo-key:another-one", AsBytes("y"), 60));
  ASSERT_TRUE(keyring_.Write("someone-else:token", AsBytes("z"), 60));
  auto repo = Open(storage_, kPassword);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_FALSE(Entry().empty()) << "the key was not cached";
  EXPECT_FALSE(keyring_.Read("pgkeep:repo-key:other-repository").has_value());
  EXPECT_FALSE(keyring_.Read("pgkeep:repo-key:another-one").has_value());
  EXPECT_TRUE(keyring_.Read("someone-else:token").has_value());
  EXPECT_EQ(keyring_.size(), 2u);

  // Full of others' entries: nothing of theirs is touched, and the open works.
  keyring_.Remove(kEntryName);
  keyring_.set_capacity(1);
  auto again = Open(storage_, kPassword);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(Entry().empty());
  EXPECT_TRUE(keyring_.Read("someone-else:token").has_value());
}

TEST_F(KeyCacheTest, AnOldCacheFileIsDeleted) {
  // Earlier versions left the sealed key in a file: a stolen copy allowed
  // cheap offline guessing of the password. The first open removes it.
  std::filesystem::create_directories(legacy_dir_);
  std::ofstream(legacy_dir_ + "/" + kLegacyFileName)
      << R"({"version":1,"salt":"00","sealed":"00"})";
  ASSERT_TRUE(Open(storage_, kPassword).ok());
  EXPECT_TRUE(ListDir(root_).empty());

  // Only that file: whatever else the folder holds stays, and so does the folder.
  std::filesystem::create_directories(legacy_dir_);
  std::ofstream(legacy_dir_ + "/" + kLegacyFileName) << "x";
  std::ofstream(legacy_dir_ + "/notes.txt") << "mine";
  ASSERT_TRUE(Open(storage_, kPassword).ok());
  EXPECT_EQ(ListDir(legacy_dir_), std::vector<std::string>{"notes.txt"});
}

TEST(KeyCacheUnencryptedTest, WritesNoCache) {
  PosixEnv env;
  ManualClock clock;
  MemoryStorage storage;
  MemoryKeyring keyring;
  auto created = Repository::Init(storage, clock, CheapInit(/*encrypted=*/false), std::nullopt);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  auto repo = OpenRepositoryCached(env, storage, clock, std::nullopt, &keyring, "");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_FALSE((*repo)->key().encrypted);
  // A password configured for an unencrypted repository changes nothing.
  auto with_password = OpenRepositoryCached(env, storage, clock, kPassword, &keyring, "");
  ASSERT_TRUE(with_password.ok()) << with_password.status().ToString();
  EXPECT_FALSE((*with_password)->key().encrypted);
  EXPECT_EQ(keyring.size(), 0u);
}

// The real kernel keyring: what one process stores, another process of the
// same user reads; nobody reads it back after Remove.
TEST(KernelKeyringTest, ValuesOutliveTheProcessAndCanBeRemoved) {
  KernelKeyring keyring;
  const std::string name = "pgkeep:test:" + std::to_string(::getpid());
  const Bytes value = RandomBytes(145);
  if (!keyring.Write(name, value, 60)) GTEST_SKIP() << "this kernel keeps no user keyring for us";
  EXPECT_EQ(keyring.Read(name), value);

  const Bytes replaced = RandomBytes(145);
  ASSERT_TRUE(keyring.Write(name, replaced, 60));
  EXPECT_EQ(keyring.Read(name), replaced);

  // Another process (keyctl_search from scratch) finds it too.
  pid_t child = ::fork();
  if (child == 0) ::_exit(KernelKeyring().Read(name) == replaced ? 0 : 1);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

  keyring.Remove(name);
  EXPECT_FALSE(keyring.Read(name).has_value());
  EXPECT_FALSE(keyring.Write(name, Bytes(Keyring::kMaxValueSize + 1, 0), 60));
  EXPECT_FALSE(keyring.Read(name).has_value());

  // Removal by prefix takes exactly the names that start with it.
  const std::string family = name + ":family:";
  ASSERT_TRUE(keyring.Write(family + "a", value, 60));
  ASSERT_TRUE(keyring.Write(family + "b", value, 60));
  ASSERT_TRUE(keyring.Write(name + ":other", value, 60));
  EXPECT_EQ(keyring.RemoveByPrefix(family), 2u);
  EXPECT_FALSE(keyring.Read(family + "a").has_value());
  EXPECT_FALSE(keyring.Read(family + "b").has_value());
  EXPECT_TRUE(keyring.Read(name + ":other").has_value());
  keyring.Remove(name + ":other");
}

}  // namespace
}  // namespace pgkeep
