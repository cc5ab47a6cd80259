#include "repo/key_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "storage/memory_storage.h"
#include "support/process.h"

namespace pgkeep {
namespace {

const std::string kPassword = "correct horse battery staple";
// The first 32 hex digits of SHA-256("memory"), MemoryStorage's description.
const std::string kCacheFileName = "c064fbca9d9de8dd9bb0624984403b28.key";

InitOptions CheapInit(bool encrypted = true) {
  InitOptions options;
  options.encrypted = encrypted;
  options.scrypt = ScryptParams{1 << 10, 8, 1};  // fast for tests
  return options;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Names of the entries in `dir`; empty when it does not exist.
std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

void DeleteKeyObjects(Storage& storage) {
  auto keys = storage.List(kKeysDir);
  ASSERT_TRUE(keys.ok());
  ASSERT_FALSE(keys->empty());
  for (const auto& o : *keys) ASSERT_TRUE(storage.Delete(o.name).ok());
}

class KeyCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("pgkeep-key-cache-");
    cache_dir_ = root_ + "/cache";  // not there yet: the first open creates it
    auto repo = Repository::Init(storage_, clock_, CheapInit(), kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    repo_id_ = (*repo)->settings().id;
    key_bytes_ = MasterKeyBytes((*repo)->key());
  }
  void TearDown() override { testing::RemoveTree(root_); }

  std::string CacheFile() const { return cache_dir_ + "/" + kCacheFileName; }

  std::string root_;
  std::string cache_dir_;
  ManualClock clock_;
  MemoryStorage storage_;
  std::string repo_id_;
  Bytes key_bytes_;
};

TEST_F(KeyCacheTest, FirstOpenWritesOnePrivateKeyFile) {
  auto repo = OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_EQ(MasterKeyBytes((*repo)->key()), key_bytes_);

  EXPECT_EQ(ListDir(cache_dir_), std::vector<std::string>{kCacheFileName});
  struct stat st;
  ASSERT_EQ(::stat(CacheFile().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(cache_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);

  // {"version":1,"salt":"<hex>","sealed":"<hex>"}, and the key is not in it.
  nlohmann::json j = nlohmann::json::parse(ReadText(CacheFile()), nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.value("version", 0), 1);
  EXPECT_EQ(j.value("salt", "").size(), 64u);
  EXPECT_GT(j.value("sealed", "").size(), 2 * key_bytes_.size());
  EXPECT_EQ(ReadText(CacheFile()).find(HexEncode(key_bytes_)), std::string::npos);
}

TEST_F(KeyCacheTest, SecondOpenUsesTheCacheInsteadOfTheKeyFile) {
  ASSERT_TRUE(OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_).ok());
  const std::string cache = ReadText(CacheFile());

  // Without keys/ only the cached key can open the repository.
  DeleteKeyObjects(storage_);
  auto plain = Repository::Open(storage_, clock_, kPassword);
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.status().code(), ErrorCode::kRepoFormat);

  auto repo = OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_EQ(MasterKeyBytes((*repo)->key()), key_bytes_);
  EXPECT_TRUE((*repo)->key().encrypted);
  EXPECT_EQ(ReadText(CacheFile()), cache);  // used, not rewritten
  EXPECT_EQ(ListDir(cache_dir_), std::vector<std::string>{kCacheFileName});
}

TEST_F(KeyCacheTest, WrongPasswordIsRefusedDespiteTheCache) {
  ASSERT_TRUE(OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_).ok());
  const std::string cache = ReadText(CacheFile());

  auto repo = OpenRepositoryCached(storage_, clock_, std::string("wrong password"), cache_dir_);
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(ReadText(CacheFile()), cache);
}

TEST_F(KeyCacheTest, WrongPasswordCannotUseTheCacheEvenWithoutKeyFiles) {
  ASSERT_TRUE(OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_).ok());
  DeleteKeyObjects(storage_);
  auto repo = OpenRepositoryCached(storage_, clock_, std::string("wrong password"), cache_dir_);
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), ErrorCode::kRepoFormat);  // no key file left to try
}

TEST_F(KeyCacheTest, CacheOfAnotherRepositoryIsIgnoredAndRewritten) {
  // Both MemoryStorages describe themselves as "memory", so they share one
  // cache file name: exactly the "other repository at the same place" case.
  MemoryStorage other;
  auto created = Repository::Init(other, clock_, CheapInit(), kPassword);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string other_id = (*created)->settings().id;
  const Bytes other_key = MasterKeyBytes((*created)->key());
  ASSERT_NE(other_id, repo_id_);

  ASSERT_TRUE(OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_).ok());
  const std::string first_cache = ReadText(CacheFile());

  auto repo = OpenRepositoryCached(other, clock_, kPassword, cache_dir_);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, other_id);
  EXPECT_EQ(MasterKeyBytes((*repo)->key()), other_key);
  EXPECT_NE(ReadText(CacheFile()), first_cache);
  EXPECT_EQ(ListDir(cache_dir_), std::vector<std::string>{kCacheFileName});

  // The cache now holds the other repository's key: it opens that one
  // without key files, and no longer the first.
  DeleteKeyObjects(other);
  auto again = OpenRepositoryCached(other, clock_, kPassword, cache_dir_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->settings().id, other_id);
  DeleteKeyObjects(storage_);
  auto first = OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), ErrorCode::kRepoFormat);
}

TEST_F(KeyCacheTest, DamagedCacheIsIgnoredAndRewritten) {
  for (const std::string garbage : {"", "not json", "{\"version\":2}", "{\"version\":1,\"salt\":\"zz\",\"sealed\":\"00\"}",
                                    "{\"version\":1,\"salt\":\"00\",\"sealed\":\"0000000000000000\"}"}) {
    SCOPED_TRACE(garbage);
    ASSERT_TRUE(std::filesystem::create_directories(cache_dir_) || std::filesystem::is_directory(cache_dir_));
    std::ofstream(CacheFile(), std::ios::trunc) << garbage;
    auto repo = OpenRepositoryCached(storage_, clock_, kPassword, cache_dir_);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    EXPECT_EQ((*repo)->settings().id, repo_id_);
    nlohmann::json j = nlohmann::json::parse(ReadText(CacheFile()), nullptr, false);
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.value("version", 0), 1);
  }
}

TEST_F(KeyCacheTest, UnusableCacheDirectoryIsNotAnError) {
  std::ofstream(root_ + "/file") << "x";
  const std::string cache_dir = root_ + "/file/cache";  // under a regular file
  auto repo = OpenRepositoryCached(storage_, clock_, kPassword, cache_dir);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_EQ(ListDir(root_), std::vector<std::string>{"file"});
}

TEST_F(KeyCacheTest, EmptyCacheDirectoryMeansNoCache) {
  auto repo = OpenRepositoryCached(storage_, clock_, kPassword, "");
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ((*repo)->settings().id, repo_id_);
  EXPECT_TRUE(ListDir(root_).empty());
  EXPECT_FALSE(std::filesystem::exists("/" + kCacheFileName));
  EXPECT_FALSE(std::filesystem::exists(kCacheFileName));

  // And so nothing to fall back on without key files.
  DeleteKeyObjects(storage_);
  auto without_keys = OpenRepositoryCached(storage_, clock_, kPassword, "");
  ASSERT_FALSE(without_keys.ok());
  EXPECT_EQ(without_keys.status().code(), ErrorCode::kRepoFormat);
}

class KeyCacheUnencryptedTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testing::MakeTempDir("pgkeep-key-cache-"); }
  void TearDown() override { testing::RemoveTree(root_); }

  std::string root_;
};

TEST_F(KeyCacheUnencryptedTest, WritesNoCache) {
  const std::string cache_dir = root_ + "/cache";
  ManualClock clock;
  MemoryStorage storage;
  auto created = Repository::Init(storage, clock, CheapInit(/*encrypted=*/false), std::nullopt);
  ASSERT_TRUE(created.ok()) << created.status().ToString();

  auto repo = OpenRepositoryCached(storage, clock, std::nullopt, cache_dir);
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_FALSE((*repo)->key().encrypted);
  // A password configured for an unencrypted repository changes nothing.
  auto with_password = OpenRepositoryCached(storage, clock, kPassword, cache_dir);
  ASSERT_TRUE(with_password.ok()) << with_password.status().ToString();
  EXPECT_FALSE((*with_password)->key().encrypted);

  EXPECT_TRUE(ListDir(root_).empty());
}

}  // namespace
}  // namespace pgkeep
