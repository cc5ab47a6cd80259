#include "common/fault_env.h"

#include <gtest/gtest.h>

#include "common/file_io.h"
#include "support/process.h"

namespace pgkeep {
namespace {

class FaultEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-fault-env-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // The file's content, or "<absent>".
  std::string Content(const std::string& name) {
    auto data = ReadWholeFile(real_, Path(name));
    return data.ok() ? std::string(AsString(*data)) : "<absent>";
  }
  Status Write(Env& env, const std::string& name, const std::string& text, bool sync,
               OpenMode mode = OpenMode::kTruncate) {
    auto file = env.NewWritableFile(Path(name), mode, 0600);
    if (!file.ok()) return file.status();
    PGKEEP_RETURN_IF_ERROR((*file)->Write(AsBytes(text)));
    if (sync) PGKEEP_RETURN_IF_ERROR((*file)->Sync());
    return (*file)->Close();
  }

  PosixEnv real_;
  std::string dir_;
};

TEST_F(FaultEnvTest, CrashDropsWhatWasNotSynced) {
  struct Case {
    const char* name;
    std::function<void(FaultEnv&)> before_crash;
    std::map<std::string, std::string> after;  // file -> content after the crash
  };
  const std::vector<Case> cases = {
      {"unsynced content of a synced entry is lost",
       [&](FaultEnv& env) {
         ASSERT_TRUE(Write(env, "f", "data", /*sync=*/false).ok());
         ASSERT_TRUE(env.SyncDir(dir_).ok());
       },
       {{"f", ""}}},
      {"a new file without a directory sync disappears",
       [&](FaultEnv& env) { ASSERT_TRUE(Write(env, "f", "data", /*sync=*/true).ok()); },
       {{"f", "<absent>"}}},
      {"synced content and entry survive; an unsynced append does not",
       [&](FaultEnv& env) {
         ASSERT_TRUE(Write(env, "f", "data", /*sync=*/true).ok());
         ASSERT_TRUE(env.SyncDir(dir_).ok());
         ASSERT_TRUE(Write(env, "f", "+more", /*sync=*/false, OpenMode::kAppend).ok());
       },
       {{"f", "data"}}},
      {"a rename without a directory sync is undone",
       [&](FaultEnv& env) {
         ASSERT_TRUE(Write(env, "f", "old", /*sync=*/true).ok());
         ASSERT_TRUE(Write(env, "tmp", "new", /*sync=*/true).ok());
         ASSERT_TRUE(env.SyncDir(dir_).ok());
         ASSERT_TRUE(env.RenameFile(Path("tmp"), Path("f")).ok());
       },
       {{"f", "old"}, {"tmp", "new"}}},
      {"a synced rename stays",
       [&](FaultEnv& env) {
         ASSERT_TRUE(WriteFileAtomically(env, Path("f"), AsBytes("new"), 0600).ok());
       },
       {{"f", "new"}, {"f.pgkeep-tmp", "<absent>"}}},
      {"a removal without a directory sync is undone",
       [&](FaultEnv& env) {
         ASSERT_TRUE(Write(env, "f", "kept", /*sync=*/true).ok());
         ASSERT_TRUE(env.SyncDir(dir_).ok());
         ASSERT_TRUE(env.RemoveFile(Path("f")).ok());
       },
       {{"f", "kept"}}},
      {"a link without a directory sync is undone",
       [&](FaultEnv& env) {
         ASSERT_TRUE(Write(env, "f", "x", /*sync=*/true).ok());
         ASSERT_TRUE(env.SyncDir(dir_).ok());
         ASSERT_TRUE(env.LinkFile(Path("f"), Path("g")).ok());
       },
       {{"f", "x"}, {"g", "<absent>"}}},
      {"a directory created without syncing its parent disappears with its files",
       [&](FaultEnv& env) {
         ASSERT_TRUE(env.CreateDir(Path("d"), 0700).ok());
         ASSERT_TRUE(Write(env, "d/f", "x", /*sync=*/true).ok());
         ASSERT_TRUE(env.SyncDir(Path("d")).ok());
       },
       {{"d/f", "<absent>"}}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    testing::RemoveTree(dir_);
    ASSERT_TRUE(real_.CreateDir(dir_, 0700).ok());
    FaultEnv env(real_);
    c.before_crash(env);
    ASSERT_TRUE(env.DropUnsyncedData().ok());
    for (const auto& [file, content] : c.after) EXPECT_EQ(Content(file), content) << file;
  }
}

TEST_F(FaultEnvTest, FailsTheNthOperationOfAKind) {
  FaultEnv env(real_);
  env.FailNth(FaultOp::kSync, 2);
  EXPECT_TRUE(Write(env, "a", "1", /*sync=*/true).ok());
  Status second = Write(env, "b", "2", /*sync=*/true);
  EXPECT_EQ(second.code(), ErrorCode::kIo);
  EXPECT_EQ(second.os_error(), EIO);
  EXPECT_TRUE(Write(env, "c", "3", /*sync=*/true).ok()) << "only the 2nd fails";
  env.FailNth(FaultOp::kRename, 1);
  EXPECT_FALSE(env.RenameFile(Path("a"), Path("z")).ok());
  EXPECT_EQ(Content("a"), "1") << "a failed operation has no effect";
}

TEST_F(FaultEnvTest, NoSpaceWritesHalfThenFails) {
  FaultEnv env(real_);
  env.FailNth(FaultOp::kWrite, 1, ENOSPC);
  Status s = Write(env, "f", "12345678", /*sync=*/false);
  EXPECT_EQ(s.code(), ErrorCode::kNoSpace);
  EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.message();
  EXPECT_EQ(Content("f"), "1234");
}

TEST_F(FaultEnvTest, AfterTheCrashPointNothingChanges) {
  FaultEnv env(real_);
  env.CrashAtSync(2);
  EXPECT_TRUE(Write(env, "a", "1", /*sync=*/true).ok());
  EXPECT_FALSE(env.crashed());
  EXPECT_FALSE(env.SyncDir(dir_).ok()) << "the 2nd sync is the crash";
  EXPECT_TRUE(env.crashed());
  EXPECT_FALSE(env.NewWritableFile(Path("b"), OpenMode::kTruncate, 0600).ok());
  EXPECT_FALSE(env.RemoveFile(Path("a")).ok());
  EXPECT_EQ(env.sync_count(), 1);
  ASSERT_TRUE(env.DropUnsyncedData().ok());
  EXPECT_EQ(Content("a"), "<absent>") << "its directory entry was never synced";
  EXPECT_FALSE(env.crashed());
}

}  // namespace
}  // namespace pgkeep
