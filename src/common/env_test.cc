#include "common/env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <memory>
#include <thread>

#include "common/file_io.h"
#include "support/process.h"

namespace pgkeep {
namespace {

class PosixEnvTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-env-"); }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }

  PosixEnv env_;
  std::string dir_;
};

TEST_F(PosixEnvTest, FailuresNameThePathAndKeepTheErrno) {
  struct Case {
    const char* what;
    Status status;
    int err;
    std::string message;
  };
  ASSERT_TRUE(WriteFileAtomically(env_, Path("f"), AsBytes("x"), 0600).ok());
  const std::vector<Case> cases = {
      {"open missing", env_.NewReadableFile(Path("missing")).status(), ENOENT,
       "cannot open \"" + Path("missing") + "\": No such file or directory"},
      {"exclusive create of an existing file",
       env_.NewWritableFile(Path("f"), OpenMode::kExclusive, 0600).status(), EEXIST,
       "cannot create \"" + Path("f") + "\": File exists"},
      {"link onto an existing name", env_.LinkFile(Path("f"), Path("f")), EEXIST,
       "cannot link \"" + Path("f") + "\": File exists"},
      {"remove missing", env_.RemoveFile(Path("missing")), ENOENT,
       "cannot remove \"" + Path("missing") + "\": No such file or directory"},
      {"list a file", env_.ListDir(Path("f")).status(), ENOTDIR,
       "cannot list directory \"" + Path("f") + "\": Not a directory"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    EXPECT_EQ(c.status.code(), ErrorCode::kIo);
    EXPECT_EQ(c.status.os_error(), c.err);
    EXPECT_EQ(c.status.message(), c.message);
  }
}

TEST_F(PosixEnvTest, FilesDirectoriesAndLinks) {
  ASSERT_TRUE(env_.CreateDir(Path("d"), 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(env_, Path("d/a"), AsBytes("hello"), 0640).ok());
  ASSERT_TRUE(env_.LinkFile(Path("d/a"), Path("d/b")).ok());
  ASSERT_TRUE(env_.RenameFile(Path("d/b"), Path("d/c")).ok());
  auto names = env_.ListDir(Path("d"));
  ASSERT_TRUE(names.ok());
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "c"})) << "no temporary file left";
  auto info = env_.Stat(Path("d/c"), /*follow_symlinks=*/true);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->type, FileType::kRegular);
  EXPECT_EQ(info->size, 5u);
  EXPECT_EQ(info->mode & 07777, 0640u);
  ASSERT_TRUE(env_.CreateSymlink("d/c", Path("link")).ok());
  EXPECT_EQ(env_.Stat(Path("link"), /*follow_symlinks=*/false)->type, FileType::kSymlink);
  EXPECT_EQ(*env_.ReadSymlink(Path("link")), "d/c");
  auto data = ReadWholeFile(env_, Path("link"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(AsString(*data), "hello");
  EXPECT_EQ(ReadWholeFile(env_, Path("link"), 4).status().os_error(), EFBIG);
  EXPECT_FALSE(env_.RemoveDir(Path("d")).ok()) << "not empty";
  EXPECT_GT(*env_.FreeBytes(dir_), 0);
}

TEST_F(PosixEnvTest, RunsAProgramAndReadsItsOutput) {
  auto proc = env_.StartProcess({{"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}});
  ASSERT_TRUE(proc.ok()) << proc.status().ToString();
  uint8_t buf[64];
  auto n = (*proc)->Stdout().Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), *n), "out\n");
  EXPECT_EQ((*proc)->Wait(), 3);
  EXPECT_EQ((*proc)->StderrText(), "err\n");
  EXPECT_TRUE(env_.ProcessExists(env_.ProcessId()));
}

TEST_F(PosixEnvTest, AChildStartedToStopWithItsParentEndsWithTheStartingThread) {
  // The thread that started it ends without waiting, as when pgkeep is
  // killed: the child gets SIGTERM instead of sleeping on alone.
  std::unique_ptr<Subprocess> child;
  std::thread starter([&] {
    SubprocessOptions options{{"/bin/sh", "-c", "echo started; exec sleep 30"}};
    options.stop_with_parent = true;
    auto started = env_.StartProcess(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    // Past its exec: the signal is armed (before, a thread's end could
    // pass unseen; a whole pgkeep's end cannot, see env.cc).
    uint8_t line[8];
    auto read = (*started)->Stdout().Read(line, sizeof line);
    ASSERT_TRUE(read.ok() && *read == 8u);
    child = std::move(*started);
  });
  starter.join();
  ASSERT_NE(child, nullptr);
  const int64_t before = env_.MonotonicMicros();
  EXPECT_EQ(child->Wait(), 128 + SIGTERM);
  EXPECT_LT(env_.MonotonicMicros() - before, 10'000'000);
}

TEST_F(PosixEnvTest, MonotonicTimeMovesWithSleep) {
  int64_t before = env_.MonotonicMicros();
  env_.SleepForMicros(2000);
  EXPECT_GE(env_.MonotonicMicros() - before, 2000);
}

TEST_F(PosixEnvTest, RemoveTreeRemovesLinksNotWhatTheyPointTo) {
  ASSERT_TRUE(env_.CreateDir(Path("keep"), 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(env_, Path("keep/file"), AsBytes(std::string("x")), 0600).ok());
  ASSERT_TRUE(env_.CreateDir(Path("tree"), 0700).ok());
  ASSERT_TRUE(env_.CreateDir(Path("tree/sub"), 0700).ok());
  ASSERT_TRUE(WriteFileAtomically(env_, Path("tree/sub/f"), AsBytes(std::string("y")), 0600).ok());
  ASSERT_TRUE(env_.CreateSymlink(Path("keep"), Path("tree/link")).ok());
  ASSERT_TRUE(env_.CreateSymlink(Path("keep/file"), Path("tree/sub/flink")).ok());
  ASSERT_TRUE(env_.RemoveTree(Path("tree")).ok());
  EXPECT_FALSE(env_.Stat(Path("tree"), false).ok());
  EXPECT_TRUE(env_.Stat(Path("keep/file"), true).ok()) << "a symlink's target was removed";
  // A symlink given as the tree is removed as a link.
  ASSERT_TRUE(env_.CreateSymlink(Path("keep"), Path("alias")).ok());
  ASSERT_TRUE(env_.RemoveTree(Path("alias")).ok());
  EXPECT_TRUE(env_.Stat(Path("keep/file"), true).ok());
  EXPECT_TRUE(env_.RemoveTree(Path("missing")).ok());
}

TEST_F(PosixEnvTest, IdentityPathsAndTheEnvironment) {
  auto exe = env_.ExecutablePath();
  ASSERT_TRUE(exe.ok()) << exe.status().ToString();
  EXPECT_NE(exe->find("pgkeep_unit_tests"), std::string::npos) << *exe;
  EXPECT_TRUE(env_.IsExecutable(*exe));
  EXPECT_FALSE(env_.IsExecutable(Path("missing")));

  ::setenv("PGKEEP_ENV_TEST_VAR", "value", 1);
  EXPECT_EQ(env_.GetEnvVar("PGKEEP_ENV_TEST_VAR"), std::optional<std::string>("value"));
  ::unsetenv("PGKEEP_ENV_TEST_VAR");
  EXPECT_EQ(env_.GetEnvVar("PGKEEP_ENV_TEST_VAR"), std::nullopt);

  auto root = env_.FindUserById(0);
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(root->name, "root");
  auto by_name = env_.FindUser("root");
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->uid, 0u);
  EXPECT_FALSE(env_.FindUser("no-such-user-pgkeep").has_value());

  ASSERT_TRUE(env_.CreateDir(Path("a"), 0700).ok());
  ASSERT_TRUE(env_.CreateSymlink(Path("a"), Path("link")).ok());
  auto real = env_.RealPath(Path("link") + "/../a/.");
  ASSERT_TRUE(real.ok()) << real.status().ToString();
  EXPECT_EQ(*real, *env_.RealPath(Path("a")));
  auto missing = env_.RealPath(Path("missing"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().os_error(), ENOENT);
  auto cwd = env_.CurrentDirectory();
  ASSERT_TRUE(cwd.ok());
  EXPECT_EQ(cwd->front(), '/');
}

}  // namespace
}  // namespace pgkeep
