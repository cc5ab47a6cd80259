#include "repo/index_rebuild.h"

#include <gtest/gtest.h>

#include "repo/layout.h"
#include "repo/loader.h"
#include "repo/store_session.h"
#include "storage/memory_storage.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

// Two snapshots of 2 MiB in 1 MiB packs, in memory.
class RebuildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitOptions options;
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    ASSERT_TRUE(Repository::Init(storage_, clock_, options, std::string("pw")).ok());
    for (int i = 0; i < 2; ++i) ids_.push_back(Store(testing::MakeText(2 << 20, 700 + i)));
  }
  std::unique_ptr<Repository> Open() {
    auto repo = std::move(*Repository::Open(storage_, clock_, std::string("pw")));
    EXPECT_TRUE(repo->LoadIndex().ok());
    return repo;
  }
  std::string Store(const Bytes& data) {
    auto repo = Open();
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
  // Whether snapshot `id` loads back exactly.
  bool Loads(const std::string& id) {
    auto repo = Open();
    Loader loader(*repo);
    auto files = loader.ReadManifest(*repo->ReadSnapshot(id));
    if (!files.ok()) return false;
    MemorySink sink;
    return loader.LoadFile((*files)[0], sink).ok() && sink.data() == data_[id];
  }
  std::vector<std::string> Names(const std::string& prefix) {
    auto listing = storage_.List(prefix);
    EXPECT_TRUE(listing.ok());
    std::vector<std::string> out;
    if (!listing.ok()) return out;
    for (const auto& o : listing.value()) out.push_back(o.name);
    return out;
  }

  MemoryStorage storage_;
  ManualClock clock_;
  std::vector<std::string> ids_;
  std::map<std::string, Bytes> data_;
};

TEST_F(RebuildTest, LostIndexComesBackFromThePacks) {
  auto old_index = Names(kIndexDir);
  for (const auto& name : old_index) ASSERT_TRUE(storage_.Delete(name).ok());
  // A stray file is neither read as an index nor deleted.
  ASSERT_TRUE(storage_.Put("index/notes.txt", AsBytes(std::string("mine"))).ok());
  EXPECT_FALSE(Loads(ids_[0]));
  auto repo = Open();
  auto report = RebuildIndex(*repo, false);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->packs, Names(kDataDir).size());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_TRUE(*storage_.Exists("index/notes.txt"));
  for (const auto& id : ids_) EXPECT_TRUE(Loads(id)) << id;
}

TEST_F(RebuildTest, ReplayedIndexIsReplacedAndNothingIsLost) {
  // An index object naming a pack that is gone (as after a replay).
  auto repo = Open();
  IndexedPack ghost{ObjectId{}, {{ChunkId{}, BlobType::kData, 8, 100, 100}}};
  ghost.pack[0] = 0xab;
  Bytes stored = repo->NewCodec()->EncodeObject(EncodeIndexFile({ghost}), kIndexAad);
  std::string replayed = IndexObjectName(Sha256(stored));
  ASSERT_TRUE(storage_.Put(replayed, stored).ok());
  EXPECT_EQ(Open()->index_problems().missing_packs.size(), 1u);
  auto report = RebuildIndex(*Open(), false);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(*storage_.Exists(replayed));
  EXPECT_TRUE(Open()->index_problems().empty());
  for (const auto& id : ids_) EXPECT_TRUE(Loads(id)) << id;
}

TEST_F(RebuildTest, DamagedBlobIsLeftOutAndTheNextStoreWritesItAgain) {
  auto repo = Open();
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*repo->ReadSnapshot(ids_[0]));
  auto loc = *repo->index().Find(files[0].chunks[0]);
  std::string pack = PackObjectName(loc.pack);
  Bytes bytes = *storage_.Get(pack);
  bytes[loc.offset + 20] ^= 1;
  ASSERT_TRUE(storage_.Put(pack, bytes).ok());
  EXPECT_FALSE(Loads(ids_[0]));
  auto report = RebuildIndex(*Open(), true);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->blobs_left_out, 1u);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find(pack), std::string::npos) << report->problems[0];
  std::string again = Store(data_[ids_[0]]);
  EXPECT_TRUE(Loads(again));
  EXPECT_TRUE(Loads(ids_[0])) << "the old backup uses the new copy";
}

TEST_F(RebuildTest, DamagedTrailerKeepsWhatTheOldIndexSaid) {
  std::string pack = Names(kDataDir)[0];
  Bytes bytes = *storage_.Get(pack);
  bytes[bytes.size() - 20] ^= 1;  // inside the trailer's tag
  ASSERT_TRUE(storage_.Put(pack, bytes).ok());
  auto report = RebuildIndex(*Open(), true);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_NE(report->problems[0].find("taken from the old index"), std::string::npos)
      << report->problems[0];
  for (const auto& id : ids_) EXPECT_TRUE(Loads(id)) << id;
}

}  // namespace
}  // namespace pgkeep
