#include "repo/block_cache.h"

#include <algorithm>

namespace pgkeep {

BlockCache::~BlockCache() {
  for (auto& f : ahead_) f.wait();
}

BlockCache::Fetched BlockCache::FindOrAdd(const std::string& name, uint64_t offset, uint64_t length,
                                          uint64_t& start,
                                          std::promise<std::shared_ptr<const Result<Bytes>>>& fetch,
                                          bool& added) {
  for (const Block& b : blocks_) {
    if (b.name == name && offset >= b.start && offset + length <= b.start + b.length) {
      start = b.start;
      added = false;
      return b.data;
    }
  }
  start = offset;
  added = true;
  Fetched data = fetch.get_future().share();
  blocks_.push_back({name, offset, std::max<uint64_t>(kBlockBytes, length), data});
  while (blocks_.size() > max_blocks_) blocks_.pop_front();
  return data;
}

Result<Bytes> BlockCache::Read(const std::string& name, uint64_t offset, uint64_t length) {
  const uint64_t want = std::max<uint64_t>(kBlockBytes, length);
  std::promise<std::shared_ptr<const Result<Bytes>>> mine;
  uint64_t start = 0;
  bool fetch = false;
  Fetched fetched;
  {
    std::lock_guard lock(mu_);
    fetched = FindOrAdd(name, offset, length, start, mine, fetch);
  }
  if (fetch)
    mine.set_value(
        std::make_shared<const Result<Bytes>>(storage_.GetRangeUpTo(name, offset, want)));
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
  // A whole block: the object may go on after it.
  if (block->size() >= std::max<uint64_t>(kBlockBytes, from + length))
    ReadAhead(name, start, block->size());
  return Bytes(block->begin() + static_cast<ptrdiff_t>(from),
               block->begin() + static_cast<ptrdiff_t>(from + length));
}

void BlockCache::ReadAhead(const std::string& name, uint64_t start, uint64_t length) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(blocks_.begin(), blocks_.end(),
                         [&](const Block& b) { return b.name == name && b.start == start; });
  if (it == blocks_.end() || it->followed) return;
  it->followed = true;
  std::promise<std::shared_ptr<const Result<Bytes>>> next;
  uint64_t next_start = 0;
  bool added = false;
  FindOrAdd(name, start + length, 1, next_start, next, added);
  if (!added) return;
  std::erase_if(ahead_, [](const std::future<void>& f) {
    return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  });
  ahead_.push_back(std::async(
      std::launch::async, [this, name, from = start + length, next = std::move(next)]() mutable {
        next.set_value(
            std::make_shared<const Result<Bytes>>(storage_.GetRangeUpTo(name, from, kBlockBytes)));
      }));
}

}  // namespace pgkeep
