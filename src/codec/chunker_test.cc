#include "codec/chunker.h"

#include <gtest/gtest.h>

#include <set>

#include "support/text_data.h"

namespace pgkeep {
namespace {

std::vector<size_t> Cut(const Chunker& chunker, ByteView data) {
  std::vector<size_t> sizes;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t len = chunker.NextChunk(data.subspan(pos), true);
    EXPECT_GT(len, 0u);
    sizes.push_back(len);
    pos += len;
  }
  return sizes;
}

// Chunk ids as (offset-independent) content: the set of chunk contents.
std::set<std::string> Pieces(const Chunker& chunker, ByteView data) {
  std::set<std::string> out;
  size_t pos = 0;
  for (size_t len : Cut(chunker, data)) {
    out.insert(std::string(AsString(data.subspan(pos, len))));
    pos += len;
  }
  return out;
}

const CdcParams kSmall{16 * 1024, 64 * 1024, 256 * 1024};

TEST(FastCdcChunkerTest, SizesStayWithinBoundsAndAverageNearTarget) {
  FastCdcChunker chunker(kSmall, AsBytes("key"));
  Bytes data = testing::MakeText(16 << 20, 1);
  auto sizes = Cut(chunker, data);
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    EXPECT_GE(sizes[i], kSmall.min_size);
    EXPECT_LE(sizes[i], kSmall.max_size);
  }
  double avg = static_cast<double>(data.size()) / sizes.size();
  EXPECT_GT(avg, kSmall.avg_size * 0.5);
  EXPECT_LT(avg, kSmall.avg_size * 2.0);
}

TEST(FastCdcChunkerTest, InsertionChangesOnlyNearbyChunks) {
  FastCdcChunker chunker(kSmall, AsBytes("key"));
  Bytes data = testing::MakeText(8 << 20, 2);
  Bytes shifted = data;
  shifted.insert(shifted.begin() + 3'000'000, 'x');
  auto a = Pieces(chunker, data);
  auto b = Pieces(chunker, shifted);
  size_t shared = 0;
  for (const auto& p : b) shared += a.count(p);
  EXPECT_GE(shared + 3, b.size()) << "more than 3 chunks changed after a 1-byte insertion";
}

TEST(FastCdcChunkerTest, KeyChangesBoundaries) {
  Bytes data = testing::MakeText(4 << 20, 3);
  EXPECT_NE(Cut(FastCdcChunker(kSmall, AsBytes("one")), data),
            Cut(FastCdcChunker(kSmall, AsBytes("two")), data));
  EXPECT_EQ(Cut(FastCdcChunker(kSmall, AsBytes("one")), data),
            Cut(FastCdcChunker(kSmall, AsBytes("one")), data));
}

TEST(FastCdcChunkerTest, AsksForMoreDataUntilItCanDecide) {
  FastCdcChunker chunker(kSmall, AsBytes("key"));
  Bytes data(kSmall.min_size - 1, 'a');
  EXPECT_EQ(chunker.NextChunk(data, false), 0u);
  EXPECT_EQ(chunker.NextChunk(data, true), data.size());
  Bytes zeros(kSmall.max_size + 10, 0);  // no boundary in constant data: cut at max
  EXPECT_EQ(chunker.NextChunk(zeros, false), kSmall.max_size);
}

TEST(FastCdcChunkerTest, RejectsBadParameters) {
  EXPECT_THROW(FastCdcChunker(CdcParams{1024, 3000, 8192}, AsBytes("k")), std::invalid_argument);
  EXPECT_THROW(FastCdcChunker(CdcParams{8192, 4096, 16384}, AsBytes("k")), std::invalid_argument);
}

TEST(FixedChunkerTest, CutsFixedBlocks) {
  FixedChunker chunker(8192);
  Bytes data(8192 * 3 + 100, 1);
  EXPECT_EQ(Cut(chunker, data), (std::vector<size_t>{8192, 8192, 8192, 100}));
  EXPECT_EQ(chunker.NextChunk(ByteView(data.data(), 100), false), 0u);
}

}  // namespace
}  // namespace pgkeep
