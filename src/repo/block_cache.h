// repo/block_cache.h — reading chunks from an object store in blocks.
//
// On S3 a request costs far more than the bytes of one chunk (64 KiB for
// relation files), and chunks a reader needs one after the other mostly sit
// one after the other in a pack. So a read fetches a block of kBlockBytes
// from the chunk's offset on (GetRangeUpTo), later reads inside it are cut
// out of memory, and a block being fetched is waited for, not fetched
// twice. At most `max_blocks` blocks are kept (the oldest go first).
//
// Thread safety: Read may be called from several threads at once.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "storage/storage.h"

namespace pgkeep {

class BlockCache {
 public:
  static constexpr uint64_t kBlockBytes = 4 << 20;

  BlockCache(Storage& storage, size_t max_blocks) : storage_(storage), max_blocks_(max_blocks) {}

  // Exactly `length` bytes of object `name` from `offset`; kCorrupt when the
  // object is shorter.
  Result<Bytes> Read(const std::string& name, uint64_t offset, uint64_t length);

 private:
  using Fetched = std::shared_future<std::shared_ptr<const Result<Bytes>>>;
  struct Block {
    std::string name;
    uint64_t start = 0;
    uint64_t length = 0;  // asked for; the object may end sooner
    Fetched data;
  };

  Storage& storage_;
  size_t max_blocks_;
  std::mutex mu_;
  std::deque<Block> blocks_;  // oldest first
};

}  // namespace pgkeep
