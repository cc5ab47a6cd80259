// repo/repository.h — an opened repository: settings, keys and chunk index.
//
// Layout (details in docs/repository-format.md):
//   config             settings (JSON) with an HMAC under the id key
//   keys/<id>          the master key, wrapped under the password
//   data/<xx>/<id>     pack files, named by 32 random bytes
//   index/<id>         which chunk is where, named by SHA-256 of their bytes
//   snapshots/<id>     one object per snapshot
//   locks/<id>         who is using the repository
//
// Init writes keys/ first and config last: a repository exists once its
// config does, so an interrupted init leaves nothing that passes for one.
//
// Thread safety: accessors are safe for concurrent readers; index() must be
// mutated by one thread at a time (StoreSession serialises its additions).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "codec/chunker.h"
#include "common/clock.h"
#include "repo/blob_codec.h"
#include "repo/chunk_index.h"
#include "repo/keys.h"
#include "repo/snapshot.h"
#include "storage/storage.h"

namespace pgkeep {

// Database dumps change in small scattered places from one day to the next,
// so they are cut finer than files and streams (bench/: 30 daily dumps).
constexpr CdcParams kDumpCdcParams{64 * 1024, 256 * 1024, 1024 * 1024};

struct RepoSettings {
  std::string id;  // random, 32 hex
  int version = kFormatVersion;
  bool encrypted = true;
  CdcParams cdc;
  CdcParams dump_cdc = kDumpCdcParams;
  uint32_t block_size = 64 * 1024;  // fixed chunks for relation files (physical backups; bench/)
  int64_t created = 0;
};

struct InitOptions {
  bool encrypted = true;
  CdcParams cdc;
  CdcParams dump_cdc = kDumpCdcParams;
  uint32_t block_size = 64 * 1024;
  ScryptParams scrypt;
};

// An object that is listed but cannot be used: unreadable, failing its
// checks, or not named like a pgkeep object. `problem` is a whole message
// naming the object.
struct DamagedObject {
  std::string name;
  std::string problem;
};

struct SnapshotList {
  std::vector<Snapshot> snapshots;     // the intact ones, in commit order, oldest first
  std::vector<DamagedObject> damaged;  // listed under snapshots/ but unusable
};

// What LoadIndex found wrong. With any of it the in-memory index is a subset
// of what the repository may hold, which is safe for reading and storing
// (a chunk not found is stored again) but not for deciding what is garbage.
struct IndexProblems {
  std::vector<DamagedObject> unreadable_index;  // index objects skipped
  std::vector<DamagedObject> missing_packs;  // packs the index names that are absent or too short
  bool empty() const { return unreadable_index.empty() && missing_packs.empty(); }
};

// One copy of a chunk that failed to decode: the pack that holds it and its id.
struct DamagedChunk {
  ObjectId pack;
  ChunkId chunk;
  bool operator<(const DamagedChunk& o) const {
    return std::tie(pack, chunk) < std::tie(o.pack, o.chunk);
  }
};

class Repository {
 public:
  // Creates a repository; kRepoExists if `storage` already holds anything.
  static Result<std::unique_ptr<Repository>> Init(Storage& storage, const Clock& clock,
                                                  const InitOptions& options,
                                                  const std::optional<std::string>& password);
  // Opens an existing repository: kRepoNotFound, kAuth (wrong password) or
  // kRepoFormat on failure. Does not load the index (see LoadIndex).
  // `expect_encrypted` is what the caller's configuration asks for: a
  // repository that differs is refused (kConfig) before any key is unlocked,
  // so a client that wants encryption never writes plaintext into a
  // repository initialised with encryption = "none", nor the reverse.
  static Result<std::unique_ptr<Repository>> Open(
      Storage& storage, const Clock& clock, const std::optional<std::string>& password,
      std::optional<bool> expect_encrypted = std::nullopt);
  // Opens with a master key already unlocked (repo/key_cache.h); kRepoFormat
  // when it is not this repository's key.
  static Result<std::unique_ptr<Repository>> OpenWithKey(
      Storage& storage, const Clock& clock, const MasterKey& key,
      std::optional<bool> expect_encrypted = std::nullopt);

  // Reads every index object into index(), oldest first (see ChunkIndex on
  // repeated ids), then lists data/ and drops the entries of every pack
  // that is missing or shorter than its entries reach: a store then treats
  // those chunks as absent and writes them again, and a reader falls back to
  // another copy if there is one. Index objects that cannot be read or
  // decoded are skipped. Everything skipped or dropped is warned about and
  // kept in index_problems(); files under index/ whose names are not index
  // names are only warned about. Then reads the damage records
  // (RecordDamagedChunks). Fails only when a listing fails.
  Status LoadIndex();
  // Whether the index holds a copy of `id` that no damage record names: a
  // store writes a chunk again unless it does.
  bool HasIntactCopy(const ChunkId& id) const;
  // Remembers copies of chunks found damaged (verify --read-data) in a new
  // object under state/damaged/, so that every later store writes those
  // chunks again instead of referencing the damaged copies. Records are
  // never rewritten; a record naming a pack that is gone is harmless.
  Status RecordDamagedChunks(const std::vector<DamagedChunk>& found) const;
  // Reads the damage records (LoadIndex does this); unreadable ones are warned about.
  Status LoadDamageRecords();
  const std::set<DamagedChunk>& damaged_chunks() const { return damaged_chunks_; }
  const IndexProblems& index_problems() const { return index_problems_; }
  // What LoadIndex would find wrong, without building the index: decodes
  // every index object and compares the packs they name with `listing` (of
  // data/ or the whole repository). For status; warns about nothing.
  Result<IndexProblems> CheckIndex(const std::vector<ObjectInfo>& listing) const;
  // Reads one index object (a name under index/) into index(); its entries
  // become findable after index().FinishLoad().
  Status LoadIndexObject(const std::string& name, BlobCodec& codec);

  Storage& storage() const { return storage_; }
  const Clock& clock() const { return clock_; }
  const MasterKey& key() const { return key_; }
  const RepoSettings& settings() const { return settings_; }
  ChunkIndex& index() { return index_; }
  const ChunkIndex& index() const { return index_; }
  const Chunker& stream_chunker() const { return *stream_chunker_; }
  // For pg_dump output: finer content-defined chunks.
  const Chunker& dump_chunker() const { return *dump_chunker_; }
  std::unique_ptr<BlobCodec> NewCodec(int compression_level = 3,
                                      int compression_workers = 0) const {
    return std::make_unique<BlobCodec>(key_, compression_level, compression_workers);
  }

  // Every snapshot, split into intact ones (commit order, oldest first) and
  // damaged ones, each of which is also warned about. Fails only when the
  // listing fails: one bad object must not hide the others.
  Result<SnapshotList> ListSnapshots() const;
  // `id` may be "latest": the newest intact snapshot. kNotFound names the id.
  Result<Snapshot> ReadSnapshot(const std::string& id) const;
  Status WriteSnapshot(const Snapshot& snapshot) const;
  // Removes snapshot `id`'s object (not its pin, nor the data only it used:
  // that is garbage collection's). Failure: the storage's.
  Status DeleteSnapshot(const std::string& id) const;

  // State objects, "state/<name>" (format.h names them): small encrypted
  // records of what an operation did, at most kMaxSmallObjectSize. Read
  // returns the plaintext; kNotFound when there is none, the codec's error
  // (naming the object) when it cannot be decrypted. Write replaces it.
  Result<Bytes> ReadStateObject(const std::string& name) const;
  Status WriteStateObject(const std::string& name, ByteView plaintext) const;

  // Drill reports, "drills/<db>/<id>": sealed like every object (the name
  // is bound in, so a report cannot be passed off under another name), at
  // most kMaxDrillReportSize. Write never replaces: kConflict when the id exists.
  Status WriteDrillReport(const std::string& db, const std::string& id, ByteView json) const;
  Result<Bytes> ReadDrillReport(const std::string& db, const std::string& id) const;
  // {database, id} of every stored report of `db` (of every database when
  // empty), oldest first.
  Result<std::vector<std::pair<std::string, std::string>>> ListDrillReports(
      const std::string& db) const;

  // Forget-log entries, "forget/<db>/<id>" (policy/forget_log.h): sealed
  // with their name bound in, at most kMaxForgetEntrySize, never replaced
  // (kConflict when the id exists). List: the ids of `db`, oldest first.
  Status WriteForgetEntry(const std::string& db, const std::string& id, ByteView json) const;
  Result<Bytes> ReadForgetEntry(const std::string& db, const std::string& id) const;
  Result<std::vector<std::string>> ListForgetEntries(const std::string& db) const;
  Status DeleteForgetEntry(const std::string& db, const std::string& id) const;

  // Where warnings go (damaged or unknown objects that were skipped). The
  // CLI prints them on stderr, or as "warnings" in JSON; without a sink
  // they are dropped. Set once, before use.
  void set_warning_sink(std::function<void(const std::string&)> sink) { warn_ = std::move(sink); }
  void Warn(const std::string& message) const {
    if (warn_) warn_(message);
  }

 private:
  static Result<std::unique_ptr<Repository>> OpenWith(
      Storage& storage, const Clock& clock, std::optional<bool> expect_encrypted,
      const std::function<Result<MasterKey>(const RepoSettings&)>& unlock);
  Repository(Storage& storage, const Clock& clock, MasterKey key, RepoSettings settings);
  Status DropMissingPacks();

  Storage& storage_;
  const Clock& clock_;
  MasterKey key_;
  RepoSettings settings_;
  ChunkIndex index_;
  IndexProblems index_problems_;
  std::set<DamagedChunk> damaged_chunks_;
  std::function<void(const std::string&)> warn_;
  std::unique_ptr<Chunker> stream_chunker_;
  std::unique_ptr<Chunker> dump_chunker_;
};

}  // namespace pgkeep
