#include "repo/loader.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace pgkeep {

Loader::Loader(const Repository& repo, int threads, BlockCache* blocks)
    : repo_(repo),
      threads_(threads > 0 ? threads
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
      blocks_(blocks) {
  if (!blocks_) {
    own_blocks_ = NewBlockCache(repo, threads_);
    blocks_ = own_blocks_.get();
  }
}

std::unique_ptr<BlockCache> Loader::NewBlockCache(const Repository& repo, int readers) {
  if (!repo.storage().Features().read_ahead) return nullptr;
  // Each reader's current block and the one read ahead, and room for the
  // blocks readers of interleaved files share.
  return std::make_unique<BlockCache>(repo.storage(), 4 * static_cast<size_t>(readers) + 4);
}

Status Loader::FetchChunk(const Repository& repo, BlobCodec& codec, const ChunkId& id, Bytes& out,
                          BlockCache* blocks) {
  auto locations = repo.index().FindAll(id);
  if (locations.empty())
    return Status::Error(ErrorCode::kCorrupt, "chunk " + HexEncode(id) + " is not in any index");
  // Several copies exist after a chunk was stored again (its pack went
  // missing or was found damaged) or after an interrupted collection: a
  // damaged copy must not fail a load that another copy can serve.
  Status first;
  for (const auto& loc : locations) {
    std::string pack = PackObjectName(loc.pack);
    auto stored = blocks ? blocks->Read(pack, loc.offset, loc.length)
                         : repo.storage().GetRange(pack, loc.offset, loc.length);
    out.clear();
    Status s = stored.ok() ? codec.Decode(*stored, id, loc.raw_length, out) : stored.status();
    if (s.ok()) {
      if (!first.ok()) repo.Warn(first.message() + "; another copy was used");
      return Status::Ok();
    }
    if (first.ok())
      first = Status::Error(s.code() == ErrorCode::kNotFound ? ErrorCode::kCorrupt : s.code(),
                            "chunk " + HexEncode(id).substr(0, 16) + " in pack \"" + pack +
                                "\" at offset " + std::to_string(loc.offset) + ": " + s.message());
  }
  return first;
}

Status Loader::LoadChunks(const std::vector<ChunkId>& chunks, ByteSink& sink) {
  const size_t n = chunks.size();
  if (n == 0) return Status::Ok();
  const size_t window = static_cast<size_t>(4 * threads_);
  struct Slot {
    bool ready = false;
    Status status;
    Bytes data;
  };
  std::vector<Slot> slots(window);
  std::mutex mu;
  std::condition_variable cv;
  size_t next = 0, written = 0;
  bool abort = false;

  auto work = [&] {
    auto codec = repo_.NewCodec();
    codec->set_recheck_ids(false);  // the GCM tag suffices (blob_codec.h)
    for (;;) {
      size_t i;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return abort || next >= n || next < written + window; });
        if (abort || next >= n) return;
        i = next++;
      }
      Bytes data;
      Status s = FetchChunk(repo_, *codec, chunks[i], data, blocks_);
      {
        std::lock_guard lock(mu);
        slots[i % window] = Slot{true, std::move(s), std::move(data)};
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> workers;
  for (int t = 0; t < threads_; ++t) workers.emplace_back(work);

  Status result;
  for (size_t i = 0; i < n && result.ok(); ++i) {
    Slot slot;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return slots[i % window].ready; });
      slot = std::move(slots[i % window]);
      slots[i % window].ready = false;
      ++written;
    }
    cv.notify_all();
    result = slot.status.ok() ? sink.Write(slot.data) : slot.status;
  }
  {
    std::lock_guard lock(mu);
    abort = true;
  }
  cv.notify_all();
  for (auto& t : workers) t.join();
  return result;
}

Result<std::vector<FileEntry>> Loader::ReadManifest(const Snapshot& snapshot) {
  MemorySink sink;
  Status s = LoadChunks(snapshot.manifest, sink);
  if (!s.ok()) return s.WithContext("manifest of snapshot \"" + snapshot.id + "\"");
  std::vector<FileEntry> files;
  std::string_view text = AsString(sink.data());
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    auto f = FileEntryFromLine(line);
    if (!f.ok()) return f.status().WithContext("manifest of snapshot \"" + snapshot.id + "\"");
    files.push_back(std::move(*f));
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return files;
}

}  // namespace pgkeep
