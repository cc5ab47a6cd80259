// repo/pack.h — pack files: many stored chunks in one object.
//
//   pack    := magic blob* trailer trailer_length:u32le end_magic
//   trailer := object-framed (see BlobCodec) list of entries, aad "pack trailer"
//
// The trailer makes every pack self-describing, so a lost index can be
// rebuilt from the packs alone. A pack is named by 32 random bytes: each blob
// is authenticated on its own, and the trailer too.
#pragma once

#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "repo/blob_codec.h"
#include "repo/format.h"

namespace pgkeep {

struct PackEntry {
  ChunkId id;
  BlobType type = BlobType::kData;
  uint32_t offset = 0;      // of the stored blob within the pack
  uint32_t length = 0;      // stored length
  uint32_t raw_length = 0;  // plaintext length
};

void EncodePackEntry(const PackEntry& e, Bytes& out);
PackEntry DecodePackEntry(const uint8_t* p);

// Accumulates encoded blobs in memory. Not thread-safe.
class PackBuilder {
 public:
  // `expected_size`: capacity reserved up front so appends never reallocate.
  // `buffer`: storage to reuse (cleared first), e.g. a finished pack's.
  explicit PackBuilder(size_t expected_size = 0, Bytes buffer = {});
  // Appends an already-encoded blob.
  void Add(const ChunkId& id, BlobType type, ByteView stored, uint32_t raw_length);
  size_t size() const { return data_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<PackEntry>& entries() const { return entries_; }
  // Appends the trailer; returns the finished pack bytes. The builder is spent.
  Bytes Finish(BlobCodec& codec);

 private:
  Bytes data_;
  std::vector<PackEntry> entries_;
};

// Parses the trailer of a whole pack.
Result<std::vector<PackEntry>> ReadPackTrailer(ByteView pack, BlobCodec& codec);

}  // namespace pgkeep
