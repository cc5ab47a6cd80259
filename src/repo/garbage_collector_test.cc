#include "repo/garbage_collector.h"

#include <gtest/gtest.h>

#include "repo/loader.h"
#include "repo/store_session.h"
#include "repo/verifier.h"
#include "storage/fault_storage.h"
#include "storage/memory_storage.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

// A repository in memory with `n` snapshots of 2 MiB each (1 MiB packs).
class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions options;
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    ASSERT_TRUE(Repository::Init(storage_, clock_, options, std::string("pw")).ok());
    for (int i = 0; i < 6; ++i) ids_.push_back(Store(testing::MakeText(2 << 20, 500 + i)));
  }
  std::unique_ptr<Repository> Open(Storage& storage) {
    auto repo = std::move(*Repository::Open(storage, clock_, std::string("pw")));
    EXPECT_TRUE(repo->LoadIndex().ok());
    return repo;
  }
  std::string Store(const Bytes& data) {
    auto repo = Open(storage_);
    StoreOptions options;
    options.pack_size = 1 << 20;
    StoreSession session(*repo, options);
    MemorySource source(data);
    FileEntry meta;
    meta.path = "f";
    auto entry = session.StoreStream(source, repo->stream_chunker(), meta);
    Snapshot s;
    s.id = NewSnapshotId(clock_.NowSeconds());
    clock_.Advance(1'000'000);
    s.kind = "files";
    data_[s.id] = data;
    return session.Commit(s, {*entry})->id;
  }
  void ExpectIntact() {
    auto repo = Open(storage_);
    auto report = Verifier(*repo).Run(true);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok()) << (report->errors.empty() ? "" : report->errors[0]);
    Loader loader(*repo);
    auto snapshots = repo->ListSnapshots();
    ASSERT_TRUE(snapshots.ok());
    for (const auto& s : snapshots->snapshots) {
      auto files = *loader.ReadManifest(s);
      MemorySink sink;
      ASSERT_TRUE(loader.LoadFile(files[0], sink).ok()) << s.id;
      EXPECT_TRUE(sink.data() == data_[s.id]) << s.id;
    }
  }
  uint64_t Bytes_() {
    uint64_t n = 0;
    auto listing = storage_.List("");
    for (const auto& o : *listing) n += o.size;
    return n;
  }

  MemoryStorage storage_;
  ManualClock clock_;
  std::vector<std::string> ids_;
  std::map<std::string, Bytes> data_;
};

TEST_F(GcTest, DeletesWhatNoSnapshotUsesAndKeepsTheRest) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(storage_.Delete(SnapshotObjectName(ids_[i])).ok());
  uint64_t before = Bytes_();
  auto repo = Open(storage_);
  GcOptions dry;
  dry.dry_run = true;
  auto plan = CollectGarbage(*repo, repo->ListSnapshots()->snapshots, dry);
  ASSERT_TRUE(plan.ok());
  EXPECT_GT(plan->bytes_freed, 0u);
  EXPECT_EQ(Bytes_(), before) << "a dry run deletes nothing";
  auto done = CollectGarbage(*repo, repo->ListSnapshots()->snapshots, GcOptions{});
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->packs_deleted + done->packs_repacked, plan->packs_deleted + plan->packs_repacked);
  EXPECT_LT(Bytes_() * 2, before);
  ExpectIntact();
  // Idempotent: nothing more to collect.
  auto reopened = Open(storage_);
  auto again = CollectGarbage(*reopened, reopened->ListSnapshots()->snapshots, GcOptions{});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bytes_freed, 0u);
}

TEST_F(GcTest, AFailedWriteAtAnyStepLeavesAValidRepository) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(storage_.Delete(SnapshotObjectName(ids_[i])).ok());
  // Repack everything still live so GC writes packs and an index.
  GcOptions options;
  options.repack_below = 1.01;
  options.pack_size = 1 << 20;
  for (int n = 1;; ++n) {
    SCOPED_TRACE(n);
    FaultStorage faulty(storage_);
    faulty.FailNthPut(n);
    auto repo = Open(faulty);
    auto result = CollectGarbage(*repo, repo->ListSnapshots()->snapshots, options);
    ExpectIntact();
    if (result.ok()) break;  // fewer writes than n: it ran to the end
    EXPECT_EQ(result.status().code(), ErrorCode::kIo);
    ASSERT_LT(n, 100);
  }
}

TEST_F(GcTest, RefusesToSpreadDamage) {
  ASSERT_TRUE(storage_.Delete(SnapshotObjectName(ids_[0])).ok());
  // Damage one blob of a pack that the kept snapshots still use.
  auto repo = Open(storage_);
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*repo->ReadSnapshot(ids_[5]));
  auto loc = *repo->index().Find(files[0].chunks[0]);
  std::string pack = PackObjectName(loc.pack);
  Bytes bytes = *storage_.Get(pack);
  bytes[loc.offset + 20] ^= 1;
  ASSERT_TRUE(storage_.Put(pack, bytes).ok());
  GcOptions options;
  options.repack_below = 1.01;  // force it to copy that pack
  auto result = CollectGarbage(*repo, repo->ListSnapshots()->snapshots, options);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(result.status().message().find(pack), std::string::npos) << result.status().message();
  EXPECT_TRUE(*storage_.Exists(pack)) << "the damaged pack is left for verify to report";
}

TEST_F(GcTest, DeletedPackMakesTheNextStoreWriteItsChunksAgain) {
  // Issue 9: deduplicating against a missing pack made a backup that exits 0
  // and cannot be restored.
  auto repo = Open(storage_);
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*repo->ReadSnapshot(ids_[2]));
  std::string pack = PackObjectName(repo->index().Find(files[0].chunks[0])->pack);
  ASSERT_TRUE(storage_.Delete(pack).ok());
  std::string again = Store(data_[ids_[2]]);
  auto reopened = Open(storage_);
  EXPECT_EQ(reopened->index_problems().missing_packs.size(), 1u);
  EXPECT_EQ(reopened->index_problems().missing_packs[0].name, pack);
  Loader fresh(*reopened);
  auto stored = *fresh.ReadManifest(*reopened->ReadSnapshot(again));
  MemorySink sink;
  ASSERT_TRUE(fresh.LoadFile(stored[0], sink).ok());
  EXPECT_TRUE(sink.data() == data_[ids_[2]]);
  // And the damaged original now loads too, from the new copies.
  auto old_files = *fresh.ReadManifest(*reopened->ReadSnapshot(ids_[2]));
  MemorySink old_sink;
  EXPECT_TRUE(fresh.LoadFile(old_files[0], old_sink).ok());
}

TEST_F(GcTest, RefusesWithAMissingPackOrAnUnreadableIndexAndDeletesNothing) {
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(storage_.Delete(SnapshotObjectName(ids_[i])).ok());  // garbage exists
  auto listing = *storage_.List("");
  std::string some_pack, some_index;
  for (const auto& o : listing) {
    if (o.name.rfind(kDataDir, 0) == 0) some_pack = o.name;
    if (o.name.rfind(kIndexDir, 0) == 0) some_index = o.name;
  }
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant);
    MemoryStorage copy;
    for (const auto& o : listing) ASSERT_TRUE(copy.Put(o.name, *storage_.Get(o.name)).ok());
    if (variant == 0) {
      ASSERT_TRUE(copy.Delete(some_pack).ok());
    } else {
      Bytes b = *copy.Get(some_index);
      b[b.size() / 2] ^= 1;
      ASSERT_TRUE(copy.Put(some_index, b).ok());
    }
    size_t before = copy.List("")->size();
    auto repo = Open(copy);
    auto result = CollectGarbage(*repo, repo->ListSnapshots()->snapshots, GcOptions{});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), ErrorCode::kCheckFailed);
    EXPECT_NE(result.status().message().find(variant == 0 ? some_pack : some_index),
              std::string::npos)
        << result.status().message();
    EXPECT_EQ(copy.List("")->size(), before) << "nothing deleted";
  }
}

TEST_F(GcTest, EveryPackHoldingACopyOfALiveChunkIsKept) {
  // A replayed index object and a store that wrote the same data again: two
  // index entries for every chunk of the last snapshot, in two packs.
  auto repo = Open(storage_);
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*repo->ReadSnapshot(ids_[5]));
  std::string first_pack = PackObjectName(repo->index().Find(files[0].chunks[0])->pack);
  // Write the same chunks into a new pack by hiding the old one from the store.
  Bytes saved = *storage_.Get(first_pack);
  ASSERT_TRUE(storage_.Delete(first_pack).ok());
  std::string again = Store(data_[ids_[5]]);
  ASSERT_TRUE(storage_.Put(first_pack, saved).ok());
  ASSERT_TRUE(storage_.Delete(SnapshotObjectName(again)).ok());
  auto reopened = Open(storage_);
  ASSERT_TRUE(reopened->index_problems().empty());
  EXPECT_GE(reopened->index().FindAll(files[0].chunks[0]).size(), 2u);
  auto result = CollectGarbage(*reopened, reopened->ListSnapshots()->snapshots, GcOptions{});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_TRUE(*storage_.Exists(first_pack)) << "the older copy's pack is live too";
  ExpectIntact();
}

}  // namespace
}  // namespace pgkeep
