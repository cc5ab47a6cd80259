// The CLI end to end in one process: RunCli with a manual clock and a
// scripted server (tests/support/fake_pg.h), checking what a user reads and
// the exit code. The repository is a real directory.
#include "cli/app.h"

#include <gtest/gtest.h>

#include <fstream>

#include "support/clock_env.h"
#include "support/fake_pg.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::FakeToolRun;
using testing::Rows;

struct CliRun {
  int exit_code = 0;
  std::string out;
  std::string err;
};

class CliAppTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-cli-app-");
    std::ofstream(dir_ + "/pgkeep.toml") << "[repository]\npath = \"" << dir_
                                         << "/repo\"\nencryption = \"none\"\n\n"
                                            "[database.app]\nconninfo = \"host=db1 dbname=app\"\n"
                                            "method = \"logical\"\nmax_backup_age = \"36h\"\n";
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  CliRun Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"pgkeep", "--config", dir_ + "/pgkeep.toml"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    CommandContext ctx;
    ctx.clock = &clock_;
    ctx.env = &env_;
    ctx.pg = &pg_;
    ctx.open_storage = [this](const RepositoryConfig& config) {
      return OpenConfiguredStorage(env_, config);
    };
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    CliRun r;
    r.exit_code = RunCli(static_cast<int>(argv.size()), argv.data(), std::move(ctx));
    r.out = ::testing::internal::GetCapturedStdout();
    r.err = ::testing::internal::GetCapturedStderr();
    return r;
  }
  void ExpectLogicalBackup() {
    pg_.ExpectConnect("host=db1 dbname=app")
        .ExpectExec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .ExpectQuery("SELECT pg_export_snapshot(), current_database(), version()",
                     Rows({{"00000003-1", "app", "PostgreSQL 15.4"}}))
        .ExpectTool(
            FakeToolRun{"pg_dump", {"--snapshot=00000003-1"}, "PGDMP" + std::string(1000, 'x')})
        .ExpectQuery("\nSELECT n.nspname, c.relname...", Rows({{"public", "t"}}))
        .ExpectQuery("SELECT count(*) FROM \"public\".\"t\"", Rows({{"42"}}))
        .ExpectExec("COMMIT");
  }

  std::string dir_;
  ManualClock clock_{1795392000LL * 1000000};  // 2026-11-23T00:00:00Z
  PosixEnv posix_;
  testing::ClockEnv env_{posix_, clock_};
  FakePgConnector pg_;
};

TEST_F(CliAppTest, BackupThenStatusAsTimePasses) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  CliRun none = Run({"status"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("UNHEALTHY at 2026-11-23T00:00:00Z"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("  problem: has no backup yet\n"), std::string::npos) << none.err;

  ExpectLogicalBackup();
  CliRun backup = Run({"backup", "--db", "app", "--pin", "--note", "before deploy"});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  EXPECT_EQ(backup.out.rfind("logical backup 20261123T000000Z-", 0), 0u) << backup.out;
  EXPECT_NE(backup.out.find("  tables:  1 (42 rows counted in the dump's snapshot)\n"),
            std::string::npos)
      << backup.out;
  EXPECT_NE(backup.out.find("  pinned:  until unpinned (pgkeep unpin 20261123T000000Z-"),
            std::string::npos)
      << backup.out;

  clock_.Advance(36LL * 3600 * 1000000);
  CliRun fresh = Run({"status"});
  EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
  EXPECT_EQ(fresh.out.rfind("HEALTHY at 2026-11-24T12:00:00Z\n", 0), 0u) << fresh.out;

  clock_.Advance(3600LL * 1000000);
  CliRun stale = Run({"--output", "json", "status"});
  EXPECT_EQ(stale.exit_code, 1);
  auto j = nlohmann::json::parse(stale.out);
  EXPECT_EQ(j["healthy"], false);
  ASSERT_EQ(j["reasons"].size(), 1u);
  EXPECT_NE(j["reasons"][0].get<std::string>().find(" is 37h old, more than max_backup_age 36h"),
            std::string::npos)
      << j.dump();
}

TEST_F(CliAppTest, ProgressPrintsEachStepOnStderrOnlyWhenAsked) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  ExpectLogicalBackup();
  CliRun quiet = Run({"backup", "--db", "app"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.err, "");

  clock_.Advance(1000000);
  ExpectLogicalBackup();
  CliRun r = Run({"--progress", "backup", "--db", "app"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The manual clock does not move while the backup runs: every step at 0.0 s.
  const size_t from = std::string("logical backup ").size();
  std::string id = r.out.substr(from, r.out.find(' ', from) - from);
  EXPECT_EQ(r.err,
            "pgkeep:     0.0 s  backing up database \"app\" (logical)\n"
            "pgkeep:     0.0 s  dumping database \"app\" with pg_dump\n"
            "pgkeep:     0.0 s  counting rows in the dump's snapshot\n"
            "pgkeep:     0.0 s  committing backup " +
                id + "\n");
  EXPECT_EQ(r.out.rfind("logical backup ", 0), 0u) << r.out;
}

TEST_F(CliAppTest, AKindThatDoesNotFitIsAUsageErrorAndNothingIsAsked) {
  ASSERT_EQ(Run({"init"}).exit_code, 0);
  CliRun r = Run({"backup", "--db", "app", "--type", "full"});
  EXPECT_EQ(r.exit_code, ExitCodeFor(ErrorCode::kUsage));
  EXPECT_EQ(r.err,
            "pgkeep: error: --type full does not apply to database \"app\", which has method = "
            "\"logical\"\n"
            "HINT: use --type logical, or leave --type out\n");
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliAppTest, LabelsMustBeUtf8) {
  CliRun r = Run({"backup", "--db", "app", "--label", "caf\xe9"});
  EXPECT_EQ(r.exit_code, ExitCodeFor(ErrorCode::kUsage));
  EXPECT_EQ(r.err.rfind("pgkeep: error: --label is not valid UTF-8\n", 0), 0u) << r.err;
}

TEST_F(CliAppTest, AWalFetchFailureOtherThanAbsenceStopsRecovery) {
  CliRun r = Run({"wal-fetch", "--db", "nope", "000000010000000000000001", dir_ + "/x"});
  EXPECT_EQ(r.exit_code, 126) << r.err;
}

TEST_F(CliAppTest, EveryCommandIsListedInHelp) {
  CliRun r = Run({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name :
       {"init", "store", "load", "backup", "status", "expire", "pin", "unpin", "restore", "export",
        "wal-push", "wal-fetch", "check", "list", "info", "verify"})
    EXPECT_NE(r.out.find(std::string("  ") + name + " "), std::string::npos) << name;
}

}  // namespace
}  // namespace pgkeep
