#include "codec/compressor.h"

#include <zstd.h>

#include <stdexcept>
#include <string>

namespace pgkeep {

struct Compressor::Impl {
  ZSTD_CCtx* cctx = nullptr;
  ~Impl() { ZSTD_freeCCtx(cctx); }
};

Compressor::Compressor(int level, int workers) : impl_(std::make_unique<Impl>()) {
  impl_->cctx = ZSTD_createCCtx();
  if (!impl_->cctx) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_compressionLevel, level);
  // Chunk ids already authenticate content; a frame checksum would be redundant.
  ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_checksumFlag, 0);
  if (workers > 0) ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_nbWorkers, workers);  // ignored without MT support
}

Compressor::~Compressor() = default;

void Compressor::Compress(ByteView input, Bytes& out) {
  size_t base = out.size();
  out.resize(base + ZSTD_compressBound(input.size()));
  size_t n = ZSTD_compress2(impl_->cctx, out.data() + base, out.size() - base, input.data(),
                            input.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  out.resize(base + n);
}

struct Decompressor::Impl {
  ZSTD_DCtx* dctx = nullptr;
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

Decompressor::Decompressor() : impl_(std::make_unique<Impl>()) {
  impl_->dctx = ZSTD_createDCtx();
  if (!impl_->dctx) throw std::bad_alloc();
}

Decompressor::~Decompressor() = default;

Status Decompressor::Decompress(ByteView frame, size_t expected_size, Bytes& out) {
  size_t base = out.size();
  out.resize(base + expected_size);
  size_t n = ZSTD_decompressDCtx(impl_->dctx, out.data() + base, expected_size, frame.data(),
                                 frame.size());
  if (ZSTD_isError(n) || n != expected_size) {
    out.resize(base);
    return Status::Error(ErrorCode::kCorrupt,
                         ZSTD_isError(n) ? std::string("zstd frame does not decode: ") +
                                               ZSTD_getErrorName(n)
                                         : "zstd frame decodes to the wrong size");
  }
  return Status::Ok();
}

Result<size_t> Decompressor::FrameContentSize(ByteView frame) {
  unsigned long long n = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN)
    return Status::Error(ErrorCode::kCorrupt, "zstd frame header is damaged");
  return static_cast<size_t>(n);
}

}  // namespace pgkeep
