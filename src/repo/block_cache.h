// repo/block_cache.h — reading chunks from an object store in blocks.
//
// On S3 a request costs far more than the bytes of one chunk (64 KiB for
// relation files), and chunks a reader needs one after the other mostly sit
// one after the other in a pack. So a read fetches the block of the pack
// holding the chunk's offset (GetRangeUpTo), later reads inside it are cut
// out of memory, and a block being fetched is waited for, not fetched
// twice. At most `max_blocks` blocks are kept (the oldest go first).
//
// Blocks are aligned: block k of a pack starts at k * kBlockBytes and
// reaches kBlockMargin past the next one's start, so a chunk that begins in
// it and straddles the boundary is still whole in it. Readers of different
// files whose chunks a backup interleaved in one pack (a restore's file
// writers) thereby share blocks, when they share one cache, instead of
// each fetching its own overlapping ranges. A chunk too long for that gets
// a block of its own, starting at its offset.
//
// Read-ahead: the first read out of a whole aligned block (the object goes
// on past it) starts fetching the next block in the background, so a
// reader going through a pack decodes one block while the next travels.
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
  static constexpr uint64_t kBlockMargin = 128 << 10;

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

  // The block holding [offset, offset + length) of `name`: one cached, or a
  // new one (its start and length in *start, *asked) whose fetch the caller
  // then runs, setting `fetch`. Under mu_.
  Fetched FindOrAdd(const std::string& name, uint64_t offset, uint64_t length, uint64_t& start,
                    uint64_t& asked, std::promise<std::shared_ptr<const Result<Bytes>>>& fetch,
                    bool& added);
  // Starts fetching the aligned block after the one at `start` of `name`
  // unless that was done already.
  void ReadAhead(const std::string& name, uint64_t start);

  Storage& storage_;
  size_t max_blocks_;
  std::mutex mu_;
  std::deque<Block> blocks_;              // oldest first
  std::vector<std::future<void>> ahead_;  // read-ahead fetches, finished ones dropped now and then
};

}  // namespace pgkeep
