// Physical backups, WAL archiving and point-in-time recovery against a real
// PostgreSQL 15, through the pgkeep binary as PostgreSQL and a user run it.
//
// One cluster serves the suite. Its archive_command runs a copy of pgkeep in
// the suite's directory with a configuration file that each test rewrites to
// point at its own fresh repository, so tests do not see each other's
// backups. pgkeep runs as the cluster's OS user (postgres when the tests run
// as root), as it does in production: archive_command runs as that user too,
// and both must be able to write the repository.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::ChownToOsUser;
using testing::OsUser;
using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// First column of the first row, or throws.
std::string QueryPort(int port, const std::string& sql) {
  std::string conninfo =
      "host=127.0.0.1 user=postgres dbname=postgres port=" + std::to_string(port);
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("connect to port " + std::to_string(port) + ": " + e);
  }
  PGresult* r = PQexec(c, sql.c_str());
  std::string out;
  bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0;
  if (ok) out = PQgetvalue(r, 0, 0);
  std::string e = PQerrorMessage(c);
  PQclear(r);
  PQfinish(c);
  if (!ok) throw std::runtime_error(sql + ": " + e);
  return out;
}

class PhysicalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new std::string(testing::MakeTempDir("pgkeep-physical-"));
    std::filesystem::copy_file(PGKEEP_BINARY, *suite_dir_ + "/pgkeep");
    std::ofstream(*suite_dir_ + "/password") << "correct horse battery staple\n";
    chmod((*suite_dir_ + "/password").c_str(), 0600);
    ChownToOsUser(*suite_dir_);
    testing::PgClusterOptions opts;
    opts.extra_conf = {"archive_mode = on",
                       "archive_command = '" + *suite_dir_ + "/pgkeep --config " + *suite_dir_ +
                           "/pgkeep.toml wal-push --db main %p'",
                       "max_wal_size = 256MB"};
    cluster_ = PgCluster::Start(opts).release();
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
    testing::RemoveTree(*suite_dir_);
    delete suite_dir_;
  }

  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    repo_ = *suite_dir_ + "/repo-" + info->name();
    WriteConfig(config_path(), true);
    ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
    // WAL from earlier tests may still be on its way to their repositories:
    // a switch that reaches this one proves archiving now lands here.
    ProcessResult check = Pgkeep({"check", "--db", "main"});
    ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  }
  void TearDown() override {
    for (const auto& dir : restored_) {
      RunProcess({std::string(kBin) + "/pg_ctl", "-D", dir, "-m", "immediate", "stop"}, "", {},
                 OsUser());
      testing::RemoveTree(dir);
    }
  }

  std::string config_path() const { return *suite_dir_ + "/pgkeep.toml"; }

  // `local`: pgdata set (files read locally); else the replication stream.
  void WriteConfig(const std::string& path, bool local, const std::string& conninfo = "",
                   const std::string& database_lines = "") {
    std::ofstream(path) << "[repository]\npath = \"" << repo_ << "\"\npassword_file = \""
                        << *suite_dir_ << "/password\"\n\n[database.main]\nconninfo = \""
                        << (conninfo.empty() ? cluster_->ConnInfo() : conninfo)
                        << "\"\nmethod = \"physical\"\n"
                        << (local ? "pgdata = \"" + cluster_->datadir() + "\"\n" : "")
                        << database_lines << "\n[server]\nstate = \"" << *suite_dir_
                        << "/state/state.db\"\n";
    ChownToOsUser(path);
  }

  // ALTER SYSTEM SET archive_command = `value` (RESET when nullopt), reloads,
  // and returns once a new session sees the change (polled, bounded).
  void SetArchiveCommand(const std::optional<std::string>& value) {
    if (!value && original_archive_command_.empty()) return;
    if (original_archive_command_.empty())
      original_archive_command_ = cluster_->Query("SHOW archive_command");
    cluster_->Exec(value ? "ALTER SYSTEM SET archive_command = '" + *value + "'"
                         : "ALTER SYSTEM RESET archive_command");
    cluster_->Query("SELECT pg_reload_conf()::text");
    std::string want = value ? *value : original_archive_command_;
    for (int i = 0; i < 200 && cluster_->Query("SHOW archive_command") != want; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_EQ(cluster_->Query("SHOW archive_command"), want) << "the reload never took effect";
  }
  std::string original_archive_command_;

  ProcessResult Pgkeep(std::vector<std::string> args, const std::string& config = "",
                       const std::vector<std::string>& env = {}) {
    args.insert(args.begin(),
                {*suite_dir_ + "/pgkeep", "--config", config.empty() ? config_path() : config});
    return RunProcess(args, "", env, OsUser());
  }
  nlohmann::json Json(std::vector<std::string> args, int expected_exit = 0,
                      const std::string& config = "") {
    args.insert(args.begin(), {"--output", "json"});
    ProcessResult r = Pgkeep(args, config);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return nlohmann::json::parse(r.out.empty() ? "{}" : r.out, nullptr, false);
  }

  // Restores into a fresh directory, starts it, and returns its port.
  int RestoreAndStart(std::vector<std::string> extra) {
    std::string dir = *suite_dir_ + "/restore-" + std::to_string(restored_.size()) + "-" +
                      ::testing::UnitTest::GetInstance()->current_test_info()->name();
    restored_.push_back(dir);
    int port = FreePort();
    std::vector<std::string> args = {"restore",     "--db",    "main",   "--pgdata",
                                     dir,           "--start", "--port", std::to_string(port),
                                     "--no-archive"};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return port;
  }

  static std::string* suite_dir_;
  static PgCluster* cluster_;
  std::string repo_;
  std::vector<std::string> restored_;
};

std::string* PhysicalTest::suite_dir_ = nullptr;
PgCluster* PhysicalTest::cluster_ = nullptr;

TEST_F(PhysicalTest, RecoversToTimeRestorePointLsnAndLatest) {
  cluster_->Exec("DROP TABLE IF EXISTS pitr; CREATE TABLE pitr (id int PRIMARY KEY, batch text)");
  cluster_->Exec("INSERT INTO pitr SELECT g, 'first' FROM generate_series(1, 1000) g");
  nlohmann::json backup = Json({"backup", "--db", "main", "--type", "full"});
  ASSERT_EQ(backup["backup"]["kind"], "full");
  cluster_->Exec("INSERT INTO pitr SELECT g, 'second' FROM generate_series(1001, 1100) g");
  std::string t1 = cluster_->Query("SELECT clock_timestamp()::text");
  std::string lsn1 = cluster_->Query("SELECT pg_current_wal_insert_lsn()::text");
  cluster_->Query("SELECT pg_create_restore_point('before_third')::text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  cluster_->Exec("INSERT INTO pitr SELECT g, 'third' FROM generate_series(1101, 1150) g");
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);  // a switch: all of it archived

  int at_time = RestoreAndStart({"--target-time", t1});
  EXPECT_EQ(QueryPort(at_time, "SELECT count(*) FROM pitr"), "1100");
  EXPECT_EQ(QueryPort(at_time, "SELECT count(*) FROM pitr WHERE batch = 'third'"), "0");
  int at_name = RestoreAndStart({"--target-name", "before_third"});
  EXPECT_EQ(QueryPort(at_name, "SELECT count(*) FROM pitr"), "1100");
  int at_lsn = RestoreAndStart({"--target-lsn", lsn1});
  EXPECT_EQ(QueryPort(at_lsn, "SELECT count(*) FROM pitr"), "1100");
  int latest = RestoreAndStart({});
  EXPECT_EQ(QueryPort(latest, "SELECT count(*) FROM pitr"), "1150");
}

// What a user does to undo an accidental DELETE: restore a copy to a time
// before it and start it. A copy must not archive by default; one made to
// archive anyway (as a user could by hand) must not steer any restore of the
// original, which status must flag while both archive.
TEST_F(PhysicalTest, ARestoredCopyNeverHarmsTheOriginal) {
  cluster_->Exec(
      "DROP TABLE IF EXISTS lineage; CREATE TABLE lineage (id int PRIMARY KEY, batch text)");
  cluster_->Exec("INSERT INTO lineage SELECT g, 'first' FROM generate_series(1, 1000) g");
  Json({"backup", "--db", "main", "--type", "full"});
  cluster_->Exec("INSERT INTO lineage SELECT g, 'second' FROM generate_series(1001, 1100) g");
  std::string fork_time = cluster_->Query("SELECT clock_timestamp()::text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  cluster_->Exec("INSERT INTO lineage SELECT g, 'third' FROM generate_series(1101, 1150) g");
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);

  // A copy elsewhere does not archive unless asked.
  auto restore_copy = [&](const std::vector<std::string>& extra) {
    std::string dir = *suite_dir_ + "/copy-" + std::to_string(restored_.size());
    restored_.push_back(dir);
    int port = FreePort();
    std::vector<std::string> args = {"--output", "json",     "restore", "--db",
                                     "main",     "--pgdata", dir,       "--target-time",
                                     fork_time,  "--start",  "--port",  std::to_string(port)};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return std::make_pair(port, nlohmann::json::parse(r.out, nullptr, false));
  };
  auto [quiet_port, quiet] = restore_copy({});
  EXPECT_EQ(quiet["archiving"], false);
  EXPECT_EQ(QueryPort(quiet_port, "SHOW archive_mode"), "off");
  QueryPort(quiet_port, "SELECT pg_switch_wal()::text");

  auto [copy_port, copy] = restore_copy({"--archive-mode", "preserve"});
  EXPECT_EQ(copy["archiving"], true);
  EXPECT_EQ(QueryPort(copy_port, "SHOW archive_mode"), "on");
  EXPECT_EQ(QueryPort(copy_port, "SELECT count(*) FROM lineage"), "1100");
  QueryPort(copy_port,
            "INSERT INTO lineage SELECT g, 'copy' FROM generate_series(5000, 5499) g RETURNING 1");
  QueryPort(copy_port, "SELECT pg_switch_wal()::text");
  // Until the copy's timeline has a segment in the repository.
  std::string history = repo_ + "/wal/main/00000002.history";
  nlohmann::json listed;
  for (int i = 0; i < 100; ++i) {
    listed = Json({"list", "--db", "main"});
    bool arrived = false;
    for (const auto& t : listed["timelines"]["main"])
      arrived |= t["timeline"] == 2 && t["segments"] > 0;
    if (arrived) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  ASSERT_TRUE(std::filesystem::exists(history)) << listed.dump();
  // The quiet copy archived nothing (not even its own timeline's history).
  EXPECT_FALSE(std::filesystem::exists(repo_ + "/wal/main/00000003.history"));

  // Production goes on, on timeline 1.
  cluster_->Exec("INSERT INTO lineage SELECT g, 'fourth' FROM generate_series(1151, 1220) g");
  std::string t2 = cluster_->Query("SELECT clock_timestamp()::text");
  std::string lsn2 = cluster_->Query("SELECT pg_current_wal_insert_lsn()::text");
  cluster_->Query("SELECT pg_create_restore_point('after_fork')::text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  cluster_->Exec("INSERT INTO lineage SELECT g, 'fifth' FROM generate_series(1221, 1250) g");
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);

  // Every restore of the original reaches its target on timeline 1.
  struct Case {
    std::vector<std::string> target;
    std::string rows;
  };
  const Case cases[] = {{{}, "1250"},
                        {{"--target", "latest"}, "1250"},
                        {{"--target-time", t2}, "1220"},
                        {{"--target-name", "after_fork"}, "1220"},
                        {{"--target-lsn", lsn2}, "1220"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target.empty() ? "default" : c.target[0]);
    int port = RestoreAndStart(c.target);
    EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM lineage"), c.rows);
    EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM lineage WHERE batch = 'copy'"), "0");
  }
  // The copy's timeline is there for who asks for it.
  int copy_line = RestoreAndStart({"--target-timeline", "2"});
  EXPECT_EQ(QueryPort(copy_line, "SELECT count(*) FROM lineage WHERE batch = 'copy'"), "500");
  EXPECT_EQ(QueryPort(copy_line, "SELECT count(*) FROM lineage"), "1600");

  // Status draws the tree and, once timeline 1 archives well after timeline
  // 2 appeared (the copy made ten minutes ago), says two servers archive.
  struct timespec old_times[2] = {{time(nullptr) - 600, 0}, {time(nullptr) - 600, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, history.c_str(), old_times, 0), 0);
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  ProcessResult status = Pgkeep({"status", "--db", "main"});
  EXPECT_EQ(status.exit_code, 1) << status.out;
  std::string said = status.out + status.err;
  EXPECT_NE(said.find("two servers archive WAL at once: timeline 1"), std::string::npos) << said;
  EXPECT_NE(said.find("└─ timeline 2 from 1 at 0/"), std::string::npos) << said;
  ProcessResult verify = Pgkeep({"verify"});
  EXPECT_NE((verify.out + verify.err).find("└─ timeline 2 from 1 at 0/"), std::string::npos)
      << verify.out;
  ProcessResult list = Pgkeep({"list", "--db", "main"});
  EXPECT_NE(list.out.find("└─ timeline 2 from 1 at 0/"), std::string::npos) << list.out;
}

TEST_F(PhysicalTest, BackupDuringPgbenchLoadPassesAmcheck) {
  ProcessResult init =
      RunProcess({std::string(kBin) + "/pgbench", "-i", "-s", "3", "-q", "-h", "127.0.0.1", "-p",
                  std::to_string(cluster_->port()), "-U", "postgres", "postgres"},
                 "", {}, OsUser());
  ASSERT_EQ(init.exit_code, 0) << init.err;
  // A bounded load: 2 clients for at most 20 s, ended as soon as the backup is done.
  auto load = testing::ChildProcess::Spawn(
      {std::string(kBin) + "/pgbench", "-c", "2", "-T", "20", "-n", "-h", "127.0.0.1", "-p",
       std::to_string(cluster_->port()), "-U", "postgres", "postgres"},
      {}, "", "/dev/null");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  nlohmann::json backup = Json({"backup", "--db", "main"});
  load.Kill(SIGINT);
  load.Wait();
  EXPECT_EQ(backup["backup"]["meta"]["corrupt_page_count"], 0);
  EXPECT_GT(backup["backup"]["meta"]["pages_checked"].get<int>(), 1000);
  int port = RestoreAndStart({"--target", "immediate"});
  ProcessResult amcheck =
      RunProcess({std::string(kBin) + "/pg_amcheck", "-h", "127.0.0.1", "-p", std::to_string(port),
                  "-U", "postgres", "--all", "--install-missing", "--heapallindexed"},
                 "", {}, OsUser());
  EXPECT_EQ(amcheck.exit_code, 0) << amcheck.out << amcheck.err;
  EXPECT_EQ(QueryPort(port, "SELECT count(*) > 0 FROM pgbench_accounts"), "t");
}

TEST_F(PhysicalTest, IncrementalStoresASmallFractionOfAFull) {
  cluster_->Exec("DROP TABLE IF EXISTS bulk; CREATE TABLE bulk (id int PRIMARY KEY, body text)");
  cluster_->Exec(
      "INSERT INTO bulk SELECT g, md5(g::text) || repeat(md5((g * 7)::text), 4) FROM "
      "generate_series(1, 200000) g");
  nlohmann::json full = Json({"backup", "--db", "main", "--type", "full"});
  cluster_->Exec("UPDATE bulk SET body = 'changed' WHERE id <= 100");
  nlohmann::json incr = Json({"backup", "--db", "main", "--type", "incr"});
  ASSERT_EQ(incr["backup"]["kind"], "incr");
  EXPECT_EQ(incr["backup"]["meta"]["parent"], full["backup"]["id"]);
  uint64_t full_stored = full["backup"]["stats"]["stored_bytes"];
  uint64_t incr_stored = incr["backup"]["stats"]["stored_bytes"];
  EXPECT_GT(full_stored, 5u << 20);
  EXPECT_LT(incr_stored * 10, full_stored)
      << "incremental " << incr_stored << " of full " << full_stored;
  // Every backup restores on its own.
  int port = RestoreAndStart({"--backup", incr["backup"]["id"], "--target", "immediate"});
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM bulk WHERE body = 'changed'"), "100");
}

TEST_F(PhysicalTest, ReplicationStreamBackupRestores) {
  cluster_->Exec(
      "DROP TABLE IF EXISTS streamed; CREATE TABLE streamed AS SELECT g AS id FROM "
      "generate_series(1, 5000) g");
  std::string stream_config = *suite_dir_ + "/stream.toml";
  WriteConfig(stream_config, false);
  nlohmann::json backup = Json({"backup", "--db", "main"}, 0, stream_config);
  EXPECT_EQ(backup["backup"]["meta"]["method"], "stream");
  EXPECT_GT(backup["backup"]["meta"]["pages_checked"].get<int>(), 100);
  // The same snapshot shape as a local backup: backup_label is a file of it.
  nlohmann::json info = Json({"info", backup["backup"]["id"]});
  bool has_label = false;
  for (const auto& f : info["files"]) has_label |= f["path"] == "backup_label";
  EXPECT_TRUE(has_label);
  int port = RestoreAndStart({"--backup", backup["backup"]["id"], "--target", "immediate"});
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM streamed"), "5000");
}

TEST_F(PhysicalTest, CorruptPagesAreReportedAndCounted) {
  cluster_->Exec(
      "DROP TABLE IF EXISTS damaged; CREATE TABLE damaged AS SELECT g AS id, md5(g::text) AS v "
      "FROM generate_series(1, 2000) g");
  cluster_->Exec("CHECKPOINT");
  std::string rel = cluster_->Query("SELECT pg_relation_filepath('damaged')");
  {
    std::fstream f(cluster_->datadir() + "/" + rel,
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8192 + 4000);  // block 1, past the header
    f.write("XXXX", 4);
  }
  for (const std::string& config : {config_path(), *suite_dir_ + "/stream.toml"}) {
    if (config != config_path()) WriteConfig(config, false);
    ProcessResult r = Pgkeep({"backup", "--db", "main"}, config);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE((r.out + r.err).find("page checksum mismatch in \"" + rel + "\", block 1"),
              std::string::npos)
        << r.out << r.err;
    nlohmann::json info = Json({"info", "latest"});
    EXPECT_EQ(info["snapshot"]["meta"]["corrupt_page_count"], 1);
    EXPECT_EQ(info["snapshot"]["meta"]["corrupt_pages"][0]["file"], rel);
  }
  cluster_->Exec("DROP TABLE damaged");
}

TEST_F(PhysicalTest, WalPushIsIdempotentAndRefusesDifferentContent) {
  std::string seg = Json({"check", "--db", "main"})["segment"];
  std::string copy = *suite_dir_ + "/" + seg;
  ASSERT_EQ(Pgkeep({"wal-fetch", "--db", "main", seg, copy}).exit_code, 0);
  nlohmann::json again = Json({"wal-push", "--db", "main", copy});
  EXPECT_EQ(again["already_archived"], true);
  {
    std::fstream f(copy, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100000);
    f.write("different", 9);
  }
  ProcessResult conflict = Pgkeep({"wal-push", "--db", "main", copy});
  EXPECT_EQ(conflict.exit_code, 15) << conflict.err;
  EXPECT_NE(conflict.err.find("already archived"), std::string::npos) << conflict.err;
  // A segment of another cluster (system identifier at offset 24) under a new name.
  std::string foreign = *suite_dir_ + "/0000000100000000000000FE";
  std::filesystem::copy_file(copy, foreign);
  {
    std::fstream f(foreign, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(24);
    f.write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
  }
  ChownToOsUser(*suite_dir_);
  ProcessResult other = Pgkeep({"wal-push", "--db", "main", foreign});
  EXPECT_EQ(other.exit_code, 15) << other.err;
  EXPECT_NE(other.err.find("belongs to PostgreSQL cluster"), std::string::npos) << other.err;
  // restore_command contract: exit 1 when absent.
  EXPECT_EQ(Pgkeep({"wal-fetch", "--db", "main", "0000000100000000000000FD", *suite_dir_ + "/x"})
                .exit_code,
            1);
}

// Two archivers (a primary and a copy someone left archiving) push one new WAL
// name with different contents at the same instant: exactly one wins, the
// other fails loudly, and the archive holds the winner's bytes.
TEST_F(PhysicalTest, RacingPushesOfDifferentContentLetExactlyOneWin) {
  std::string seg = Json({"check", "--db", "main"})["segment"];
  std::string original = *suite_dir_ + "/race-" + seg;
  ASSERT_EQ(Pgkeep({"wal-fetch", "--db", "main", seg, original}).exit_code, 0);
  for (int round = 0; round < 6; ++round) {
    char name[32];
    std::snprintf(name, sizeof name, "0000000100000000000000%02X", 0xE0 + round);
    std::string dir = *suite_dir_ + "/race-" + std::to_string(round);
    std::vector<std::string> paths;
    for (int writer = 0; writer < 2; ++writer) {
      std::filesystem::create_directories(dir + "/" + std::to_string(writer));
      paths.push_back(dir + "/" + std::to_string(writer) + "/" + name);
      std::filesystem::copy_file(original, paths.back());
      std::fstream f(paths.back(), std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(200000);
      f.write(writer == 0 ? "writer A" : "writer B", 8);
    }
    ChownToOsUser(*suite_dir_);
    ProcessResult results[2];
    std::thread a([&] { results[0] = Pgkeep({"wal-push", "--db", "main", paths[0]}); });
    std::thread b([&] { results[1] = Pgkeep({"wal-push", "--db", "main", paths[1]}); });
    a.join();
    b.join();
    int winners = (results[0].exit_code == 0) + (results[1].exit_code == 0);
    ASSERT_EQ(winners, 1) << name << ": " << results[0].err << " / " << results[1].err;
    int winner = results[0].exit_code == 0 ? 0 : 1;
    const ProcessResult& loser = results[1 - winner];
    EXPECT_EQ(loser.exit_code, 15) << loser.err;
    EXPECT_NE(loser.err.find("already archived"), std::string::npos) << loser.err;
    std::string fetched = dir + "/fetched";
    ASSERT_EQ(Pgkeep({"wal-fetch", "--db", "main", name, fetched}).exit_code, 0);
    EXPECT_EQ(ReadFile(fetched), ReadFile(paths[winner])) << name;
  }
}

TEST_F(PhysicalTest, ClearErrorsWithDocumentedExitCodes) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  auto expect = [&](const std::vector<std::string>& args, int code, const std::string& text,
                    const std::string& config = "", const std::vector<std::string>& env = {}) {
    ProcessResult r = Pgkeep(args, config, env);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'),
              r.err.find("HINT:") == std::string::npos ? 1 : 2)
        << r.err;
  };
  // Unreachable server.
  std::string down = *suite_dir_ + "/down.toml";
  WriteConfig(
      down, true,
      "host=127.0.0.1 port=" + std::to_string(FreePort()) + " user=postgres dbname=postgres");
  expect({"backup", "--db", "main"}, 13, "cannot connect", down);
  // Wrong credentials.
  cluster_->Exec("DROP ROLE IF EXISTS pwuser; CREATE ROLE pwuser LOGIN PASSWORD 'right'");
  {
    std::string hba = cluster_->datadir() + "/pg_hba.conf";
    std::ifstream in(hba);
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(hba) << "host all pwuser 127.0.0.1/32 scram-sha-256\n" << rest;
  }
  cluster_->Query("SELECT pg_reload_conf()::text");
  std::string creds = *suite_dir_ + "/creds.toml";
  WriteConfig(
      creds, true,
      "host=127.0.0.1 port=" + std::to_string(cluster_->port()) + " user=pwuser dbname=postgres");
  expect({"backup", "--db", "main"}, 13, "password authentication failed", creds,
         {"PGPASSWORD=wrong"});
  // archive_command not set.
  SetArchiveCommand("");
  expect({"backup", "--db", "main"}, 1, "archive_command is not set");
  expect({"check", "--db", "main"}, 1, "archive_command is not set");
  SetArchiveCommand(std::nullopt);
  // Non-empty target directory: refused before anything is written.
  std::string full_dir = *suite_dir_ + "/not-empty";
  std::filesystem::create_directory(full_dir);
  std::ofstream(full_dir + "/keep-me") << "x";
  expect({"restore", "--db", "main", "--pgdata", full_dir}, 2, "is not empty");
  EXPECT_TRUE(std::filesystem::exists(full_dir + "/keep-me"));
  // Unknown backup id.
  expect({"restore", "--db", "main", "--pgdata", *suite_dir_ + "/new1", "--backup",
          "20990101T000000Z-00000000"},
         12, "no backup \"20990101T000000Z-00000000\"");
  // Target time before the first backup.
  expect({"restore", "--db", "main", "--pgdata", *suite_dir_ + "/new2", "--target-time",
          "2001-01-01 00:00:00"},
         12, "is before the first backup");
  EXPECT_FALSE(std::filesystem::exists(*suite_dir_ + "/new1"));
  EXPECT_FALSE(std::filesystem::exists(*suite_dir_ + "/new2"));
  // Bad target syntax.
  expect(
      {"restore", "--db", "main", "--pgdata", *suite_dir_ + "/new3", "--target-time", "yesterday"},
      2, "is not a time");
}

TEST_F(PhysicalTest, TablespacesComeBackWhereTheyAreMapped) {
  std::string location = *suite_dir_ + "/ts1";
  std::filesystem::create_directory(location);
  ChownToOsUser(location);
  cluster_->Exec("CREATE TABLESPACE ts1 LOCATION '" + location + "'");
  cluster_->Exec(
      "CREATE TABLE spaced TABLESPACE ts1 AS SELECT g AS id FROM generate_series(1, 3000) g");
  std::string oid = cluster_->Query("SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'");
  std::string stream_config = *suite_dir_ + "/stream.toml";
  WriteConfig(stream_config, false);
  for (const std::string& config : {config_path(), stream_config}) {
    nlohmann::json backup = Json({"backup", "--db", "main"}, 0, config)["backup"];
    ASSERT_EQ(backup["meta"]["tablespaces"].size(), 1u) << backup.dump(2);
    EXPECT_EQ(backup["meta"]["tablespaces"][0]["oid"], oid);
    EXPECT_EQ(backup["meta"]["tablespaces"][0]["location"], location);
    // The original location is in use: refused, with the way out named.
    ProcessResult refused = Pgkeep({"restore", "--db", "main", "--pgdata",
                                    *suite_dir_ + "/ts-refused", "--backup", backup["id"]});
    EXPECT_EQ(refused.exit_code, 2);
    EXPECT_NE(refused.err.find("--tablespace-map " + oid + "=DIR"), std::string::npos)
        << refused.err;
    std::string moved = *suite_dir_ + "/ts1-" + backup["meta"]["method"].get<std::string>();
    int port = RestoreAndStart(
        {"--backup", backup["id"], "--target", "immediate", "--tablespace-map", oid + "=" + moved});
    EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM spaced"), "3000");
    EXPECT_EQ(QueryPort(port, "SELECT pg_tablespace_location(" + oid + ")"), moved);
    restored_.push_back(moved);  // removed with the restored cluster
  }
  cluster_->Exec("DROP TABLE spaced");
  cluster_->Exec("DROP TABLESPACE ts1");
}

TEST_F(PhysicalTest, RestoreAsRootStartsTheServerAsPostgres) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root)";
  cluster_->Exec(
      "DROP TABLE IF EXISTS rooted; CREATE TABLE rooted AS SELECT g AS id FROM generate_series(1, "
      "700) g");
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  std::string dir = *suite_dir_ + "/restore-as-root";
  restored_.push_back(dir);
  int port = FreePort();
  // As root: no run_as_user.
  ProcessResult r = RunProcess({*suite_dir_ + "/pgkeep", "--config", config_path(), "restore",
                                "--db", "main", "--pgdata", dir, "--target", "immediate", "--start",
                                "--port", std::to_string(port), "--no-archive"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  passwd* pw = getpwnam("postgres");
  ASSERT_NE(pw, nullptr);
  for (const std::string& path :
       {dir, dir + "/base", dir + "/global/pg_control", dir + "/postgresql.auto.conf"}) {
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, pw->pw_uid) << path << " must belong to postgres";
  }
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM rooted"), "700");
  // The postmaster runs as postgres (the server refuses root).
  long pid = 0;
  std::ifstream(dir + "/postmaster.pid") >> pid;
  struct stat proc;
  ASSERT_EQ(stat(("/proc/" + std::to_string(pid)).c_str(), &proc), 0);
  EXPECT_EQ(proc.st_uid, pw->pw_uid);
  EXPECT_EQ(QueryPort(port, "SELECT pg_is_in_recovery()::text"), "false");
}

// A port another process holds: the restore says so at once (not after the
// 30 s it allows a starting server), with the server's own words.
TEST_F(PhysicalTest, AStartOnATakenPortFailsAtOnceAndSaysWhy) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  std::string dir = *suite_dir_ + "/restore-taken-port";
  restored_.push_back(dir);
  auto started = std::chrono::steady_clock::now();
  ProcessResult r = Pgkeep({"restore", "--db", "main", "--pgdata", dir, "--target", "immediate",
                            "--start", "--port", std::to_string(port), "--no-archive"});
  close(holder);
  EXPECT_EQ(r.exit_code, 13) << r.out << r.err;
  EXPECT_NE(r.err.find("could not listen on port " + std::to_string(port)), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Address already in use"), std::string::npos) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

// The archived WAL files of database "main" in the test's repository, sorted.
std::vector<std::string> ArchivedWal(const std::string& repo) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo + "/wal/main"))
    if (e.is_regular_file() && e.path().filename().string().size() == 24)
      names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_F(PhysicalTest, WalGapIsReportedByVerifyAndStatus) {
  nlohmann::json a = Json({"backup", "--db", "main"})["backup"];
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  nlohmann::json b = Json({"backup", "--db", "main"})["backup"];
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  nlohmann::json healthy = Json({"status", "--db", "main"});
  EXPECT_EQ(healthy["healthy"], true) << healthy.dump(2);
  const auto& wal = healthy["databases"][0]["wal"];
  EXPECT_EQ(wal["pitr_window"]["from_backup"], a["id"]) << wal.dump(2);
  EXPECT_EQ(wal["gaps"].size(), 0u);
  EXPECT_EQ(wal["archiver"]["failing"], false);
  EXPECT_EQ(Pgkeep({"verify"}).exit_code, 0);

  // Remove a segment between the two backups.
  std::string victim;
  for (const auto& name : ArchivedWal(repo_))
    if (name > a["meta"]["stop_wal"].get<std::string>() &&
        name < b["meta"]["start_wal"].get<std::string>())
      victim = name;
  ASSERT_FALSE(victim.empty());
  std::filesystem::remove(repo_ + "/wal/main/" + victim.substr(0, 16) + "/" + victim);

  ProcessResult verify = Pgkeep({"verify"});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.err.find("WAL gap in database \"main\", timeline 1: " + victim),
            std::string::npos)
      << verify.err;
  nlohmann::json status = Json({"status", "--db", "main"}, 1);
  const auto& gapped = status["databases"][0]["wal"];
  ASSERT_EQ(gapped["gaps"].size(), 1u) << gapped.dump(2);
  EXPECT_EQ(gapped["gaps"][0]["first"], victim);
  EXPECT_EQ(gapped["pitr_window"]["from_backup"], b["id"]) << "the gap shortens the window";
  EXPECT_NE(status["reasons"][0].get<std::string>().find("WAL gap"), std::string::npos)
      << status.dump(2);
}

TEST_F(PhysicalTest, StatusIsUnhealthyWhileArchivingFails) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  EXPECT_EQ(Json({"status", "--db", "main"})["healthy"], true);
  SetArchiveCommand("/bin/false");
  cluster_->Query("SELECT pg_create_restore_point('fail')::text");
  cluster_->Query("SELECT pg_switch_wal()::text");
  for (int i = 0; i < 100 && cluster_->Query("SELECT failed_count FROM pg_stat_archiver") == "0";
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  nlohmann::json failing = Json({"status", "--db", "main"}, 1);
  EXPECT_EQ(failing["databases"][0]["wal"]["archiver"]["failing"], true);
  bool named = false;
  for (const auto& r : failing["reasons"])
    named |= r.get<std::string>().find("WAL archiving is failing") != std::string::npos;
  EXPECT_TRUE(named) << failing.dump(2);

  SetArchiveCommand(std::nullopt);
  ProcessResult checked = Pgkeep({"check", "--db", "main"});
  ASSERT_EQ(checked.exit_code, 0) << checked.out << checked.err;  // archiving works again
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  nlohmann::json again = Json({"status", "--db", "main"});
  EXPECT_EQ(again["healthy"], true) << again.dump(2);
}

TEST_F(PhysicalTest, ExpireKeepsTheWalOfTheOldestKeptBackup) {
  WriteConfig(config_path(), true, "", "retention = { last = 1, min_keep = 1 }\n");
  cluster_->Exec(
      "DROP TABLE IF EXISTS kept; CREATE TABLE kept AS SELECT g AS id FROM generate_series(1, 300) "
      "g");
  nlohmann::json a = Json({"backup", "--db", "main"})["backup"];
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  nlohmann::json b = Json({"backup", "--db", "main"})["backup"];
  cluster_->Exec("INSERT INTO kept SELECT g FROM generate_series(301, 400) g");
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);
  std::string keep_from = b["meta"]["start_wal"];
  ASSERT_LT(ArchivedWal(repo_).front(), keep_from);

  nlohmann::json expired = Json({"expire"});
  EXPECT_EQ(expired["expired"], 1);
  ASSERT_EQ(expired["wal"].size(), 1u);
  EXPECT_EQ(expired["wal"][0]["keep_from"], keep_from);
  EXPECT_GT(expired["wal"][0]["removed"].get<int>(), 0);
  std::vector<std::string> left = ArchivedWal(repo_);
  EXPECT_EQ(left.front(), keep_from) << "WAL before the oldest kept backup goes, its own stays";
  EXPECT_EQ(Pgkeep({"verify"}).exit_code, 0);
  int port = RestoreAndStart({});
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM kept"), "400");
}

// Rows a retention policy erased after a backup must not come back when the
// backup is restored to a point before the erasure (PITR): the restore
// re-applies the forget log once the server is up, and says how many rows.
TEST_F(PhysicalTest, ErasuresAfterTheBackupStayErasedThroughAPointInTimeRestore) {
  cluster_->Exec(
      "DROP TABLE IF EXISTS chat_log; CREATE TABLE chat_log (id int PRIMARY KEY, body text, at "
      "timestamptz NOT NULL); INSERT INTO chat_log SELECT g, 'secret ' || g, now() - g * "
      "interval '1 day' + interval '1 hour' FROM generate_series(1, 100) g; "
      "DROP TABLE IF EXISTS \"Audit Trail\"; CREATE TABLE \"Audit Trail\" (\"Key\" text PRIMARY "
      "KEY, at timestamptz NOT NULL); INSERT INTO \"Audit Trail\" SELECT 'k' || g, now() - g * "
      "interval '1 day' + interval '1 hour' FROM generate_series(1, 100) g");
  WriteConfig(config_path(), true, "",
              "\n[[retention_policy]]\nname = \"chat\"\ndatabase = \"main\"\ntable = "
              "\"chat_log\"\ntimestamp_column = \"at\"\ndays = 30\nmode = \"redact\"\nredact = { "
              "body = \"[redacted]\" }\nbatch_size = 25\n\n[[retention_policy]]\nname = "
              "\"audit\"\ndatabase = \"main\"\ntable = \"Audit Trail\"\ntimestamp_column = "
              "\"at\"\ndays = 60\nmode = \"delete\"\n");
  Json({"backup", "--db", "main", "--type", "full"});
  std::string after_backup = cluster_->Query("SELECT clock_timestamp()::text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  nlohmann::json run = Json({"retention", "run"});
  EXPECT_EQ(run["redacted"], 70);                             // 31..100 days old
  EXPECT_EQ(run["deleted"], 40);                              // 61..100 days old
  EXPECT_EQ(run["forget_log_entries"], 2);                    // one per policy, shipped merged
  ASSERT_EQ(Pgkeep({"check", "--db", "main"}).exit_code, 0);  // the WAL archived

  // Without a server to re-apply them on, the restore refuses before writing.
  std::string refused_dir = *suite_dir_ + "/refused";
  ProcessResult refused =
      Pgkeep({"restore", "--db", "main", "--pgdata", refused_dir, "--target-time", after_backup});
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("forget-log entries of database \"main\""), std::string::npos)
      << refused.err;
  EXPECT_FALSE(std::filesystem::exists(refused_dir + "/PG_VERSION"));

  std::string dir = *suite_dir_ + "/erasures";
  restored_.push_back(dir);
  int port = FreePort();
  nlohmann::json restored = Json({"restore", "--db", "main", "--pgdata", dir, "--target-time",
                                  after_backup, "--start", "--port", std::to_string(port)});
  ASSERT_TRUE(restored["erasures"].is_object()) << restored.dump();
  EXPECT_EQ(restored["erasures"]["entries"], 2);
  EXPECT_EQ(restored["erasures"]["redacted"], 70);
  EXPECT_EQ(restored["erasures"]["deleted"], 40);
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM chat_log WHERE body = '[redacted]'"), "70");
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM chat_log"), "100");
  EXPECT_EQ(QueryPort(port, "SELECT count(*) FROM \"Audit Trail\""), "60");
  EXPECT_EQ(QueryPort(port,
                      "SELECT min(\"Key\") FROM \"Audit Trail\" WHERE at < now() - "
                      "interval '60 days'"),
            "");
}

}  // namespace
}  // namespace pgkeep
