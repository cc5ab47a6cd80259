// Physical backup orchestration against a scripted server (tests/support/fake_pg.h):
// what is asked of PostgreSQL in which order, what is stored, and that a
// failure at any step leaves no snapshot.
#include "backup/physical_backup.h"

#include <gtest/gtest.h>

#include "support/fake_pg.h"
#include "support/memory_repo.h"
#include "wal/wal_archive.h"

namespace pgkeep {
namespace {

using testing::FakeArchive;
using testing::FakeBaseBackup;
using testing::FakePgConnector;
using testing::Rows;
using testing::TarBuilder;

constexpr char kConninfo[] = "host=db1 dbname=app";
constexpr char kSettingsSql[] = "SELECT current_setting('wal_level'), ...";
constexpr char kInfoSql[] =
    "SELECT system_identifier::text, current_setting('data_checksums'), ...";
constexpr char kSystemId[] = "7000000000000000001";

DatabaseConfig Db() {
  DatabaseConfig db;
  db.name = "main";
  db.conninfo = kConninfo;
  db.method = "physical";
  return db;
}

// The server side of a backup up to BASE_BACKUP: archiving set up for "main".
void ExpectPreamble(FakePgConnector& pg, const std::string& system_id = kSystemId) {
  pg.ExpectConnect(kConninfo)
      .ExpectQuery(
          kSettingsSql,
          Rows({{"replica", "on", "pgkeep --config /etc/pgkeep.toml wal-push --db main %p"}}))
      .ExpectQuery(kInfoSql, Rows({{system_id, "off", "5432", "PostgreSQL 15.4", "16MB", "8192"}}));
}

FakeBaseBackup TwoArchives() {
  FakeBaseBackup b;
  b.archives.push_back(FakeArchive{{"base.tar", ""},
                                   TarBuilder()
                                       .File("PG_VERSION", "15\n")
                                       .Directory("global")
                                       .File("global/pg_control", std::string(8192, 'c'))
                                       .File("backup_label", "START TIMELINE: 1\n")
                                       .Finish()});
  b.archives.push_back(FakeArchive{{"16385.tar", "/srv/ts1"},
                                   TarBuilder().File("PG_15_202209061/5/16386", "rows").Finish()});
  return b;
}

class PhysicalBackupTest : public ::testing::Test {
 protected:
  // The stop segment of a backup ending at 0/2000100 on timeline 1, archived.
  void ArchiveStopSegment() {
    ASSERT_TRUE(
        mem_.storage().Put(WalObjectName("main", "000000010000000000000002"), AsBytes("wal")).ok());
  }
  Result<PhysicalBackupResult> Backup(const PhysicalBackupOptions& options = {}) {
    PhysicalBackupOptions o = options;
    o.store.threads = 1;
    return RunPhysicalBackup(mem_.env(), mem_.repo(), pg_, Db(), o);
  }

  testing::MemoryRepo mem_;
  FakePgConnector pg_;
};

TEST_F(PhysicalBackupTest, StreamsEveryArchiveAndRecordsTheWalRange) {
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  ArchiveStopSegment();
  auto r = Backup();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Snapshot& s = r->snapshot;
  EXPECT_EQ(s.kind, "full");
  EXPECT_EQ(s.meta["method"], "stream");
  EXPECT_EQ(s.meta[kMetaStartLsn], "0/2000028");
  EXPECT_EQ(s.meta[kMetaStopLsn], "0/2000100");
  EXPECT_EQ(s.meta[kMetaTimeline], 1);
  EXPECT_EQ(s.meta[kMetaStartWal], "000000010000000000000002");
  EXPECT_EQ(s.meta[kMetaStopWal], "000000010000000000000002");
  EXPECT_EQ(s.meta[kMetaSystemId], kSystemId);
  EXPECT_EQ(s.meta[kMetaTablespaces],
            nlohmann::json::parse(R"([{"oid":"16385","location":"/srv/ts1"}])"));
  EXPECT_TRUE(r->warnings.empty());
  EXPECT_EQ(mem_.SnapshotIds(), std::vector<std::string>{s.id});
  EXPECT_EQ(mem_.LoadFile(s, "PG_VERSION"), "15\n");
  EXPECT_EQ(mem_.LoadFile(s, "global/pg_control"), std::string(8192, 'c'));
  EXPECT_EQ(mem_.LoadFile(s, "backup_label"), "START TIMELINE: 1\n");
  EXPECT_EQ(mem_.LoadFile(s, "pg_tblspc/16385/PG_15_202209061/5/16386"), "rows");
}

TEST_F(PhysicalBackupTest, IncrWithoutAnEarlierBackupIsFullWithAWarning) {
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  ArchiveStopSegment();
  PhysicalBackupOptions o;
  o.type = "incr";
  auto r = Backup(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->snapshot.kind, "full");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0],
            "no earlier physical backup of database \"main\": taking a full backup");
}

TEST_F(PhysicalBackupTest, IncrRecordsItsParent) {
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  ArchiveStopSegment();
  auto first = Backup();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  mem_.AdvanceSeconds(60);
  PhysicalBackupOptions o;
  o.type = "incr";
  auto second = Backup(o);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->snapshot.kind, "incr");
  EXPECT_EQ(second->snapshot.meta["parent"], first->snapshot.id);
  EXPECT_EQ(second->snapshot.stats.new_chunks, 0u) << "nothing changed, nothing new is stored";
}

// Each failure: what the server does, what the user reads, and no snapshot.
struct FailureCase {
  const char* name;
  void (*script)(FakePgConnector&);
  ErrorCode code;
  const char* message;
};

const FailureCase kFailures[] = {
    {"connection refused",
     [](FakePgConnector& pg) {
       pg.ExpectConnectFailure(
           kConninfo, Status::Error(ErrorCode::kPostgres, "cannot connect to database \"main\""));
     },
     ErrorCode::kPostgres, "cannot connect to database \"main\""},
    {"archiving off",
     [](FakePgConnector& pg) {
       pg.ExpectConnect(kConninfo).ExpectQuery(kSettingsSql, Rows({{"replica", "off", ""}}));
     },
     ErrorCode::kCheckFailed,
     "archive_mode is off on database \"main\": without archived WAL a physical backup cannot be "
     "restored"},
    {"archive_command of another database",
     [](FakePgConnector& pg) {
       pg.ExpectConnect(kConninfo).ExpectQuery(
           kSettingsSql, Rows({{"replica", "on", "pgkeep wal-push --db other %p"}}));
     },
     ErrorCode::kCheckFailed,
     "archive_command on database \"main\" does not archive to pgkeep for this database: pgkeep "
     "wal-push --db other "
     "%p"},
    {"unsupported segment size",
     [](FakePgConnector& pg) {
       pg.ExpectConnect(kConninfo)
           .ExpectQuery(kSettingsSql, Rows({{"replica", "on", "pgkeep wal-push --db main %p"}}))
           .ExpectQuery(kInfoSql,
                        Rows({{kSystemId, "off", "5432", "PostgreSQL 15.4", "64MB", "8192"}}));
     },
     ErrorCode::kPostgres,
     "database \"main\" uses wal_segment_size 64MB and block_size 8192; pgkeep supports 16MB and "
     "8192"},
    {"replication refused",
     [](FakePgConnector& pg) {
       ExpectPreamble(pg);
       pg.ExpectBaseBackupFailure(
           Status::Error(ErrorCode::kPostgres, "no pg_hba.conf entry for replication"));
     },
     ErrorCode::kPostgres, "backup of database \"main\": no pg_hba.conf entry for replication"},
    {"replication reaches another cluster",
     [](FakePgConnector& pg) {
       ExpectPreamble(pg);
       FakeBaseBackup b = TwoArchives();
       b.system_identifier = 42;
       pg.ExpectBaseBackup(b);
     },
     ErrorCode::kPostgres,
     "backup of database \"main\": the replication connection of database \"main\" reaches another "
     "cluster (42) "
     "than its SQL connection (7000000000000000001)"},
    {"connection lost mid-stream",
     [](FakePgConnector& pg) {
       ExpectPreamble(pg);
       FakeBaseBackup b = TwoArchives();
       b.fail_after_bytes = 3000;  // inside global/pg_control
       pg.ExpectBaseBackup(b);
     },
     ErrorCode::kPostgres,
     "backup of database \"main\": could not receive data from server: connection lost"},
    {"connection lost in the second archive",
     [](FakePgConnector& pg) {
       ExpectPreamble(pg);
       FakeBaseBackup b = TwoArchives();
       b.fail_archive = 1;
       b.fail_after_bytes = 100;
       pg.ExpectBaseBackup(b);
     },
     ErrorCode::kPostgres,
     "backup of database \"main\": could not receive data from server: connection lost"},
    {"end position lost",
     [](FakePgConnector& pg) {
       ExpectPreamble(pg);
       FakeBaseBackup b = TwoArchives();
       b.finish_failure =
           Status::Error(ErrorCode::kPostgres, "BASE_BACKUP failed: server closed the connection");
       pg.ExpectBaseBackup(b);
     },
     ErrorCode::kPostgres,
     "backup of database \"main\": BASE_BACKUP failed: server closed the connection"},
};

TEST_F(PhysicalBackupTest, AFailureAtAnyStepLeavesNoSnapshot) {
  ArchiveStopSegment();
  for (const auto& c : kFailures) {
    SCOPED_TRACE(c.name);
    FakePgConnector pg;
    c.script(pg);
    PhysicalBackupOptions o;
    o.store.threads = 1;
    auto r = RunPhysicalBackup(mem_.env(), mem_.repo(), pg, Db(), o);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code);
    EXPECT_EQ(r.status().message(), c.message);
    EXPECT_TRUE(pg.Done());
    EXPECT_TRUE(mem_.SnapshotIds().empty());
  }
}

TEST_F(PhysicalBackupTest, OlderServersAreRefusedBeforeAnyQuery) {
  FakePgConnector old(140010);
  old.ExpectConnect(kConninfo);
  auto r = RunPhysicalBackup(mem_.env(), mem_.repo(), old, Db(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "database \"main\" runs PostgreSQL 14; physical backups need PostgreSQL 15 or later");
  EXPECT_EQ(r.status().hint(), "use method = \"logical\" for older servers");
}

TEST_F(PhysicalBackupTest, AnotherClusterUnderTheSameNameIsRefused) {
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  ArchiveStopSegment();
  ASSERT_TRUE(Backup().ok());
  ExpectPreamble(pg_, "7000000000000000999");
  auto r = Backup();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("7000000000000000999"), std::string::npos)
      << r.status().ToString();
  EXPECT_EQ(mem_.SnapshotIds().size(), 1u);
}

TEST_F(PhysicalBackupTest, WalThatNeverArrivesFailsTheBackup) {
  ExpectPreamble(pg_);
  pg_.ExpectBaseBackup(TwoArchives());
  PhysicalBackupOptions o;
  o.wal_wait_seconds = 0;  // looked for once, not waited for
  auto r = Backup(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kCheckFailed);
  EXPECT_EQ(r.status().message(),
            "backup of database \"main\": WAL segment 000000010000000000000002 did not reach the "
            "repository within 0 s");
  EXPECT_TRUE(mem_.SnapshotIds().empty());
}

}  // namespace
}  // namespace pgkeep
