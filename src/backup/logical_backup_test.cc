// Logical backup orchestration against a scripted server and pg_dump
// (tests/support/fake_pg.h): one exported snapshot for the dump and the row
// counts, the scope passed on, and no snapshot when anything fails.
#include "backup/logical_backup.h"

#include <gtest/gtest.h>

#include "support/fake_pg.h"
#include "support/memory_repo.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::FakeToolRun;
using testing::Rows;

constexpr char kConninfo[] = "host=db1 dbname=app";
constexpr char kBegin[] = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
constexpr char kExport[] = "SELECT pg_export_snapshot(), current_database(), version()";
constexpr char kTables[] = "\nSELECT n.nspname, c.relname...";
const std::string kDump = "PGDMP" + std::string(5000, 'd');

DatabaseConfig Db() {
  DatabaseConfig db;
  db.name = "app";
  db.conninfo = kConninfo;
  db.method = "logical";
  return db;
}

class LogicalBackupTest : public ::testing::Test {
 protected:
  void ExpectSnapshotAndDump(FakeToolRun dump) {
    pg_.ExpectConnect(kConninfo)
        .ExpectExec(kBegin)
        .ExpectQuery(kExport, Rows({{"00000003-0000001B-1", "app", "PostgreSQL 15.4"}}))
        .ExpectTool(std::move(dump));
  }
  Result<Snapshot> Backup(const DatabaseConfig& db) {
    LogicalBackupOptions o;
    o.label = "nightly";
    o.store.threads = 1;
    o.child_env_drop = {"PGKEEP_REPO_PASSWORD"};
    return RunLogicalBackup(mem_.env(), mem_.repo(), pg_, db, o);
  }

  testing::MemoryRepo mem_;
  FakePgConnector pg_;
};

TEST_F(LogicalBackupTest, DumpsAndCountsInOneSnapshot) {
  ExpectSnapshotAndDump(FakeToolRun{
      "pg_dump",
      {"--format=custom", "--snapshot=00000003-0000001B-1", "--dbname=" + std::string(kConninfo)},
      kDump});
  pg_.ExpectQuery(kTables, Rows({{"public", "orders"}, {"sales", "items"}}))
      .ExpectQuery("SELECT count(*) FROM \"public\".\"orders\"", Rows({{"12"}}))
      .ExpectQuery("SELECT count(*) FROM \"sales\".\"items\"", Rows({{"3"}}))
      .ExpectExec("COMMIT");
  auto s = Backup(Db());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->kind, "logical");
  EXPECT_EQ(s->label, "nightly");
  EXPECT_EQ(s->meta[kMetaRowCounts],
            nlohmann::json::parse(R"({"public.orders":12,"sales.items":3})"));
  EXPECT_EQ(s->meta[kMetaDumpFile], "app.dump");
  EXPECT_EQ(s->meta[kMetaGlobalsFile], "");
  EXPECT_EQ(s->meta["pg_dump"], "pg_dump (PostgreSQL) 15.4");
  EXPECT_EQ(mem_.LoadFile(*s, "app.dump"), kDump);
  ASSERT_EQ(pg_.tool_runs().size(), 1u);
  EXPECT_EQ(pg_.tool_runs()[0][0], "/fake/bin/pg_dump");
}

TEST_F(LogicalBackupTest, ScopeReachesPgDumpAndTheCounts) {
  DatabaseConfig db = Db();
  db.exclude_tables = {"public.audit"};
  ExpectSnapshotAndDump(FakeToolRun{"pg_dump", {"--exclude-table=public.audit"}, kDump});
  pg_.ExpectQuery(kTables, Rows({{"public", "audit"}, {"public", "orders"}}))
      .ExpectQuery("SELECT count(*) FROM \"public\".\"orders\"", Rows({{"5"}}))
      .ExpectExec("COMMIT");
  auto s = Backup(db);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->meta[kMetaRowCounts], nlohmann::json::parse(R"({"public.orders":5})"));
}

TEST_F(LogicalBackupTest, GlobalsAreKeptWhenAsked) {
  DatabaseConfig db = Db();
  db.globals = true;
  ExpectSnapshotAndDump(FakeToolRun{"pg_dump", {}, kDump});
  pg_.ExpectQuery(kTables, Rows({})).ExpectExec("COMMIT");
  pg_.ExpectTool(
      FakeToolRun{"pg_dumpall", {"--globals-only", "--no-role-passwords"}, "CREATE ROLE app;\n"});
  auto s = Backup(db);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->meta[kMetaGlobalsFile], "globals.sql");
  EXPECT_EQ(mem_.LoadFile(*s, "globals.sql"), "CREATE ROLE app;\n");
}

TEST_F(LogicalBackupTest, AFailingPgDumpLeavesNoSnapshot) {
  ExpectSnapshotAndDump(FakeToolRun{
      "pg_dump", {}, "PGDMP partial", 1, "pg_dump: error: permission denied for table orders"});
  auto s = Backup(Db());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kTool);
  EXPECT_EQ(s.status().message(),
            "backup of database \"app\": pg_dump failed (exit 1): pg_dump: error: permission "
            "denied for table orders");
  EXPECT_TRUE(mem_.SnapshotIds().empty());
}

TEST_F(LogicalBackupTest, AFailingCountLeavesNoSnapshot) {
  ExpectSnapshotAndDump(FakeToolRun{"pg_dump", {}, kDump});
  pg_.ExpectQuery(kTables, Rows({{"public", "orders"}}))
      .ExpectQueryFailure("SELECT count(*) FROM \"public\".\"orders\"",
                          Status::Error(ErrorCode::kPostgres,
                                        "query failed on database \"app\": canceling statement"));
  auto s = Backup(Db());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "query failed on database \"app\": canceling statement");
  EXPECT_TRUE(mem_.SnapshotIds().empty());
}

TEST_F(LogicalBackupTest, AMissingPgDumpIsReportedBeforeAnythingRuns) {
  pg_.ExpectConnect(kConninfo);
  pg_.MissingTool("pg_dump");
  auto s = Backup(Db());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kTool);
  EXPECT_TRUE(pg_.tool_runs().empty());
}

}  // namespace
}  // namespace pgkeep
