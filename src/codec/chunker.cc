#include "codec/chunker.h"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include "codec/crypto.h"

namespace pgkeep {

namespace {
// A mask of `bits` one-bits taken from the top of the word: in a gear hash
// (h = (h << 1) + gear[b]) the high bits depend on the last 64 bytes, the low
// bits only on the last few, so the top bits give the widest window.
uint64_t TopBitsMask(int bits) { return bits <= 0 ? 0 : ~uint64_t{0} << (64 - bits); }
}  // namespace

bool ValidCdcParams(const CdcParams& p) {
  return std::has_single_bit(p.avg_size) && p.min_size > 0 && p.min_size < p.avg_size &&
         p.avg_size < p.max_size;
}

FastCdcChunker::FastCdcChunker(const CdcParams& params, ByteView key) : params_(params) {
  if (!ValidCdcParams(params)) throw std::invalid_argument("invalid chunker parameters");
  int bits = std::countr_zero(params.avg_size);
  // Normalization level 2, as in the FastCDC paper.
  mask_small_ = TopBitsMask(bits + 2);
  mask_large_ = TopBitsMask(bits - 2);
  Hasher hasher(key);
  for (int i = 0; i < 256; i += 4) {
    uint8_t label[8] = {'g', 'e', 'a', 'r', static_cast<uint8_t>(i), 0, 0, 0};
    Digest d = hasher.Mac(ByteView(label, sizeof label));
    for (int j = 0; j < 4; ++j) gear_[i + j] = GetU64(d.data() + 8 * j);
  }
}

size_t FastCdcChunker::NextChunk(ByteView data, bool at_eof) const {
  size_t n = data.size();
  if (n <= params_.min_size) return at_eof ? n : 0;
  // A boundary found in what is buffered is final whatever follows; if none
  // is found before the end of a partial buffer, the caller must read more.
  size_t limit = std::min<size_t>(n, params_.max_size);
  size_t normal = std::min<size_t>(limit, params_.avg_size);
  const uint8_t* p = data.data();
  uint64_t h = 0;
  size_t i = params_.min_size;
  for (; i < normal; ++i) {
    h = (h << 1) + gear_[p[i]];
    if ((h & mask_small_) == 0) return i + 1;
  }
  for (; i < limit; ++i) {
    h = (h << 1) + gear_[p[i]];
    if ((h & mask_large_) == 0) return i + 1;
  }
  if (limit == params_.max_size) return limit;
  return at_eof ? n : 0;
}

size_t FixedChunker::NextChunk(ByteView data, bool at_eof) const {
  if (data.size() >= block_size_) return block_size_;
  return at_eof ? data.size() : 0;
}

}  // namespace pgkeep
