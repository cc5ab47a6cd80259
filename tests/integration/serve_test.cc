// pgkeep serve as a user runs it: a one-minute schedule against a real
// PostgreSQL 15, a backup run by the scheduler and recorded in the state
// database, and a clean stop on SIGTERM.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
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

// SIGKILL of the daemon while a job runs, then a restart: the run is
// recorded as interrupted, the repository verifies, and the schedule goes on.
TEST(ServeTest, AKilledDaemonsRunIsRecordedAsInterruptedAndTheNextRunHappens) {
  auto cluster = PgCluster::Start();
  cluster->Exec("CREATE DATABASE app");
  cluster->Exec(
      "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g",
      "app");
  std::string dir = testing::MakeTempDir("pgkeep-serve-");
  std::string config = dir + "/pgkeep.toml";
  std::ofstream(config) << "[repository]\npath = \"" << dir << "/repo\"\n\n[database.app]\n"
                        << "conninfo = \"" << cluster->ConnInfo("app") << "\"\n"
                        << "method = \"logical\"\nschedule = { logical = \"* * * * *\" }\n\n"
                        << "[server]\nstate = \"" << dir << "/state.db\"\n";
  std::vector<std::string> env = {"PGKEEP_REPO_PASSWORD=pw"};
  ASSERT_EQ(RunProcess({PGKEEP_BINARY, "--config", config, "init"}, "", env).exit_code, 0);
  auto running_runs = [&]() -> int {
    auto state = StateStore::Open(dir + "/state.db");
    if (!state.ok()) return 0;
    auto runs = (*state)->RecentRuns(10);
    int n = 0;
    if (runs.ok())
      for (const auto& r : *runs) n += r.result == "running";
    return n;
  };

  auto first = testing::ChildProcess::Spawn({PGKEEP_BINARY, "--config", config, "serve"}, env, "",
                                            "/dev/null");
  bool caught = false;
  for (int i = 0; i < 90 * 20 && !caught; ++i) {
    caught = running_runs() > 0;
    if (!caught) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(caught) << "no job started within 90 s";
  first.Kill(SIGKILL);
  first.Wait();
  // The orphaned job finishes on its own (its process group was not signalled).
  std::this_thread::sleep_for(std::chrono::seconds(3));

  auto second = testing::ChildProcess::Spawn({PGKEEP_BINARY, "--config", config, "serve"}, env, "",
                                             "/dev/null");
  std::optional<JobRun> interrupted;
  bool ran_again = false;
  for (int i = 0; i < 90 * 4 && !(interrupted && ran_again); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto state = StateStore::Open(dir + "/state.db");
    if (!state.ok()) continue;
    auto runs = (*state)->RecentRuns(10);
    if (!runs.ok()) continue;
    for (const auto& r : *runs) {
      if (r.result == "interrupted") interrupted = r;
      if (r.result == "ok") ran_again = true;
    }
  }
  second.Kill(SIGTERM);
  EXPECT_EQ(second.Wait(), 0);
  ASSERT_TRUE(interrupted.has_value()) << "the killed daemon's run was not marked interrupted";
  EXPECT_EQ(interrupted->error, "the daemon stopped while it ran");
  EXPECT_TRUE(ran_again) << "no run after the restart";
  ProcessResult verify = RunProcess({PGKEEP_BINARY, "--config", config, "verify"}, "", env);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  testing::RemoveTree(dir);
}

}  // namespace
}  // namespace pgkeep
