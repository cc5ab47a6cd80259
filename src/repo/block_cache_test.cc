#include "repo/block_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/memory_storage.h"

namespace pgkeep {
namespace {

// Counts the block reads that reach the storage.
class CountingStorage final : public Storage {
 public:
  explicit CountingStorage(Storage& base) : base_(base) {}
  Result<Bytes> GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) override {
    ++reads;
    return base_.GetRangeUpTo(name, offset, length);
  }
  StorageFeatures Features() const override { return base_.Features(); }
  std::string Describe() const override { return base_.Describe(); }
  Status Put(const std::string& n, ByteView d) override { return base_.Put(n, d); }
  Status PutIfAbsent(const std::string& n, ByteView d) override { return base_.PutIfAbsent(n, d); }
  Result<Bytes> Get(const std::string& n) override { return base_.Get(n); }
  Result<Bytes> GetRange(const std::string& n, uint64_t o, uint64_t l) override {
    return base_.GetRange(n, o, l);
  }
  Result<std::vector<ObjectInfo>> List(const std::string& p) override { return base_.List(p); }
  Status Delete(const std::string& n) override { return base_.Delete(n); }
  Result<bool> Exists(const std::string& n) override { return base_.Exists(n); }
  Result<int> CleanupTemporary(bool b) override { return base_.CleanupTemporary(b); }

  std::atomic<int> reads{0};

 private:
  Storage& base_;
};

Bytes Numbered(size_t size) {
  Bytes b(size);
  for (size_t i = 0; i < size; ++i) b[i] = static_cast<uint8_t>(i * 7 + i / 251);
  return b;
}

TEST(BlockCacheTest, ChunksOneAfterTheOtherCostOneRequestPerBlock) {
  MemoryStorage memory;
  const Bytes pack = Numbered((6 << 20) + 100);
  ASSERT_TRUE(memory.Put("data/p", pack).ok());
  CountingStorage counting(memory);
  BlockCache cache(counting, 4);
  for (uint64_t offset = 0; offset + 65536 <= pack.size(); offset += 65536) {
    auto chunk = cache.Read("data/p", offset, 65536);
    ASSERT_TRUE(chunk.ok()) << chunk.status().message();
    ASSERT_EQ(*chunk, Bytes(pack.begin() + offset, pack.begin() + offset + 65536)) << offset;
  }
  EXPECT_EQ(counting.reads.load(), 2);  // 6 MiB in blocks of 4 MiB
  // The tail of the pack: a block shorter than asked for serves it.
  auto tail = cache.Read("data/p", pack.size() - 100, 100);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, Bytes(pack.end() - 100, pack.end()));
}

TEST(BlockCacheTest, ReadersOfOneBlockShareOneRequest) {
  MemoryStorage memory;
  const Bytes pack = Numbered(1 << 20);
  ASSERT_TRUE(memory.Put("data/p", pack).ok());
  CountingStorage counting(memory);
  BlockCache cache(counting, 4);
  ASSERT_TRUE(cache.Read("data/p", 0, 10).ok());  // the block, fetched once
  std::vector<std::thread> readers;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t)
    readers.emplace_back([&, t] {
      auto r = cache.Read("data/p", 1000 * t, 500);
      if (r.ok() && *r == Bytes(pack.begin() + 1000 * t, pack.begin() + 1000 * t + 500)) ++good;
    });
  for (auto& r : readers) r.join();
  EXPECT_EQ(good.load(), 8);
  EXPECT_EQ(counting.reads.load(), 1);
}

TEST(BlockCacheTest, AShortObjectIsCorruptAndFailuresAreNotKept) {
  MemoryStorage memory;
  ASSERT_TRUE(memory.Put("data/p", Numbered(1000)).ok());
  CountingStorage counting(memory);
  BlockCache cache(counting, 4);
  EXPECT_EQ(cache.Read("data/p", 900, 200).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(cache.Read("data/missing", 0, 10).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(memory.Put("data/missing", Numbered(10)).ok());
  EXPECT_TRUE(cache.Read("data/missing", 0, 10).ok());  // asked again, not the cached failure
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST(BlockCacheTest, TheNextBlockTravelsWhileTheCurrentOneIsRead) {
  MemoryStorage memory;
  const Bytes pack = Numbered((12 << 20) + 100);
  ASSERT_TRUE(memory.Put("data/p", pack).ok());
  CountingStorage counting(memory);
  auto reads_reach = [&](int n) {
    for (int i = 0; i < 500 && counting.reads.load() < n; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return counting.reads.load();
  };
  {
    BlockCache cache(counting, 4);
    ASSERT_TRUE(cache.Read("data/p", 0, 65536).ok());
    // The first read of block 0 sent for block 1 without being asked.
    EXPECT_EQ(reads_reach(2), 2);
    for (uint64_t offset = 0; offset + 65536 <= pack.size(); offset += 65536) {
      auto chunk = cache.Read("data/p", offset, 65536);
      ASSERT_TRUE(chunk.ok()) << chunk.status().message();
      ASSERT_EQ(*chunk, Bytes(pack.begin() + offset, pack.begin() + offset + 65536)) << offset;
    }
    // Three blocks (the last one ends with the pack, its 100 bytes past
    // 12 MiB in its margin), each asked for once: none was fetched again by
    // a reader, nothing past the end was asked for.
    EXPECT_EQ(reads_reach(3), 3);
    auto tail = cache.Read("data/p", pack.size() - 100, 100);
    ASSERT_TRUE(tail.ok());
    EXPECT_EQ(*tail, Bytes(pack.end() - 100, pack.end()));
  }
  EXPECT_EQ(counting.reads.load(), 3);
}

TEST(BlockCacheTest, BlocksAreAlignedSoReadersAnywhereInOneShareIt) {
  MemoryStorage memory;
  const Bytes pack = Numbered(3 << 20);
  ASSERT_TRUE(memory.Put("data/p", pack).ok());
  CountingStorage counting(memory);
  BlockCache cache(counting, 8);
  // Readers of two files interleaved in the pack, out of step.
  for (uint64_t offset : {uint64_t{2000000}, uint64_t{70000}, uint64_t{3000000}, uint64_t{5}}) {
    auto chunk = cache.Read("data/p", offset, 65536);
    ASSERT_TRUE(chunk.ok());
    EXPECT_EQ(*chunk, Bytes(pack.begin() + offset, pack.begin() + offset + 65536));
  }
  EXPECT_EQ(counting.reads.load(), 1);

  // A chunk straddling a block boundary is whole in the block it starts in;
  // one longer than the margin gets a block of its own.
  const Bytes big = Numbered((9 << 20) + 7);
  ASSERT_TRUE(memory.Put("data/q", big).ok());
  BlockCache other(counting, 8);
  counting.reads = 0;
  const uint64_t near_end = (4 << 20) - 1000;
  auto straddling = other.Read("data/q", near_end, 65536);
  ASSERT_TRUE(straddling.ok());
  EXPECT_EQ(*straddling, Bytes(big.begin() + near_end, big.begin() + near_end + 65536));
  auto longer = other.Read("data/q", near_end, 300000);
  ASSERT_TRUE(longer.ok());
  EXPECT_EQ(*longer, Bytes(big.begin() + near_end, big.begin() + near_end + 300000));
}

}  // namespace
}  // namespace pgkeep
