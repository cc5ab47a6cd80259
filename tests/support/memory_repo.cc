#include "support/memory_repo.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "repo/loader.h"
#include "repo/store_session.h"

namespace pgkeep::testing {

MemoryRepo::MemoryRepo(int64_t start_seconds) : clock_(start_seconds * 1000000) {
  InitOptions options;
  options.encrypted = false;
  auto created = Repository::Init(storage_, clock_, options, std::nullopt);
  if (!created.ok())
    throw std::runtime_error("cannot create a memory repository: " + created.status().message());
  Reopen();
}

void MemoryRepo::Reopen() {
  repo_.reset();
  auto opened = Repository::Open(storage_, clock_, std::nullopt);
  if (!opened.ok())
    throw std::runtime_error("cannot open the memory repository: " + opened.status().message());
  repo_ = std::move(*opened);
  Status loaded = repo_->LoadIndex();
  if (!loaded.ok()) throw std::runtime_error("cannot load the index: " + loaded.message());
}

Snapshot MemoryRepo::StoreSnapshot(const std::string& db, const std::string& kind,
                                   const std::string& data, const nlohmann::json& extra_meta) {
  StoreSession session(*repo_, StoreOptions{});
  MemorySource source(AsBytes(data));
  FileEntry meta;
  meta.path = "data";
  auto entry = session.StoreStream(source, repo_->stream_chunker(), meta);
  if (!entry.ok()) throw std::runtime_error("store failed: " + entry.status().message());
  Snapshot s;
  s.start_time = clock_.NowSeconds();
  s.id = NewSnapshotId(s.start_time);
  s.kind = kind;
  if (!db.empty()) s.meta[kMetaDatabase] = db;
  for (auto& [k, v] : extra_meta.items()) s.meta[k] = v;
  auto committed = session.Commit(s, {*entry});
  if (!committed.ok()) throw std::runtime_error("commit failed: " + committed.status().message());
  return *committed;
}

std::string MemoryRepo::LoadFile(const Snapshot& snapshot, const std::string& path) {
  Loader loader(*repo_);
  auto files = loader.ReadManifest(snapshot);
  if (!files.ok()) return "<manifest: " + files.status().message() + ">";
  for (const auto& f : *files) {
    if (f.path != path) continue;
    MemorySink sink;
    Status s = loader.LoadFile(f, sink);
    if (!s.ok()) return "<" + s.message() + ">";
    return std::string(AsString(sink.data()));
  }
  return "<missing>";
}

std::vector<std::string> MemoryRepo::SnapshotIds() {
  std::vector<std::string> ids;
  auto listed = repo_->ListSnapshots();
  if (!listed.ok()) throw std::runtime_error("list failed: " + listed.status().message());
  for (const auto& s : listed->snapshots) ids.push_back(s.id);
  return ids;
}

}  // namespace pgkeep::testing
