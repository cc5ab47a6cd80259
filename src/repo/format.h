// repo/format.h — names and constants of the on-disk repository format.
// The grammar is written down in docs/repository-format.md; bump
// kFormatVersion for any incompatible change.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "codec/crypto.h"
#include "common/bytes.h"

namespace pgkeep {

constexpr int kFormatVersion = 1;

// A chunk id: HMAC-SHA-256 of the chunk's plaintext under the repository's id key.
using ChunkId = Digest;
// A pack or index id: 32 random bytes (packs) or SHA-256 of the stored bytes (index).
using ObjectId = Digest;

struct ChunkIdHash {
  size_t operator()(const ChunkId& id) const {
    size_t h;
    std::memcpy(&h, id.data(), sizeof h);  // ids are uniformly random already
    return h;
  }
};

enum class BlobType : uint8_t {
  kData = 0,      // file or stream content
  kManifest = 1,  // a snapshot's file list
};

constexpr char kConfigObject[] = "config";
constexpr char kKeysDir[] = "keys/";
constexpr char kDataDir[] = "data/";
constexpr char kIndexDir[] = "index/";
constexpr char kSnapshotsDir[] = "snapshots/";
constexpr char kLocksDir[] = "locks/";
// Every object name in the repository is composed here (or in a function
// built on these), so the namespace can be read in one place; the grammar is
// in docs/repository-format.md and checked by layout.h.
constexpr char kPinsDir[] = "pins/";
// WAL of each configured database: "wal/<database>/..." (wal/wal_archive.h
// owns the names inside).
constexpr char kWalDir[] = "wal/";
// Drill reports: "drills/<database>/<drill id>" (Repository::WriteDrillReport),
// sealed JSON; the id has the form of a snapshot id.
constexpr char kDrillsDir[] = "drills/";
inline std::string DrillReportObjectName(const std::string& db, const std::string& id) {
  return kDrillsDir + db + "/" + id;
}
constexpr uint64_t kMaxDrillReportSize = 4 << 20;
// The forget log: "forget/<database>/<entry id>" (Repository::WriteForgetEntry),
// sealed JSON naming rows a retention policy erased (policy/forget_log.h);
// the id has the form of a snapshot id, the UTC second it was written first.
constexpr char kForgetDir[] = "forget/";
inline std::string ForgetEntryObjectName(const std::string& db, const std::string& id) {
  return kForgetDir + db + "/" + id;
}
constexpr uint64_t kMaxForgetEntrySize = 16 << 20;
// Retention batches begin before a backup starts and commit after it: a
// restore re-applies the entries from this long before its backup's start,
// and expire keeps them.
constexpr int64_t kForgetMarginSeconds = 3600;
// Small records of what operations did (Repository::ReadStateObject).
constexpr char kStateDir[] = "state/";
constexpr char kLastExpireState[] = "last-expire";  // expire's summary of its last run
// Chunks verify found damaged (Repository::RecordDamagedChunks).
constexpr char kDamagedDir[] = "state/damaged/";
constexpr char kDamagedAad[] = "damaged chunks";
// Associated data of index objects (their name is the hash of their bytes).
constexpr char kIndexAad[] = "index";

inline std::string PackObjectName(const ObjectId& id) {
  std::string hex = HexEncode(id);
  return std::string(kDataDir) + hex.substr(0, 2) + "/" + hex;
}
inline std::string IndexObjectName(const ObjectId& id) { return kIndexDir + HexEncode(id); }
inline std::string SnapshotObjectName(const std::string& id) { return kSnapshotsDir + id; }
inline std::string PinObjectName(const std::string& snapshot_id) { return kPinsDir + snapshot_id; }
inline std::string StateObjectName(const std::string& name) { return kStateDir + name; }
// "wal/<database>/": the prefix of every WAL object of one database.
inline std::string WalPrefix(const std::string& db) { return kWalDir + db + "/"; }
// The identity of the cluster whose WAL a database's archive holds.
inline std::string WalClusterObjectName(const std::string& db) { return WalPrefix(db) + "cluster"; }

// Pack file framing.
constexpr char kPackMagic[] = "PGKPACK1";
constexpr char kPackEndMagic[] = "PGKPEND1";
constexpr size_t kMagicSize = 8;
// One trailer entry: id(32) type(1) offset(4) length(4) raw_length(4).
constexpr size_t kPackEntrySize = 45;
// The fewest stored bytes an index entry can compress to (the id is random).
constexpr size_t kMinStoredEntrySize = 36;

// Upper bounds on what is read from storage. Everything in a repository may
// have been written by someone else: a size or count read from it is checked
// against these before it sizes an allocation or a read. Each is well above
// what pgkeep ever writes (docs/repository-format.md, "Bounds").
constexpr uint64_t kMaxConfigObjectSize = 64 << 10;
constexpr uint64_t kMaxKeyFileSize = 64 << 10;
constexpr uint64_t kMaxSmallObjectSize = 1 << 20;  // locks, pins, cluster identities
constexpr uint64_t kMaxSnapshotObjectSize = 64 << 20;
constexpr uint64_t kMaxDamageRecordSize = 16 << 20;  // ~200 000 (pack, chunk) pairs
constexpr size_t kMaxDamageRecords = 1000;
// pack_size_mib is at most 256; a pack ends with the blob that crosses it
// (at most a chunk, 4 MiB) and its trailer (45 bytes per blob).
constexpr uint64_t kMaxPackObjectSize = 512u << 20;
// Chunks are at most 4 MiB (chunker maximum, block_size); compression and
// encryption add a few bytes. Index entries claiming more are damaged.
constexpr uint32_t kMaxChunkSize = 4u << 20;
constexpr uint32_t kMaxStoredBlobSize = kMaxChunkSize + (64u << 10);
// One garbage collection writes a single index naming every live chunk, so an
// index object grows with the repository (45 bytes per chunk): 4 GiB is about
// 95 million chunks.
constexpr uint64_t kMaxIndexObjectSize = 4ull << 30;

// Blob payload flags (first plaintext byte of every stored chunk).
constexpr uint8_t kPayloadRaw = 0;
constexpr uint8_t kPayloadZstd = 1;

}  // namespace pgkeep
