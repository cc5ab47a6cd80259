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
  // directory holding a file; `dir` overrides the directory it names.
  void Leave(const std::string& id, int pid, const std::string& host, bool scratch_db = false,
             const std::string& dir = "") {
    std::filesystem::create_directory(dir_ + "/.pgkeep-drills");
    std::filesystem::permissions(dir_ + "/.pgkeep-drills", std::filesystem::perms::owner_all);
    std::filesystem::create_directories(dir_ + "/pgkeep-drill-" + id + "/pgdata");
    std::ofstream(dir_ + "/pgkeep-drill-" + id + "/pgdata/file") << "x";
    std::ifstream boot("/proc/sys/kernel/random/boot_id");
    std::string boot_id;
    std::getline(boot, boot_id);
    nlohmann::json j = {{"id", id},
                        {"pid", pid},
                        {"host", host},
                        {"boot_id", boot_id},
                        {"database", "main"},
                        {"dir", dir.empty() ? dir_ + "/pgkeep-drill-" + id : dir},
                        {"scratch_db", scratch_db ? ScratchDatabaseFor(id) : ""},
                        {"conninfo", "host=evil dbname=prod"}};  // never used: the config's is
    std::ofstream(dir_ + "/.pgkeep-drills/" + id + ".json") << j.dump();
  }
  std::map<std::string, DatabaseConfig> Databases() {
    DatabaseConfig db;
    db.name = "main";
    db.conninfo = "host=db1 dbname=app";
    return {{"main", db}};
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
  Leave("20261206T000000Z-0000000a", 999999999, host, true);                     // dead
  Leave("20261206T000000Z-0000000b", static_cast<int>(env_.ProcessId()), host);  // alive: us
  Leave("20261206T000000Z-0000000c", 999999999, "another-host");
  std::filesystem::create_directories(dir_ +
                                      "/pgkeep-drill-20261206T000000Z-0000000d");  // no ledger
  testing::FakePgConnector pg;
  pg.ExpectConnect("dbname=postgres host=db1")
      .ExpectExec("DROP DATABASE IF EXISTS \"pgkeep_drill_0000000a\" WITH (FORCE)");
  auto notes = CleanupLeftoverDrills(env_, pg, dir_, Databases(), {});
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
  Leave("20261206T000000Z-0000000a", 999999999, env_.HostName(), true);
  testing::FakePgConnector pg;
  pg.ExpectConnectFailure("dbname=postgres host=db1",
                          Status::Error(ErrorCode::kPostgres, "connection refused"));
  auto notes = CleanupLeftoverDrills(env_, pg, dir_, Databases(), {});
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

TEST_F(ScratchTest, APlantedLedgerCannotMakeADrillDeleteOrDropAnythingElse) {
  // A ledger naming a directory no drill of that id can have made.
  std::filesystem::create_directories(dir_ + "/precious");
  Leave("20261206T000000Z-0000000a", 999999999, env_.HostName(), false, dir_ + "/precious");
  testing::FakePgConnector pg;  // no connection is expected
  auto notes = CleanupLeftoverDrills(env_, pg, dir_, Databases(), {});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(
      notes[0].find("names what drill 20261206T000000Z-0000000a cannot have made; left in place"),
      std::string::npos)
      << notes[0];
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/precious"));

  // A ledger directory others may enter or write is not used at all.
  std::filesystem::permissions(dir_ + "/.pgkeep-drills", std::filesystem::perms::others_write,
                               std::filesystem::perm_options::add);
  notes = CleanupLeftoverDrills(env_, pg, dir_, Databases(), {});
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("is not a drill ledger of this user"), std::string::npos) << notes[0];
  ScratchEntry e;
  e.id = "20261206T000000Z-0000000b";
  EXPECT_EQ(ScratchLedger::Create(env_, dir_, e).status().code(), ErrorCode::kConfig);
  EXPECT_TRUE(pg.Done());
}

}  // namespace
}  // namespace pgkeep
