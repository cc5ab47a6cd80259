// pgkeep drill against a real PostgreSQL 15: physical and logical drills that
// pass, drills that fail (a user check, an RTO target, a damaged pack), and
// drills that are killed (SIGTERM, then SIGKILL followed by another drill),
// after each of which nothing the drill started is left and the repository's
// WAL archive holds nothing the copy wrote.
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
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

// Every process whose command line mentions `text`.
std::string ProcessesMentioning(const std::string& text) {
  std::string found;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(text) != std::string::npos) found += pid + ": " + cmd + "\n";
  }
  return found;
}

class DrillTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    suite_dir_ = new std::string(testing::MakeTempDir("pgkeep-drill-test-"));
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
    cluster_->Exec("CREATE EXTENSION IF NOT EXISTS amcheck");
    cluster_->Exec("CREATE DATABASE app");
    cluster_->Exec(
        "CREATE TABLE orders (id int PRIMARY KEY, note text); "
        "INSERT INTO orders SELECT g, repeat('order ' || g, 20) FROM generate_series(1, 1000) g; "
        "CREATE TABLE items (id bigserial PRIMARY KEY, order_id int REFERENCES orders(id)); "
        "INSERT INTO items (order_id) SELECT 1 + g % 1000 FROM generate_series(1, 3000) g",
        "app");
    cluster_->Exec(
        "CREATE TABLE drill_orders (id int PRIMARY KEY, body text); "
        "INSERT INTO drill_orders SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
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
    scratch_ = *suite_dir_ + "/scratch-" + info->name();
    std::filesystem::create_directories(scratch_);
    ChownToOsUser(scratch_);
    WriteConfig("");
    ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
    ProcessResult check = Pgkeep({"check", "--db", "main"});
    ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  }

  void WriteConfig(const std::string& main_lines, const std::string& app_lines = "") {
    std::ofstream(*suite_dir_ + "/pgkeep.toml")
        << "[repository]\npath = \"" << repo_ << "\"\npassword_file = \"" << *suite_dir_
        << "/password\"\n\n[database.main]\nconninfo = \"" << cluster_->ConnInfo()
        << "\"\nmethod = \"physical\"\npgdata = \"" << cluster_->datadir() << "\"\n"
        << main_lines << "\n[database.app]\nconninfo = \"" << cluster_->ConnInfo("app")
        << "\"\nmethod = \"logical\"\n"
        << app_lines << "\n";
    ChownToOsUser(*suite_dir_ + "/pgkeep.toml");
  }

  ProcessResult Pgkeep(std::vector<std::string> args) {
    args.insert(args.begin(), {*suite_dir_ + "/pgkeep", "--config", *suite_dir_ + "/pgkeep.toml"});
    return RunProcess(args, "", {}, OsUser());
  }
  nlohmann::json Drill(const std::string& db, int expected_exit,
                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--output", "json",          "drill", "--db",
                                     db,         "--scratch-dir", scratch_};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
    return j.is_discarded() || j["drills"].empty() ? nlohmann::json() : j["drills"][0];
  }
  static std::string CheckSaw(const nlohmann::json& drill, const std::string& name) {
    for (const auto& c : drill["checks"])
      if (c["name"] == name)
        return c["result"].get<std::string>() + ": " + c["saw"].get<std::string>();
    return "<no check " + name + ">";
  }
  // The user tables of database app now (an earlier test of the suite may
  // have added one).
  static std::string AppTables() {
    return cluster_->Query(
        "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
        "'information_schema')",
        "app");
  }
  // Nothing the drill started is left: no directory but the ledger's (empty),
  // no process, and no WAL of a timeline the copy would have made.
  void ExpectNothingLeft() {
    for (const auto& e : std::filesystem::directory_iterator(scratch_)) {
      EXPECT_EQ(e.path().filename(), ".pgkeep-drills") << e.path();
      if (e.path().filename() == ".pgkeep-drills") {
        EXPECT_TRUE(std::filesystem::is_empty(e.path())) << "a ledger is left in " << e.path();
      }
    }
    EXPECT_EQ(ProcessesMentioning(scratch_ + "/pgkeep-drill-"), "");
    for (const auto& e : std::filesystem::directory_iterator("/tmp"))  // the copies' socket dirs
      EXPECT_NE(e.path().filename().string().rfind("pgkeep-drill-2", 0), 0u)
          << e.path() << " is left";
    if (std::filesystem::exists(repo_ + "/wal/main")) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(repo_ + "/wal/main")) {
        EXPECT_EQ(e.path().filename().string().rfind("00000002", 0), std::string::npos)
            << "the copy archived " << e.path();
      }
    }
    EXPECT_EQ(
        cluster_->Query("SELECT count(*) FROM pg_database WHERE datname LIKE 'pgkeep_drill_%'"),
        "0");
  }

  static std::string* suite_dir_;
  static PgCluster* cluster_;
  std::string repo_;
  std::string scratch_;
};

std::string* DrillTest::suite_dir_ = nullptr;
PgCluster* DrillTest::cluster_ = nullptr;

TEST_F(DrillTest, APhysicalDrillPassesWithExactCountsAndIsStoredInTheRepository) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  cluster_->Exec(
      "INSERT INTO drill_orders SELECT g, 'after the backup' FROM generate_series(1001, 1100) g");
  // Writers keep committing while the drill counts: the counts must still be
  // exactly the copy's (bounded: at most 3000 single-row inserts).
  cluster_->Exec("CREATE TABLE load_rows (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())",
                 "app");
  auto load = testing::ChildProcess::Spawn({"bash", "-c",
                                            "for i in $(seq 1 3000); do psql -X -q -d \"$0\" -c "
                                            "'INSERT INTO load_rows DEFAULT VALUES' || exit 1; "
                                            "done",
                                            cluster_->ConnInfo("app")},
                                           {}, "", "/dev/null");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the load is running
  nlohmann::json d = Drill("main", 0, {"--html", scratch_ + "/../report-physical.html"});
  load.Kill(SIGTERM);
  load.Wait();
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], true) << d.dump(2);
  EXPECT_EQ(
      CheckSaw(d, "recovery target").rfind("pass: recovered to restore point pgkeep-drill-", 0), 0u)
      << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "row counts").rfind("pass: ", 0), 0u) << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "tables readable").rfind("pass: ", 0), 0u) << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "pg_amcheck"), "pass: heap and btree checks found no corruption")
      << d.dump(2);
  bool counted = false;
  for (const auto& t : d["tables"])
    if (t["table"] == "public.drill_orders") {
      counted = true;
      EXPECT_EQ(t["rows"], 1100);  // what the source had at the drill's restore point
      EXPECT_EQ(t["expected"], 1100);
    }
  EXPECT_TRUE(counted) << d["tables"].dump();
  bool loaded = false;
  for (const auto& t : d["tables"])
    if (t["table"] == "app.public.load_rows") {
      loaded = true;
      EXPECT_GT(t["rows"].get<int64_t>(), 0);
      EXPECT_EQ(t["expected"], t["rows"]);  // inserted concurrently, counted exactly
    }
  EXPECT_TRUE(loaded) << d["tables"].dump();
  std::vector<std::string> phases;
  for (const auto& p : d["phases"]) phases.push_back(p["name"]);
  EXPECT_EQ(phases, (std::vector<std::string>{"prepare", "restore", "recovery", "checks",
                                              "verification", "cleanup"}));
  EXPECT_GT(d["rto"]["seconds"].get<double>(), 0);
  EXPECT_NE(d["rpo"]["basis"].get<std::string>().find("the newest archived WAL"),
            std::string::npos);
  ExpectNothingLeft();

  // Stored in the repository: history and status read it back.
  ProcessResult history = Pgkeep({"drill", "--history", "--db", "main"});
  EXPECT_EQ(history.exit_code, 0) << history.err;
  EXPECT_NE(history.out.find(d["id"].get<std::string>() + "  main             physical  passed"),
            std::string::npos)
      << history.out;
  ProcessResult status = Pgkeep({"--output", "json", "status", "--db", "main"});
  auto s = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(s.is_discarded()) << status.out;
  EXPECT_EQ(s["databases"][0]["last_drill"]["id"], d["id"]) << status.out;
  EXPECT_EQ(s["databases"][0]["last_drill"]["passed"], true);
  std::ifstream html(scratch_ + "/../report-physical.html");
  std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("PASSED"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http"), std::string::npos);  // self-contained
}

TEST_F(DrillTest, AFailingUserCheckAndAMissedRtoFailTheDrillAndSaySo) {
  // The second check is slow on purpose: checks count in the RTO, so a 1 s
  // target is missed however fast the restore was.
  WriteConfig(
      "rto = \"1s\"\n\n[[database.main.check]]\nname = \"no orders\"\nsql = \"SELECT count(*) FROM "
      "drill_orders\"\nexpect = \"= 0\"\n\n[[database.main.check]]\nname = \"slow\"\nsql = "
      "\"SELECT count(*) FROM drill_orders, pg_sleep(1.2)\"\nexpect = \">= 1\"\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  nlohmann::json d = Drill("main", 1);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], false);
  std::string failures = d["failures"].dump();
  EXPECT_NE(failures.find("check \\\"no orders\\\" failed: returned "), std::string::npos)
      << failures;
  EXPECT_NE(failures.find(", not = 0"), std::string::npos) << failures;
  EXPECT_NE(failures.find("RTO "), std::string::npos) << failures;
  EXPECT_NE(failures.find("exceeds the target of 1.0 s"), std::string::npos) << failures;
  ExpectNothingLeft();
  // status is unhealthy because the last drill failed.
  ProcessResult status = Pgkeep({"status", "--db", "main"});
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_NE(status.err.find("last drill " + d["id"].get<std::string>() + " failed"),
            std::string::npos)
      << status.err;
}

// What users do that the drill must not get wrong: a least-privilege role
// in the conninfo (it cannot read pg_authid, lock tables or make a restore
// point), a materialized view never populated, a --target-time before the
// newest backup, and a --backup id that does not exist.
TEST_F(DrillTest, ALeastPrivilegeRoleATargetTimeAndAWrongBackupIdAreHandled) {
  cluster_->Exec(
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'drill_reader') THEN "
      "CREATE ROLE drill_reader LOGIN; END IF; END $$; GRANT pg_read_all_data TO drill_reader; "
      "CREATE MATERIALIZED VIEW IF NOT EXISTS not_populated AS SELECT 1 AS one WITH NO DATA");
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  const std::string first =
      nlohmann::json::parse(Pgkeep({"--output", "json", "list", "--db", "main"}).out)["snapshots"]
          .back()["id"];
  const int64_t orders_then = std::stoll(cluster_->Query("SELECT count(*) FROM drill_orders"));
  const std::string between = cluster_->Query(
      "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  cluster_->Exec("INSERT INTO drill_orders SELECT g, 'after' FROM generate_series(5001, 5010) g");
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);

  // As the reader: no restore point, so no row counts, but every table is
  // still read (as the copy's superuser) and pg_amcheck runs.
  {
    std::string conf;
    std::ifstream in(*suite_dir_ + "/pgkeep.toml");
    conf.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    const std::string main_conninfo = "conninfo = \"" + cluster_->ConnInfo() + "\"";
    conf.replace(conf.find(main_conninfo), main_conninfo.size(),
                 "conninfo = \"" + cluster_->ConnInfo() + " user=drill_reader\"");
    std::ofstream(*suite_dir_ + "/pgkeep.toml") << conf;
  }
  nlohmann::json reader = Drill("main", 0);
  ASSERT_TRUE(reader.is_object());
  EXPECT_EQ(reader["passed"], true) << reader.dump(2);
  const std::string readable = CheckSaw(reader, "tables readable");
  EXPECT_EQ(readable.rfind("pass: ", 0), 0u) << readable;
  EXPECT_EQ(readable.find("pass: 0 tables"), std::string::npos) << readable;
  EXPECT_EQ(CheckSaw(reader, "pg_amcheck"), "pass: heap and btree checks found no corruption")
      << reader.dump(2);
  bool read_orders = false;
  for (const auto& t : reader["tables"])
    read_orders = read_orders || t["table"] == "public.drill_orders";
  EXPECT_TRUE(read_orders) << reader["tables"].dump();
  ExpectNothingLeft();

  // A target before the newest backup: the backup before it is restored.
  WriteConfig("");
  nlohmann::json back = Drill("main", 0, {"--target-time", between + "+00"});
  ASSERT_TRUE(back.is_object());
  EXPECT_EQ(back["passed"], true) << back.dump(2);
  EXPECT_EQ(back["backup"], first) << back.dump(2);
  int64_t orders_restored = -1;
  for (const auto& t : back["tables"])
    if (t["table"] == "public.drill_orders") orders_restored = t["rows"].get<int64_t>();
  EXPECT_EQ(orders_restored, orders_then) << back["tables"].dump();  // not the 10 rows after
  ExpectNothingLeft();

  // A wrong id is refused before anything starts, and leaves no failed drill.
  const size_t drills_before =
      nlohmann::json::parse(Pgkeep({"--output", "json", "drill", "--history"}).out)["drills"]
          .size();
  ProcessResult wrong =
      Pgkeep({"drill", "--backup", "20200101T000000Z-00000000", "--scratch-dir", scratch_});
  EXPECT_EQ(wrong.exit_code, 12) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("no backup \"20200101T000000Z-00000000\""), std::string::npos)
      << wrong.err;
  EXPECT_EQ(nlohmann::json::parse(Pgkeep({"--output", "json", "drill", "--history"}).out)["drills"]
                .size(),
            drills_before);
  ProcessResult other =
      Pgkeep({"drill", "--db", "app", "--backup", first, "--scratch-dir", scratch_});
  EXPECT_EQ(other.exit_code, 2) << other.out << other.err;
  EXPECT_NE(other.err.find("is not a backup of database \"app\" (it is one of \"main\")"),
            std::string::npos)
      << other.err;
  // So is a report that could not be written at the end.
  ProcessResult nowhere = Pgkeep(
      {"drill", "--db", "main", "--html", "/nonexistent/report.html", "--scratch-dir", scratch_});
  EXPECT_EQ(nowhere.exit_code, 2) << nowhere.out << nowhere.err;
  EXPECT_NE(nowhere.err.find("\"/nonexistent/\" is not a directory"), std::string::npos)
      << nowhere.err;
  cluster_->Exec("DROP MATERIALIZED VIEW not_populated");
}

// By default (a local PostgreSQL exists here) into a scratch cluster of its
// own; with drill_scratch = "database" into a scratch database on the source.
TEST_F(DrillTest, ALogicalDrillPassesAgainstTheCountsRecordedAtBackup) {
  WriteConfig("",
              "rto = \"1h\"\nrpo = \"1h\"\n\n[[database.app.check]]\nname = \"orders present\"\n"
              "sql = \"SELECT count(*) FROM orders\"\nexpect = \">= 1\"\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  nlohmann::json d = Drill("app", 0);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], true) << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "orders present"), "pass: returned 1000, >= 1");
  EXPECT_NE(d["notes"].dump().find("restored into a scratch PostgreSQL"), std::string::npos)
      << d["notes"].dump();
  EXPECT_EQ(CheckSaw(d, "row counts").rfind("pass: " + AppTables() + " tables match backup ", 0),
            0u)
      << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "pg_amcheck"), "pass: heap and btree checks found no corruption");
  EXPECT_EQ(d["rto"]["met"], true);
  EXPECT_EQ(d["rpo"]["met"], true);
  ExpectNothingLeft();
}

TEST_F(DrillTest, ALogicalDrillIntoAScratchDatabaseOnTheSourceServerPasses) {
  WriteConfig("",
              "drill_scratch = \"database\"\nrto = \"1h\"\nrpo = "
              "\"1h\"\n\n[[database.app.check]]\nname = \"orders present\"\n"
              "sql = \"SELECT count(*) FROM orders\"\nexpect = \">= 1\"\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  nlohmann::json d = Drill("app", 0);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], true) << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "orders present"), "pass: returned 1000, >= 1");
  EXPECT_EQ(d["notes"].dump().find("scratch PostgreSQL"), std::string::npos) << d["notes"].dump();
  EXPECT_EQ(CheckSaw(d, "row counts").rfind("pass: " + AppTables() + " tables match backup ", 0),
            0u)
      << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "pg_amcheck"), "pass: heap and btree checks found no corruption");
  EXPECT_EQ(d["rto"]["met"], true);
  EXPECT_EQ(d["rpo"]["met"], true);
  ExpectNothingLeft();
}

TEST_F(DrillTest, ADamagedPackFailsTheDrillAndNamesIt) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  // Flip one byte in the middle of the biggest pack.
  std::string biggest;
  uintmax_t size = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(repo_ + "/data"))
    if (e.is_regular_file() && e.file_size() > size) {
      size = e.file_size();
      biggest = e.path();
    }
  ASSERT_FALSE(biggest.empty());
  {
    std::fstream f(biggest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 2));
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(&c, 1);
  }
  nlohmann::json d = Drill("main", 1);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], false);
  std::string pack = std::filesystem::path(biggest).filename();
  EXPECT_NE(d["failures"].dump().find(pack), std::string::npos) << d["failures"].dump();
  ExpectNothingLeft();
}

TEST_F(DrillTest, KilledDrillsLeaveNothingBehind) {
  ASSERT_EQ(Pgkeep({"backup", "--db", "main"}).exit_code, 0);
  // As the other commands run: as "postgres" under root (through runuser,
  // whose child is the pgkeep process the test signals).
  auto spawn = [&] {
    std::vector<std::string> argv = {
        *suite_dir_ + "/pgkeep", "--config", *suite_dir_ + "/pgkeep.toml", "drill", "--db", "main",
        "--scratch-dir",         scratch_};
    if (!OsUser().empty()) argv.insert(argv.begin(), {"/usr/sbin/runuser", "-u", OsUser(), "--"});
    return testing::ChildProcess::Spawn(argv, {}, "", "/dev/null");
  };
  // The pgkeep process of a spawned drill: the child itself, or runuser's child.
  auto pgkeep_pid = [&](pid_t spawned) -> pid_t {
    if (OsUser().empty()) return spawned;
    for (int i = 0; i < 100; ++i) {
      for (const auto& e : std::filesystem::directory_iterator("/proc")) {
        std::string name = e.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::ifstream stat(e.path() / "stat");
        std::string line;
        std::getline(stat, line);
        auto close = line.rfind(')');
        if (close == std::string::npos) continue;
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == spawned) return static_cast<pid_t>(std::stoi(name));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  };
  // Waits (bounded) until a drill's copy runs: its postmaster.pid exists.
  auto wait_for_server = [&]() -> std::string {
    for (int i = 0; i < 600; ++i) {
      for (const auto& e : std::filesystem::directory_iterator(scratch_)) {
        std::string pid_file = e.path().string() + "/pgdata/postmaster.pid";
        if (std::filesystem::exists(pid_file)) return e.path();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  };

  // SIGTERM: the drill stops what it started and exits 130.
  auto first = spawn();
  std::string dir = wait_for_server();
  ASSERT_FALSE(dir.empty()) << "the drill's server never started";
  pid_t drill = pgkeep_pid(first.pid());
  ASSERT_GT(drill, 0);
  ASSERT_EQ(::kill(drill, SIGTERM), 0);
  EXPECT_EQ(first.Wait(), 130);
  ExpectNothingLeft();

  // SIGKILL: the copy keeps running; the next drill removes it, then passes.
  auto second = spawn();
  dir = wait_for_server();
  ASSERT_FALSE(dir.empty()) << "the drill's server never started";
  drill = pgkeep_pid(second.pid());
  ASSERT_GT(drill, 0);
  ASSERT_EQ(::kill(drill, SIGKILL), 0);
  second.Wait();
  ASSERT_TRUE(std::filesystem::exists(dir));
  nlohmann::json d = Drill("main", 0);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], true) << d.dump(2);
  std::string id =
      std::filesystem::path(dir).filename().string().substr(std::string("pgkeep-drill-").size());
  EXPECT_NE(d["notes"].dump().find("removed the leftovers of drill " + id), std::string::npos)
      << d.dump(2);
  ExpectNothingLeft();
}

// A logical restore and a drill after a retention run: the rows erased
// since the backup are erased again (and counted), a restore asked not to
// re-apply them brings them back, and the drill checks none came back.
TEST_F(DrillTest, ErasuresSinceTheBackupStayErasedInRestoresAndDrills) {
  cluster_->Exec(
      "CREATE TABLE chat_log (id int PRIMARY KEY, body text, at timestamptz NOT NULL); "
      "INSERT INTO chat_log SELECT g, 'secret ' || g, now() - g * interval '1 day' + interval '1 "
      "hour' FROM "
      "generate_series(1, 100) g; CREATE TABLE \"Audit Trail\" (\"Key\" text PRIMARY KEY, at "
      "timestamptz NOT NULL); INSERT INTO \"Audit Trail\" SELECT 'k' || g, now() - g * interval "
      "'1 day' + interval '1 hour' FROM generate_series(1, 100) g",
      "app");
  WriteConfig("",
              "\n[[retention_policy]]\nname = \"chat\"\ndatabase = \"app\"\ntable = "
              "\"chat_log\"\ntimestamp_column = \"at\"\ndays = 30\nmode = \"redact\"\nredact = { "
              "body = \"[redacted]\" }\n\n[[retention_policy]]\nname = \"audit\"\ndatabase = "
              "\"app\"\ntable = \"Audit Trail\"\ntimestamp_column = \"at\"\ndays = 60\nmode = "
              "\"delete\"\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  ProcessResult run = Pgkeep({"--output", "json", "retention", "run"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  auto ran = nlohmann::json::parse(run.out, nullptr, false);
  EXPECT_EQ(ran["redacted"], 70);
  EXPECT_EQ(ran["deleted"], 40);

  auto restore = [&](const std::string& into, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--output",        "json", "restore", "--db", "app",
                                     "--into-database", into};
    args.insert(args.end(), extra.begin(), extra.end());
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  };
  nlohmann::json restored = restore("app_restored", {});
  EXPECT_EQ(restored["erasures"]["redacted"], 70) << restored.dump();
  EXPECT_EQ(restored["erasures"]["deleted"], 40);
  EXPECT_EQ(
      cluster_->Query("SELECT count(*) FROM chat_log WHERE body = '[redacted]'", "app_restored"),
      "70");
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM \"Audit Trail\"", "app_restored"), "60");
  nlohmann::json raw = restore("app_raw", {"--no-reapply-erasures"});
  EXPECT_TRUE(raw["erasures"].is_null()) << raw.dump();
  EXPECT_EQ(raw["erasures_reapplied"], false);
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM \"Audit Trail\"", "app_raw"), "100");
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM chat_log WHERE body = '[redacted]'", "app_raw"),
            "0");
  cluster_->Exec("DROP DATABASE app_restored");
  cluster_->Exec("DROP DATABASE app_raw");

  nlohmann::json d = Drill("app", 0);
  ASSERT_TRUE(d.is_object());
  EXPECT_EQ(d["passed"], true) << d.dump(2);
  EXPECT_EQ(CheckSaw(d, "erasures"),
            "pass: 2 forget-log entries since the backup re-applied (40 deleted, 70 redacted "
            "again); 110 erased row(s) checked: none came back");
  ExpectNothingLeft();

  // A deleted key used again by a new row (someone signing up again), and a
  // backup taken after that: restoring it erases nothing, the new row stays,
  // and the drill does not take it for an erased row that came back.
  cluster_->Exec("INSERT INTO \"Audit Trail\" VALUES ('k70', now())", "app");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  nlohmann::json again = restore("app_reused", {});
  EXPECT_EQ(again["erasures"]["entries"], 2) << again.dump();
  EXPECT_EQ(again["erasures"]["deleted"], 0);
  EXPECT_EQ(again["erasures"]["redacted"], 0);
  EXPECT_EQ(
      cluster_->Query("SELECT count(*) FROM \"Audit Trail\" WHERE \"Key\" = 'k70'", "app_reused"),
      "1");
  cluster_->Exec("DROP DATABASE app_reused");
  nlohmann::json reused = Drill("app", 0);
  EXPECT_EQ(reused["passed"], true) << reused.dump(2);
  EXPECT_EQ(CheckSaw(reused, "erasures"),
            "pass: 2 forget-log entries since the backup re-applied (0 deleted, 0 redacted "
            "again); 110 erased row(s) checked: none came back");
  ExpectNothingLeft();
  cluster_->Exec("DROP TABLE chat_log; DROP TABLE \"Audit Trail\"", "app");
}

}  // namespace
}  // namespace pgkeep
