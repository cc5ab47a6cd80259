// The scratch ledger: what a drill started is written down first, and a dead
// drill's leftovers are removed exactly (its directories, its scratch
// database), while a live drill's and another host's are left alone.
#include "drill/scratch.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fake_pg.h"
#include "support/process.h"

namespace pgkeep {
namespace {

class ScratchTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-scratch-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  // A ledger as a drill of process `pid` on `host` leaves it, with a scratch
  // directory holding a file.
  void Leave(const std::string& id, int pid, const std::string& host, const std::string& db = "") {
    std::filesystem::create_directories(dir_ + "/.pgkeep-drills");
    std::filesystem::create_directories(dir_ + "/pgkeep-drill-" + id + "/pgdata");
    std::ofstream(dir_ + "/pgkeep-drill-" + id + "/pgdata/file") << "x";
    nlohmann::json j = {{"id", id},
                        {"pid", pid},
                        {"host", host},
                        {"database", "main"},
                        {"dir", dir_ + "/pgkeep-drill-" + id},
                        {"scratch_db", db},
                        {"conninfo", db.empty() ? "" : "host=db1 dbname=app"}};
    std::ofstream(dir_ + "/.pgkeep-drills/" + id + ".json") << j.dump();
  }

  PosixEnv env_;
  std::string dir_;
};

TEST_F(ScratchTest, TheLedgerIsWrittenBeforeAndRemovedAfter) {
  ScratchEntry e;
  e.id = "20261206T000000Z-0000000a";
  auto ledger = ScratchLedger::Create(env_, dir_, e);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  std::string path = dir_ + "/.pgkeep-drills/" + e.id + ".json";
  ASSERT_TRUE(std::filesystem::exists(path));
  ledger->entry().scratch_db = "pgkeep_drill_0000000a";
  ASSERT_TRUE(ledger->Record().ok());
  std::ifstream in(path);
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["scratch_db"], "pgkeep_drill_0000000a");
  EXPECT_EQ(j["pid"], static_cast<int>(env_.ProcessId()));
  EXPECT_EQ(j["host"], env_.HostName());
  ASSERT_TRUE(ledger->Forget().ok());
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ScratchTest, OnlyDeadDrillsOfThisHostAreCleanedAndExactlyWhatTheyNamed) {
  const std::string host = env_.HostName();
  Leave("20261206T000000Z-0000000a", 999999999, host, "pgkeep_drill_0000000a");  // dead
  Leave("20261206T000000Z-0000000b", static_cast<int>(env_.ProcessId()), host);  // alive: us
  Leave("20261206T000000Z-0000000c", 999999999, "another-host");
  std::filesystem::create_directories(dir_ +
                                      "/pgkeep-drill-20261206T000000Z-0000000d");  // no ledger
  testing::FakePgConnector pg;
  pg.ExpectConnect("dbname=postgres host=db1")
      .ExpectExec("DROP DATABASE IF EXISTS \"pgkeep_drill_0000000a\" WITH (FORCE)");
  auto notes = CleanupLeftoverDrills(env_, pg, dir_, {});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(
      notes[0],
      "removed the leftovers of drill 20261206T000000Z-0000000a (its process 999999999 is gone)");
  EXPECT_TRUE(pg.Done());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pgkeep-drill-20261206T000000Z-0000000a"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/.pgkeep-drills/20261206T000000Z-0000000a.json"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/pgkeep-drill-20261206T000000Z-0000000b"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/pgkeep-drill-20261206T000000Z-0000000c"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/pgkeep-drill-20261206T000000Z-0000000d"));
}

TEST_F(ScratchTest, AScratchDatabaseThatCannotBeDroppedKeepsItsLedger) {
  Leave("20261206T000000Z-0000000a", 999999999, env_.HostName(), "pgkeep_drill_0000000a");
  testing::FakePgConnector pg;
  pg.ExpectConnectFailure("dbname=postgres host=db1",
                          Status::Error(ErrorCode::kPostgres, "connection refused"));
  auto notes = CleanupLeftoverDrills(env_, pg, dir_, {});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(
      notes[0].rfind(
          "drill 20261206T000000Z-0000000a: scratch database \"pgkeep_drill_0000000a\" is left: ",
          0),
      0u)
      << notes[0];
  // Tried again by the next drill.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/.pgkeep-drills/20261206T000000Z-0000000a.json"));
}

}  // namespace
}  // namespace pgkeep
