#include "storage/posix_storage.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/fault_env.h"
#include "storage/fault_storage.h"
#include "storage/memory_storage.h"
#include "support/process.h"

namespace pgkeep {
namespace {

class PosixStorageTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-storage-"); }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::vector<std::string> Names(Storage& s, const std::string& prefix) {
    auto listing = s.List(prefix);
    EXPECT_TRUE(listing.ok());
    std::vector<std::string> names;
    for (const auto& o : *listing) names.push_back(o.name);
    std::sort(names.begin(), names.end());
    return names;
  }
  // Every file under the directory, temporary ones included.
  std::vector<std::string> AllFiles() {
    std::vector<std::string> out;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_))
      if (e.is_regular_file()) out.push_back(e.path().lexically_relative(dir_).string());
    std::sort(out.begin(), out.end());
    return out;
  }
  PosixEnv env_;
  std::string dir_;
};

TEST_F(PosixStorageTest, PutGetRangeListDeleteExists) {
  PosixStorage s(env_, dir_);
  ASSERT_TRUE(s.Put("data/ab/abcd", AsBytes("0123456789")).ok());
  ASSERT_TRUE(s.Put("snapshots/one", AsBytes("")).ok());
  EXPECT_EQ(AsString(*s.Get("data/ab/abcd")), "0123456789");
  EXPECT_EQ(AsString(*s.GetRange("data/ab/abcd", 3, 4)), "3456");
  EXPECT_EQ(s.GetRange("data/ab/abcd", 8, 4).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s.Get("nope").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Names(s, "data/"), std::vector<std::string>{"data/ab/abcd"});
  EXPECT_EQ(Names(s, ""), (std::vector<std::string>{"data/ab/abcd", "snapshots/one"}));
  EXPECT_TRUE(*s.Exists("snapshots/one"));
  ASSERT_TRUE(s.Delete("snapshots/one").ok());
  ASSERT_TRUE(s.Delete("snapshots/one").ok()) << "deleting an absent object succeeds";
  EXPECT_FALSE(*s.Exists("snapshots/one"));
  EXPECT_EQ(AllFiles(), std::vector<std::string>{"data/ab/abcd"}) << "no temporary file left";
}

TEST_F(PosixStorageTest, NoSpaceFailsCleanlyAndKeepsTheOldObject) {
  PosixStorage good(env_, dir_);
  ASSERT_TRUE(good.Put("locks/x", AsBytes("old")).ok());
  FaultEnv fault(env_);
  fault.FailNth(FaultOp::kWrite, 1, ENOSPC);  // writes half, then the disk is full
  PosixStorage full(fault, dir_);
  Status st = full.Put("locks/x", AsBytes("new content"));
  EXPECT_EQ(st.code(), ErrorCode::kNoSpace);
  EXPECT_NE(st.message().find("No space left on device"), std::string::npos) << st.message();
  EXPECT_EQ(st.hint(), "free space on the repository file system");
  EXPECT_EQ(AsString(*good.Get("locks/x")), "old");
  EXPECT_EQ(AllFiles(), std::vector<std::string>{"locks/x"});
}

// Dies as soon as it has created a file: a writer killed mid-Put.
class DieAfterCreateEnv final : public EnvWrapper {
 public:
  using EnvWrapper::EnvWrapper;
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                        mode_t perms) override {
    auto file = target().NewWritableFile(path, mode, perms);
    _exit(file.ok() ? 0 : 2);
  }
};

TEST_F(PosixStorageTest, CleanupRemovesOnlyDeadWritersTemporaries) {
  PosixStorage s(env_, dir_);
  ASSERT_TRUE(s.Put("data/aa/x", AsBytes("x")).ok());
  // A writer that died: run a child that leaves a temp file, then exits.
  pid_t child = fork();
  if (child == 0) {
    DieAfterCreateEnv dying(env_);
    PosixStorage c(dying, dir_);
    (void)c.Put("data/aa/y", AsBytes("y"));
    _exit(1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_EQ(AllFiles().size(), 2u) << "the dead child left its temporary file";
  EXPECT_EQ(Names(s, ""), std::vector<std::string>{"data/aa/x"}) << "List hides temporaries";
  // A temporary of a live writer (ourselves) must survive.
  std::ofstream(dir_ + "/data/aa/z.tmp." + std::string("00000000.") + std::to_string(getpid()) +
                ".1")
      << "z";
  auto removed = s.CleanupTemporary(false);
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_EQ(AllFiles().size(), 2u);
}

TEST_F(PosixStorageTest, FaultStorageFailsNthPutWithoutWriting) {
  PosixStorage base(env_, dir_);
  FaultStorage s(base);
  s.FailNthPut(2);
  EXPECT_TRUE(s.Put("a", AsBytes("1")).ok());
  EXPECT_EQ(s.Put("b", AsBytes("2")).code(), ErrorCode::kIo);
  EXPECT_TRUE(s.Put("c", AsBytes("3")).ok());
  EXPECT_EQ(Names(base, ""), (std::vector<std::string>{"a", "c"}));
  s.SetSpaceBudget(3);
  EXPECT_TRUE(s.Put("d", AsBytes("12")).ok());
  EXPECT_EQ(s.Put("e", AsBytes("12")).code(), ErrorCode::kNoSpace);
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST_F(PosixStorageTest, PutIfAbsentLetsExactlyOneOfRacingWritersWin) {
  PosixStorage storage(env_, dir_);
  for (int round = 0; round < 40; ++round) {
    std::string name = "wal/x/obj" + std::to_string(round);
    std::vector<Status> results(2);
    std::thread a([&] { results[0] = storage.PutIfAbsent(name, AsBytes("from a")); });
    std::thread b([&] { results[1] = storage.PutIfAbsent(name, AsBytes("from b")); });
    a.join();
    b.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << results[0].ToString() << " / " << results[1].ToString();
    const Status& lost = results[0].ok() ? results[1] : results[0];
    EXPECT_EQ(lost.code(), ErrorCode::kConflict);
    EXPECT_NE(lost.message().find("already exists"), std::string::npos);
    auto stored = storage.Get(name);
    ASSERT_TRUE(stored.ok());
    EXPECT_EQ(AsString(*stored), results[0].ok() ? "from a" : "from b");
  }
  // The loser leaves no temporary file behind.
  for (const auto& f : AllFiles()) EXPECT_EQ(f.find(".tmp."), std::string::npos) << f;
}

TEST_F(PosixStorageTest, PutIfAbsentNeverReplaces) {
  PosixStorage storage(env_, dir_);
  ASSERT_TRUE(storage.Put("a/b", AsBytes("first")).ok());
  Status again = storage.PutIfAbsent("a/b", AsBytes("second"));
  EXPECT_EQ(again.code(), ErrorCode::kConflict);
  EXPECT_EQ(AsString(*storage.Get("a/b")), "first");
  MemoryStorage memory;
  ASSERT_TRUE(memory.PutIfAbsent("a", AsBytes("1")).ok());
  EXPECT_EQ(memory.PutIfAbsent("a", AsBytes("2")).code(), ErrorCode::kConflict);
  EXPECT_EQ(AsString(*memory.Get("a")), "1");
}

}  // namespace
}  // namespace pgkeep
