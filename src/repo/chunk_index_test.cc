#include "repo/chunk_index.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

ChunkId IdOf(uint32_t n) {
  ChunkId id{};
  Digest d = Sha256(AsBytes(std::to_string(n)));
  std::copy(d.begin(), d.end(), id.begin());
  return id;
}

IndexedPack MakePack(uint32_t pack_no, uint32_t first, uint32_t count) {
  IndexedPack p;
  p.pack = IdOf(1'000'000 + pack_no);
  for (uint32_t i = 0; i < count; ++i)
    p.entries.push_back({IdOf(first + i), BlobType::kData, 8 + i * 100, 100, 1000 + i});
  return p;
}

TEST(ChunkIndexTest, IndexFileRoundTripsAndRejectsDamage) {
  std::vector<IndexedPack> packs = {MakePack(1, 0, 3), MakePack(2, 3, 0), MakePack(3, 10, 2)};
  Bytes encoded = EncodeIndexFile(packs);
  auto decoded = DecodeIndexFile(encoded);
  ASSERT_TRUE(decoded.ok());
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[0].pack, packs[0].pack);
  EXPECT_EQ((*decoded)[2].entries[1].raw_length, 1001u);
  EXPECT_EQ((*decoded)[2].entries[1].id, IdOf(11));
  for (size_t cut : {size_t{0}, size_t{5}, encoded.size() - 1}) {
    Bytes truncated(encoded.begin(), encoded.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_EQ(DecodeIndexFile(truncated).status().code(), ErrorCode::kCorrupt) << cut;
  }
  Bytes extra = encoded;
  extra.push_back(0);
  EXPECT_FALSE(DecodeIndexFile(extra).ok());
}

// Lengths come from storage and size the loader's reads and buffers: an
// entry claiming more than any chunk can be is damage, not a 4 GiB read.
TEST(ChunkIndexTest, EntriesWithImpossibleLengthsAreDamage) {
  for (auto [length, raw] : {std::pair<uint32_t, uint32_t>{0xffffffffu, 100},
                             {100, 0xffffffffu},
                             {kMaxStoredBlobSize + 1, 100},
                             {100, kMaxChunkSize + 1}}) {
    IndexedPack p = MakePack(1, 0, 1);
    p.entries[0].length = length;
    p.entries[0].raw_length = raw;
    EXPECT_EQ(DecodeIndexFile(EncodeIndexFile({p})).status().code(), ErrorCode::kCorrupt)
        << length << " " << raw;
  }
  IndexedPack ok = MakePack(1, 0, 1);
  ok.entries[0].length = kMaxStoredBlobSize;
  ok.entries[0].raw_length = kMaxChunkSize;
  EXPECT_TRUE(DecodeIndexFile(EncodeIndexFile({ok})).ok());
}

TEST(ChunkIndexTest, LoadedEntriesFindableAfterFinishAndNewestLocationWins) {
  ChunkIndex index;
  index.ReserveForLoad(10);
  index.AddLoadedPack(MakePack(1, 0, 5));
  index.AddLoadedPack(MakePack(2, 3, 5));  // ids 3 and 4 again, in a later pack
  EXPECT_FALSE(index.Contains(IdOf(0))) << "not findable before FinishLoad";
  index.FinishLoad();
  EXPECT_EQ(index.size(), 10u) << "both copies of ids 3 and 4 are kept";
  EXPECT_EQ(index.pack_count(), 2u);
  auto loc = index.Find(IdOf(3));
  ASSERT_TRUE(loc);
  EXPECT_EQ(loc->pack, IdOf(1'000'002)) << "the pack added last is the newest";
  auto all = index.FindAll(IdOf(4));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].pack, IdOf(1'000'002));
  EXPECT_EQ(all[1].pack, IdOf(1'000'001));
  EXPECT_FALSE(index.Find(IdOf(99)));
  // Packs written later are findable at once, and survive a later FinishLoad.
  index.AddPack(MakePack(3, 50, 2));
  EXPECT_TRUE(index.Contains(IdOf(51)));
  index.FinishLoad();
  EXPECT_TRUE(index.Contains(IdOf(51)));
  EXPECT_EQ(index.size(), 12u);
}

TEST(ChunkIndexTest, SamePackListedTwiceIsOneCopy) {
  ChunkIndex index;
  index.AddLoadedPack(MakePack(1, 0, 3));
  index.AddLoadedPack(MakePack(1, 0, 3));  // an index object and its replayed copy
  index.FinishLoad();
  EXPECT_EQ(index.size(), 3u);
  EXPECT_EQ(index.FindAll(IdOf(1)).size(), 1u);
}

TEST(ChunkIndexTest, DroppedPacksNoLongerAnswerButOtherCopiesDo) {
  ChunkIndex index;
  index.AddLoadedPack(MakePack(1, 0, 5));  // pack number 0
  index.AddLoadedPack(MakePack(2, 3, 5));  // pack number 1: ids 3..7
  index.FinishLoad();
  index.DropPacks({false, true});
  EXPECT_TRUE(index.Contains(IdOf(3))) << "the older copy still exists";
  EXPECT_EQ(index.Find(IdOf(3))->pack, IdOf(1'000'001));
  EXPECT_FALSE(index.Contains(IdOf(6))) << "its only copy was in the dropped pack";
  EXPECT_EQ(index.size(), 5u);
  EXPECT_EQ(index.pack_count(), 2u) << "pack ids stay known";
  // A store adds the lost chunk again, and it is found where it now is.
  index.AddPack(MakePack(3, 6, 1));
  EXPECT_EQ(index.Find(IdOf(6))->pack, IdOf(1'000'003));
}

TEST(ChunkIndexTest, MemoryPerChunkIsBounded) {
  ChunkIndex index;
  const uint32_t kChunks = 200'000;
  index.ReserveForLoad(kChunks);
  for (uint32_t p = 0; p < kChunks / 1000; ++p) index.AddLoadedPack(MakePack(p, p * 1000, 1000));
  index.FinishLoad();
  EXPECT_EQ(index.size(), kChunks);
  EXPECT_EQ(index.memory_bytes() / kChunks, 48u)
      << "48 bytes per chunk; packs add well under one byte";
}

TEST(ChunkIndexTest, ChunksAddedByAStoreAreFoldedIntoSortedEntries) {
  ChunkIndex index;
  index.AddLoadedPack(MakePack(0, 0, 1000));
  index.FinishLoad();
  // A long store: more new chunks than the hash map holds, some repeated.
  const uint32_t kAdded = 3 * ChunkIndex::kRecentLimit + 123;
  for (uint32_t first = 1000, p = 1; first < 1000 + kAdded; first += 1000, ++p)
    index.AddPack(MakePack(p, first, std::min<uint32_t>(1000, 1000 + kAdded - first)));
  index.AddPack(MakePack(9999, 500, 1000));  // half known, half already added: nothing changes
  EXPECT_EQ(index.size(), 1000u + kAdded);
  for (uint32_t n : {0u, 999u, 1000u, 70000u, 1000u + kAdded - 1})
    ASSERT_TRUE(index.Contains(IdOf(n))) << n;
  EXPECT_FALSE(index.Contains(IdOf(1000 + kAdded)));
  EXPECT_EQ(index.Find(IdOf(700))->pack, IdOf(1'000'000 + 0)) << "the first location wins";
  size_t seen = 0;
  index.ForEachEntry([&](const ChunkId&, uint32_t, uint32_t, uint32_t, uint32_t) { ++seen; });
  EXPECT_EQ(seen, 1000u + kAdded);
  // Folded entries cost 48 bytes each, not a hash map node.
  EXPECT_LT(index.memory_bytes(), (1000u + kAdded) * 48 * 2 + ChunkIndex::kRecentLimit * 80);
  index.FinishLoad();
  EXPECT_EQ(index.size(), 1000u + kAdded);
  EXPECT_TRUE(index.Contains(IdOf(1000 + kAdded - 1)));
}

}  // namespace
}  // namespace pgkeep
