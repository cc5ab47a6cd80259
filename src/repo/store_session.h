// repo/store_session.h — the store pipeline: stream -> chunks -> packs.
//
//   caller threads : read, cut (Chunker)
//   worker threads : name (HMAC), skip known chunks, compress (zstd) +
//                    encrypt (AES-256-GCM), append to pack
//   flusher thread : finish pack, write it atomically, publish its entries
//
// Bounded queues between the stages give backpressure, so memory does not
// grow with the input: each queued or running job pins one read buffer
// (>= 8 MiB, shared by the chunks cut from it), and packs exist at most once
// per worker plus the one being filled, two queued and one being written.
// With 2 threads and 16 MiB packs the worst case is ~220 MiB (docs/
// architecture.md, "Memory"); measured peaks are 95-150 MiB. What does grow
// with the input: the chunk lists and ~120 bytes of index per new chunk.
//
// Durability order: packs are durable before the index that names them, and
// the index before the snapshot that uses it. A long store writes an index
// object every 32 packs, the rest at Commit. A crash at any point leaves at
// worst unreferenced packs or index entries (garbage, never corruption); the
// snapshot becomes visible only by its own atomic Put.
//
// Thread safety: StoreStream may be called from several threads at once.
// Commit must be called once, after every StoreStream returned.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/buffer_pool.h"
#include "common/stream.h"
#include "common/work_queue.h"
#include "repo/pack.h"
#include "repo/repository.h"

namespace pgkeep {

struct StoreOptions {
  int compression_level = 3;
  size_t pack_size = 16 << 20;  // target; chosen by bench/ (docs/benchmarks.md)
  int threads = 0;              // 0: one per core
};

class StoreSession {
 public:
  StoreSession(Repository& repo, const StoreOptions& options);
  // Without Commit, stops the pipeline; packs already written stay as garbage.
  ~StoreSession();
  StoreSession(const StoreSession&) = delete;
  StoreSession& operator=(const StoreSession&) = delete;

  // Reads `source` to its end and returns `meta` with size and chunk list
  // filled in. The chunks are durable only once Commit succeeds.
  Result<FileEntry> StoreStream(ByteSource& source, const Chunker& chunker, FileEntry meta,
                                BlobType type = BlobType::kData);

  // Stores the manifest of `files`, flushes every pack, writes the index and
  // finally the snapshot object. Returns the snapshot as written.
  Result<Snapshot> Commit(Snapshot snapshot, const std::vector<FileEntry>& files);

 private:
  // Jobs of one StoreStream call: it waits until all are done, because
  // workers write the chunk ids into its list.
  struct StreamJobs {
    std::mutex mu;
    std::condition_variable done;
    size_t pending = 0;
  };
  // A batch of consecutive chunks of one read buffer (up to ~1 MiB), so
  // small chunks do not pay a queue hand-off each.
  struct Piece {
    ChunkId* id;  // filled in by the worker
    size_t offset;
    size_t length;
  };
  struct Job {
    StreamJobs* stream;
    BlobType type;
    std::shared_ptr<const Bytes> buffer;
    std::vector<Piece> pieces;
  };
  void FinishJob(const Job& job);

  void WorkerLoop();
  void WorkerLoopBody();
  void FlusherLoop();
  void FlusherLoopBody();
  std::unique_ptr<PackBuilder> NewPackLocked();
  void Fail(const Status& status);
  Status FirstError();
  // Stops accepting chunks, drains the pipeline and writes the last index object.
  Status Drain();
  Status WriteIndexObject(const std::vector<IndexedPack>& packs);

  Repository& repo_;
  const StoreOptions options_;

  std::mutex index_mu_;  // guards repo_.index(), in_flight_, written_
  std::unordered_set<ChunkId, ChunkIdHash> in_flight_;
  std::vector<IndexedPack> written_;

  std::mutex pack_mu_;  // guards pack_ and spare_pack_buffers_
  std::vector<Bytes> spare_pack_buffers_;
  std::unique_ptr<PackBuilder> pack_;

  BufferPool buffers_;  // declared before the queues: jobs hold its buffers
  WorkQueue<Job> jobs_;
  WorkQueue<std::unique_ptr<PackBuilder>> full_packs_;
  std::vector<std::thread> workers_;
  std::thread flusher_;
  bool drained_ = false;

  std::mutex error_mu_;
  Status error_;
  std::atomic<bool> failed_{false};

  // What this session added for files (the manifest is not counted).
  std::atomic<uint64_t> new_chunks_{0}, stored_bytes_{0};
};

}  // namespace pgkeep
