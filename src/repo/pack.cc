#include "repo/pack.h"

#include <cstring>

namespace pgkeep {

namespace {
constexpr char kTrailerAad[] = "pack trailer";
}

void EncodePackEntry(const PackEntry& e, Bytes& out) {
  Append(out, e.id);
  out.push_back(static_cast<uint8_t>(e.type));
  PutU32(out, e.offset);
  PutU32(out, e.length);
  PutU32(out, e.raw_length);
}

PackEntry DecodePackEntry(const uint8_t* p) {
  PackEntry e;
  std::memcpy(e.id.data(), p, e.id.size());
  e.type = static_cast<BlobType>(p[32]);
  e.offset = GetU32(p + 33);
  e.length = GetU32(p + 37);
  e.raw_length = GetU32(p + 41);
  return e;
}

PackBuilder::PackBuilder(size_t expected_size, Bytes buffer) : data_(std::move(buffer)) {
  data_.clear();
  data_.reserve(expected_size);
  Append(data_, AsBytes(std::string_view(kPackMagic, kMagicSize)));
}

void PackBuilder::Add(const ChunkId& id, BlobType type, ByteView stored, uint32_t raw_length) {
  entries_.push_back({id, type, static_cast<uint32_t>(data_.size()),
                      static_cast<uint32_t>(stored.size()), raw_length});
  Append(data_, stored);
}

Bytes PackBuilder::Finish(BlobCodec& codec) {
  Bytes table;
  PutU32(table, static_cast<uint32_t>(entries_.size()));
  for (const auto& e : entries_) EncodePackEntry(e, table);
  Bytes trailer = codec.EncodeObject(table, kTrailerAad);
  Append(data_, trailer);
  PutU32(data_, static_cast<uint32_t>(trailer.size()));
  Append(data_, AsBytes(std::string_view(kPackEndMagic, kMagicSize)));
  return std::move(data_);
}

Result<std::vector<PackEntry>> ReadPackTrailer(ByteView pack, BlobCodec& codec) {
  auto bad = [](const std::string& why) { return Status::Error(ErrorCode::kCorrupt, why); };
  if (pack.size() < 2 * kMagicSize + 4 || std::memcmp(pack.data(), kPackMagic, kMagicSize) != 0)
    return bad("pack header is damaged");
  const uint8_t* end = pack.data() + pack.size();
  if (std::memcmp(end - kMagicSize, kPackEndMagic, kMagicSize) != 0)
    return bad("pack end marker is damaged");
  uint32_t trailer_len = GetU32(end - kMagicSize - 4);
  if (trailer_len > pack.size() - 2 * kMagicSize - 4) return bad("pack trailer length is damaged");
  ByteView trailer(end - kMagicSize - 4 - trailer_len, trailer_len);
  auto table = codec.DecodeObject(trailer, kTrailerAad);
  if (!table.ok()) return bad("pack trailer: " + table.status().message());
  if (table->size() < 4) return bad("pack trailer is truncated");
  uint32_t count = GetU32(table->data());
  if (table->size() != 4 + size_t{count} * kPackEntrySize) return bad("pack trailer size mismatch");
  std::vector<PackEntry> entries;
  entries.reserve(count);
  for (uint32_t i = 0; i < count; ++i)
    entries.push_back(DecodePackEntry(table->data() + 4 + size_t{i} * kPackEntrySize));
  return entries;
}

}  // namespace pgkeep
