// repo/chunk_index.h — which pack holds which chunk.
//
// In memory: one 48-byte entry per chunk (32-byte id + pack number, offset,
// stored and raw length) in a sorted vector. Chunks added by this process's
// own stores go to a hash map first (~120 bytes each), which is folded into a
// second sorted vector (48 bytes each) whenever it holds kRecentLimit entries
// or a quarter of that vector, so a long backup costs ~80 bytes per chunk it
// adds and the folding copies each entry a few times in all. Loading
// appends to the vector, reserved once from the index objects' sizes (each
// entry takes at least 36 stored bytes: its 32-byte id does not compress), and
// sorts it in place: at most 48 x 45/36 = 60 bytes per chunk, 10 million
// chunks in under 600 MiB; at the default 1 MiB average chunk that indexes
// ~9.5 TiB of unique data. Pack ids are kept once per pack, not per chunk.
//
// Repeated ids. Several index entries may name one chunk: old and new index
// objects beside each other after an interrupted collection, a chunk stored
// again because its pack went missing, an older index object replayed. All of
// them are kept (each is a possible copy, and garbage collection must see
// every pack that holds one); Find returns the newest, FindAll every one,
// newest first. "Newest" is the highest pack number: packs are numbered in
// the order they are first added, and Repository::LoadIndex adds index objects
// oldest first, then this process's own packs. Entries of packs that turn
// out missing or damaged are removed by DropPacks, so a lookup never answers
// with a location that is known to be gone.
//
// On disk (index/<sha256>): an object-framed list of packs with their entries:
//   index := "PGKIDX01" pack_count:u32 (pack_id[32] count:u32 entry*)*
//
// Thread safety: none; callers serialise (the store pipeline holds a mutex).
// Const lookups may run concurrently once no more entries are added.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "repo/pack.h"

namespace pgkeep {

struct ChunkLocation {
  ObjectId pack;
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t raw_length = 0;
};

// Entries of one pack, as written to an index file.
struct IndexedPack {
  ObjectId pack;
  std::vector<PackEntry> entries;
};

class ChunkIndex {
 public:
  // Adds every entry of a freshly written pack; findable at once. An id
  // already present keeps its location.
  void AddPack(const IndexedPack& pack);
  // Loading: appends without lookups; entries are findable only after
  // FinishLoad(). `expected_entries` pre-sizes the vector; it comes from
  // listed object sizes, which storage reports unchecked, so the reservation
  // is capped at a quarter of physical memory (past that the vector grows as
  // entries really arrive).
  void ReserveForLoad(size_t expected_entries);
  void AddLoadedPack(const IndexedPack& pack);
  // Sorts what was loaded (repeated ids kept, newest first) and moves entries
  // added by AddPack into the sorted vector.
  void FinishLoad();
  // Forgets every entry in the packs whose number is set in `dropped`
  // (indexed like packs()): their chunks count as absent from then on, so a
  // store writes them again. The pack ids stay in packs().
  void DropPacks(const std::vector<bool>& dropped);

  bool Contains(const ChunkId& id) const;
  // The newest location of `id`.
  std::optional<ChunkLocation> Find(const ChunkId& id) const;
  // Every location of `id`, newest first.
  std::vector<ChunkLocation> FindAll(const ChunkId& id) const;
  size_t size() const { return sorted_prefix_ + added_.size() + recent_.size(); }
  // Entries the hash map holds (at least) before they are folded into a sorted vector.
  static constexpr size_t kRecentLimit = 1 << 16;
  size_t pack_count() const { return packs_.size(); }
  // Bytes held for entries (what the 10-million-chunk budget is about).
  size_t memory_bytes() const {
    return sorted_.capacity() * sizeof(Entry) + packs_.capacity() * sizeof(ObjectId) +
           added_.capacity() * sizeof(Entry) + recent_.size() * (sizeof(Entry) + 32);
  }
  // Calls f(id, pack_number, offset, length, raw_length) for every entry,
  // repeated ids included; packs()[pack_number] is the pack's id.
  template <typename F>
  void ForEachEntry(F&& f) const {
    for (size_t i = 0; i < sorted_prefix_; ++i) {
      const Entry& e = sorted_[i];
      f(e.id, e.pack, e.offset, e.length, e.raw_length);
    }
    for (const Entry& e : added_) f(e.id, e.pack, e.offset, e.length, e.raw_length);
    for (const auto& [id, e] : recent_) f(e.id, e.pack, e.offset, e.length, e.raw_length);
  }
  // Every pack id referenced by the index.
  const std::vector<ObjectId>& packs() const { return packs_; }

 private:
  struct Entry {
    ChunkId id;
    uint32_t pack;
    uint32_t offset;
    uint32_t length;
    uint32_t raw_length;
  };
  static_assert(sizeof(Entry) == 48);
  static bool NewestFirst(const Entry& a, const Entry& b);
  const Entry* Lookup(const ChunkId& id) const;
  void FoldRecent();
  uint32_t PackNumber(const ObjectId& pack);

  std::vector<ObjectId> packs_;
  std::unordered_map<ObjectId, uint32_t, ChunkIdHash> pack_numbers_;
  std::vector<Entry> sorted_;
  size_t sorted_prefix_ =
      0;  // sorted_[0, sorted_prefix_) is sorted by id, then pack number descending
  std::vector<Entry> added_;  // sorted, unique, disjoint from sorted_: folded from recent_
  std::unordered_map<ChunkId, Entry, ChunkIdHash> recent_;
};

Bytes EncodeIndexFile(const std::vector<IndexedPack>& packs);
Result<std::vector<IndexedPack>> DecodeIndexFile(ByteView plain);

}  // namespace pgkeep
