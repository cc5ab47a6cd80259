// repo/block_cache.h — reading chunks from an object store in blocks.
//
// On S3 a request costs far more than the bytes of one chunk (64 KiB for
// relation files), and chunks a reader needs one after the other mostly sit
// one after the other in a pack. So a read fetches a block of kBlockBytes
// from the chunk's offset on (GetRangeUpTo), later reads inside it are cut
// out of memory, and a block being fetched is waited for, not fetched
// twice. At most `max_blocks` blocks are kept (the oldest go first).
//
// Read-ahead: the first read out of a whole block (the object goes on past
// it) starts fetching the next block in the background, so a reader going
// through a pack decodes one block while the next one travels. At most one
// read-ahead per block, so a reader has at most one request of its own in
// flight beside the one it waits for.
//
// Thread safety: Read may be called from several threads at once.
#pragma once

#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "storage/storage.h"

namespace pgkeep {

class BlockCache {
 public:
  static constexpr uint64_t kBlockBytes = 4 << 20;

  BlockCache(Storage& storage, size_t max_blocks) : storage_(storage), max_blocks_(max_blocks) {}
  ~BlockCache();  // waits for the read-ahead in flight

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
    bool followed = false;  // its read-ahead has been started
  };

  // The block at `offset` of `name`: the one covering it, or a new one
  // whose fetch `fetch` is then set to start. Under mu_.
  Fetched FindOrAdd(const std::string& name, uint64_t offset, uint64_t length, uint64_t& start,
                    std::promise<std::shared_ptr<const Result<Bytes>>>& fetch, bool& added);
  // Starts fetching the block after [start, start + length) of `name`
  // unless that was done already for this block.
  void ReadAhead(const std::string& name, uint64_t start, uint64_t length);

  Storage& storage_;
  size_t max_blocks_;
  std::mutex mu_;
  std::deque<Block> blocks_;              // oldest first
  std::vector<std::future<void>> ahead_;  // read-ahead fetches, finished ones dropped now and then
};

}  // namespace pgkeep
