// pgkeep serve as a user runs it: a one-minute schedule against a real
// PostgreSQL 15, a backup run by the scheduler and recorded in the state
// database, and a clean stop on SIGTERM.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "state/state_store.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;

TEST(ServeTest, AOneMinuteScheduleRunsABackupAndSIGTERMStopsCleanly) {
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE DATABASE app");
  cluster->Exec("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g", "app");
  std::string dir = testing::MakeTempDir("pgkeep-serve-");
  std::string config = dir + "/pgkeep.toml";
  std::ofstream(config) << "[repository]\npath = \"" << dir << "/repo\"\n\n[database.app]\n"
                        << "conninfo = \"" << cluster->ConnInfo("app") << "\"\n"
                        << "method = \"logical\"\nschedule = { logical = \"* * * * *\" }\n\n"
                        << "[server]\nstate = \"" << dir << "/state.db\"\n";
  std::vector<std::string> env = {"PGKEEP_REPO_PASSWORD=pw"};
  ASSERT_EQ(RunProcess({PGKEEP_BINARY, "--config", config, "init"}, "", env).exit_code, 0);

  auto serve = testing::ChildProcess::Spawn(
      {PGKEEP_BINARY, "--config", config, "serve", "--stop-grace", "30"}, env, "", "/dev/null");
  // Within the next minute boundary (and the backup's seconds), bounded.
  nlohmann::json listed;
  for (int i = 0; i < 90 * 4; ++i) {
    ProcessResult list =
        RunProcess({PGKEEP_BINARY, "--config", config, "--output", "json", "list"}, "", env);
    listed = nlohmann::json::parse(list.out.empty() ? "{}" : list.out, nullptr, false);
    if (listed.is_object() && listed.contains("snapshots") && !listed["snapshots"].empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_TRUE(listed.is_object() && listed.contains("snapshots") && !listed["snapshots"].empty())
      << "no backup within 90 s: " << listed.dump();

  auto sent = std::chrono::steady_clock::now();
  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(35));

  auto state = StateStore::Open(dir + "/state.db");
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  auto runs = (*state)->RecentRuns(10);
  ASSERT_TRUE(runs.ok());
  ASSERT_FALSE(runs->empty());
  const JobRun& first = runs->back();
  EXPECT_EQ(first.job, "backup/app/logical");
  EXPECT_EQ(first.database, "app");
  EXPECT_EQ(first.trigger, "schedule");
  EXPECT_EQ(first.result, "ok") << first.error;
  EXPECT_EQ(first.slot % 60, 0);
  EXPECT_EQ(first.figures["backup"]["id"], listed["snapshots"][0]["id"]) << first.figures.dump();
  for (const JobRun& r : *runs) EXPECT_NE(r.result, "running") << r.job;
  EXPECT_EQ((*state)->LastSlots()->count("backup/app/logical"), 1u);
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace pgkeep
