// wal-push crashed at every sync point: the repository still verifies and
// every WAL file whose push returned Ok (PostgreSQL then recycles its copy)
// can be fetched whole.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "common/file_io.h"
#include "repo/verifier.h"
#include "storage/posix_storage.h"
#include "support/crash_points.h"
#include "support/process.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {
namespace {

constexpr uint64_t kSystemId = 7300000000000000042;

// A 16 MiB segment with a long page header naming kSystemId.
Bytes Segment(char fill) {
  Bytes data(kWalSegmentSize);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(fill + i % 251);
  uint16_t info = 0x0002;
  uint32_t seg_size = kWalSegmentSize;
  std::memcpy(data.data() + 2, &info, sizeof info);
  std::memcpy(data.data() + 24, &kSystemId, sizeof kSystemId);
  std::memcpy(data.data() + 32, &seg_size, sizeof seg_size);
  return data;
}

TEST(WalCrashTest, PushSurvivesACrashAtEverySyncPoint) {
  PosixEnv env;
  ManualClock clock;
  std::string root = testing::MakeTempDir("pgkeep-wal-crash-");
  std::string seed = root + "/seed", work = root + "/work", pg_wal = root + "/pg_wal";
  {
    PosixStorage storage(env, seed);
    InitOptions init;
    init.encrypted = false;
    ASSERT_TRUE(Repository::Init(storage, clock, init, std::nullopt).ok());
  }
  ASSERT_TRUE(env.CreateDir(pg_wal, 0700).ok());
  std::map<std::string, Bytes> segments;
  for (uint64_t seg = 1; seg <= 3; ++seg) {
    std::string name = WalSegmentName(1, seg);
    segments[name] = Segment(static_cast<char>('a' + seg));
    ASSERT_TRUE(WriteFileAtomically(env, pg_wal + "/" + name, segments[name], 0600).ok());
  }

  std::vector<std::string> pushed;  // reported archived
  int points = testing::CrashAtEverySyncPoint(
      env, seed, work,
      [&](Env& fault) {
        pushed.clear();
        PosixStorage storage(fault, work);
        auto repo = Repository::Open(storage, clock, std::nullopt);
        ASSERT_TRUE(repo.ok()) << repo.status().ToString();
        for (const auto& [name, data] : segments) {
          auto result = PushWalFile(fault, **repo, "main", pg_wal + "/" + name, 1);
          if (!result.ok()) return;  // the crash
          pushed.push_back(name);
        }
      },
      [&] {
        PosixStorage storage(env, work);
        auto repo = Repository::Open(storage, clock, std::nullopt);
        ASSERT_TRUE(repo.ok()) << repo.status().ToString();
        auto report = Verifier(**repo).Run(/*read_data=*/true);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_TRUE(report->ok()) << report->errors.front();
        uint64_t bytes = 0;
        auto damaged = CheckWalObjects(**repo, "main", &bytes);
        ASSERT_TRUE(damaged.ok()) << damaged.status().ToString();
        EXPECT_TRUE(damaged->empty()) << damaged->front();
        for (const auto& name : pushed) {
          std::string dest = root + "/fetched";
          Status fetched = FetchWalFile(env, **repo, "main", name, dest);
          ASSERT_TRUE(fetched.ok()) << name << " was reported archived: " << fetched.ToString();
          auto data = ReadWholeFile(env, dest);
          ASSERT_TRUE(data.ok());
          EXPECT_TRUE(*data == segments[name]) << name << " differs";
        }
      });
  if (!::testing::Test::HasFailure()) {  // else the failed crash point says it all
    EXPECT_GE(points, 6) << "three pushes sync at least twice each";
    EXPECT_EQ(pushed.size(), 3u) << "the run without a crash pushed every file";
  }
  testing::RemoveTree(root);
}

}  // namespace
}  // namespace pgkeep
