// codec/compressor.h — zstd compression with reusable contexts.
// One Compressor/Decompressor per thread; they are not thread-safe.
#pragma once

#include <memory>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

class Compressor {
 public:
  // `workers` > 1: an input of 4 MiB or more is cut into that many parts,
  // compressed side by side as separate frames (one big input, such as a WAL
  // segment, that must be done quickly). Decompressor reads the result as one.
  explicit Compressor(int level, int workers = 0);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Appends one zstd frame holding `input` to `out`.
  void Compress(ByteView input, Bytes& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  // Appends the decompressed frame to `out`; the frame must decode to exactly
  // `expected_size` bytes, otherwise kCorrupt.
  Status Decompress(ByteView frame, size_t expected_size, Bytes& out);
  // The size the frames declare in their headers, summed (a split input has
  // several); kCorrupt if one declares none.
  static Result<size_t> FrameContentSize(ByteView frame);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pgkeep
