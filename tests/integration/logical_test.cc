// Logical backups and restores against a real PostgreSQL 15, through the
// pgkeep binary as a user runs it.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;

// An operations-platform-like database: two critical schemas, one rebuildable.
constexpr char kSchemaSql[] = R"SQL(
CREATE SCHEMA config;
CREATE SCHEMA customer;
CREATE SCHEMA workspace;
CREATE TABLE config.settings (key text PRIMARY KEY, value text);
INSERT INTO config.settings SELECT 'key' || g, md5(g::text) FROM generate_series(1, 200) g;
CREATE TABLE customer.accounts (id bigserial PRIMARY KEY, email text, created timestamptz);
INSERT INTO customer.accounts (email, created)
  SELECT 'user' || g || '@example.com', '2026-01-01'::timestamptz + g * interval '1 minute'
  FROM generate_series(1, 5000) g;
CREATE TABLE customer.messages (id bigserial PRIMARY KEY, account bigint REFERENCES customer.accounts,
  body text, sent timestamptz);
-- Equal-length rows leave no page with room for another row, as in a table
-- that has lived for a while: new rows go to the end, as in production. (A
-- freshly bulk-loaded table with ragged rows would scatter tomorrow's
-- inserts into every page's leftover space, and every chunk would change.)
INSERT INTO customer.messages (account, body, sent)
  SELECT 1 + g % 5000, rpad(md5(g::text) || ' hello there, about my order ', 200, md5(g::text)),
         '2026-01-01'::timestamptz + g * interval '1 second'
  FROM generate_series(1, 250000) g;
CREATE INDEX ON customer.messages (account, sent DESC);
COMMENT ON TABLE customer.messages IS 'what customers wrote';
COMMENT ON CONSTRAINT messages_account_fkey ON customer.messages IS 'who wrote it';
CREATE TABLE workspace.imports (id int, payload text);
INSERT INTO workspace.imports SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g;
)SQL";

class LogicalTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = PgCluster::Start().release();
    cluster_->Exec("CREATE DATABASE app");
    cluster_->Exec(kSchemaSql, "app");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-logical-");
    WriteConfig("schemas = [\"config\", \"customer\"]\n");
    ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  void WriteConfig(const std::string& database_lines, const std::string& conninfo = "") {
    std::ofstream(dir_ + "/pgkeep.toml")
        << "[repository]\npath = \"" << dir_ << "/repo\"\n\n[database.app]\nconninfo = \""
        << (conninfo.empty() ? cluster_->ConnInfo("app") : conninfo) << "\"\nmethod = \"logical\"\n"
        << database_lines;
  }
  ProcessResult Pgkeep(std::vector<std::string> args) {
    args.insert(args.begin(), PGKEEP_BINARY);
    return RunProcess(args, "",
                      {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"});
  }
  nlohmann::json Json(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), {"--output", "json"});
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
  }
  // Row count and an ordered checksum of every row of a table.
  std::string Fingerprint(const std::string& db, const std::string& table) {
    return cluster_->Query(
        "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
        "FROM " +
            table + " t",
        db);
  }
  // A restore into `database` started in the background, and a bounded wait
  // (15 s) until its pg_restore runs a COPY there: false if it never does.
  testing::ChildProcess StartRestoreUntilCopying(const std::string& database, bool* copying) {
    auto restore = testing::ChildProcess::Spawn(
        {PGKEEP_BINARY, "restore", "--db", "app", "--into-database", database},
        {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"}, "", "/dev/null");
    *copying = false;
    for (int i = 0; i < 300 && !*copying; ++i) {
      *copying = cluster_->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                 database + "' AND query LIKE 'COPY%'") != "0";
      if (!*copying) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return restore;
  }

  bool DatabaseExists(const std::string& name) {
    return cluster_->Query("SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") ==
           "1";
  }

  static PgCluster* cluster_;
  std::string dir_;
};
PgCluster* LogicalTest::cluster_ = nullptr;

TEST_F(LogicalTest, SchemaScopedBackupHoldsOnlyThoseSchemasAndRestoresExactly) {
  auto backup = Json({"backup", "--db", "app"});
  auto counts = backup["backup"]["meta"]["row_counts"];
  EXPECT_EQ(counts, nlohmann::json({{"config.settings", 200},
                                    {"customer.accounts", 5000},
                                    {"customer.messages", 250000}}));

  auto restore = Json({"restore", "--db", "app", "--into-database", "app_scoped"});
  EXPECT_EQ(restore["ok"], true);
  EXPECT_TRUE(restore["mismatches"].empty());
  // The largest table (56 MiB of data, over the 48 MiB threshold) was loaded over two
  // connections, pg_restore restoring the rest around it.
  EXPECT_EQ(restore["split_table"],
            nlohmann::json({{"table", "customer.messages"}, {"parts", 2}, {"rows", 250000}}))
      << restore.dump();
  EXPECT_GT(restore["objects"].get<int>(), 5);
  for (const char* table : {"config.settings", "customer.accounts", "customer.messages"})
    EXPECT_EQ(Fingerprint("app_scoped", table), Fingerprint("app", table)) << table;
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pg_namespace WHERE nspname = 'workspace'",
                            "app_scoped"),
            "0");
  // Indexes came back too.
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pg_indexes WHERE schemaname = 'customer'",
                            "app_scoped"),
            "3");
  // And the foreign key and the comments, on objects of either side of the data.
  EXPECT_EQ(cluster_->Query("SELECT obj_description('customer.messages'::regclass, 'pg_class') || "
                            "'/' || (SELECT obj_description(oid, 'pg_constraint') FROM "
                            "pg_constraint WHERE conname = 'messages_account_fkey')",
                            "app_scoped"),
            "what customers wrote/who wrote it");

  // An existing database is refused, and --clean replaces it.
  ProcessResult again = Pgkeep({"restore", "--db", "app", "--into-database", "app_scoped"});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_EQ(again.err,
            "pgkeep: error: database \"app_scoped\" already exists\nHINT: choose another name, or "
            "pass --clean to drop and recreate it\n");
  EXPECT_EQ(Pgkeep({"restore", "--db", "app", "--into-database", "app_scoped", "--clean",
                    "--schema", "config"})
                .exit_code,
            0);
  EXPECT_EQ(
      cluster_->Query("SELECT count(*) FROM pg_tables WHERE schemaname = 'customer'", "app_scoped"),
      "0");
  EXPECT_EQ(Fingerprint("app_scoped", "config.settings"), Fingerprint("app", "config.settings"));
  // A selection that matches nothing is an error, not an empty "restore".
  ProcessResult nothing =
      Pgkeep({"restore", "--db", "app", "--into-database", "app_nothing", "--table", "nosuch"});
  EXPECT_EQ(nothing.exit_code, 12);
  EXPECT_NE(nothing.err.find("--schema/--table select nothing in"), std::string::npos)
      << nothing.err;
  EXPECT_FALSE(DatabaseExists("app_nothing"));
}

TEST_F(LogicalTest, SecondDailyBackupAfterOnePercentChurnStoresLittle) {
  auto first = Json({"backup", "--db", "app"});
  uint64_t first_stored = first["backup"]["stats"]["stored_bytes"];
  // One "day": new messages, edits of recent ones, the oldest deleted (~1% of rows).
  cluster_->Exec(R"SQL(
    INSERT INTO customer.messages (account, body, sent)
      SELECT 1 + g % 5000, rpad('new message ' || g, 200, md5(g::text)), now() FROM generate_series(1, 1500) g;
    UPDATE customer.messages SET body = rpad('edited ' || id, 200, 'x') WHERE id IN (SELECT id FROM customer.messages ORDER BY id DESC LIMIT 500 OFFSET 1500);
    DELETE FROM customer.messages WHERE id IN (SELECT id FROM customer.messages ORDER BY id LIMIT 500);
  )SQL",
                 "app");
  auto second = Json({"backup", "--db", "app"});
  uint64_t second_stored = second["backup"]["stats"]["stored_bytes"];
  EXPECT_LE(second_stored * 10, first_stored) << "second " << second["backup"]["stats"].dump()
                                              << " of first " << first["backup"]["stats"].dump();
  auto restore = Json({"restore", "--db", "app", "--into-database", "app_day2"});
  EXPECT_EQ(restore["ok"], true);
  EXPECT_EQ(Fingerprint("app_day2", "customer.messages"), Fingerprint("app", "customer.messages"));
  auto list = Json({"list", "--db", "app"});
  EXPECT_EQ(list["snapshots"].size(), 2u);
}

TEST_F(LogicalTest, ExportedFileRestoresWithStockPgRestoreAndFromFile) {
  auto backup = Json({"backup", "--db", "app"});
  std::string id = backup["backup"]["id"];
  std::string file = dir_ + "/app.dump";
  auto exported = Json({"export", id, "--file", file});
  EXPECT_EQ(exported["ok"], true);
  chmod(dir_.c_str(), 0755);
  chmod(file.c_str(), 0644);
  cluster_->Exec("CREATE DATABASE app_stock");
  ProcessResult stock = RunProcess({"/usr/lib/postgresql/15/bin/pg_restore", "--exit-on-error",
                                    "-d", cluster_->ConnInfo("app_stock"), file});
  ASSERT_EQ(stock.exit_code, 0) << stock.err;
  EXPECT_EQ(Fingerprint("app_stock", "customer.messages"), Fingerprint("app", "customer.messages"));
  // An export never overwrites.
  ProcessResult twice = Pgkeep({"export", id, "--file", file});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("File exists"), std::string::npos) << twice.err;
  // The same file, and a plain SQL dump, restore by path.
  auto from_file =
      Json({"restore", "--db", "app", "--from-file", file, "--into-database", "app_file"});
  EXPECT_EQ(Fingerprint("app_file", "config.settings"), Fingerprint("app", "config.settings"));
  std::string sql = dir_ + "/app.sql";
  ProcessResult dump = RunProcess({"/usr/lib/postgresql/15/bin/pg_dump", "-Fp", "-n", "config",
                                   "-f", sql, cluster_->ConnInfo("app")});
  ASSERT_EQ(dump.exit_code, 0) << dump.err;
  auto plain = Json({"restore", "--db", "app", "--from-file", sql, "--into-database", "app_plain"});
  EXPECT_EQ(plain["ok"], true);
  EXPECT_EQ(Fingerprint("app_plain", "config.settings"), Fingerprint("app", "config.settings"));
}

TEST_F(LogicalTest, SeveralDatabasesShareOneRepositoryAndGlobalsAreKept) {
  cluster_->Exec("CREATE DATABASE app_copy TEMPLATE app");
  std::ofstream(dir_ + "/pgkeep.toml")
      << "[repository]\npath = \"" << dir_ << "/repo\"\n\n"
      << "[database.app]\nconninfo = \"" << cluster_->ConnInfo("app")
      << "\"\nmethod = \"logical\"\n"
      << "schemas = [\"customer\"]\ncriticality = \"critical\"\nglobals = true\n\n"
      << "[database.copy]\nconninfo = \"" << cluster_->ConnInfo("app_copy")
      << "\"\nmethod = \"logical\"\n"
      << "schemas = [\"customer\"]\ncriticality = \"rebuildable\"\ncompression_level = 1\n";
  auto first = Json({"backup", "--db", "app"});
  EXPECT_EQ(first["backup"]["meta"]["globals_file"], "globals.sql");
  auto info = Json({"info", first["backup"]["id"]});
  ASSERT_EQ(info["files"].size(), 2u);
  EXPECT_EQ(info["files"][1]["path"], "globals.sql");
  // The same rows in another database: nearly everything deduplicates.
  auto second = Json({"backup", "--db", "copy"});
  uint64_t first_stored = first["backup"]["stats"]["stored_bytes"];
  uint64_t second_stored = second["backup"]["stats"]["stored_bytes"];
  EXPECT_LT(second_stored * 5, first_stored) << second["backup"]["stats"].dump();
  EXPECT_EQ(Json({"list", "--db", "copy"})["snapshots"].size(), 1u);
  EXPECT_EQ(Json({"list"})["snapshots"].size(), 2u);
  auto restored = Json({"restore", "--db", "copy", "--into-database", "copy_restored"});
  EXPECT_EQ(restored["ok"], true);
  EXPECT_EQ(Fingerprint("copy_restored", "customer.messages"),
            Fingerprint("app", "customer.messages"));
}

TEST_F(LogicalTest, RestoreFailureIsLoudAndLeavesNoDatabase) {
  cluster_->Exec(
      "CREATE ROLE ghost; CREATE SCHEMA haunted; CREATE TABLE haunted.t (x int); ALTER TABLE "
      "haunted.t OWNER TO ghost;",
      "app");
  WriteConfig("schemas = [\"haunted\"]\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  cluster_->Exec("DROP SCHEMA haunted CASCADE; DROP ROLE ghost;", "app");
  ProcessResult r = Pgkeep({"restore", "--db", "app", "--into-database", "app_ghost"});
  EXPECT_EQ(r.exit_code, 14);
  EXPECT_NE(r.err.find("pgkeep: error: pg_restore failed (exit 1): "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("role \"ghost\" does not exist"), std::string::npos) << r.err;
  // The server's own error and the statement it refused, not just pg_restore's last line.
  EXPECT_NE(
      r.err.find(
          "pg_restore: error: could not execute query: ERROR:  role \"ghost\" does not exist; "
          "Command was: ALTER TABLE haunted.t OWNER TO ghost;"),
      std::string::npos)
      << r.err;
  // The default --jobs 2 failed, so it was retried once without parallelism, and says so.
  EXPECT_NE(
      r.err.find(
          "(retried with --jobs=1; the parallel run had failed: pg_restore failed (exit 1): "),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("the half-restored database \"app_ghost\" was dropped"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("HINT: create the missing role"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 2)
      << "one message line and one HINT line: " << r.err;
  EXPECT_FALSE(DatabaseExists("app_ghost"));

  // Serially there is nothing to retry.
  ProcessResult serial =
      Pgkeep({"restore", "--db", "app", "--into-database", "app_ghost", "--jobs", "1"});
  EXPECT_EQ(serial.exit_code, 14);
  EXPECT_NE(serial.err.find("Command was: ALTER TABLE haunted.t OWNER TO ghost;"),
            std::string::npos)
      << serial.err;
  EXPECT_EQ(serial.err.find("retried"), std::string::npos) << serial.err;
  EXPECT_FALSE(DatabaseExists("app_ghost"));
}

// SIGTERM (as systemd or a timeout sends it) in the middle of pg_restore: the
// restore stops pg_restore and its workers, drops the database it was
// filling, and exits 130; nothing keeps loading into the server behind it.
TEST_F(LogicalTest, AnInterruptedRestoreStopsPgRestoreAndDropsItsDatabase) {
  // Each row's CHECK sleeps 20 ms outside the source database: the restore's
  // COPY of 1000 rows takes 20 s.
  cluster_->Exec(
      "CREATE SCHEMA slow; "
      "CREATE FUNCTION slow.wait(int) RETURNS boolean LANGUAGE sql AS "
      "$$SELECT current_database() = 'app' OR pg_sleep(0.02) IS NOT NULL$$; "
      "CREATE TABLE slow.rows (x int CHECK (slow.wait(x)))",
      "app");
  cluster_->Exec("INSERT INTO slow.rows SELECT generate_series(1, 1000)", "app");
  WriteConfig("schemas = [\"slow\"]\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  cluster_->Exec("DROP SCHEMA slow CASCADE", "app");

  bool copying = false;
  auto restore = StartRestoreUntilCopying("app_stopped", &copying);
  ASSERT_TRUE(copying) << "pg_restore never started its COPY";
  auto sent = std::chrono::steady_clock::now();
  restore.Kill(SIGTERM);
  EXPECT_EQ(restore.Wait(), 130);
  EXPECT_LT(std::chrono::steady_clock::now() - sent, std::chrono::seconds(12))
      << "the restore waited for pg_restore instead of stopping it";
  EXPECT_FALSE(DatabaseExists("app_stopped"));
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY slow%'"),
            "0");
}

// SIGKILL cannot be caught: the killed restore leaves its database, marked
// as being restored by a pid that is gone. The next restore into that name
// drops it by itself and restores, instead of failing on "already exists".
TEST_F(LogicalTest, TheLeftoverOfAKilledRestoreIsReplacedByTheNextRestore) {
  // Each row's CHECK sleeps 20 ms while the role's pgkeep_test.slow is on.
  cluster_->Exec(
      "CREATE SCHEMA sleepy; "
      "CREATE FUNCTION sleepy.wait(int) RETURNS boolean LANGUAGE sql AS "
      "$$SELECT coalesce(current_setting('pgkeep_test.slow', true), '') <> 'on' "
      "OR pg_sleep(0.02) IS NOT NULL$$; "
      "CREATE TABLE sleepy.rows (x int CHECK (sleepy.wait(x)))",
      "app");
  cluster_->Exec("INSERT INTO sleepy.rows SELECT generate_series(1, 1000)", "app");
  WriteConfig("schemas = [\"sleepy\"]\n");
  ASSERT_EQ(Pgkeep({"backup", "--db", "app"}).exit_code, 0);
  cluster_->Exec("DROP SCHEMA sleepy CASCADE", "app");
  cluster_->Exec("ALTER ROLE CURRENT_USER SET pgkeep_test.slow = 'on'");

  bool copying = false;
  auto restore = StartRestoreUntilCopying("app_killed", &copying);
  cluster_->Exec("ALTER ROLE CURRENT_USER RESET pgkeep_test.slow");
  ASSERT_TRUE(copying) << "pg_restore never started its COPY";
  restore.Kill(SIGKILL);
  restore.Wait();
  ASSERT_TRUE(DatabaseExists("app_killed"));
  // pg_restore does not go on alone (its rows would take 20 s more): it
  // gets SIGTERM with pgkeep's end and cancels its COPY.
  std::string sessions;
  for (int i = 0; i < 100; ++i) {
    sessions =
        cluster_->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app_killed'");
    if (sessions == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(sessions, "0") << "sessions of the killed restore still connected after 10 s";
  EXPECT_EQ(cluster_->Query(
                "SELECT shobj_description(oid, 'pg_database') LIKE 'pgkeep: restore in progress%' "
                "FROM pg_database WHERE datname = 'app_killed'"),
            "t");

  auto again = Json({"restore", "--db", "app", "--into-database", "app_killed"});
  EXPECT_EQ(again["ok"], true) << again.dump();
  EXPECT_NE(again["dropped_leftover"].get<std::string>().find("pgkeep: restore in progress (pid"),
            std::string::npos)
      << again.dump();
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM sleepy.rows", "app_killed"), "1000");
  // Done: the marker is gone, so a third restore refuses the name as any other.
  EXPECT_EQ(cluster_->Query("SELECT shobj_description(oid, 'pg_database') IS NULL FROM "
                            "pg_database WHERE datname = 'app_killed'"),
            "t");
  ProcessResult third = Pgkeep({"restore", "--db", "app", "--into-database", "app_killed"});
  EXPECT_EQ(third.exit_code, 2) << third.err;
  EXPECT_NE(third.err.find("database \"app_killed\" already exists"), std::string::npos)
      << third.err;
  cluster_->Exec("DROP DATABASE app_killed WITH (FORCE)");
}

TEST_F(LogicalTest, BadInputsGiveClearErrors) {
  // A database that does not exist.
  WriteConfig("", cluster_->ConnInfo("nope"));
  ProcessResult nodb = Pgkeep({"backup", "--db", "app"});
  EXPECT_EQ(nodb.exit_code, 13);
  EXPECT_NE(nodb.err.find("database \"nope\" does not exist"), std::string::npos) << nodb.err;
  // No pg_dump where pg_bin points.
  std::filesystem::create_directories(dir_ + "/emptybin");
  WriteConfig("pg_bin = \"" + dir_ + "/emptybin\"\n");
  ProcessResult missing = Pgkeep({"backup", "--db", "app"});
  EXPECT_EQ(missing.exit_code, 14);
  EXPECT_NE(missing.err.find("pg_dump not found in \"" + dir_ + "/emptybin\""), std::string::npos)
      << missing.err;
  // A pg_dump older than the server.
  std::filesystem::create_directories(dir_ + "/oldbin");
  std::ofstream(dir_ + "/oldbin/pg_dump") << "#!/bin/sh\necho 'pg_dump (PostgreSQL) 14.2'\n";
  chmod((dir_ + "/oldbin/pg_dump").c_str(), 0755);
  WriteConfig("pg_bin = \"" + dir_ + "/oldbin\"\n");
  ProcessResult old = Pgkeep({"backup", "--db", "app"});
  EXPECT_EQ(old.exit_code, 14);
  EXPECT_NE(old.err.find("older than the server (15)"), std::string::npos) << old.err;
  // An unknown database name in the command.
  ProcessResult unknown = Pgkeep({"backup", "--db", "other"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("no database \"other\""), std::string::npos) << unknown.err;
  // None of that left a backup behind.
  WriteConfig("");
  EXPECT_TRUE(Json({"list"})["snapshots"].empty());
}

}  // namespace
}  // namespace pgkeep
