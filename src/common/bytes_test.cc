#include "common/bytes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>

namespace pgkeep {
namespace {

// Large buffers start on a 2 MiB boundary (what huge pages need), hold
// every byte they were asked for, and keep their contents when they grow
// past the threshold or shrink below it.
TEST(BytesTest, LargeBuffersAreAlignedAndKeepTheirContentsAcrossGrowth) {
  Bytes small(kLargeBufferBytes - 1);
  for (size_t i = 0; i < small.size(); ++i) small[i] = static_cast<uint8_t>(i * 7);
  Bytes grown = small;
  grown.resize(3 * kLargeBufferBytes + 12345);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(grown.data()) % (2 << 20), 0u);
  for (size_t i = 0; i < small.size(); i += 4093)
    ASSERT_EQ(grown[i], static_cast<uint8_t>(i * 7)) << i;
  // Every byte is writable, up to the last.
  for (size_t i = small.size(); i < grown.size(); ++i) grown[i] = 0xA5;
  EXPECT_EQ(grown.back(), 0xA5);

  grown.resize(100);
  grown.shrink_to_fit();  // back below the threshold: an ordinary allocation
  EXPECT_EQ(grown.size(), 100u);
  EXPECT_EQ(grown[99], static_cast<uint8_t>(99 * 7));

  // Many allocations and frees of odd large sizes leave nothing behind that
  // breaks the next (a wrong unmapped length would fault here or under ASan).
  for (size_t n = kLargeBufferBytes; n < 40 * kLargeBufferBytes; n += kLargeBufferBytes * 3 + 1) {
    Bytes b(n);
    b.front() = 1;
    b.back() = 2;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % (2 << 20), 0u) << n;
  }
}

TEST(BytesTest, AppendKeepsEveryPieceInOrderAcrossTheLargeBufferBoundary) {
  Bytes out;
  Append(out, {});
  EXPECT_TRUE(out.empty());
  // 16 KiB pieces, as a socket hands them over, until past 2 MiB.
  Bytes piece(16 << 10);
  for (int i = 0; i < 200; ++i) {
    std::fill(piece.begin(), piece.end(), static_cast<uint8_t>(i));
    Append(out, piece);
  }
  ASSERT_EQ(out.size(), 200u * (16 << 10));
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(out[static_cast<size_t>(i) * (16 << 10)], static_cast<uint8_t>(i));
    EXPECT_EQ(out[(static_cast<size_t>(i) + 1) * (16 << 10) - 1], static_cast<uint8_t>(i));
  }
}

}  // namespace
}  // namespace pgkeep
