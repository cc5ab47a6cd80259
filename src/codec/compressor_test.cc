#include "codec/compressor.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

Bytes Sample(size_t n) {
  Bytes b(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1103515245 + 12345;
    b[i] = static_cast<uint8_t>("abcdefgh   \n"[(x >> 16) % 12]);
  }
  return b;
}

TEST(CompressorTest, SplitInputRoundTripsAsOneStream) {
  Bytes input = Sample((9 << 20) + 7);  // above the split threshold, not a multiple of the parts
  Compressor split(1, 2);
  Bytes compressed = {0xAB};  // Compress appends
  split.Compress(input, compressed);
  ASSERT_EQ(compressed[0], 0xAB);
  Compressor whole(1);
  Bytes single;
  whole.Compress(input, single);
  EXPECT_NE(ByteView(compressed).subspan(1).size(), single.size()) << "two frames, not one";
  Decompressor d;
  Bytes back;
  ASSERT_TRUE(d.Decompress(ByteView(compressed).subspan(1), input.size(), back).ok());
  EXPECT_EQ(back, input);
  auto declared = Decompressor::FrameContentSize(ByteView(compressed).subspan(1));
  ASSERT_TRUE(declared.ok());
  EXPECT_EQ(*declared, input.size());
}

TEST(CompressorTest, SmallInputsStayOneFrame) {
  Bytes input = Sample(100000);
  Compressor split(3, 2), whole(3);
  Bytes a, b;
  split.Compress(input, a);
  whole.Compress(input, b);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace pgkeep
