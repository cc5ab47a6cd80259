// repo/loader.h — the load pipeline: chunk list -> plaintext, in order.
//
// Worker threads fetch chunks (ranged reads), check the GCM tag, decompress
// and check the chunk id; the calling thread writes them to the sink in
// order. At most a fixed window of chunks is in memory at once.
//
// A chunk that fails its checks ends that load with kCorrupt naming the pack
// and offset; other files of the same snapshot load independently.
//
// Thread safety: a Loader may be used by one thread at a time.
#pragma once

#include <memory>
#include <vector>

#include "common/stream.h"
#include "repo/block_cache.h"
#include "repo/repository.h"

namespace pgkeep {

class Loader {
 public:
  // `repo` must have its index loaded. On storages that ask for read-ahead
  // reads go through `blocks` when given (shared by several loaders, as a
  // restore's file writers share one: NewBlockCache), else through a cache
  // of the loader's own.
  explicit Loader(const Repository& repo, int threads = 0, BlockCache* blocks = nullptr);

  // A block cache for `readers` threads reading `repo` at once; null when
  // its storage does not ask for read-ahead.
  static std::unique_ptr<BlockCache> NewBlockCache(const Repository& repo, int readers);

  Status LoadChunks(const std::vector<ChunkId>& chunks, ByteSink& sink);
  Status LoadFile(const FileEntry& file, ByteSink& sink) { return LoadChunks(file.chunks, sink); }
  Result<std::vector<FileEntry>> ReadManifest(const Snapshot& snapshot);

  // Fetches and checks one chunk; errors name the pack and offset. With
  // `blocks`, reads go through it (object stores, repo/block_cache.h).
  static Status FetchChunk(const Repository& repo, BlobCodec& codec, const ChunkId& id, Bytes& out,
                           BlockCache* blocks = nullptr);

 private:
  const Repository& repo_;
  int threads_;
  std::unique_ptr<BlockCache> own_blocks_;  // when the storage wants read-ahead and none was given
  BlockCache* blocks_ = nullptr;
};

}  // namespace pgkeep
