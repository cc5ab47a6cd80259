// store and load as library calls: a directory stored and loaded back, what
// is refused before the repository is touched, and a load that never
// overwrites.
#include "backup/file_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "restore/file_load.h"
#include "support/memory_repo.h"
#include "support/process.h"

namespace pgkeep {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class FileStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-file-store-");
    std::filesystem::create_directories(dir_ + "/in/sub");
    std::ofstream(dir_ + "/in/b.txt") << "bee";
    std::ofstream(dir_ + "/in/sub/a.txt") << "ay";
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::string dir_;
  testing::MemoryRepo mem_;
};

TEST_F(FileStoreTest, ADirectoryComesBackUnderItsAbsolutePath) {
  StoreFilesOptions o;
  o.paths = {dir_ + "/in"};
  o.label = "docs";
  o.database = "files";
  auto inputs = ExpandStoreInputs(mem_.env(), o);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  std::string recorded = dir_.substr(1) + "/in/";
  ASSERT_EQ(inputs->size(), 2u);
  EXPECT_EQ((*inputs)[0].name, recorded + "b.txt");
  EXPECT_EQ((*inputs)[1].name, recorded + "sub/a.txt");
  auto s = StoreFiles(mem_.env(), mem_.repo(), *inputs, o);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, "files");
  EXPECT_EQ(s->label, "docs");
  EXPECT_EQ(SnapshotDatabase(*s), "files");
  EXPECT_EQ(s->start_time, mem_.clock().NowSeconds());

  mem_.Reopen();
  LoadFilesOptions l;
  l.snapshot = "latest";
  l.to_dir = dir_ + "/out";
  auto loaded = LoadFiles(mem_.env(), mem_.repo(), l);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->loaded.size(), 2u);
  EXPECT_EQ(loaded->bytes, 5u);
  EXPECT_EQ(ReadFile(dir_ + "/out/" + recorded + "sub/a.txt"), "ay");

  // Loading again never overwrites: each file fails, none is replaced.
  auto again = LoadFiles(mem_.env(), mem_.repo(), l);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->failed.size(), 2u);
  EXPECT_EQ(again->failed[0].error.code(), ErrorCode::kUsage);
  EXPECT_EQ(ReadFile(dir_ + "/out/" + recorded + "b.txt"), "bee");
}

TEST_F(FileStoreTest, OneFileToASink) {
  StoreFilesOptions o;
  o.paths = {dir_ + "/in"};
  auto inputs = ExpandStoreInputs(mem_.env(), o);
  ASSERT_TRUE(inputs.ok());
  auto s = StoreFiles(mem_.env(), mem_.repo(), *inputs, o);
  ASSERT_TRUE(s.ok());
  mem_.Reopen();
  MemorySink sink;
  LoadFilesOptions l;
  l.snapshot = s->id;
  l.to_sink = &sink;
  auto two = LoadFiles(mem_.env(), mem_.repo(), l);
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.status().message(),
            "--stdout needs exactly one file, the snapshot selection has 2");
  l.files = {(*inputs)[0].name};
  auto one = LoadFiles(mem_.env(), mem_.repo(), l);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(AsString(sink.data()), "bee");
  l.files = {"no/such/file"};
  auto missing = LoadFiles(mem_.env(), mem_.repo(), l);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
}

TEST_F(FileStoreTest, BadInputsAreRefusedBeforeTheRepository) {
  struct Case {
    std::vector<std::string> paths;
    std::string stdin_name;
    ErrorCode code;
  };
  for (const Case& c : std::vector<Case>{{{}, "stdin", ErrorCode::kUsage},
                                         {{"-"}, "../escape", ErrorCode::kUsage},
                                         {{"-"}, ".", ErrorCode::kUsage},
                                         {{"/no/such/path"}, "stdin", ErrorCode::kNotFound}}) {
    StoreFilesOptions o;
    o.paths = c.paths;
    o.stdin_name = c.stdin_name;
    auto r = ExpandStoreInputs(mem_.env(), o);
    ASSERT_FALSE(r.ok()) << c.stdin_name;
    EXPECT_EQ(r.status().code(), c.code) << r.status().ToString();
  }
  StoreFilesOptions o;
  o.paths = {"-"};
  o.stdin_name = "./dumps/app.dump";
  auto r = ExpandStoreInputs(mem_.env(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0].name, "dumps/app.dump");
}

}  // namespace
}  // namespace pgkeep
