// expire (retention, then garbage collection) crashed at every sync point:
// the repository still verifies, every snapshot retention keeps is whole,
// and an expire that returned Ok stays done.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "common/fault_env.h"
#include "expire/expire.h"
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

TEST(ExpireCrashTest, ExpireSurvivesACrashAtEverySyncPoint) {
  PosixEnv env;
  ManualClock clock;
  std::string root = testing::MakeTempDir("pgkeep-expire-crash-");
  std::string seed = root + "/seed", work = root + "/work";
  std::map<std::string, Bytes> data;  // snapshot id -> its one file
  {
    PosixStorage storage(env, seed);
    InitOptions init;
    init.scrypt = ScryptParams{1 << 10, 8, 1};
    init.cdc = CdcParams{16 * 1024, 64 * 1024, 256 * 1024};
    ASSERT_TRUE(Repository::Init(storage, clock, init, kPassword).ok());
    for (int i = 0; i < 5; ++i) {
      auto repo = std::move(*Repository::Open(storage, clock, kPassword));
      ASSERT_TRUE(repo->LoadIndex().ok());
      StoreOptions options;
      options.pack_size = 128 * 1024;
      StoreSession session(*repo, options);
      Bytes bytes = testing::MakeText(400 * 1024, 100 + i);
      MemorySource source(bytes);
      FileEntry meta;
      meta.path = "dump";
      auto entry = session.StoreStream(source, repo->stream_chunker(), meta);
      ASSERT_TRUE(entry.ok());
      clock.Advance(3600LL * 1'000'000);
      Snapshot s;
      s.id = NewSnapshotId(clock.NowSeconds());
      s.kind = "logical";
      s.meta[kMetaDatabase] = "main";
      auto committed = session.Commit(s, {*entry});
      ASSERT_TRUE(committed.ok()) << committed.status().ToString();
      data[committed->id] = bytes;
    }
  }
  Config config;
  DatabaseConfig db;
  db.name = "main";
  db.method = "logical";
  db.retention.last = 2;
  db.retention.min_keep = 1;
  config.databases[db.name] = db;

  // What retention decides, from a dry run on the seed.
  std::set<std::string> kept, expired;
  {
    PosixStorage storage(env, seed);
    auto repo = std::move(*Repository::Open(storage, clock, kPassword));
    ASSERT_TRUE(repo->LoadIndex().ok());
    ExpireOptions dry;
    dry.dry_run = true;
    auto plan = RunExpire(*repo, config, dry);
    ASSERT_TRUE(plan.ok()) << plan.status().ToString();
    for (const auto& d : plan->decisions) (d.keep ? kept : expired).insert(d.id);
  }
  ASSERT_EQ(kept.size(), 2u);
  ASSERT_EQ(expired.size(), 3u);

  bool finished = false;  // RunExpire returned Ok before the crash
  int64_t finished_at = 0;
  int points = testing::CrashAtEverySyncPoint(
      env, seed, work,
      [&](Env& fault) {
        finished = false;
        PosixStorage storage(fault, work);
        auto repo = Repository::Open(storage, clock, kPassword);
        ASSERT_TRUE(repo.ok()) << repo.status().ToString();
        ASSERT_TRUE((*repo)->LoadIndex().ok());
        auto report = RunExpire(**repo, config, ExpireOptions{});
        finished = report.ok();
        if (finished) finished_at = report->time;
      },
      [&] {
        PosixStorage storage(env, work);
        auto repo = Repository::Open(storage, clock, kPassword);
        ASSERT_TRUE(repo.ok()) << repo.status().ToString();
        auto report = Verifier(**repo).Run(/*read_data=*/true);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_TRUE(report->ok()) << report->errors.front();
        Loader loader(**repo);
        for (const auto& id : kept) {
          auto snapshot = (*repo)->ReadSnapshot(id);
          ASSERT_TRUE(snapshot.ok())
              << "kept snapshot " << id << ": " << snapshot.status().ToString();
          auto files = loader.ReadManifest(*snapshot);
          ASSERT_TRUE(files.ok()) << files.status().ToString();
          MemorySink sink;
          Status loaded = loader.LoadFile(files->at(0), sink);
          ASSERT_TRUE(loaded.ok()) << id << ": " << loaded.ToString();
          EXPECT_TRUE(sink.data() == data[id]) << id << " differs";
        }
        if (finished) {
          for (const auto& id : expired)
            EXPECT_FALSE((*repo)->ReadSnapshot(id).ok()) << id << " was expired, yet came back";
          auto last = ReadLastExpire(**repo);
          ASSERT_TRUE(last.ok()) << last.status().ToString();
          ASSERT_TRUE(last->has_value()) << "expire returned, but its record is gone";
          EXPECT_EQ((**last).value("time", int64_t{0}), finished_at) << (**last).dump();
        }
      });
  if (!::testing::Test::HasFailure()) {  // else the failed crash point says it all
    EXPECT_GT(points, 5);
    EXPECT_TRUE(finished) << "the run without a crash finished";
  }
  testing::RemoveTree(root);
}

}  // namespace
}  // namespace pgkeep
