// pgkeep serve as a user runs it: a one-minute schedule against a real
// PostgreSQL 15, a backup run by the scheduler, recorded in the state
// database and seen through the API (/api/backups, /api/jobs, /api/status,
// /metrics checked by promtool), and a clean stop on SIGTERM; a daemon
// killed mid-job and restarted.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "serve_fixture.h"

namespace pgkeep {
namespace {

TEST_F(ServeTest, AOneMinuteScheduleRunsABackupAndSIGTERMStopsCleanly) {
  Prepare("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
  auto serve = Serve({"--stop-grace", "30"});
  // Within the next minute boundary (and the backup's seconds), bounded; the
  // API shows it once the daemon has read the repository after the job.
  nlohmann::json listed;
  ASSERT_TRUE(WaitFor(100,
                      [&] {
                        auto [status, body] = Get("/api/backups?db=app");
                        listed = body;
                        return status == 200 && !body["backups"].empty();
                      }))
      << "no backup in /api/backups within 100 s: " << listed.dump();
  const std::string backup_id = listed["backups"][0]["id"];
  ProcessResult list =
      RunProcess({PGKEEP_BINARY, "--config", config_, "--output", "json", "list"}, "", env_);
  EXPECT_EQ(nlohmann::json::parse(list.out)["snapshots"][0]["id"], backup_id);

  auto [jobs_status, jobs] = Get("/api/jobs");
  ASSERT_EQ(jobs_status, 200);
  ASSERT_FALSE(jobs["jobs"].empty()) << jobs.dump();
  EXPECT_EQ(jobs["jobs"].back()["job"], "backup/app/logical");
  EXPECT_EQ(jobs["jobs"].back()["result"], "ok");
  EXPECT_EQ(jobs["jobs"].back()["trigger"], "schedule");

  auto [status_code, status] = Get("/api/status");
  ASSERT_EQ(status_code, 200);
  EXPECT_EQ(status["databases"][0]["name"], "app");
  // A later minute may have added a backup since: the newest one is listed.
  const auto& newest = status["databases"][0]["last_backup"]["id"];
  bool listed_newest = false;
  const nlohmann::json backups_now = Get("/api/backups").second;
  for (const auto& b : backups_now["backups"]) listed_newest |= b["id"] == newest;
  EXPECT_TRUE(listed_newest) << status.dump();

  // The metrics name the backup, and promtool accepts their format.
  auto c = Client();
  auto metrics = c.Get("/metrics", Bearer(kViewerKey));
  ASSERT_TRUE(metrics);
  ASSERT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("pgkeep_backup_last_success_timestamp_seconds{database=\"app\","
                               "kind=\"logical\"}"),
            std::string::npos)
      << metrics->body;
  EXPECT_NE(metrics->body.find("pgkeep_job_runs_total{kind=\"logical\",result=\"ok\"} "),
            std::string::npos);
  const std::string metrics_file = dir_ + "/metrics.txt";
  std::ofstream(metrics_file) << metrics->body;
  ProcessResult promtool = RunProcess({"sh", "-c", "promtool check metrics < " + metrics_file});
  EXPECT_EQ(promtool.exit_code, 0) << promtool.out << promtool.err;

  auto sent = std::chrono::steady_clock::now();
  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(35));

  auto state = StateStore::Open(dir_ + "/state.db");
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
  EXPECT_EQ(first.figures["backup"]["id"], backup_id) << first.figures.dump();
  for (const JobRun& r : *runs) EXPECT_NE(r.result, "running") << r.job;
  EXPECT_EQ((*state)->LastSlots()->count("backup/app/logical"), 1u);
}

// SIGKILL of the daemon while a job runs, then a restart: the run is
// recorded as interrupted, the repository verifies, and the schedule goes on.
TEST_F(ServeTest, AKilledDaemonsRunIsRecordedAsInterruptedAndTheNextRunHappens) {
  Prepare("CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 300000) g");
  auto running_runs = [&]() -> int {
    auto state = StateStore::Open(dir_ + "/state.db");
    if (!state.ok()) return 0;
    auto runs = (*state)->RecentRuns(10);
    int n = 0;
    if (runs.ok())
      for (const auto& r : *runs) n += r.result == "running";
    return n;
  };

  auto first = Serve();
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

  auto second = Serve();
  std::optional<JobRun> interrupted;
  bool ran_again = false;
  for (int i = 0; i < 90 * 4 && !(interrupted && ran_again); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    auto state = StateStore::Open(dir_ + "/state.db");
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
  ProcessResult verify = RunProcess({PGKEEP_BINARY, "--config", config_, "verify"}, "", env_);
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

}  // namespace
}  // namespace pgkeep
