// Logical restore orchestration against a scripted server and pg_restore
// (tests/support/fake_pg.h): the database is created only after the dump is
// staged and the selection checked, a failed parallel run is retried
// serially, a failed restore drops what it created, and row counts are
// compared with the backup's.
#include "restore/logical_restore.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <csignal>

#include "repo/snapshot_meta.h"
#include "support/fake_pg.h"
#include "support/memory_repo.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::FakeToolRun;
using testing::Rows;

constexpr char kAdmin[] = "dbname=postgres host=db1";
constexpr char kInto[] = "dbname=restored host=db1";
constexpr char kExists[] = "SELECT coalesce(shobj_description(oid, 'pg_database'), '')...";
// A restore marks the database it writes until it is done.
constexpr char kMark[] =
    "COMMENT ON DATABASE \"restored\" IS 'pgkeep: restore in progress (pid ...";
constexpr char kUnmark[] = "COMMENT ON DATABASE \"restored\" IS NULL";
constexpr char kTables[] = "\nSELECT n.nspname, c.relname...";
const std::string kToc =
    ";\n; Archive created at 2026-11-23\n;\n215; 1259 16385 TABLE public orders app\n"
    "216; 1259 16390 TABLE public items app\n";

DatabaseConfig Db() {
  DatabaseConfig db;
  db.name = "app";
  db.conninfo = "host=db1 dbname=app";
  db.method = "logical";
  return db;
}

class LogicalRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    temp_ = testing::MakeTempDir("pgkeep-logical-restore-");
    backup_ = mem_.StoreSnapshot(
        "app", "logical", "PGDMP dump bytes",
        {{kMetaDumpFile, "data"}, {kMetaRowCounts, {{"public.orders", 12}, {"public.items", 3}}}});
  }
  void TearDown() override { testing::RemoveTree(temp_); }

  LogicalRestoreOptions Options() {
    LogicalRestoreOptions o;
    o.into_database = "restored";
    o.temp_dir = temp_;
    return o;
  }
  // Up to the database being created: the checks that come first. A new
  // database for a whole backup is created while the dump is staged.
  void ExpectCreate() {
    pg_.ExpectConnect(kAdmin)
        .ExpectQuery(kExists, Rows({}), {"restored"})
        .ExpectExec("CREATE DATABASE \"restored\" TEMPLATE template0")
        .ExpectExec(kMark)
        .ExpectTool(FakeToolRun{"pg_restore", {"--list"}, kToc});
  }
  // The counts of a restore that went through, and the marker removed.
  void ExpectCounts(const std::string& orders, const std::string& items) {
    pg_.ExpectConnect(kInto)
        .ExpectQuery(kTables, Rows({{"public", "items"}, {"public", "orders"}}))
        .ExpectQuery("SELECT count(*) FROM \"public\".\"items\"", Rows({{items}}))
        .ExpectQuery("SELECT count(*) FROM \"public\".\"orders\"", Rows({{orders}}))
        .ExpectExec(kUnmark);
  }
  Result<LogicalRestoreReport> Restore(const LogicalRestoreOptions& o) {
    DatabaseConfig db = Db();
    return RunLogicalRestore(mem_.env(), &mem_.repo(), pg_, &db, o);
  }

  std::string temp_;
  testing::MemoryRepo mem_;
  Snapshot backup_;
  FakePgConnector pg_;
};

TEST_F(LogicalRestoreTest, RestoresTheLatestBackupAndComparesRowCounts) {
  ExpectCreate();
  pg_.ExpectTool(FakeToolRun{
      "pg_restore", {"--exit-on-error", "--jobs=2", "--dbname=" + std::string(kInto)}, ""});
  ExpectCounts("12", "3");
  auto r = Restore(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->source, backup_.id);
  EXPECT_EQ(r->database, "restored");
  EXPECT_EQ(r->objects, 2u);
  EXPECT_TRUE(r->mismatches.empty());
  EXPECT_FALSE(r->retried_serial);
  ASSERT_EQ(r->tables.size(), 2u);
  EXPECT_EQ(r->tables[0].table, "public.items");
  EXPECT_EQ(r->tables[0].expected, 3);
  EXPECT_EQ(r->tables[0].restored, 3);
  // pg_restore read the dump from a staged file, removed afterwards.
  std::string staged = pg_.tool_runs()[0].back();
  EXPECT_EQ(staged.rfind(temp_ + "/pgkeep-restore-", 0), 0u) << staged;
  EXPECT_EQ(::access(staged.c_str(), F_OK), -1);
}

TEST_F(LogicalRestoreTest, DifferentRowCountsAreMismatches) {
  ExpectCreate();
  pg_.ExpectTool(FakeToolRun{"pg_restore", {"--jobs=2"}, ""});
  pg_.ExpectConnect(kInto)
      .ExpectQuery(kTables, Rows({{"public", "orders"}}))
      .ExpectQuery("SELECT count(*) FROM \"public\".\"orders\"", Rows({{"11"}}))
      .ExpectExec(kUnmark);
  auto r = Restore(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->mismatches,
            (std::vector<std::string>{"public.orders: backup recorded 12 rows, restored 11",
                                      "public.items: in the backup (3 rows) but not restored"}));
}

TEST_F(LogicalRestoreTest, AFailedParallelRunIsRetriedSeriallyInAFreshDatabase) {
  ExpectCreate();
  pg_.ExpectTool(
         FakeToolRun{"pg_restore", {"--jobs=2"}, "", 1, "pg_restore: error: worker process failed"})
      .ExpectExec("DROP DATABASE IF EXISTS \"restored\" WITH (FORCE)")
      .ExpectExec("CREATE DATABASE \"restored\" TEMPLATE template0")
      .ExpectExec(kMark)
      .ExpectTool(FakeToolRun{"pg_restore", {"--jobs=1"}, ""});
  ExpectCounts("12", "3");
  auto r = Restore(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->retried_serial);
  EXPECT_EQ(r->retry_reason,
            "pg_restore failed (exit 1): pg_restore: error: worker process failed");
}

TEST_F(LogicalRestoreTest, AFailedRestoreDropsTheDatabaseItCreated) {
  LogicalRestoreOptions o = Options();
  o.jobs = 1;
  ExpectCreate();
  pg_
      .ExpectTool(FakeToolRun{
          "pg_restore", {"--jobs=1"}, "", 1, "pg_restore: error: role \"app\" does not exist"})
      .ExpectExec("DROP DATABASE IF EXISTS \"restored\" WITH (FORCE)");
  auto r = Restore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTool);
  EXPECT_EQ(r.status().message(),
            "pg_restore failed (exit 1): pg_restore: error: role \"app\" does not exist; the "
            "half-restored database "
            "\"restored\" was dropped");
  EXPECT_EQ(r.status().hint(),
            "create the missing role on the target server first (globals = true keeps roles with "
            "each backup)");
}

TEST_F(LogicalRestoreTest, ADatabaseCreatedWhileStagingIsDroppedWhenTheRestoreStopsThere) {
  LogicalRestoreOptions o = Options();
  std::atomic<int> cancel{SIGTERM};
  o.cancel = &cancel;
  pg_.ExpectConnect(kAdmin)
      .ExpectQuery(kExists, Rows({}), {"restored"})
      .ExpectExec("CREATE DATABASE \"restored\" TEMPLATE template0")
      .ExpectExec(kMark)
      .ExpectExec("DROP DATABASE IF EXISTS \"restored\" WITH (FORCE)");
  auto r = Restore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInterrupted);
  EXPECT_EQ(r.status().message(), "interrupted while staging the dump");
}

TEST_F(LogicalRestoreTest, AnExistingDatabaseIsKeptWithoutClean) {
  // Refused before the dump is staged.
  pg_.ExpectConnect(kAdmin).ExpectQuery(kExists, Rows({{""}}), {"restored"});
  auto r = Restore(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(r.status().message(), "database \"restored\" already exists");
}

TEST_F(LogicalRestoreTest, CleanDropsTheExistingDatabaseOnlyOnceTheDumpIsStaged) {
  LogicalRestoreOptions o = Options();
  o.clean = true;
  pg_.ExpectConnect(kAdmin)
      .ExpectQuery(kExists, Rows({{"an app's own comment"}}), {"restored"})
      .ExpectTool(FakeToolRun{"pg_restore", {"--list"}, kToc})
      .ExpectExec("DROP DATABASE \"restored\" WITH (FORCE)")
      .ExpectExec("CREATE DATABASE \"restored\" TEMPLATE template0")
      .ExpectExec(kMark)
      .ExpectTool(FakeToolRun{"pg_restore", {}, ""});
  ExpectCounts("12", "3");
  ASSERT_TRUE(Restore(o).ok());
}

// A restore killed with SIGKILL leaves its database behind, marked. The next
// restore into that name drops it when the restore that marked it is gone
// from this host, and says so; it refuses while that restore still runs, or
// when it ran on another host, unless told --clean.
TEST_F(LogicalRestoreTest, TheLeftoverOfAKilledRestoreIsDroppedByTheNext) {
  const std::string host = mem_.env().HostName();
  const std::string dead =
      "pgkeep: restore in progress (pid 999999999 on " + host + ", started 2026-12-07T18:00:00Z)";
  pg_.ExpectConnect(kAdmin)
      .ExpectQuery(kExists, Rows({{dead}}), {"restored"})
      .ExpectExec("DROP DATABASE \"restored\" WITH (FORCE)")
      .ExpectExec("CREATE DATABASE \"restored\" TEMPLATE template0")
      .ExpectExec(kMark)
      .ExpectTool(FakeToolRun{"pg_restore", {"--list"}, kToc})
      .ExpectTool(FakeToolRun{"pg_restore", {"--jobs=2"}, ""});
  ExpectCounts("12", "3");
  auto r = Restore(Options());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->dropped_leftover, dead);
  EXPECT_TRUE(pg_.Done());
}

TEST_F(LogicalRestoreTest, ADatabaseARunningRestoreWritesIsLeftAlone) {
  const std::string host = mem_.env().HostName();
  const std::string alive = "pgkeep: restore in progress (pid " + std::to_string(::getpid()) +
                            " on " + host + ", started 2026-12-07T18:00:00Z)";
  pg_.ExpectConnect(kAdmin).ExpectQuery(kExists, Rows({{alive}}), {"restored"});
  auto r = Restore(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(r.status().message(), "database \"restored\" is being restored by pid " +
                                      std::to_string(::getpid()) + " on " + host);
  EXPECT_TRUE(pg_.Done());
  // Not even with --clean: the running restore would drop this one's database.
  LogicalRestoreOptions clean = Options();
  clean.clean = true;
  pg_.ExpectConnect(kAdmin).ExpectQuery(kExists, Rows({{alive}}), {"restored"});
  r = Restore(clean);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().hint(), "wait for that restore to end, or stop it first");

  // Marked on another host: this one cannot tell whether that restore runs.
  const std::string elsewhere =
      "pgkeep: restore in progress (pid 12 on other-host, started 2026-12-07T18:00:00Z)";
  pg_.ExpectConnect(kAdmin).ExpectQuery(kExists, Rows({{elsewhere}}), {"restored"});
  r = Restore(Options());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "database \"restored\" is being restored by pid 12 on other-host (or that restore "
            "stopped there without finishing)");
  EXPECT_EQ(r.status().hint(), "pass --clean to replace it once that restore is no longer running");
}

TEST_F(LogicalRestoreTest, ASelectionThatMatchesNothingTouchesNoDatabase) {
  LogicalRestoreOptions o = Options();
  o.tables = {"public.nope"};
  pg_.ExpectConnect(kAdmin)
      .ExpectQuery(kExists, Rows({}), {"restored"})
      .ExpectTool(FakeToolRun{
          "pg_restore", {"--list", "--schema=public", "--table=nope"}, ";\n; nothing selected\n"});
  auto r = Restore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(r.status().message(), "--schema/--table select nothing in " + backup_.id);
}

TEST_F(LogicalRestoreTest, APasswordInTheTargetIsRefusedBeforeConnecting) {
  LogicalRestoreOptions o = Options();
  o.target_conninfo = "host=db2 password=secret";
  auto r = Restore(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(r.status().message(), "the target conninfo contains a password");
}

}  // namespace
}  // namespace pgkeep
