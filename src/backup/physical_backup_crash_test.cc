// The store path of a physical backup (step 2, local data directory, then
// the commit) crashed at every sync point. RunPhysicalBackup itself needs a
// PostgreSQL connection for pg_backup_start/stop; this drives the same
// StoreDataDirectory with a data-directory tree built here.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <map>

#include "backup/physical_backup.h"
#include "codec/chunker.h"
#include "common/fault_env.h"
#include "common/file_io.h"
#include "repo/loader.h"
#include "repo/verifier.h"
#include "storage/posix_storage.h"
#include "support/crash_points.h"
#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

const std::string kPassword = "crash";

// A small data directory: what a backup takes and what it leaves out.
std::map<std::string, Bytes> MakeDataDirectory(Env& env, const std::string& pgdata, uint64_t seed) {
  std::map<std::string, Bytes> taken;
  auto put = [&](const std::string& path, Bytes data, bool is_taken) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? pgdata : pgdata + "/" + path.substr(0, slash);
    EXPECT_TRUE(CreateDirectories(env, dir, 0700).ok());
    EXPECT_TRUE(WriteFileAtomically(env, pgdata + "/" + path, data, 0600).ok());
    if (is_taken) taken[path] = std::move(data);
  };
  EXPECT_TRUE(CreateDirectories(env, pgdata + "/pg_tblspc", 0700).ok());
  put("PG_VERSION", Bytes{'1', '5', '\n'}, true);
  Bytes control(8192, 0);
  uint64_t sysid = 7300000000000000042;
  std::memcpy(control.data(), &sysid, sizeof sysid);
  put("global/pg_control", control, true);
  put("base/1/1259", testing::MakeText(5 * 8192, seed), true);
  put("base/1/2608", testing::MakeText(3 * 8192, seed + 1), true);
  put("base/5/16384", testing::MakeText(40 * 8192, seed + 2), true);
  put("postgresql.conf", Bytes{'#', '\n'}, true);
  put("pg_wal/000000010000000000000001", testing::MakeText(8192, seed + 3), false);
  put("postmaster.pid", Bytes{'1', '\n'}, false);
  return taken;
}

Result<Snapshot> BackUp(Env& env, const std::string& repo_dir, const std::string& pgdata,
                        ManualClock& clock) {
  PosixStorage storage(env, repo_dir);
  auto repo = Repository::Open(storage, clock, kPassword);
  if (!repo.ok()) return repo.status();
  PGKEEP_RETURN_IF_ERROR((*repo)->LoadIndex());
  StoreOptions options;
  options.pack_size = 64 * 1024;
  options.threads = 2;
  StoreSession session(**repo, options);
  FixedChunker chunker((*repo)->settings().block_size);
  std::vector<Tablespace> tablespaces;
  PageCheckStats pages;
  auto files = StoreDataDirectory(env, session, chunker, pgdata, /*checksums=*/false, 0,
                                  /*threads=*/2, &tablespaces, &pages);
  if (!files.ok()) return files.status();
  clock.Advance(1'000'000);
  Snapshot s;
  s.id = NewSnapshotId(clock.NowSeconds());
  s.kind = "full";
  s.meta[kMetaDatabase] = "main";
  return session.Commit(s, *files);
}

TEST(CrashTest, PhysicalBackupStoreSurvivesACrashAtEverySyncPoint) {
  PosixEnv env;
  ManualClock clock;
  std::string root = testing::MakeTempDir("pgkeep-physical-crash-");
  std::string seed = root + "/seed", work = root + "/work";
  std::map<std::string, std::map<std::string, Bytes>> trees = {
      {root + "/data1", MakeDataDirectory(env, root + "/data1", 1)},
      {root + "/data2", MakeDataDirectory(env, root + "/data2", 2)}};
  {
    PosixStorage storage(env, seed);
    InitOptions init;
    init.scrypt = ScryptParams{1 << 10, 8, 1};
    init.block_size = 8192;
    ASSERT_TRUE(Repository::Init(storage, clock, init, kPassword).ok());
  }

  std::map<std::string, std::string> done;  // snapshot id -> the data directory it holds
  int points = testing::CrashAtEverySyncPoint(
      env, seed, work,
      [&](Env& fault) {
        done.clear();
        for (const auto& [pgdata, files] : trees) {
          auto backup = BackUp(fault, work, pgdata, clock);
          if (!backup.ok()) return;  // the crash
          done[backup->id] = pgdata;
        }
      },
      [&] {
        PosixStorage storage(env, work);
        auto repo = Repository::Open(storage, clock, kPassword);
        ASSERT_TRUE(repo.ok()) << repo.status().ToString();
        auto report = Verifier(**repo).Run(/*read_data=*/true);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_TRUE(report->ok()) << report->errors.front();
        Loader loader(**repo);
        for (const auto& [id, pgdata] : done) {
          auto snapshot = (*repo)->ReadSnapshot(id);
          ASSERT_TRUE(snapshot.ok())
              << "backup " << id << " reported done: " << snapshot.status().ToString();
          auto files = loader.ReadManifest(*snapshot);
          ASSERT_TRUE(files.ok()) << files.status().ToString();
          size_t regular = 0;
          for (const auto& f : *files) {
            if (f.mode & S_IFDIR) continue;
            ++regular;
            MemorySink sink;
            Status loaded = loader.LoadFile(f, sink);
            ASSERT_TRUE(loaded.ok()) << f.path << ": " << loaded.ToString();
            EXPECT_TRUE(sink.data() == trees[pgdata].at(f.path)) << f.path << " differs";
          }
          EXPECT_EQ(regular, trees[pgdata].size());
        }
      });
  if (!::testing::Test::HasFailure()) {  // else the failed crash point says it all
    EXPECT_GT(points, 10);
    EXPECT_EQ(done.size(), 2u) << "the run without a crash backed up both";
  }
  testing::RemoveTree(root);
}

}  // namespace
}  // namespace pgkeep
