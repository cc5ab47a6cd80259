#include "repo/garbage_collector.h"

#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "repo/layout.h"
#include "repo/loader.h"
#include "repo/pack.h"

namespace pgkeep {

namespace {

struct PackUse {
  uint64_t total = 0;
  uint64_t live = 0;
  std::vector<PackEntry> live_entries;
};

}  // namespace

Result<GcReport> CollectGarbage(Repository& repo, const std::vector<Snapshot>& snapshots,
                                const GcOptions& options) {
  GcReport report;
  Storage& storage = repo.storage();
  const IndexProblems& problems = repo.index_problems();
  if (!problems.empty()) {
    const DamagedObject& first = problems.unreadable_index.empty()
                                     ? problems.missing_packs.front()
                                     : problems.unreadable_index.front();
    return Status::Error(
        ErrorCode::kCheckFailed,
        "garbage collection refused: " + first.problem + " (and " +
            std::to_string(problems.unreadable_index.size() + problems.missing_packs.size() - 1) +
            " more problem(s)); nothing was deleted",
        "run \"pgkeep verify\", then \"pgkeep verify --repair\" to rebuild the index");
  }

  // Mark.
  std::unordered_set<ChunkId, ChunkIdHash> live;
  std::unordered_set<ChunkId, ChunkIdHash> manifest_chunks;
  Loader loader(repo);
  for (const auto& s : snapshots) {
    for (const auto& id : s.manifest) {
      live.insert(id);
      manifest_chunks.insert(id);
    }
    auto files = loader.ReadManifest(s);
    // Without the manifest the snapshot's chunks are unknown: nothing can be
    // proven garbage.
    if (!files.ok())
      return Status::Error(
          ErrorCode::kCheckFailed,
          "garbage collection refused: " + files.status().message() + "; nothing was deleted",
          "run \"pgkeep verify\"");
    for (const auto& f : *files) live.insert(f.chunks.begin(), f.chunks.end());
  }

  // What every indexed pack holds, live and dead.
  const auto& pack_ids = repo.index().packs();
  std::vector<PackUse> use(pack_ids.size());
  repo.index().ForEachEntry(
      [&](const ChunkId& id, uint32_t pack, uint32_t offset, uint32_t length, uint32_t raw_length) {
        use[pack].total += length;
        if (live.count(id)) {
          use[pack].live += length;
          BlobType type = manifest_chunks.count(id) ? BlobType::kManifest : BlobType::kData;
          use[pack].live_entries.push_back({id, type, offset, length, raw_length});
          ++report.chunks_live;
        } else {
          ++report.chunks_dead;
        }
      });
  for (const auto& id : live)
    if (!repo.index().Contains(id))
      return Status::Error(
          ErrorCode::kCheckFailed,
          "garbage collection refused: chunk " + HexEncode(id).substr(0, 16) +
              " is used by a kept backup but in no index; nothing was deleted",
          "run \"pgkeep verify\"; \"pgkeep verify --repair\" rebuilds the index from the packs");

  auto index_listing = storage.List(kIndexDir);
  if (!index_listing.ok()) return index_listing.status();
  auto pack_listing = storage.List(kDataDir);
  if (!pack_listing.ok()) return pack_listing.status();
  std::unordered_map<std::string, uint64_t> present;
  // Unknown names are not ours to delete (repo/layout.h).
  for (const auto& o : *pack_listing)
    if (IsPackObjectName(o.name)) present[o.name] = o.size;

  std::vector<size_t> dead, sparse;
  std::vector<IndexedPack> kept;
  report.packs = pack_ids.size();
  for (size_t p = 0; p < pack_ids.size(); ++p) {
    std::string name = PackObjectName(pack_ids[p]);
    uint64_t size = present.count(name) ? present[name] : use[p].total;
    present.erase(name);
    if (use[p].live == 0) {
      dead.push_back(p);
      report.bytes_freed += size;
    } else if (static_cast<double>(use[p].live) <
               options.repack_below * static_cast<double>(size)) {
      // Measured against the pack's real size: dead blobs an earlier
      // collection left in a kept pack are no longer indexed but still there.
      sparse.push_back(p);
      report.bytes_freed += size - use[p].live;
      report.bytes_moved += use[p].live;
    } else {
      kept.push_back({pack_ids[p], use[p].live_entries});
    }
  }
  // What is left in `present` is in no index: leftovers of interrupted stores.
  for (const auto& [name, size] : present) report.bytes_freed += size;
  report.packs_deleted = dead.size();
  report.packs_repacked = sparse.size();
  report.leftovers_deleted = present.size();
  std::erase_if(*index_listing, [](const ObjectInfo& o) { return !IsIndexObjectName(o.name); });
  report.index_objects_replaced = index_listing->size();
  if (options.dry_run) return report;
  bool nothing_to_do = dead.empty() && sparse.empty() && present.empty() && report.chunks_dead == 0;
  if (nothing_to_do) {
    report.index_objects_replaced = 0;
    return report;
  }

  // 1. Move live chunks out of sparse packs, checking each one.
  auto codec = repo.NewCodec();
  std::vector<IndexedPack> written;
  auto builder = std::make_unique<PackBuilder>(options.pack_size + (5 << 20));
  auto flush = [&]() -> Status {
    if (builder->empty()) return Status::Ok();
    IndexedPack indexed{ObjectId{}, builder->entries()};
    Bytes bytes = builder->Finish(*codec);
    std::memcpy(indexed.pack.data(), RandomBytes(indexed.pack.size()).data(), indexed.pack.size());
    PGKEEP_RETURN_IF_ERROR(storage.Put(PackObjectName(indexed.pack), bytes));
    written.push_back(std::move(indexed));
    builder = std::make_unique<PackBuilder>(options.pack_size + (5 << 20));
    return Status::Ok();
  };
  Bytes scratch;
  for (size_t p : sparse) {
    std::string name = PackObjectName(pack_ids[p]);
    auto bytes = storage.GetAtMost(name, kMaxPackObjectSize);
    if (!bytes.ok()) return bytes.status().WithContext("repacking \"" + name + "\"");
    for (const auto& e : use[p].live_entries) {
      ByteView blob(bytes->data() + e.offset, e.length);
      scratch.clear();
      Status ok = uint64_t{e.offset} + e.length > bytes->size()
                      ? Status::Error(ErrorCode::kCorrupt, "blob lies beyond the end")
                      : codec->Decode(blob, e.id, e.raw_length, scratch);
      if (!ok.ok())
        return Status::Error(
            ErrorCode::kCorrupt,
            "pack \"" + name + "\" at offset " + std::to_string(e.offset) + ": " + ok.message(),
            "run \"pgkeep verify --read-data\"; no pack or index was deleted");
      builder->Add(e.id, e.type, blob, e.raw_length);
      if (builder->size() >= options.pack_size) PGKEEP_RETURN_IF_ERROR(flush());
    }
  }
  PGKEEP_RETURN_IF_ERROR(flush());
  report.packs_written = written.size();

  // 2. One index naming every live chunk where it now is.
  std::vector<IndexedPack> all = kept;
  all.insert(all.end(), written.begin(), written.end());
  Bytes stored = codec->EncodeObject(EncodeIndexFile(all), kIndexAad);
  std::string new_index = IndexObjectName(Sha256(stored));
  PGKEEP_RETURN_IF_ERROR(storage.Put(new_index, stored));

  // 3. The old index objects.
  for (const auto& o : *index_listing)
    if (o.name != new_index) PGKEEP_RETURN_IF_ERROR(storage.Delete(o.name));

  // 4. Packs nothing refers to any more.
  for (size_t p : dead) PGKEEP_RETURN_IF_ERROR(storage.Delete(PackObjectName(pack_ids[p])));
  for (size_t p : sparse) PGKEEP_RETURN_IF_ERROR(storage.Delete(PackObjectName(pack_ids[p])));
  for (const auto& [name, size] : present) PGKEEP_RETURN_IF_ERROR(storage.Delete(name));
  return report;
}

}  // namespace pgkeep
