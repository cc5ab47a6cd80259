// StateStore on real SQLite files: created and migrated, kept across
// reopening, runs left "running" by a daemon that died become
// "interrupted", and files it must not use are refused with a clear error.
#include "state/state_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "support/process.h"

namespace pgkeep {
namespace {

class StateStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-state-"); }
  void TearDown() override { testing::RemoveTree(dir_); }
  std::string Path() const { return dir_ + "/state.db"; }
  std::string dir_;
};

TEST_F(StateStoreTest, RunsSlotsHealthAndAlertsSurviveReopening) {
  int64_t run_id = 0;
  {
    auto store = StateStore::Open(Path());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    EXPECT_EQ((*store)->schema_version(), kStateSchemaVersion);
    JobRun run;
    run.job = "backup/main/full";
    run.kind = "full";
    run.database = "main";
    run.trigger = "schedule";
    run.slot = 1000;
    run.started = 1001;
    auto id = (*store)->RunStarted(run);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    run_id = *id;
    ASSERT_TRUE((*store)->RunFinished(run_id, 1060, "ok", 0, "", {{"backup", "B1"}}).ok());
    run.job = "expire";
    run.kind = "expire";
    run.database = "";
    run.started = 2000;
    ASSERT_TRUE((*store)->RunStarted(run).ok());
    ASSERT_TRUE((*store)->SaveLastSlots({{"backup/main/full", 1000}, {"expire", 1900}}).ok());
    ASSERT_TRUE((*store)->SaveLastSlots({{"expire", 1950}}).ok());
    ASSERT_TRUE((*store)->AddHealth({"main", 10, "healthy", 1.5, ""}).ok());
    ASSERT_TRUE((*store)->AddHealth({"main", 20, "error", 0, "connection refused"}).ok());
    ASSERT_TRUE((*store)->SaveAlert({"database/main/reachable", true, 20, 20, "down"}).ok());
  }
  auto store = StateStore::Open(Path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto runs = (*store)->RecentRuns(10);
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].job, "expire");  // newest first
  EXPECT_EQ((*runs)[0].result, "running");
  EXPECT_EQ((*runs)[1].result, "ok");
  EXPECT_EQ((*runs)[1].finished, 1060);
  EXPECT_EQ((*runs)[1].exit_code, 0);
  EXPECT_EQ((*runs)[1].figures["backup"], "B1");
  auto only_main = (*store)->RecentRuns(10, "main");
  ASSERT_TRUE(only_main.ok());
  ASSERT_EQ(only_main->size(), 1u);
  EXPECT_EQ((*only_main)[0].id, run_id);
  EXPECT_EQ((*store)->LastSlots().value(),
            (std::map<std::string, int64_t>{{"backup/main/full", 1000}, {"expire", 1950}}));
  auto health = (*store)->RecentHealth("main", 10);
  ASSERT_TRUE(health.ok());
  ASSERT_EQ(health->size(), 2u);
  EXPECT_EQ((*health)[0].status, "error");
  EXPECT_EQ((*health)[0].detail, "connection refused");
  ASSERT_TRUE((*store)->PruneHealth(15).ok());
  EXPECT_EQ((*store)->RecentHealth("main", 10)->size(), 1u);
  auto alerts = (*store)->Alerts();
  ASSERT_TRUE(alerts.ok());
  EXPECT_TRUE(alerts->at("database/main/reachable").firing);
  ASSERT_TRUE((*store)->SaveAlert({"database/main/reachable", false, 30, 30, "back"}).ok());
  EXPECT_FALSE((*store)->Alerts()->at("database/main/reachable").firing);

  // The daemon died with "expire" running: on the next start it is interrupted.
  auto marked = (*store)->MarkInterruptedRuns(3000, "the daemon stopped while it ran");
  ASSERT_TRUE(marked.ok());
  EXPECT_EQ(*marked, 1);
  auto after = (*store)->RecentRuns(1);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)[0].result, "interrupted");
  EXPECT_EQ((*after)[0].finished, 3000);
  EXPECT_EQ((*after)[0].error, "the daemon stopped while it ran");
  EXPECT_EQ((*store)->MarkInterruptedRuns(3001, "again").value(), 0);
  EXPECT_FALSE((*store)->Run(999).value().has_value());
  EXPECT_EQ((*store)->Run(run_id).value()->kind, "full");
}

TEST_F(StateStoreTest, FilesItMustNotUseAreRefused) {
  // Not a database at all.
  std::ofstream(Path()) << "this is a text file, not a database, and it is long enough to tell";
  auto text = StateStore::Open(Path());
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), ErrorCode::kConfig) << text.status().ToString();
  EXPECT_NE(text.status().message().find("is not a pgkeep state database"), std::string::npos)
      << text.status().message();
  std::remove(Path().c_str());

  // Written by a newer pgkeep.
  {
    auto store = StateStore::Open(Path());
    ASSERT_TRUE(store.ok());
  }
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(Path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version (version) VALUES (99)", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto newer = StateStore::Open(Path());
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), ErrorCode::kConfig);
  EXPECT_NE(newer.status().message().find("schema version 99; this pgkeep knows up to 1"),
            std::string::npos)
      << newer.status().message();

  // A directory that does not exist.
  auto missing = StateStore::Open(dir_ + "/no/such/dir/state.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kIo);
  EXPECT_NE(missing.status().message().find("cannot open the state database"), std::string::npos);
}

}  // namespace
}  // namespace pgkeep
