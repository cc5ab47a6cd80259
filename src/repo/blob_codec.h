// repo/blob_codec.h — turns chunks and metadata objects into stored bytes and back.
//
// A stored chunk is  seal(flag || payload, aad = chunk id)  where flag says
// whether payload is zstd-compressed or raw (incompressible data is kept raw).
// Without encryption the seal step is skipped. Decoding checks the GCM tag
// and then (see set_recheck_ids) that the plaintext hashes to the chunk id:
// corruption anywhere is caught, and a blob cannot be passed off as another.
//
// Metadata objects use the same framing with a fixed associated-data string
// per kind: "pack trailer", "index", "snapshot/<id>". In an unencrypted
// repository they end with a 16-byte HMAC tag instead, so every object is
// checksummed either way (chunks are checked by their id).
//
// Not thread-safe: one BlobCodec per thread.
#pragma once

#include <memory>
#include <string_view>

#include "codec/compressor.h"
#include "codec/crypto.h"
#include "repo/format.h"
#include "repo/keys.h"

namespace pgkeep {

class BlobCodec {
 public:
  BlobCodec(const MasterKey& key, int compression_level, int compression_workers = 0);

  ChunkId Id(ByteView plaintext) { return hasher_.Mac(plaintext); }
  // Appends the stored form of `plaintext` to `out`.
  void Encode(ByteView plaintext, const ChunkId& id, Bytes& out);
  // Appends the plaintext (exactly raw_length bytes) to `out`; kCorrupt when
  // the tag, the framing or the id check fails.
  Status Decode(ByteView stored, const ChunkId& id, uint32_t raw_length, Bytes& out);

  Bytes EncodeObject(ByteView plaintext, std::string_view aad);
  Result<Bytes> DecodeObject(ByteView stored, std::string_view aad);

  // Whether Decode also recomputes the chunk id of an encrypted chunk. The
  // GCM tag already proves the writer, who holds the key, sealed exactly
  // this plaintext under this id; recomputing costs a quarter of a restore's
  // CPU. Loads (restore, load, export) skip it; verify and garbage
  // collection keep it. Unencrypted chunks are always checked by their id.
  void set_recheck_ids(bool recheck) { recheck_ids_ = recheck; }

  // Checksum length appended to objects in unencrypted repositories.
  static constexpr size_t kPlainTagSize = 16;

 private:
  Digest PlainTag(ByteView payload, std::string_view aad);
  void Frame(ByteView plaintext, ByteView aad, Bytes& out);
  Status Unframe(ByteView stored, ByteView aad, size_t expected_size, Bytes& out);

  Hasher hasher_;
  std::unique_ptr<Aead> aead_;  // null when the repository is not encrypted
  Compressor compressor_;
  Decompressor decompressor_;
  Bytes scratch_;
  bool recheck_ids_ = true;
};

}  // namespace pgkeep
