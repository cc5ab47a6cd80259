#include "repo/chunk_index.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>

namespace pgkeep {

namespace {
constexpr char kIndexMagic[] = "PGKIDX01";
bool IdLess(const ChunkId& a, const ChunkId& b) {
  return std::memcmp(a.data(), b.data(), a.size()) < 0;
}
}  // namespace

bool ChunkIndex::NewestFirst(const Entry& a, const Entry& b) {
  int c = std::memcmp(a.id.data(), b.id.data(), a.id.size());
  if (c != 0) return c < 0;
  if (a.pack != b.pack) return a.pack > b.pack;
  return a.offset < b.offset;
}

uint32_t ChunkIndex::PackNumber(const ObjectId& pack) {
  auto [it, inserted] = pack_numbers_.try_emplace(pack, static_cast<uint32_t>(packs_.size()));
  if (inserted) packs_.push_back(pack);
  return it->second;
}

void ChunkIndex::AddPack(const IndexedPack& pack) {
  uint32_t number = PackNumber(pack.pack);
  for (const auto& e : pack.entries) {
    if (Lookup(e.id)) continue;
    recent_.emplace(e.id, Entry{e.id, number, e.offset, e.length, e.raw_length});
  }
  // Folding copies every folded entry again, so fold less often as they
  // grow: total copying stays linear, the map at most a quarter of them.
  if (recent_.size() >= std::max(kRecentLimit, added_.size() / 4)) FoldRecent();
}

void ChunkIndex::FoldRecent() {
  std::vector<Entry> fresh;
  fresh.reserve(recent_.size());
  for (const auto& [id, e] : recent_) fresh.push_back(e);
  recent_.clear();
  auto less = [](const Entry& a, const Entry& b) { return IdLess(a.id, b.id); };
  std::sort(fresh.begin(), fresh.end(), less);
  std::vector<Entry> merged;
  merged.reserve(added_.size() + fresh.size());
  std::merge(added_.begin(), added_.end(), fresh.begin(), fresh.end(), std::back_inserter(merged),
             less);
  added_ = std::move(merged);
}

void ChunkIndex::AddLoadedPack(const IndexedPack& pack) {
  uint32_t number = PackNumber(pack.pack);
  for (const auto& e : pack.entries)
    sorted_.push_back(Entry{e.id, number, e.offset, e.length, e.raw_length});
}

void ChunkIndex::FinishLoad() {
  for (const Entry& e : added_) sorted_.push_back(e);
  added_ = {};
  for (auto& [id, e] : recent_) sorted_.push_back(e);
  recent_.clear();
  // In place (std::sort needs no buffer). Repeated ids stay: each names a
  // copy, which may be the only intact one, and a collection must keep every
  // pack holding one. The same entry listed twice (one pack named by two
  // index objects) is a single copy, though.
  std::sort(sorted_.begin(), sorted_.end(), NewestFirst);
  auto last = std::unique(sorted_.begin(), sorted_.end(), [](const Entry& a, const Entry& b) {
    return a.id == b.id && a.pack == b.pack && a.offset == b.offset;
  });
  sorted_.erase(last, sorted_.end());
  sorted_prefix_ = sorted_.size();
}

void ChunkIndex::DropPacks(const std::vector<bool>& dropped) {
  auto gone = [&](const Entry& e) { return e.pack < dropped.size() && dropped[e.pack]; };
  // Only the loaded prefix can hold them in practice, but a store session
  // may have added to the others before a caller drops.
  FinishLoad();
  std::erase_if(sorted_, gone);
  sorted_prefix_ = sorted_.size();
}

const ChunkIndex::Entry* ChunkIndex::Lookup(const ChunkId& id) const {
  auto end = sorted_.begin() + static_cast<ptrdiff_t>(sorted_prefix_);
  auto it = std::lower_bound(sorted_.begin(), end, id,
                             [](const Entry& e, const ChunkId& key) { return IdLess(e.id, key); });
  if (it != end && it->id == id) return &*it;
  auto a = std::lower_bound(added_.begin(), added_.end(), id,
                            [](const Entry& e, const ChunkId& key) { return IdLess(e.id, key); });
  if (a != added_.end() && a->id == id) return &*a;
  auto r = recent_.find(id);
  return r == recent_.end() ? nullptr : &r->second;
}

bool ChunkIndex::Contains(const ChunkId& id) const { return Lookup(id) != nullptr; }

std::vector<ChunkLocation> ChunkIndex::FindAll(const ChunkId& id) const {
  std::vector<ChunkLocation> out;
  auto end = sorted_.begin() + static_cast<ptrdiff_t>(sorted_prefix_);
  auto it = std::lower_bound(sorted_.begin(), end, id,
                             [](const Entry& e, const ChunkId& key) { return IdLess(e.id, key); });
  // This process's own copies are the newest.
  auto a = std::lower_bound(added_.begin(), added_.end(), id,
                            [](const Entry& e, const ChunkId& key) { return IdLess(e.id, key); });
  if (a != added_.end() && a->id == id)
    out.push_back({packs_[a->pack], a->offset, a->length, a->raw_length});
  if (auto r = recent_.find(id); r != recent_.end())
    out.push_back(
        {packs_[r->second.pack], r->second.offset, r->second.length, r->second.raw_length});
  for (; it != end && it->id == id; ++it)
    out.push_back({packs_[it->pack], it->offset, it->length, it->raw_length});
  return out;
}

std::optional<ChunkLocation> ChunkIndex::Find(const ChunkId& id) const {
  const Entry* e = Lookup(id);
  if (!e) return std::nullopt;
  return ChunkLocation{packs_[e->pack], e->offset, e->length, e->raw_length};
}

Bytes EncodeIndexFile(const std::vector<IndexedPack>& packs) {
  Bytes out;
  Append(out, AsBytes(std::string_view(kIndexMagic, kMagicSize)));
  PutU32(out, static_cast<uint32_t>(packs.size()));
  for (const auto& p : packs) {
    Append(out, p.pack);
    PutU32(out, static_cast<uint32_t>(p.entries.size()));
    for (const auto& e : p.entries) EncodePackEntry(e, out);
  }
  return out;
}

void ChunkIndex::ReserveForLoad(size_t expected_entries) {
  long pages = ::sysconf(_SC_PHYS_PAGES), page_size = ::sysconf(_SC_PAGE_SIZE);
  size_t memory = pages > 0 && page_size > 0 ? size_t(pages) * size_t(page_size) : size_t{1} << 32;
  size_t cap = memory / 4 / sizeof(Entry);
  sorted_.reserve(sorted_.size() + std::min(expected_entries, cap));
}

Result<std::vector<IndexedPack>> DecodeIndexFile(ByteView plain) {
  auto bad = [] { return Status::Error(ErrorCode::kCorrupt, "index file structure is damaged"); };
  if (plain.size() < kMagicSize + 4 || std::memcmp(plain.data(), kIndexMagic, kMagicSize) != 0)
    return bad();
  size_t pos = kMagicSize;
  uint32_t pack_count = GetU32(plain.data() + pos);
  pos += 4;
  std::vector<IndexedPack> packs;
  for (uint32_t i = 0; i < pack_count; ++i) {
    if (plain.size() - pos < 36) return bad();
    IndexedPack p;
    std::memcpy(p.pack.data(), plain.data() + pos, 32);
    uint32_t count = GetU32(plain.data() + pos + 32);
    pos += 36;
    if ((plain.size() - pos) / kPackEntrySize < count) return bad();
    p.entries.reserve(count);
    for (uint32_t k = 0; k < count; ++k, pos += kPackEntrySize) {
      PackEntry e = DecodePackEntry(plain.data() + pos);
      // The loader reads `length` bytes and decompresses to `raw_length`:
      // values no chunk can have would size those buffers.
      if (e.length > kMaxStoredBlobSize || e.raw_length > kMaxChunkSize) return bad();
      p.entries.push_back(e);
    }
    packs.push_back(std::move(p));
  }
  if (pos != plain.size()) return bad();
  return packs;
}

}  // namespace pgkeep
