#include "repo/index_rebuild.h"

#include <algorithm>
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
  for (const auto& object : *packs) {
    if (!IsPackObjectName(object.name)) continue;  // not ours; layout warnings name it
    auto bytes = storage.Get(object.name);
    if (!bytes.ok()) {
      report.problems.push_back("pack \"" + object.name + "\" cannot be read (" + bytes.status().message() +
                                "); its chunks are not indexed");
      continue;
    }
    auto entries = ReadPackTrailer(*bytes, *codec);
    if (!entries.ok()) {
      report.problems.push_back("pack \"" + object.name + "\": " + entries.status().message() +
                                "; its chunks cannot be located and are not indexed (the pack is kept)");
      continue;
    }
    ++report.packs;
    IndexedPack indexed;
    auto id = HexDecode(object.name.substr(object.name.rfind('/') + 1));  // 64 hex digits: IsPackObjectName
    std::copy(id->begin(), id->end(), indexed.pack.begin());
    for (const auto& e : *entries) {
      bool inside = uint64_t{e.offset} + e.length <= bytes->size();
      Status s = inside ? Status::Ok() : Status::Error(ErrorCode::kCorrupt, "blob lies beyond the end");
      if (inside && check_blobs) {
        plain.clear();
        s = codec->Decode(ByteView(bytes->data() + e.offset, e.length), e.id, e.raw_length, plain);
      }
      if (!s.ok()) {
        ++report.blobs_left_out;
        report.problems.push_back("pack \"" + object.name + "\" at offset " + std::to_string(e.offset) + " (chunk " +
                                  HexEncode(e.id).substr(0, 16) + "): " + s.message() + "; left out of the index");
        continue;
      }
      indexed.entries.push_back(e);
    }
    report.chunks += indexed.entries.size();
    if (indexed.entries.empty()) continue;
    batch.push_back(std::move(indexed));
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
