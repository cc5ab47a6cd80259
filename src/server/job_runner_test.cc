// RunJobProcess with a stand-in for pgkeep (a shell script): its JSON output
// and exit code recorded, its error line kept, a job past its timeout or
// asked to stop stopped (SIGTERM, then SIGKILL when it ignores that).
#include "server/job_runner.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/process.h"

namespace pgkeep {
namespace {

class JobRunnerTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-jobs-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  // A "pgkeep" that runs `body` (its arguments are in "$@").
  std::string Program(const std::string& body) {
    std::string path = dir_ + "/fake-pgkeep";
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }
  JobRunOptions Options(const std::string& body) {
    JobRunOptions o;
    o.program = Program(body);
    o.config_path = dir_ + "/pgkeep.toml";
    o.args = {"backup", "--db", "main"};
    return o;
  }

  PosixEnv env_;
  std::string dir_;
};

TEST_F(JobRunnerTest, OutputExitCodeAndErrorAreRecorded) {
  JobOutcome ok = RunJobProcess(env_, Options("echo \"{\\\"args\\\": \\\"$*\\\"}\""));
  EXPECT_EQ(ok.result, "ok");
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_TRUE(ok.error.empty());
  EXPECT_EQ(ok.output["args"], "--config " + dir_ + "/pgkeep.toml --output json backup --db main");

  JobOutcome failed =
      RunJobProcess(env_, Options("echo 'pgkeep: error: the server is down' >&2; exit 13"));
  EXPECT_EQ(failed.result, "failed");
  EXPECT_EQ(failed.exit_code, 13);
  EXPECT_NE(failed.error.find("the server is down"), std::string::npos) << failed.error;
  EXPECT_TRUE(failed.output.is_null());

  JobRunOptions missing = Options("");
  missing.program = dir_ + "/no-such-program";
  JobOutcome not_started = RunJobProcess(env_, missing);
  EXPECT_EQ(not_started.result, "failed");
  EXPECT_FALSE(not_started.error.empty());
}

TEST_F(JobRunnerTest, OutputBeyondItsBoundIsNoJsonAndTheBoundCanBeRaised) {
  // About 6 MiB of JSON: a list of 200,000 tenants, as a large retention run prints.
  const std::string body =
      "printf '{\"tenants\": ['; yes '\"tenant-xxxxxxxxxxxxxxxxxxxx\",' | head -n 200000 | "
      "tr -d '\\n'; printf '\"last\"], \"deleted\": 7}'";
  JobOutcome cut = RunJobProcess(env_, Options(body));
  EXPECT_EQ(cut.result, "ok");
  EXPECT_TRUE(cut.output.is_null());  // cut at 4 MiB: not JSON, never half of it
  JobRunOptions room = Options(body);
  room.max_output_bytes = 16 << 20;
  JobOutcome whole = RunJobProcess(env_, room);
  ASSERT_TRUE(whole.output.is_object());
  EXPECT_EQ(whole.output["deleted"], 7);
  EXPECT_EQ(whole.output["tenants"].size(), 200001u);
}

TEST_F(JobRunnerTest, AHungJobIsStoppedAtItsTimeout) {
  JobRunOptions o = Options("sleep 30");
  o.timeout_seconds = 1;
  JobOutcome r = RunJobProcess(env_, o);
  EXPECT_EQ(r.result, "timeout");
  EXPECT_EQ(r.error, "stopped after its timeout of 1 s");
  EXPECT_LT(r.seconds, 10);

  // One that ignores SIGTERM is killed after the grace.
  JobRunOptions stubborn = Options("trap '' TERM; sleep 30 & wait; sleep 30");
  stubborn.timeout_seconds = 1;
  stubborn.kill_grace_seconds = 1;
  JobOutcome k = RunJobProcess(env_, stubborn);
  EXPECT_EQ(k.result, "timeout");
  EXPECT_EQ(k.exit_code, 128 + SIGKILL);
  EXPECT_LT(k.seconds, 10);
}

TEST_F(JobRunnerTest, AStoppingDaemonStopsItsJobs) {
  std::atomic<int> stop{SIGTERM};
  JobRunOptions o = Options("sleep 30");
  o.stop = &stop;
  JobOutcome r = RunJobProcess(env_, o);
  EXPECT_EQ(r.result, "interrupted");
  EXPECT_EQ(r.error, "stopped: the daemon is shutting down");
  EXPECT_LT(r.seconds, 10);
}

TEST(JobCommandArgsTest, EachKindRunsItsCommand) {
  auto job = [](const std::string& kind, const std::string& db, const std::string& target = "") {
    return JobCommandArgs({"id", db, kind, target, *CronExpr::Parse("0 2 * * *")});
  };
  using Args = std::vector<std::string>;
  EXPECT_EQ(job("full", "main"), (Args{"backup", "--db", "main", "--type", "full"}));
  EXPECT_EQ(job("incr", "main"), (Args{"backup", "--db", "main", "--type", "incr"}));
  EXPECT_EQ(job("logical", "app"), (Args{"backup", "--db", "app"}));
  EXPECT_EQ(job("drill", "app"), (Args{"drill", "--db", "app"}));
  EXPECT_EQ(job("expire", ""), (Args{"expire"}));
  EXPECT_EQ(job("verify", ""), (Args{"verify", "--read-data", "--subset", "10"}));
  // A copy target's jobs.
  EXPECT_EQ(job("copy", "", "offsite"), (Args{"copy", "--to", "offsite"}));
  EXPECT_EQ(job("retention", "chat", "messages"),
            (Args{"retention", "run", "--policy", "messages"}));
  EXPECT_EQ(job("expire", "", "offsite"), (Args{"expire", "--from", "offsite"}));
  EXPECT_EQ(job("verify", "", "offsite"),
            (Args{"verify", "--read-data", "--subset", "10", "--from", "offsite"}));
}

}  // namespace
}  // namespace pgkeep
