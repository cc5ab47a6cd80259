#include "repo/block_cache.h"

#include <algorithm>

namespace pgkeep {

Result<Bytes> BlockCache::Read(const std::string& name, uint64_t offset, uint64_t length) {
  Fetched fetched;
  uint64_t start = 0;
  std::promise<std::shared_ptr<const Result<Bytes>>> mine;
  bool fetch = false;
  {
    std::lock_guard lock(mu_);
    for (const Block& b : blocks_) {
      if (b.name == name && offset >= b.start && offset + length <= b.start + b.length) {
        fetched = b.data;
        start = b.start;
        break;
      }
    }
    if (!fetched.valid()) {
      start = offset;
      fetched = mine.get_future().share();
      fetch = true;
      blocks_.push_back({name, offset, std::max<uint64_t>(kBlockBytes, length), fetched});
      while (blocks_.size() > max_blocks_) blocks_.pop_front();
    }
  }
  if (fetch)
    mine.set_value(std::make_shared<const Result<Bytes>>(
        storage_.GetRangeUpTo(name, offset, std::max<uint64_t>(kBlockBytes, length))));
  const auto& block = *fetched.get();
  if (!block.ok()) {
    // A failed block is not kept: the next read asks again.
    std::lock_guard lock(mu_);
    std::erase_if(blocks_, [&](const Block& b) { return b.name == name && b.start == start; });
    return block.status();
  }
  const uint64_t from = offset - start;
  if (block->size() < from + length)
    return Status::Error(ErrorCode::kCorrupt, "object \"" + name + "\" is shorter than " +
                                                  std::to_string(offset + length) + " bytes");
  return Bytes(block->begin() + static_cast<ptrdiff_t>(from),
               block->begin() + static_cast<ptrdiff_t>(from + length));
}

}  // namespace pgkeep
