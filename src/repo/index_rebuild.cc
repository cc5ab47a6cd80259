#include "repo/index_rebuild.h"

#include <algorithm>
#include <map>
#include <set>

#include "repo/layout.h"
#include "repo/pack.h"

namespace pgkeep {

namespace {
// As in a store session: about 512 MiB of packs per index object.
constexpr size_t kPacksPerIndexObject = 32;
}  // namespace

Result<RebuildReport> RebuildIndex(Repository& repo, bool check_blobs) {
  RebuildReport report;
  Storage& storage = repo.storage();
  auto old_index = storage.List(kIndexDir);
  if (!old_index.ok()) return old_index.status();
  auto packs = storage.List(kDataDir);
  if (!packs.ok()) return packs.status();

  auto codec = repo.NewCodec();
  // What the readable old index objects say, for packs whose trailer is damaged.
  std::map<std::string, std::vector<PackEntry>> old_entries;
  for (const auto& o : *old_index) {
    if (!IsIndexObjectName(o.name)) continue;
    auto stored = storage.Get(o.name);
    auto plain =
        stored.ok() ? codec->DecodeObject(*stored, kIndexAad) : Result<Bytes>(stored.status());
    auto decoded =
        plain.ok() ? DecodeIndexFile(*plain) : Result<std::vector<IndexedPack>>(plain.status());
    if (!decoded.ok()) continue;
    for (const auto& p : *decoded) {
      auto& list = old_entries[PackObjectName(p.pack)];
      list.insert(list.end(), p.entries.begin(), p.entries.end());
    }
  }
  std::vector<IndexedPack> batch;
  std::set<std::string> written;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::Ok();
    Bytes stored = codec->EncodeObject(EncodeIndexFile(batch), kIndexAad);
    std::string name = IndexObjectName(Sha256(stored));
    PGKEEP_RETURN_IF_ERROR(storage.Put(name, stored));
    written.insert(name);
    batch.clear();
    return Status::Ok();
  };
  Bytes plain;
  std::vector<IndexedPack> found;  // ~45 bytes per chunk, like the index itself
  for (const auto& object : *packs) {
    if (!IsPackObjectName(object.name)) continue;  // not ours; layout warnings name it
    auto bytes = storage.Get(object.name);
    // A pack that cannot be read now (permissions, a storage hiccup) may be
    // whole: dropping it from the index would orphan good data, so the old
    // index stays as it is. Only checked damage (kCorrupt) is left out.
    if (!bytes.ok())
      return bytes.status().WithContext("cannot rebuild the index: pack \"" + object.name +
                                        "\" cannot be read; the index was left as it is");
    auto entries = ReadPackTrailer(*bytes, *codec);
    if (!entries.ok()) {
      // The blobs may be intact: what a readable old index object says about
      // this pack is kept (blobs checked below like any others).
      auto known = old_entries.find(object.name);
      report.problems.push_back(
          "pack \"" + object.name + "\": " + entries.status().message() +
          (known == old_entries.end()
               ? "; its chunks cannot be located and are not indexed (the pack is kept)"
               : "; its entries are taken from the old index"));
      if (known == old_entries.end()) continue;
      entries = known->second;
    }
    ++report.packs;
    IndexedPack indexed;
    auto id = HexDecode(
        object.name.substr(object.name.rfind('/') + 1));  // 64 hex digits: IsPackObjectName
    std::copy(id->begin(), id->end(), indexed.pack.begin());
    for (const auto& e : *entries) {
      bool inside = uint64_t{e.offset} + e.length <= bytes->size();
      Status s =
          inside ? Status::Ok() : Status::Error(ErrorCode::kCorrupt, "blob lies beyond the end");
      if (inside && check_blobs) {
        plain.clear();
        s = codec->Decode(ByteView(bytes->data() + e.offset, e.length), e.id, e.raw_length, plain);
      }
      if (!s.ok()) {
        ++report.blobs_left_out;
        report.problems.push_back(
            "pack \"" + object.name + "\" at offset " + std::to_string(e.offset) + " (chunk " +
            HexEncode(e.id).substr(0, 16) + "): " + s.message() + "; left out of the index");
        continue;
      }
      indexed.entries.push_back(e);
    }
    report.chunks += indexed.entries.size();
    if (indexed.entries.empty()) continue;
    found.push_back(std::move(indexed));
  }
  // Nothing is written before every pack was read (see above).
  for (auto& p : found) {
    batch.push_back(std::move(p));
    if (batch.size() >= kPacksPerIndexObject) PGKEEP_RETURN_IF_ERROR(flush());
  }
  PGKEEP_RETURN_IF_ERROR(flush());
  report.index_objects_written = written.size();
  // Only now that the new index is durable: the old objects go.
  for (const auto& o : *old_index) {
    if (!IsIndexObjectName(o.name) || written.count(o.name)) continue;
    PGKEEP_RETURN_IF_ERROR(storage.Delete(o.name));
    ++report.index_objects_removed;
  }
  return report;
}

}  // namespace pgkeep
