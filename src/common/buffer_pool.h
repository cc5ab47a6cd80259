// common/buffer_pool.h — reuse of large I/O buffers.
//
// The store pipeline reads into multi-megabyte buffers that stay alive until
// the last chunk cut from them is compressed. Fresh allocations of that size
// are fresh mappings: every page faults in and is zeroed by the kernel. The
// pool hands released buffers out again instead.
//
// Acquire never blocks (memory is bounded by the pipeline's queues, not here);
// at most `max_idle` released buffers are kept. Thread-safe. The pool must
// outlive every buffer it handed out.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "common/bytes.h"

namespace pgkeep {

class BufferPool {
 public:
  BufferPool(size_t buffer_size, size_t max_idle)
      : buffer_size_(buffer_size), max_idle_(max_idle) {}

  // A buffer of buffer_size() bytes (contents unspecified), returned to the
  // pool when the last shared_ptr to it goes away.
  std::shared_ptr<Bytes> Acquire() {
    std::unique_ptr<Bytes> buffer;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        buffer = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!buffer) buffer = std::make_unique<Bytes>(buffer_size_);
    return std::shared_ptr<Bytes>(buffer.release(), [this](Bytes* b) { Release(b); });
  }
  size_t buffer_size() const { return buffer_size_; }

 private:
  void Release(Bytes* b) {
    std::unique_ptr<Bytes> owned(b);
    std::lock_guard lock(mu_);
    if (idle_.size() < max_idle_) idle_.push_back(std::move(owned));
  }

  const size_t buffer_size_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Bytes>> idle_;
};

}  // namespace pgkeep
