#include "repo/block_cache.h"

#include <algorithm>

namespace pgkeep {

BlockCache::~BlockCache() {
  for (auto& f : ahead_) f.wait();
}

BlockCache::Fetched BlockCache::FindOrAdd(const std::string& name, uint64_t offset, uint64_t length,
                                          uint64_t& start, uint64_t& asked,
                                          std::promise<std::shared_ptr<const Result<Bytes>>>& fetch,
                                          bool& added) {
  for (const Block& b : blocks_) {
    if (b.name == name && offset >= b.start && offset + length <= b.start + b.length) {
      start = b.start;
      asked = b.length;
      added = false;
      return b.data;
    }
  }
  const uint64_t aligned = offset - offset % kBlockBytes;
  if (offset + length <= aligned + kBlockBytes + kBlockMargin) {
    start = aligned;
    asked = kBlockBytes + kBlockMargin;
  } else {  // too long to be whole in its aligned block
    start = offset;
    asked = std::max(kBlockBytes, length);
  }
  added = true;
  Fetched data = fetch.get_future().share();
  blocks_.push_back({name, start, asked, data});
  while (blocks_.size() > max_blocks_) blocks_.pop_front();
  return data;
}

Result<Bytes> BlockCache::Read(const std::string& name, uint64_t offset, uint64_t length) {
  std::promise<std::shared_ptr<const Result<Bytes>>> mine;
  uint64_t start = 0, asked = 0;
  bool fetch = false;
  Fetched fetched;
  {
    std::lock_guard lock(mu_);
    fetched = FindOrAdd(name, offset, length, start, asked, mine, fetch);
  }
  if (fetch)
    mine.set_value(
        std::make_shared<const Result<Bytes>>(storage_.GetRangeUpTo(name, start, asked)));
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
  // A whole aligned block: the object goes on past it.
  if (start % kBlockBytes == 0 && block->size() == asked) ReadAhead(name, start);
  return Bytes(block->begin() + static_cast<ptrdiff_t>(from),
               block->begin() + static_cast<ptrdiff_t>(from + length));
}

void BlockCache::ReadAhead(const std::string& name, uint64_t start) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(blocks_.begin(), blocks_.end(),
                         [&](const Block& b) { return b.name == name && b.start == start; });
  if (it == blocks_.end() || it->followed) return;
  it->followed = true;
  std::promise<std::shared_ptr<const Result<Bytes>>> next;
  uint64_t next_start = 0, asked = 0;
  bool added = false;
  // Past the margin: a read there needs the next block.
  FindOrAdd(name, start + kBlockBytes + kBlockMargin, 1, next_start, asked, next, added);
  if (!added) return;
  std::erase_if(ahead_, [](const std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  ahead_.push_back(std::async(
      std::launch::async, [this, name, next_start, asked, next = std::move(next)]() mutable {
        next.set_value(
            std::make_shared<const Result<Bytes>>(storage_.GetRangeUpTo(name, next_start, asked)));
      }));
}

}  // namespace pgkeep
