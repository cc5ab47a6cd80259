#include "repo/store_session.h"

#include <algorithm>
#include <cstring>

namespace pgkeep {

namespace {
// Twice the largest chunk any chunker cuts (FastCDC max 4 MiB).
constexpr size_t kReadBufferSize = 8 << 20;
// A job carries consecutive chunks up to about this much data.
constexpr size_t kBatchBytes = 1 << 20;
constexpr size_t kBatchPieces = 32;
// Packs named by one index object (~512 MiB of new data at 16 MiB packs).
constexpr size_t kPacksPerIndexObject = 32;

// The manifest as JSON lines, serialised as it is read: a data directory's
// file list is never held as one big string.
class ManifestSource final : public ByteSource {
 public:
  explicit ManifestSource(const std::vector<FileEntry>& files) : files_(files) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    size_t done = 0;
    while (done < n) {
      if (pos_ == line_.size()) {
        if (next_ == files_.size()) break;
        line_ = FileEntryToLine(files_[next_++]);
        pos_ = 0;
      }
      size_t take = std::min(n - done, line_.size() - pos_);
      std::memcpy(buf + done, line_.data() + pos_, take);
      pos_ += take;
      done += take;
    }
    return done;
  }

 private:
  const std::vector<FileEntry>& files_;
  size_t next_ = 0;
  std::string line_;
  size_t pos_ = 0;
};

int ThreadCount(int requested) {
  if (requested > 0) return requested;
  return std::max(1u, std::thread::hardware_concurrency());
}
}  // namespace

StoreSession::StoreSession(Repository& repo, const StoreOptions& options)
    : repo_(repo),
      options_(options),
      pack_(NewPackLocked()),
      buffers_(kReadBufferSize, static_cast<size_t>(2 + ThreadCount(options.threads))),
      jobs_(static_cast<size_t>(4 * ThreadCount(options.threads))),
      full_packs_(2) {
  int n = ThreadCount(options.threads);
  for (int i = 0; i < n; ++i) workers_.emplace_back([this] { WorkerLoop(); });
  flusher_ = std::thread([this] { FlusherLoop(); });
}

StoreSession::~StoreSession() {
  if (!drained_) {
    Fail(Status::Error(ErrorCode::kInternal, "store session abandoned"));
    (void)Drain();
  }
}

std::unique_ptr<PackBuilder> StoreSession::NewPackLocked() {
  Bytes buffer;
  if (!spare_pack_buffers_.empty()) {
    buffer = std::move(spare_pack_buffers_.back());
    spare_pack_buffers_.pop_back();
  }
  // Room for the target plus the last blob that crosses it and the trailer.
  return std::make_unique<PackBuilder>(options_.pack_size + (5 << 20), std::move(buffer));
}

void StoreSession::Fail(const Status& status) {
  {
    std::lock_guard lock(error_mu_);
    if (error_.ok()) error_ = status;
  }
  failed_ = true;
  jobs_.Close();
}

Status StoreSession::FirstError() {
  std::lock_guard lock(error_mu_);
  return error_;
}

void StoreSession::WorkerLoop() {
  try {
    WorkerLoopBody();
  } catch (const std::exception& e) {
    // A library failure (out of memory, broken OpenSSL) must end the
    // command with an error, not terminate the process mid-write.
    // (WorkerLoopBody has finished the job it was working on.)
    Fail(Status::Error(ErrorCode::kInternal, std::string("store worker: ") + e.what()));
    while (auto job = jobs_.Pop()) FinishJob(*job);
  }
}

void StoreSession::FlusherLoop() {
  try {
    FlusherLoopBody();
  } catch (const std::exception& e) {
    Fail(Status::Error(ErrorCode::kInternal, std::string("pack writer: ") + e.what()));
    while (full_packs_.Pop()) {
    }
  }
}

void StoreSession::FinishJob(const Job& job) {
  std::lock_guard lock(job.stream->mu);
  if (--job.stream->pending == 0) job.stream->done.notify_all();
}

void StoreSession::WorkerLoopBody() {
  auto codec = repo_.NewCodec(options_.compression_level);
  Bytes stored;
  while (auto job = jobs_.Pop()) {
    if (failed_) {  // drain without work after a failure
      FinishJob(*job);
      continue;
    }
    // Whatever happens below, the stream waiting for this job must hear of it.
    struct Finisher {
      StoreSession* session;
      const Job& job;
      ~Finisher() { session->FinishJob(job); }
    } finisher{this, *job};
    for (const Piece& piece : job->pieces) {
      // Naming the chunk here rather than in the reading thread spreads the
      // HMAC over all workers; the reader only cuts.
      ByteView chunk(job->buffer->data() + piece.offset, piece.length);
      const ChunkId id = codec->Id(chunk);
      *piece.id = id;
      bool fresh;
      {
        std::lock_guard lock(index_mu_);
        fresh = !repo_.HasIntactCopy(id) && in_flight_.insert(id).second;
      }
      if (!fresh) continue;
      if (job->type == BlobType::kData) ++new_chunks_;
      stored.clear();
      codec->Encode(chunk, id, stored);
      if (job->type == BlobType::kData) stored_bytes_ += stored.size();  // stats describe files
      std::unique_ptr<PackBuilder> full;
      {
        std::lock_guard lock(pack_mu_);
        pack_->Add(id, job->type, stored, static_cast<uint32_t>(piece.length));
        if (pack_->size() >= options_.pack_size) {
          full = std::move(pack_);
          pack_ = NewPackLocked();
        }
      }
      if (full) full_packs_.Push(std::move(full));
    }
  }
}

void StoreSession::FlusherLoopBody() {
  auto codec = repo_.NewCodec(options_.compression_level);
  while (auto pack = full_packs_.Pop()) {
    if (failed_) continue;
    IndexedPack indexed{ObjectId{}, (*pack)->entries()};
    Bytes bytes = (*pack)->Finish(*codec);
    pack->reset();
    // Random names: every byte of a pack is already covered by a GCM tag (or
    // chunk id) and the trailer, so hashing whole packs would only cost time.
    std::memcpy(indexed.pack.data(), RandomBytes(indexed.pack.size()).data(), indexed.pack.size());
    Status s = repo_.storage().Put(PackObjectName(indexed.pack), bytes);
    {
      // Reusing the buffer spares the page faults of a fresh 16+ MiB mapping.
      std::lock_guard lock(pack_mu_);
      if (spare_pack_buffers_.size() < 2) spare_pack_buffers_.push_back(std::move(bytes));
    }
    if (!s.ok()) {
      Fail(s);
      continue;
    }
    std::vector<IndexedPack> batch;
    {
      std::lock_guard lock(index_mu_);
      repo_.index().AddPack(indexed);
      for (const auto& e : indexed.entries) in_flight_.erase(e.id);
      written_.push_back(std::move(indexed));
      if (written_.size() >= kPacksPerIndexObject) batch.swap(written_);
    }
    // A long backup writes its index as it goes, so what it keeps in memory
    // for the index does not grow with its size. Packs first, then the index
    // object naming them, as always.
    if (!batch.empty()) {
      Status w = WriteIndexObject(batch);
      if (!w.ok()) Fail(w);
    }
  }
}

Status StoreSession::WriteIndexObject(const std::vector<IndexedPack>& packs) {
  auto codec = repo_.NewCodec(options_.compression_level);
  Bytes stored = codec->EncodeObject(EncodeIndexFile(packs), kIndexAad);
  return repo_.storage().Put(IndexObjectName(Sha256(stored)), stored);
}

Result<FileEntry> StoreSession::StoreStream(ByteSource& source, const Chunker& chunker,
                                            FileEntry meta, BlobType type) {
  const size_t max_chunk = chunker.MaxSize();
  if (2 * max_chunk > buffers_.buffer_size())
    return Status::Error(ErrorCode::kInternal, "chunker's maximum exceeds the read buffer");
  const size_t buffer_size = buffers_.buffer_size();
  // Chunks point into shared read buffers until their job is done, so a
  // buffer is never overwritten while in use: the tail moves to another one.
  auto buffer = buffers_.Acquire();
  size_t start = 0, filled = 0;
  bool eof = false;
  meta.size = 0;
  meta.chunks.clear();
  // Workers fill in the ids; a deque keeps their addresses stable as it grows.
  std::deque<ChunkId> ids;
  StreamJobs stream;
  // Every job must be finished before `ids` and `stream` go out of scope.
  auto wait_for_jobs = [&stream] {
    std::unique_lock lock(stream.mu);
    stream.done.wait(lock, [&stream] { return stream.pending == 0; });
  };
  Job batch{&stream, type, buffer, {}};
  size_t batch_bytes = 0;
  // Hands the batch to the workers; false if the session has failed.
  auto flush = [&]() -> bool {
    if (batch.pieces.empty()) return true;
    {
      std::lock_guard lock(stream.mu);
      ++stream.pending;
    }
    Job job{&stream, type, batch.buffer, std::move(batch.pieces)};
    batch.pieces.clear();
    batch_bytes = 0;
    if (!jobs_.Push(std::move(job))) {
      FinishJob(Job{&stream, type, nullptr, {}});
      return false;
    }
    return true;
  };
  for (;;) {
    while (!eof && filled - start < max_chunk) {
      if (filled == buffer_size) {
        if (!flush()) {  // its pieces live in the old buffer
          wait_for_jobs();
          return FirstError();
        }
        auto fresh = buffers_.Acquire();
        std::memcpy(fresh->data(), buffer->data() + start, filled - start);
        filled -= start;
        start = 0;
        buffer = std::move(fresh);
        batch.buffer = buffer;
      }
      auto n = source.Read(buffer->data() + filled, buffer_size - filled);
      if (!n.ok()) {
        wait_for_jobs();
        return n.status();
      }
      if (*n == 0)
        eof = true;
      else
        filled += *n;
    }
    if (failed_) {
      wait_for_jobs();
      return FirstError();
    }
    if (start == filled) break;
    size_t len = chunker.NextChunk(ByteView(buffer->data() + start, filled - start), eof);
    ids.emplace_back();
    batch.pieces.push_back({&ids.back(), start, len});
    batch_bytes += len;
    if ((batch_bytes >= kBatchBytes || batch.pieces.size() >= kBatchPieces) && !flush()) {
      wait_for_jobs();
      return FirstError();
    }
    meta.size += len;
    start += len;
  }
  if (!flush()) {
    wait_for_jobs();
    return FirstError();
  }
  wait_for_jobs();
  if (failed_) return FirstError();
  meta.chunks.assign(ids.begin(), ids.end());
  return meta;
}

Status StoreSession::Drain() {
  jobs_.Close();
  for (auto& t : workers_) t.join();
  workers_.clear();
  if (!pack_->empty() && !failed_) full_packs_.Push(std::move(pack_));
  full_packs_.Close();
  if (flusher_.joinable()) flusher_.join();
  drained_ = true;
  if (failed_) return FirstError();
  if (written_.empty()) return Status::Ok();
  return WriteIndexObject(written_);
}

Result<Snapshot> StoreSession::Commit(Snapshot snapshot, const std::vector<FileEntry>& files) {
  ManifestSource source(files);
  auto stored = StoreStream(source, repo_.stream_chunker(), FileEntry{}, BlobType::kManifest);
  if (!stored.ok()) {
    Fail(stored.status());
    (void)Drain();
    return stored.status();
  }
  snapshot.manifest = stored->chunks;
  PGKEEP_RETURN_IF_ERROR(Drain());
  SnapshotStats st;
  st.files = files.size();
  st.new_chunks = new_chunks_;
  st.stored_bytes = stored_bytes_;
  for (const auto& f : files) {
    st.bytes += f.size;
    st.chunks += f.chunks.size();
  }
  snapshot.stats = st;
  snapshot.commit_micros = repo_.clock().NowMicros();
  snapshot.stop_time = snapshot.commit_micros / 1000000;
  PGKEEP_RETURN_IF_ERROR(repo_.WriteSnapshot(snapshot));
  return snapshot;
}

}  // namespace pgkeep
