// status with a manual clock and a scripted server: every reason a user
// reads, and none when all is well. Nothing here waits for time to pass.
#include "monitor/status.h"

#include <gtest/gtest.h>

#include "drill/drill_report.h"
#include "support/fake_pg.h"
#include "support/memory_repo.h"
#include "wal/wal_archive.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::Rows;

constexpr char kArchiverSql[] = "SELECT archived_count, coalesce(last_archived_wal, ''), ...";
constexpr int64_t kHour = 3600;

DatabaseConfig LogicalDb(const std::string& max_age = "36h") {
  DatabaseConfig db;
  db.name = "files";
  db.conninfo = "host=db1 dbname=files";
  db.method = "logical";
  db.max_backup_age = max_age;
  db.max_size_drop_percent = 40;
  return db;
}

DatabaseConfig PhysicalDb() {
  DatabaseConfig db;
  db.name = "main";
  db.conninfo = "host=db1 dbname=app";
  db.method = "physical";
  return db;
}

Config ConfigWith(const std::vector<DatabaseConfig>& dbs) {
  Config config;
  for (const auto& db : dbs) config.databases[db.name] = db;
  return config;
}

// `size` bytes that compress poorly, so stored sizes differ like real backups.
std::string Data(size_t size, int seed) {
  std::string s(size, '\0');
  uint32_t x = 2463534242u + static_cast<uint32_t>(seed);
  for (auto& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

class StatusTest : public ::testing::Test {
 protected:
  StatusReport Report(const Config& config, const std::string& only = "") {
    mem_.Reopen();
    auto r = ComputeStatus(mem_.repo(), pg_, config, only);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : StatusReport{};
  }
  void ArchiveWal(const std::string& db, const std::string& segment) {
    ASSERT_TRUE(mem_.storage().Put(WalObjectName(db, segment), AsBytes("wal")).ok());
  }
  // pg_stat_archiver of "main" as the server answers it.
  void ExpectArchiver(const std::string& failed_count, const std::string& failing) {
    pg_.ExpectConnect("host=db1 dbname=app")
        .ExpectQuery(kArchiverSql,
                     Rows({{"7", "000000010000000000000003", "2026-11-23 00:00:00+00", failed_count,
                            failing == "t" ? "000000010000000000000004" : "",
                            failing == "t" ? "2026-11-23 00:01:00+00" : "", failing}}));
  }

  testing::MemoryRepo mem_;
  FakePgConnector pg_;
};

TEST_F(StatusTest, ADatabaseWithoutBackupsIsUnhealthy) {
  StatusReport r = Report(ConfigWith({LogicalDb()}));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reasons, std::vector<std::string>{"database \"files\": has no backup yet"});
  ASSERT_EQ(r.databases.size(), 1u);
  EXPECT_EQ(r.databases[0].backups, 0u);
  EXPECT_FALSE(r.databases[0].last_backup);
}

TEST_F(StatusTest, ABackupTurnsStaleExactlyAfterMaxBackupAge) {
  Config config = ConfigWith({LogicalDb("36h")});
  Snapshot s = mem_.StoreSnapshot("files", "logical", Data(100000, 1));
  StatusReport fresh = Report(config);
  EXPECT_TRUE(fresh.healthy) << ::testing::PrintToString(fresh.reasons);
  ASSERT_TRUE(fresh.databases[0].last_backup);
  EXPECT_EQ(fresh.databases[0].last_backup->age_seconds, 0);
  EXPECT_EQ(fresh.time, mem_.clock().NowSeconds());

  mem_.AdvanceSeconds(36 * kHour);
  EXPECT_TRUE(Report(config).healthy) << "exactly max_backup_age old is still fine";

  mem_.AdvanceSeconds(30 * 60 + 1);
  StatusReport stale = Report(config);
  EXPECT_FALSE(stale.healthy);
  EXPECT_EQ(stale.reasons,
            std::vector<std::string>{"database \"files\": last backup " + s.id +
                                     " is 36h30m old, more than max_backup_age 36h"});
  EXPECT_EQ(stale.databases[0].last_backup->age_seconds, 36 * kHour + 30 * 60 + 1);

  mem_.StoreSnapshot("files", "logical", Data(100000, 2));
  EXPECT_TRUE(Report(config).healthy) << "a new backup makes it fresh again";
}

TEST_F(StatusTest, AMuchSmallerBackupIsSuspicious) {
  Config config = ConfigWith({LogicalDb()});
  for (int i = 0; i < 3; ++i) {
    mem_.StoreSnapshot("files", "logical", Data(1000000, i));
    mem_.AdvanceSeconds(kHour);
  }
  StatusReport normal = Report(config);
  EXPECT_TRUE(normal.healthy) << ::testing::PrintToString(normal.reasons);
  ASSERT_TRUE(normal.databases[0].size_anomaly);
  EXPECT_FALSE(normal.databases[0].size_anomaly->suspicious);

  Snapshot small = mem_.StoreSnapshot("files", "logical", Data(300000, 9));
  StatusReport r = Report(config);
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reasons,
            std::vector<std::string>{"database \"files\": last backup " + small.id +
                                     " is 70% smaller than the median of the backups before it "
                                     "(293.0 KiB vs 976.6 KiB)"});
  EXPECT_TRUE(r.databases[0].size_anomaly->suspicious);

  mem_.AdvanceSeconds(kHour);  // "last" is the one committed last
  mem_.StoreSnapshot("files", "logical", Data(1000000, 10));
  EXPECT_TRUE(Report(config).healthy);
}

TEST_F(StatusTest, OnlyTheDatabaseAskedForIsReported) {
  DatabaseConfig other = LogicalDb();
  other.name = "other";
  mem_.StoreSnapshot("files", "logical", Data(1000, 1));
  StatusReport r = Report(ConfigWith({LogicalDb(), other}), "files");
  EXPECT_TRUE(r.healthy);
  ASSERT_EQ(r.databases.size(), 1u);
  EXPECT_EQ(r.databases[0].name, "files");
}

nlohmann::json PhysicalMeta(const std::string& start_wal, const std::string& stop_wal) {
  return {{kMetaStartWal, start_wal},
          {kMetaStopWal, stop_wal},
          {kMetaTimeline, 1},
          {kMetaStartLsn, "0/2000028"},
          {kMetaStopLsn, "0/2000100"}};
}

TEST_F(StatusTest, PhysicalWithItsWalAndAWorkingArchiverIsHealthy) {
  mem_.StoreSnapshot("main", "full", Data(1000, 1),
                     PhysicalMeta("000000010000000000000002", "000000010000000000000002"));
  ArchiveWal("main", "000000010000000000000002");
  ArchiveWal("main", "000000010000000000000003");
  ExpectArchiver("0", "f");
  StatusReport r = Report(ConfigWith({PhysicalDb()}));
  EXPECT_TRUE(r.healthy) << ::testing::PrintToString(r.reasons);
  ASSERT_TRUE(r.databases[0].wal);
  EXPECT_EQ(r.databases[0].wal->analysis.segments, 2u);
  EXPECT_EQ(r.databases[0].wal->analysis.last_segment, "000000010000000000000003");
  EXPECT_TRUE(r.databases[0].wal->analysis.gaps.empty());
  EXPECT_EQ(r.databases[0].wal->archiver.archived_count, 7u);
}

TEST_F(StatusTest, MissingWalIsAGap) {
  mem_.StoreSnapshot("main", "full", Data(1000, 1),
                     PhysicalMeta("000000010000000000000002", "000000010000000000000002"));
  ArchiveWal("main", "000000010000000000000002");
  ArchiveWal("main", "000000010000000000000005");
  ExpectArchiver("0", "f");
  StatusReport r = Report(ConfigWith({PhysicalDb()}));
  EXPECT_FALSE(r.healthy);
  ASSERT_EQ(r.reasons.size(), 1u);
  EXPECT_EQ(
      r.reasons[0].rfind("database \"main\": WAL gap on timeline 1: 000000010000000000000003 .. "
                         "000000010000000000000004 (2 segment(s)) missing from the repository",
                         0),
      0u)
      << r.reasons[0];
}

TEST_F(StatusTest, AFailingArchiverIsAReason) {
  mem_.StoreSnapshot("main", "full", Data(1000, 1),
                     PhysicalMeta("000000010000000000000002", "000000010000000000000002"));
  ArchiveWal("main", "000000010000000000000002");
  ExpectArchiver("3", "t");
  StatusReport r = Report(ConfigWith({PhysicalDb()}));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reasons,
            std::vector<std::string>{
                "database \"main\": WAL archiving is failing: 000000010000000000000004 failed at "
                "2026-11-23 00:01:00+00 (3 failure(s) since the statistics were reset); see the "
                "server log"});
}

TEST_F(StatusTest, AnUnreachableServerIsAReasonNotAFailure) {
  mem_.StoreSnapshot("main", "full", Data(1000, 1),
                     PhysicalMeta("000000010000000000000002", "000000010000000000000002"));
  ArchiveWal("main", "000000010000000000000002");
  pg_.ExpectConnectFailure(
      "host=db1 dbname=app",
      Status::Error(ErrorCode::kPostgres, "cannot connect to database \"main\": refused"));
  StatusReport r = Report(ConfigWith({PhysicalDb()}));
  EXPECT_FALSE(r.healthy);
  EXPECT_EQ(r.reasons, std::vector<std::string>{"database \"main\": cannot read pg_stat_archiver: "
                                                "cannot connect to database \"main\": refused"});
}

// A drill report of `db` finished now; `passed` decides the verdict.
void StoreDrill(testing::MemoryRepo& mem, const std::string& db, bool passed) {
  DrillResult r;
  r.id = NewSnapshotId(mem.clock().NowSeconds());
  r.database = db;
  r.method = "logical";
  r.started = r.finished = mem.clock().NowSeconds();
  r.passed = passed;
  r.rto.seconds = 42;
  if (!passed) r.failures = {"check \"orders\" failed: returned 0, not >= 1"};
  ASSERT_TRUE(StoreDrillReport(mem.repo(), r).ok());
}

TEST_F(StatusTest, DrillsAreRequiredOnlyWhenScheduledAndMustPassAndBeRecent) {
  DatabaseConfig db = LogicalDb();
  Config unscheduled = ConfigWith({db});
  db.schedule["drill"] = "0 4 * * 1";
  Config scheduled = ConfigWith({db});
  mem_.StoreSnapshot("files", "logical", Data(100000, 1));

  EXPECT_TRUE(Report(unscheduled).healthy) << "no drill required without a drill schedule";
  StatusReport none = Report(scheduled);
  EXPECT_EQ(none.reasons,
            std::vector<std::string>{"database \"files\": has no drill yet (max_drill_age 8d)"});
  EXPECT_EQ(none.databases[0].max_drill_age_seconds, 8 * 24 * kHour);

  StoreDrill(mem_, "files", true);
  StatusReport fresh = Report(scheduled);
  EXPECT_TRUE(fresh.healthy) << ::testing::PrintToString(fresh.reasons);
  ASSERT_TRUE(fresh.databases[0].last_drill);
  EXPECT_TRUE(fresh.databases[0].last_drill->passed);
  EXPECT_EQ(fresh.databases[0].last_drill->rto_seconds, 42);
  EXPECT_EQ(StatusToJson(fresh)["databases"][0]["last_drill"]["passed"], true);

  mem_.AdvanceSeconds(8 * 24 * kHour);
  mem_.StoreSnapshot("files", "logical", Data(100000, 2));  // backups stay fresh
  EXPECT_TRUE(Report(scheduled).healthy) << "exactly max_drill_age old is still fine";
  mem_.AdvanceSeconds(1);
  StatusReport stale = Report(scheduled);
  ASSERT_EQ(stale.reasons.size(), 1u);
  EXPECT_NE(stale.reasons[0].find(" old, more than max_drill_age 8d"), std::string::npos)
      << stale.reasons[0];

  mem_.AdvanceSeconds(1);
  StoreDrill(mem_, "files", false);
  StatusReport failed = Report(unscheduled);
  EXPECT_EQ(failed.reasons,
            std::vector<std::string>{"database \"files\": last drill " +
                                     failed.databases[0].last_drill->id +
                                     " failed: check \"orders\" failed: returned 0, not >= 1"})
      << "a failed drill is unhealthy even when none is required";
}

}  // namespace
}  // namespace pgkeep
