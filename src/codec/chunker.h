// codec/chunker.h — where to cut a byte stream into chunks.
//
// Two strategies, one interface:
//  - FastCdcChunker: content-defined boundaries (FastCDC with normalized
//    chunking), so an insertion shifts only the chunks around it. The gear table
//    is derived from a per-repository secret: boundaries of equal data do not
//    line up across repositories, which would otherwise leak content by size.
//  - FixedChunker: fixed blocks, for PostgreSQL relation files whose pages never
//    move; block sizes are multiples of the 8 KiB page.
//
// Both are stateless between calls and safe to share between threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "common/bytes.h"

namespace pgkeep {

class Chunker {
 public:
  virtual ~Chunker() = default;
  // Length of the chunk starting at data[0]. `data` holds everything buffered
  // so far; `at_eof` says no more data follows. Returns 0 when more data is
  // needed to decide (only possible when !at_eof and data.size() < MaxSize()).
  virtual size_t NextChunk(ByteView data, bool at_eof) const = 0;
  // No chunk is longer than this; buffers must hold at least this much.
  virtual size_t MaxSize() const = 0;
};

// Defaults: chunks of 512 KiB to 4 MiB averaging ~1 MiB. Cut points are only
// searched past min_size, so a larger minimum means fewer bytes to scan
// (bench/: the chunker is ~5% of the store pipeline's CPU at these values).
struct CdcParams {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_size = 1024 * 1024;  // must be a power of two
  uint32_t max_size = 4 * 1024 * 1024;
};

// min < avg < max, avg a power of two, min > 0.
bool ValidCdcParams(const CdcParams& params);

class FastCdcChunker final : public Chunker {
 public:
  // `key` seeds the gear table (any length; typically 32 secret bytes).
  FastCdcChunker(const CdcParams& params, ByteView key);
  size_t NextChunk(ByteView data, bool at_eof) const override;
  size_t MaxSize() const override { return params_.max_size; }

 private:
  CdcParams params_;
  uint64_t mask_small_;  // stricter mask used before the average size
  uint64_t mask_large_;  // looser mask used after it, pulling sizes toward the average
  std::array<uint64_t, 256> gear_;
};

class FixedChunker final : public Chunker {
 public:
  explicit FixedChunker(size_t block_size) : block_size_(block_size) {}
  size_t NextChunk(ByteView data, bool at_eof) const override;
  size_t MaxSize() const override { return block_size_; }

 private:
  size_t block_size_;
};

}  // namespace pgkeep
