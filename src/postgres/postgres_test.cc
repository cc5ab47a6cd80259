// Tests for postgres/: conninfo helpers and quoting (pure), FindPgTool
// (real and fake programs in temporary directories), and PgConnection
// against a real throwaway PostgreSQL 15 cluster.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <map>
#include <thread>

#include "postgres/connection.h"
#include "postgres/pg_tools.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

constexpr const char* kPrimary = "database \"primary\"";
constexpr const char* kPasswordHint =
    "set PGPASSWORD or a ~/.pgpass entry; conninfo must not contain the password";

TEST(QuoteTest, Ident) {
  const std::pair<std::string, std::string> cases[] = {{"t", "\"t\""},
                                                       {"my\"table", "\"my\"\"table\""},
                                                       {"", "\"\""},
                                                       {"Mixed Case", "\"Mixed Case\""}};
  for (const auto& [in, want] : cases) EXPECT_EQ(QuoteIdent(in), want) << in;
}

TEST(QuoteTest, Literal) {
  const std::pair<std::string, std::string> cases[] = {{"it's", "'it''s'"},
                                                       {"", "''"},
                                                       {"plain", "'plain'"},
                                                       {"a\\b", "E'a\\\\b'"},
                                                       {"it's \\", "E'it''s \\\\'"}};
  for (const auto& [in, want] : cases) EXPECT_EQ(QuoteLiteral(in), want) << in;
}

TEST(RedactConninfoTest, DropsEveryPassword) {
  const std::pair<std::string, std::string> cases[] = {
      {"host=h password=hunter2 dbname=app", "host=h dbname=app"},
      {"password = 'hunter 2' host=h", "host=h"},
      {"host=h password='it\\'s hunter2' port=1", "host=h port=1"},
      {"host=h sslpassword=hunter2", "host=h"},
      {"host=h port=5432", "host=h port=5432"},
      {"password hunter2 host=h", "host=h"},  // malformed: libpq would reject it
      {"", ""},
      {"postgresql://u:hunter2@h:5432/db", "postgresql://u@h:5432/db"},
      {"postgresql://u:@h/db", "postgresql://u@h/db"},
      {"postgres://u@h/db?password=hunter2&sslmode=require", "postgres://u@h/db?sslmode=require"},
      {"postgresql://u:hunter2@h/db?password=hunter2", "postgresql://u@h/db"},
      {"postgresql://h/db?sslmode=require", "postgresql://h/db?sslmode=require"},
      {"postgresql:///db", "postgresql:///db"},
      // libpq percent-decodes URI query keys: this is a password too.
      {"postgresql://u@h/db?pass%77ord=hunter2", "postgresql://u@h/db"},
      {"postgresql://u@h/db?%70assword=hunter2&sslmode=require",
       "postgresql://u@h/db?sslmode=require"},
  };
  for (const auto& [in, want] : cases) {
    EXPECT_EQ(RedactConninfo(in), want) << in;
    EXPECT_EQ(RedactConninfo(in).find("hunter"), std::string::npos) << in;
  }
}

// What libpq itself makes of a conninfo: only the parameters that are set.
std::map<std::string, std::string> Parse(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  std::map<std::string, std::string> out;
  if (options == nullptr) {
    out["error"] = error ? error : "";
    PQfreemem(error);
    return out;
  }
  for (const PQconninfoOption* o = options; o->keyword; ++o) {
    if (o->val) out[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return out;
}

TEST(ConninfoWithDbnameTest, ReplacesOnlyDbname) {
  using Map = std::map<std::string, std::string>;
  const struct {
    std::string conninfo;
    std::string dbname;
    Map want;
  } cases[] = {
      {"host=h port=5 dbname=a", "b", Map{{"host", "h"}, {"port", "5"}, {"dbname", "b"}}},
      {"host=h", "my db", Map{{"host", "h"}, {"dbname", "my db"}}},
      {"", "b", Map{{"dbname", "b"}}},
      {"host=h", "", Map{{"host", "h"}, {"dbname", ""}}},
      // Quoting keeps a hostile name from adding parameters.
      {"host=h", "x host=evil", Map{{"host", "h"}, {"dbname", "x host=evil"}}},
      {"postgresql://u:pw@h:5/a?sslmode=disable", "it's\\x",
       Map{{"user", "u"},
           {"password", "pw"},
           {"host", "h"},
           {"port", "5"},
           {"dbname", "it's\\x"},
           {"sslmode", "disable"}}},
  };
  for (const auto& c : cases) {
    Result<std::string> r = ConninfoWithDbname(c.conninfo, c.dbname);
    ASSERT_TRUE(r.ok()) << c.conninfo << ": " << r.status().ToString();
    EXPECT_EQ(Parse(*r), c.want) << c.conninfo << " -> " << *r;
  }
}

TEST(ConninfoWithDbnameTest, BadConninfoIsConfigErrorWithoutPassword) {
  for (const std::string bad :
       {"host=h password=hunter2 bogus", "postgresql://u:%zzhunter2@h/db"}) {
    Result<std::string> r = ConninfoWithDbname(bad, "b");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kConfig);
    EXPECT_EQ(r.status().ToString().find("hunter2"), std::string::npos) << r.status().ToString();
  }
  EXPECT_EQ(ConninfoWithDbname("host=h password=hunter2 bogus", "b").status().message(),
            "invalid conninfo (host=h bogus): missing \"=\" after \"bogus\" in connection info "
            "string");
}

TEST(PgToolVersionTest, Parses) {
  const std::pair<std::string, std::optional<int>> cases[] = {
      {"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", 15},
      {"psql (PostgreSQL) 9.6.24", 9},
      {"pg_restore (PostgreSQL) 17devel", 17},
      {"pg_dump (PostgreSQL) 16beta1\n", 16},
      {"pg_dump 15.1", std::nullopt},
      {"pg_dump (PostgreSQL) x", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(ParsePgToolMajorVersion(in), want) << in;
}

class PgToolTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-tools-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  // Writes an executable shell script `dir_/rel` (directories created).
  std::string Script(const std::string& rel, const std::string& body) {
    const std::string path = dir_ + "/" + rel;
    for (size_t slash = path.find('/', dir_.size() + 1); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      ::mkdir(path.substr(0, slash).c_str(), 0700);
    }
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0700);
    return path;
  }
  std::string Version(int major) {
    return "echo 'pg_dump (PostgreSQL) " + std::to_string(major) + ".2'";
  }

  std::string dir_;
};

TEST_F(PgToolTest, FindsRealPgDump15) {
  for (const std::string bin_dir : {"/usr/lib/postgresql/15/bin", ""}) {
    Result<PgTool> tool = FindPgTool("pg_dump", 15, bin_dir);
    ASSERT_TRUE(tool.ok()) << tool.status().ToString();
    EXPECT_EQ(tool->path, "/usr/lib/postgresql/15/bin/pg_dump");  // the newest one installed
    EXPECT_EQ(tool->major_version, 15);
    EXPECT_TRUE(tool->version_text.starts_with("pg_dump (PostgreSQL) 15.")) << tool->version_text;
  }
}

TEST_F(PgToolTest, TooOld) {
  const std::string path = Script("pg_dump", Version(14));
  Result<PgTool> tool = FindPgTool("pg_dump", 15, dir_);
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().code(), ErrorCode::kTool);
  EXPECT_EQ(tool.status().ToString(),
            "pg_dump 14 at \"" + path + "\" is older than the server (15); it cannot dump it\n" +
                "HINT: install postgresql-client-15 (Debian) or set pg_bin in [database.NAME]");
}

TEST_F(PgToolTest, MissingInBinDir) {
  Result<PgTool> tool = FindPgTool("pg_dump", 15, dir_);
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().code(), ErrorCode::kTool);
  EXPECT_EQ(tool.status().message(), "pg_dump not found in \"" + dir_ + "\"");
  EXPECT_EQ(tool.status().hint(),
            "install postgresql-client-15 (Debian) or set pg_bin in [database.NAME]");
}

TEST_F(PgToolTest, BadVersionOutputOrExitNamesThePath) {
  const std::string garbled = Script("a/pg_dump", "echo 'hello'");
  Result<PgTool> tool = FindPgTool("pg_dump", 15, dir_ + "/a");
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().message(),
            "cannot tell the version of \"" + garbled + "\" from its output \"hello\"");

  const std::string failing = Script("b/pg_dump", "echo 'libpq.so.5: not found' >&2; exit 127");
  tool = FindPgTool("pg_dump", 15, dir_ + "/b");
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().message(),
            "\"" + failing + " --version\" failed (exit code 127): libpq.so.5: not found");
}

TEST_F(PgToolTest, PrefersNewestVersionedDirThenPath) {
  Script("root/14/bin/pg_dump", Version(14));
  const std::string newest = Script("root/16/bin/pg_dump", Version(16));
  Script("root/9.6/bin/pg_dump", Version(9));
  Script("root/notaversion/bin/pg_dump", Version(99));
  PgToolSearchPaths where{.bin_dir = "", .versioned_root = dir_ + "/root", .path_env = ""};
  Result<PgTool> tool = FindPgToolIn("pg_dump", 14, where);
  ASSERT_TRUE(tool.ok()) << tool.status().ToString();
  EXPECT_EQ(tool->path, newest);
  EXPECT_EQ(tool->major_version, 16);

  // The first one found is judged, not skipped for an older fallback.
  tool = FindPgToolIn("pg_dump", 17, where);
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().message(),
            "pg_dump 16 at \"" + newest + "\" is older than the server (17); it cannot dump it");

  const std::string in_path = Script("p2/pg_restore", "echo 'pg_restore (PostgreSQL) 15.1'");
  where.path_env = ":" + dir_ + "/p1:" + dir_ + "/p2";
  tool = FindPgToolIn("pg_restore", 15, where);
  ASSERT_TRUE(tool.ok()) << tool.status().ToString();
  EXPECT_EQ(tool->path, in_path);

  tool = FindPgToolIn("psql", 15, where);
  ASSERT_FALSE(tool.ok());
  EXPECT_EQ(tool.status().message(), "psql not found (searched " + dir_ + "/root/*/bin and PATH)");
}

// One cluster for the whole suite: nothing here changes it in a way another
// test can see, apart from the role and pg_hba line added up front.
class PgConnectionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = testing::PgCluster::Start();
    // A password-protected role, so a real authentication failure can be seen.
    cluster_->Exec("CREATE ROLE pwuser LOGIN PASSWORD 'right'");
    cluster_->Exec("CREATE DATABASE \"my db\"");  // not allowed inside a multi-statement
    const std::string hba = cluster_->datadir() + "/pg_hba.conf";
    std::ifstream in(hba);
    const std::string old((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(hba) << "host all pwuser 127.0.0.1/32 scram-sha-256\n" << old;
    cluster_->Exec("SELECT pg_reload_conf()");
    // The reload is asynchronous; wait until the new rule is in force.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (ConnectPostgres(Conninfo("postgres", "user=pwuser"), kPrimary).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  void SetUp() override { ASSERT_NE(cluster_, nullptr) << "the test cluster did not start"; }

  static std::string Conninfo(const std::string& dbname, const std::string& extra = "") {
    return "host=127.0.0.1 port=" + std::to_string(cluster_->port()) + " dbname=" + dbname +
           (extra.empty() ? "" : " " + extra);
  }
  static std::unique_ptr<PgConnection> Connect() {
    auto conn = ConnectPostgres(cluster_->ConnInfo() + " password=hunter2", kPrimary);
    EXPECT_TRUE(conn.ok()) << conn.status().ToString();
    return conn.ok() ? std::move(conn).value() : nullptr;
  }

  static std::unique_ptr<testing::PgCluster> cluster_;
};
std::unique_ptr<testing::PgCluster> PgConnectionTest::cluster_;

TEST_F(PgConnectionTest, QueryWithParamsAndNulls) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  EXPECT_GE(conn->ServerVersionNum(), 150000);
  EXPECT_EQ(conn->Describe(), cluster_->ConnInfo());  // the password is gone

  Result<PgResult> r = conn->Query(
      "SELECT $1::int + 1 AS n, NULL::text AS missing, $2::text AS s, "
      "current_setting('application_name') AS app",
      {"41", "it's"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->columns, (std::vector<std::string>{"n", "missing", "s", "app"}));
  ASSERT_EQ(r->rows.size(), 1u);
  EXPECT_EQ(r->rows[0].values,
            (std::vector<std::optional<std::string>>{"42", std::nullopt, "it's", "pgkeep"}));
  EXPECT_EQ(r->command_tag, "SELECT 1");

  ASSERT_TRUE(
      conn->Exec("CREATE TEMP TABLE t (x int); INSERT INTO t SELECT generate_series(1, 3)").ok());
  r = conn->Query("SELECT x FROM t ORDER BY x");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rows.size(), 3u);
  EXPECT_EQ(r->rows[2].values[0], "3");
  EXPECT_EQ(r->command_tag, "SELECT 3");
}

TEST_F(PgConnectionTest, QuotingRoundTripsThroughTheServer) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  for (const std::string value : {"it's", "a\\b", "\"q\"", "ünï'\\'cödé", ""}) {
    Result<PgResult> r = conn->Query("SELECT " + QuoteLiteral(value));
    ASSERT_TRUE(r.ok()) << value << ": " << r.status().ToString();
    EXPECT_EQ(r->rows[0].values[0], value);
  }
  const std::string table = QuoteIdent("my\"table");
  ASSERT_TRUE(
      conn->Exec("CREATE TEMP TABLE " + table + " (x int); INSERT INTO " + table + " VALUES (7)")
          .ok());
  EXPECT_EQ(conn->Query("SELECT x FROM " + table)->rows[0].values[0], "7");
}

TEST_F(PgConnectionTest, FailingSqlNamesTheServerMessage) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  Result<PgResult> r = conn->Query("SELECT * FROM no_such_table");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kPostgres);
  EXPECT_EQ(r.status().message(),
            "query failed on database \"primary\": relation \"no_such_table\" does not exist");
  EXPECT_EQ(conn->LastSqlState(), "42P01");

  Status s = conn->Exec("SELECT 1; SELECT no_such_function(); SELECT 2");
  EXPECT_EQ(s.message(),
            "query failed on database \"primary\": function no_such_function() does not exist");
  EXPECT_NE(s.hint(), "");  // the server's own HINT is passed on
  EXPECT_EQ(conn->LastSqlState(), "42883");

  ASSERT_TRUE(conn->Query("SELECT 1").ok());  // the connection is still usable
  EXPECT_EQ(conn->LastSqlState(), "");
}

TEST_F(PgConnectionTest, NoticesAreNotPrinted) {
  auto conn = Connect();
  ASSERT_NE(conn, nullptr);
  ::testing::internal::CaptureStderr();
  Status s = conn->Exec("DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$");
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(err, "");
}

TEST_F(PgConnectionTest, UriAndConninfoWithDbname) {
  const std::string uri =
      "postgresql://postgres:hunter2@127.0.0.1:" + std::to_string(cluster_->port()) + "/postgres";
  auto conn = ConnectPostgres(uri, kPrimary);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ((*conn)->Describe(),
            "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_->port()) + "/postgres");

  Result<std::string> other = ConninfoWithDbname(uri, "my db");
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  conn = ConnectPostgres(*other, kPrimary);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_EQ((*conn)->Query("SELECT current_database()")->rows[0].values[0], "my db");
}

TEST_F(PgConnectionTest, ConnectErrorsAreOneLineWithHintAndNoPassword) {
  const std::string port = std::to_string(cluster_->port());
  const struct {
    std::string conninfo;
    std::string message;
    std::string hint;
  } cases[] = {
      {"host=127.0.0.1 port=1 dbname=app password=hunter2",
       "cannot connect to database \"primary\" (host=127.0.0.1 port=1 dbname=app): "
       "connection refused",
       "is PostgreSQL running and listening there? check conninfo"},
      {Conninfo("nope", "user=postgres password=hunter2"),
       "cannot connect to database \"primary\" (host=127.0.0.1 port=" + port +
           " dbname=nope user=postgres): database \"nope\" does not exist",
       "check dbname in conninfo"},
      {Conninfo("postgres", "user=pwuser password=hunter2"),
       "cannot connect to database \"primary\" (host=127.0.0.1 port=" + port +
           " dbname=postgres user=pwuser): password authentication failed for user \"pwuser\"",
       kPasswordHint},
      {Conninfo("postgres", "user=nobody"),
       "cannot connect to database \"primary\" (host=127.0.0.1 port=" + port +
           " dbname=postgres user=nobody): role \"nobody\" does not exist",
       "check user in conninfo"},
  };
  for (const auto& c : cases) {
    auto conn = ConnectPostgres(c.conninfo, kPrimary, 5);
    ASSERT_FALSE(conn.ok()) << c.conninfo;
    EXPECT_EQ(conn.status().code(), ErrorCode::kPostgres);
    EXPECT_EQ(conn.status().message(), c.message);
    EXPECT_EQ(conn.status().hint(), c.hint);
    EXPECT_EQ(conn.status().ToString().find("hunter2"), std::string::npos);
  }

  auto bad = ConnectPostgres("postgresql://u:%zzhunter2@127.0.0.1/db", kPrimary);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(bad.status().message(),
            "invalid conninfo for database \"primary\" (postgresql://u@127.0.0.1/db): "
            "invalid percent-encoded token: \"***\"");
}

}  // namespace
}  // namespace pgkeep
