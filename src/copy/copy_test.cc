// Copies that are cut off at every write, copies whose packs reached the
// target without their index, and backups the target's retention would expire.
#include "copy/copy.h"

#include <gtest/gtest.h>

#include "repo/format.h"
#include "repo/loader.h"
#include "repo/snapshot_meta.h"
#include "storage/fault_storage.h"
#include "storage/memory_storage.h"
#include "support/memory_repo.h"

namespace pgkeep {
namespace {

const std::string kSegment = "000000010000000000000002";

bool Has(Storage& storage, const std::string& name) {
  auto exists = storage.Exists(name);
  return exists.ok() && *exists;
}

class CopyTest : public ::testing::Test {
 protected:
  Result<CopyReport> Copy(Storage& target, const std::string& backup = "",
                          const std::map<std::string, DatabaseConfig>* there = nullptr) {
    CopyOptions o;
    o.backup = backup;
    o.target_databases = there;
    return CopyBackups(source_.env(), source_.repo(), target, source_.clock(), o);
  }
  // A physical backup of "app" whose WAL is one archived segment.
  Snapshot StorePhysical(const std::string& data) {
    EXPECT_TRUE(source_.storage().Put(WalPrefix("app") + kSegment, AsBytes(data)).ok());
    source_.AdvanceSeconds(60);
    return source_.StoreSnapshot("app", "full", data,
                                 {{kMetaStartWal, kSegment}, {kMetaStopWal, kSegment}});
  }
  // The file of snapshot `id` as the target restores it, or why it cannot.
  std::string LoadFromTarget(Storage& target, const std::string& id) {
    auto mirror = Repository::OpenWithKey(target, source_.clock(), source_.repo().key());
    if (!mirror.ok()) return "<open: " + mirror.status().message() + ">";
    if (Status s = (*mirror)->LoadIndex(); !s.ok()) return "<index: " + s.message() + ">";
    auto snapshot = (*mirror)->ReadSnapshot(id);
    if (!snapshot.ok()) return "<snapshot: " + snapshot.status().message() + ">";
    Loader loader(**mirror);
    auto files = loader.ReadManifest(*snapshot);
    if (!files.ok() || files->size() != 1) return "<manifest>";
    MemorySink sink;
    if (Status s = loader.LoadFile(files->front(), sink); !s.ok()) return "<" + s.message() + ">";
    return std::string(AsString(sink.data()));
  }

  testing::MemoryRepo source_;
};

TEST_F(CopyTest, ACopyCutOffAtAnyWriteLeavesOnlyRestorableBackupsAndTheNextRunFinishes) {
  const std::string data = std::string(200000, 'x') + "the physical backup";
  Snapshot backup = StorePhysical(data);
  for (int n = 1;; ++n) {
    ASSERT_LT(n, 100) << "the copy never finished";
    MemoryStorage base;
    FaultStorage target(base);
    target.FailNthPut(n);
    auto cut = Copy(target);
    // Whatever the target lists is whole: its WAL and every chunk it needs.
    if (Has(base, SnapshotObjectName(backup.id))) {
      EXPECT_TRUE(Has(base, WalPrefix("app") + kSegment)) << "cut at put " << n;
      EXPECT_EQ(LoadFromTarget(base, backup.id), data) << "cut at put " << n;
    }
    target.FailNthPut(0);
    auto finished = Copy(target);
    ASSERT_TRUE(finished.ok()) << finished.status().message();
    EXPECT_EQ(LoadFromTarget(base, backup.id), data) << "cut at put " << n;
    if (cut.ok()) break;
  }
}

TEST_F(CopyTest, PacksOnTheTargetThatItsIndexDoesNotNameAreIndexedAgain) {
  const std::string data = std::string(300000, 'y') + "indexed again";
  Snapshot backup = source_.StoreSnapshot("app", "logical", data);
  MemoryStorage target;
  ASSERT_TRUE(Copy(target).ok());
  // A copy cut off after the packs: they are there, their index and the
  // snapshot are not.
  auto indexes = target.List(kIndexDir);
  ASSERT_TRUE(indexes.ok());
  for (const ObjectInfo& o : *indexes) ASSERT_TRUE(target.Delete(o.name).ok());
  ASSERT_TRUE(target.Delete(SnapshotObjectName(backup.id)).ok());

  auto again = Copy(target);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->copied, std::vector<std::string>{backup.id});
  EXPECT_EQ(again->packs_copied, 0u);
  EXPECT_GT(again->packs_indexed, 0u);
  EXPECT_EQ(LoadFromTarget(target, backup.id), data);
}

TEST_F(CopyTest, OnlyWhatTheTargetsRetentionKeepsIsSentUnlessABackupIsNamed) {
  Snapshot older = source_.StoreSnapshot("app", "logical", "the older backup");
  source_.AdvanceSeconds(3600);
  Snapshot newer = source_.StoreSnapshot("app", "logical", "the newer backup");
  std::map<std::string, DatabaseConfig> there;  // the copy keeps one backup
  there["app"].retention.last = 1;
  there["app"].retention.min_keep = 1;
  MemoryStorage target;
  auto first = Copy(target, "", &there);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->copied, std::vector<std::string>{newer.id});
  EXPECT_EQ(first->skipped_by_retention, std::vector<std::string>{older.id});

  // Nor is it sent on the next run.
  auto again = Copy(target, "", &there);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(again->copied.empty());
  EXPECT_EQ(again->skipped_by_retention, std::vector<std::string>{older.id});
  EXPECT_EQ(again->present, std::vector<std::string>{newer.id});
  EXPECT_EQ(again->bytes_copied, 0u);

  // Named, it goes.
  auto named = Copy(target, older.id, &there);
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(named->copied, std::vector<std::string>{older.id});
  EXPECT_EQ(LoadFromTarget(target, older.id), "the older backup");
}

}  // namespace
}  // namespace pgkeep
