#include "repo/blob_codec.h"

#include <cstring>

namespace pgkeep {

BlobCodec::BlobCodec(const MasterKey& key, int compression_level, int compression_workers)
    : hasher_(key.id_key), compressor_(compression_level, compression_workers) {
  if (key.encrypted) aead_ = std::make_unique<Aead>(key.data_key);
}

void BlobCodec::Frame(ByteView plaintext, ByteView aad, Bytes& out) {
  Bytes& payload = aead_ ? scratch_ : out;
  size_t base = aead_ ? 0 : out.size();
  if (aead_) scratch_.clear();
  payload.push_back(kPayloadZstd);
  compressor_.Compress(plaintext, payload);
  size_t compressed = payload.size() - base - 1;
  if (compressed >= plaintext.size()) {
    // Incompressible: keep it raw, decoding is then a plain copy.
    payload.resize(base);
    payload.push_back(kPayloadRaw);
    Append(payload, plaintext);
  }
  if (aead_) aead_->Seal(scratch_, aad, out);
}

Status BlobCodec::Unframe(ByteView stored, ByteView aad, size_t expected_size, Bytes& out) {
  ByteView payload = stored;
  if (aead_) {
    scratch_.clear();
    PGKEEP_RETURN_IF_ERROR(aead_->Open(stored, aad, scratch_));
    payload = scratch_;
  }
  if (payload.empty()) return Status::Error(ErrorCode::kCorrupt, "empty payload");
  ByteView body = payload.subspan(1);
  if (payload[0] == kPayloadRaw) {
    if (body.size() != expected_size)
      return Status::Error(ErrorCode::kCorrupt, "raw payload has the wrong size");
    Append(out, body);
    return Status::Ok();
  }
  if (payload[0] != kPayloadZstd) return Status::Error(ErrorCode::kCorrupt, "unknown payload flag");
  return decompressor_.Decompress(body, expected_size, out);
}

void BlobCodec::Encode(ByteView plaintext, const ChunkId& id, Bytes& out) {
  Frame(plaintext, id, out);
}

Status BlobCodec::Decode(ByteView stored, const ChunkId& id, uint32_t raw_length, Bytes& out) {
  size_t base = out.size();
  PGKEEP_RETURN_IF_ERROR(Unframe(stored, id, raw_length, out));
  if (aead_ && !recheck_ids_) return Status::Ok();
  if (hasher_.Mac(ByteView(out.data() + base, raw_length)) != id) {
    out.resize(base);
    return Status::Error(ErrorCode::kCorrupt, "content does not match its chunk id");
  }
  return Status::Ok();
}

Digest BlobCodec::PlainTag(ByteView payload, std::string_view aad) {
  Bytes message(AsBytes(aad).begin(), AsBytes(aad).end());
  message.push_back(0);
  Append(message, payload);
  return hasher_.Mac(message);
}

Bytes BlobCodec::EncodeObject(ByteView plaintext, std::string_view aad) {
  Bytes out;
  Frame(plaintext, AsBytes(aad), out);
  if (!aead_) {
    // Unencrypted objects still carry a checksum, as GCM's tag would be.
    Digest tag = PlainTag(out, aad);
    out.insert(out.end(), tag.begin(), tag.begin() + kPlainTagSize);
  }
  return out;
}

Result<Bytes> BlobCodec::DecodeObject(ByteView stored, std::string_view aad) {
  // Objects are small enough to decode whole; the zstd frame header gives the size.
  ByteView payload = stored;
  Bytes opened;
  if (aead_) {
    PGKEEP_RETURN_IF_ERROR(aead_->Open(stored, AsBytes(aad), opened));
    payload = opened;
  } else {
    if (stored.size() < kPlainTagSize)
      return Status::Error(ErrorCode::kCorrupt, "object is truncated");
    payload = stored.first(stored.size() - kPlainTagSize);
    Digest tag = PlainTag(payload, aad);
    if (std::memcmp(tag.data(), stored.data() + payload.size(), kPlainTagSize) != 0)
      return Status::Error(ErrorCode::kCorrupt, "checksum does not match");
  }
  if (payload.empty()) return Status::Error(ErrorCode::kCorrupt, "empty object");
  Bytes out;
  if (payload[0] == kPayloadRaw) {
    Append(out, payload.subspan(1));
    return out;
  }
  if (payload[0] != kPayloadZstd) return Status::Error(ErrorCode::kCorrupt, "unknown payload flag");
  auto size = Decompressor::FrameContentSize(payload.subspan(1));
  if (!size.ok()) return size.status();
  PGKEEP_RETURN_IF_ERROR(decompressor_.Decompress(payload.subspan(1), *size, out));
  return out;
}

}  // namespace pgkeep
