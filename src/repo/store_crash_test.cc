// A snapshot store crashed at every sync point: the repository still
// verifies and every snapshot whose Commit returned Ok is whole.
#include <gtest/gtest.h>

#include <map>

#include "common/fault_env.h"
#include "repo/loader.h"
#include "repo/store_session.h"
#include "repo/verifier.h"
#include "storage/posix_storage.h"
#include "support/crash_points.h"
#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

const std::string kPassword = "crash";

// A repository (seed_) holding one snapshot, and where each crash run works (work_).
class StoreCrashHarness {
 public:
  StoreCrashHarness() {
    root_ = testing::MakeTempDir("pgkeep-crash-");
    seed_ = root_ + "/seed";
    work_ = root_ + "/work";
    PosixStorage storage(env_, seed_);
    InitOptions options;
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    options.cdc = CdcParams{16 * 1024, 64 * 1024, 256 * 1024};
    EXPECT_TRUE(Repository::Init(storage, clock_, options, kPassword).ok());
    // One snapshot stored before the crash runs: it must survive them all.
    auto first = Store(env_, seed_, {{"old.txt", testing::MakeText(300 * 1024, 7)}});
    EXPECT_TRUE(first.ok()) << first.status().ToString();
    if (first.ok()) done_[first->id] = {{"old.txt", testing::MakeText(300 * 1024, 7)}};
  }
  ~StoreCrashHarness() { testing::RemoveTree(root_); }

  using Files = std::map<std::string, Bytes>;

  // Stores `files` as one snapshot through `env`; small packs, so a store
  // writes several packs and index objects.
  Result<Snapshot> Store(Env& env, const std::string& dir, const Files& files) {
    PosixStorage storage(env, dir);
    auto repo = Repository::Open(storage, clock_, kPassword);
    if (!repo.ok()) return repo.status();
    PGKEEP_RETURN_IF_ERROR((*repo)->LoadIndex());
    StoreOptions options;
    options.pack_size = 256 * 1024;
    options.threads = 2;
    StoreSession session(**repo, options);
    std::vector<FileEntry> entries;
    for (const auto& [name, data] : files) {
      MemorySource source(data);
      FileEntry meta;
      meta.path = name;
      auto entry = session.StoreStream(source, (*repo)->stream_chunker(), meta);
      if (!entry.ok()) return entry.status();
      entries.push_back(*entry);
    }
    Snapshot s;
    clock_.Advance(1'000'000);
    s.id = NewSnapshotId(clock_.NowSeconds());
    s.kind = "files";
    return session.Commit(s, entries);
  }

  // What a rebooted machine finds in work_: a repository that verifies,
  // holding every snapshot reported as stored, bit for bit.
  void ExpectSurvivors(const std::map<std::string, Files>& done) {
    PosixStorage storage(env_, work_);
    auto repo = Repository::Open(storage, clock_, kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
    auto report = Verifier(**repo).Run(/*read_data=*/true);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_TRUE(report->ok()) << report->errors.front();
    Loader loader(**repo);
    for (const auto& [id, files] : done) {
      auto snapshot = (*repo)->ReadSnapshot(id);
      ASSERT_TRUE(snapshot.ok()) << "snapshot " << id
                                 << " reported stored, now: " << snapshot.status().ToString();
      auto manifest = loader.ReadManifest(*snapshot);
      ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();
      ASSERT_EQ(manifest->size(), files.size());
      for (const auto& f : *manifest) {
        MemorySink sink;
        Status loaded = loader.LoadFile(f, sink);
        ASSERT_TRUE(loaded.ok()) << id << "/" << f.path << ": " << loaded.ToString();
        EXPECT_TRUE(sink.data() == files.at(f.path)) << id << "/" << f.path << " differs";
      }
    }
  }

  PosixEnv env_;
  ManualClock clock_;
  std::string root_, seed_, work_;
  std::map<std::string, Files> done_;  // snapshots reported stored
};

TEST(CrashTest, StoreSurvivesACrashAtEverySyncPoint) {
  StoreCrashHarness h;
  ASSERT_FALSE(::testing::Test::HasFailure());
  const std::vector<StoreCrashHarness::Files> batches = {
      {{"a.txt", testing::MakeText(600 * 1024, 1)}, {"b.txt", testing::MakeText(200 * 1024, 2)}},
      {{"a.txt", testing::MakeText(600 * 1024, 3)}, {"c.txt", testing::MakeText(100, 4)}},
  };
  std::map<std::string, StoreCrashHarness::Files> done;
  int points = testing::CrashAtEverySyncPoint(
      h.env_, h.seed_, h.work_,
      [&](Env& env) {
        done = h.done_;
        for (const auto& files : batches) {
          auto stored = h.Store(env, h.work_, files);
          if (!stored.ok()) return;  // the crash: nothing after it runs
          done[stored->id] = files;
        }
      },
      [&] { h.ExpectSurvivors(done); });
  if (!::testing::Test::HasFailure()) {  // else the failed crash point says it all
    EXPECT_GT(points, 10) << "two snapshots of several packs sync more often than that";
    EXPECT_EQ(done.size(), 3u) << "the run without a crash stored both";
  }
}

}  // namespace
}  // namespace pgkeep
