#include "codec/compressor.h"

#include <zstd.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pgkeep {

struct Compressor::Impl {
  ZSTD_CCtx* cctx = nullptr;
  int level = 3;
  int workers = 0;
  ~Impl() { ZSTD_freeCCtx(cctx); }
};

namespace {

// Inputs at least this big are split between the workers.
constexpr size_t kSplitMin = 4 << 20;

size_t CompressOne(ZSTD_CCtx* cctx, ByteView input, uint8_t* out, size_t capacity) {
  size_t n = ZSTD_compress2(cctx, out, capacity, input.data(), input.size());
  if (ZSTD_isError(n)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(n));
  return n;
}

}  // namespace

Compressor::Compressor(int level, int workers) : impl_(std::make_unique<Impl>()) {
  impl_->cctx = ZSTD_createCCtx();
  if (!impl_->cctx) throw std::bad_alloc();
  impl_->level = level;
  impl_->workers = workers;
  ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_compressionLevel, level);
  // Chunk ids already authenticate content; a frame checksum would be redundant.
  ZSTD_CCtx_setParameter(impl_->cctx, ZSTD_c_checksumFlag, 0);
}

Compressor::~Compressor() = default;

void Compressor::Compress(ByteView input, Bytes& out) {
  if (impl_->workers > 1 && input.size() >= kSplitMin) {
    // One zstd frame per part, concatenated: a valid zstd stream that
    // Decompressor reads as one. (libzstd's own multithreading barely helps
    // a single 16 MiB input at fast levels; independent parts scale.)
    const size_t parts = static_cast<size_t>(impl_->workers);
    const size_t part = (input.size() + parts - 1) / parts;
    std::vector<Bytes> outputs(parts);
    std::vector<std::thread> threads;
    std::exception_ptr failure;
    std::mutex mu;
    for (size_t i = 0; i < parts; ++i) {
      ByteView piece =
          input.subspan(std::min(input.size(), i * part),
                        std::min(part, input.size() - std::min(input.size(), i * part)));
      auto work = [&, i, piece] {
        try {
          ZSTD_CCtx* cctx = i == 0 ? impl_->cctx : ZSTD_createCCtx();
          if (!cctx) throw std::bad_alloc();
          if (i != 0) {
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, impl_->level);
            ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0);
          }
          outputs[i].resize(ZSTD_compressBound(piece.size()));
          size_t n = 0;
          try {
            n = CompressOne(cctx, piece, outputs[i].data(), outputs[i].size());
          } catch (...) {
            if (i != 0) ZSTD_freeCCtx(cctx);
            throw;
          }
          if (i != 0) ZSTD_freeCCtx(cctx);
          outputs[i].resize(n);
        } catch (...) {
          std::lock_guard lock(mu);
          failure = std::current_exception();
        }
      };
      if (i + 1 < parts) {
        try {
          threads.emplace_back(work);
        } catch (...) {  // no thread to be had: do the part here
          work();
        }
      } else {
        work();
      }
    }
    for (auto& t : threads) t.join();
    if (failure) std::rethrow_exception(failure);
    for (const auto& o : outputs) Append(out, o);
    return;
  }
  size_t base = out.size();
  out.resize(base + ZSTD_compressBound(input.size()));
  size_t n =
      ZSTD_compress2(impl_->cctx, out.data() + base, out.size() - base, input.data(), input.size());
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
                         ZSTD_isError(n)
                             ? std::string("zstd frame does not decode: ") + ZSTD_getErrorName(n)
                             : "zstd frame decodes to the wrong size");
  }
  return Status::Ok();
}

Result<size_t> Decompressor::FrameContentSize(ByteView frame) {
  // Summed over every frame: a split input (Compressor workers) has several.
  size_t total = 0;
  while (!frame.empty()) {
    unsigned long long n = ZSTD_getFrameContentSize(frame.data(), frame.size());
    size_t length = ZSTD_findFrameCompressedSize(frame.data(), frame.size());
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || ZSTD_isError(length))
      return Status::Error(ErrorCode::kCorrupt, "zstd frame header is damaged");
    total += static_cast<size_t>(n);
    frame = frame.subspan(length);
  }
  return total;
}

}  // namespace pgkeep
