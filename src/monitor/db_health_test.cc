// ProbeDatabase against a scripted server: a well server is "healthy"; each
// warning (connections, wraparound, a failing archiver, an inactive slot
// holding WAL, slowness) is said in words; an unreachable server is an
// "error" result, not a failure.
#include "monitor/db_health.h"

#include <gtest/gtest.h>

#include "support/fake_pg.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::OneValue;
using testing::Rows;

constexpr char kStateSql[] = "SELECT pg_is_in_recovery()::text, ...";
constexpr char kSlotsSql[] = "SELECT slot_name, active::text, ...";

DatabaseConfig Db() {
  DatabaseConfig db;
  db.name = "main";
  db.conninfo = "host=db1 dbname=app";
  return db;
}

TEST(DbHealthTest, AWellServerIsHealthy) {
  FakePgConnector pg;
  pg.ExpectConnect("host=db1 dbname=app")
      .ExpectQuery("SELECT 1", OneValue("1"))
      .ExpectQuery(kStateSql, Rows({{"false", "12", "100", "5000", "0", "", "false"}}))
      .ExpectQuery(kSlotsSql, Rows({{"standby1", "true", "16777216"}}));
  PosixEnv env;
  DatabaseHealth h = ProbeDatabase(env, pg, Db());
  EXPECT_EQ(h.status, "healthy");
  EXPECT_TRUE(h.healthy());
  EXPECT_TRUE(h.problems.empty());
  EXPECT_FALSE(h.in_recovery);
  EXPECT_EQ(h.connections, 12);
  EXPECT_EQ(h.max_connections, 100);
  EXPECT_EQ(h.xid_age, 5000);
  ASSERT_EQ(h.slots.size(), 1u);
  EXPECT_TRUE(h.slots[0].active);
  EXPECT_EQ(h.slots[0].retained_bytes, 16777216);
  EXPECT_TRUE(pg.Done());
  nlohmann::json j = HealthToJson(h);
  EXPECT_EQ(j["status"], "healthy");
  EXPECT_EQ(j["healthy"], true);
  EXPECT_EQ(j["slots"][0]["name"], "standby1");
}

TEST(DbHealthTest, EveryWarningIsSaidInWords) {
  FakePgConnector pg;
  pg.ExpectConnect("host=db1 dbname=app")
      .ExpectQuery("SELECT 1", OneValue("1"))
      .ExpectQuery(
          kStateSql,
          Rows({{"true", "95", "100", "1200000000", "7", "00000001000000000000002A", "true"}}))
      .ExpectQuery(kSlotsSql,
                   Rows({{"old_standby", "false", "2147483648"}, {"busy", "true", "4294967296"}}));
  PosixEnv env;
  HealthThresholds t;
  t.slow_ms = -1;  // any round trip is slow
  DatabaseHealth h = ProbeDatabase(env, pg, Db(), t);
  EXPECT_EQ(h.status, "latency");
  EXPECT_FALSE(h.healthy());
  EXPECT_TRUE(h.in_recovery);
  ASSERT_EQ(h.problems.size(), 5u);
  EXPECT_NE(h.problems[0].find("connect and one query took"), std::string::npos) << h.problems[0];
  EXPECT_EQ(h.problems[1], "database \"main\": 95 of max_connections 100 connections in use");
  EXPECT_EQ(h.problems[2],
            "database \"main\": transaction ID age 1200000000 (wraparound stops writes at "
            "2147483647): run VACUUM FREEZE");
  EXPECT_EQ(h.problems[3],
            "database \"main\": archive_command is failing (7 failures, last on "
            "00000001000000000000002A)");
  // The active slot holds more, but it is being consumed.
  EXPECT_EQ(h.problems[4],
            "database \"main\": inactive replication slot \"old_standby\" holds 2.0 GiB of WAL");
}

TEST(DbHealthTest, AnUnreachableServerIsAnErrorResult) {
  FakePgConnector pg;
  pg.ExpectConnectFailure("host=db1 dbname=app",
                          Status::Error(ErrorCode::kPostgres,
                                        "cannot connect to database \"main\": connection refused"));
  PosixEnv env;
  DatabaseHealth h = ProbeDatabase(env, pg, Db());
  EXPECT_EQ(h.status, "error");
  EXPECT_FALSE(h.healthy());
  EXPECT_EQ(h.error, "cannot connect to database \"main\": connection refused");
  ASSERT_EQ(h.problems.size(), 1u);
  EXPECT_EQ(h.problems[0], "cannot connect to database \"main\": connection refused");

  // A query that fails after connecting is an error too.
  FakePgConnector broken;
  broken.ExpectConnect("host=db1 dbname=app")
      .ExpectQuery("SELECT 1", OneValue("1"))
      .ExpectQueryFailure(kStateSql,
                          Status::Error(ErrorCode::kPostgres, "query failed: permission denied"));
  DatabaseHealth q = ProbeDatabase(env, broken, Db());
  EXPECT_EQ(q.status, "error");
  EXPECT_EQ(q.error, "query failed: permission denied");
}

}  // namespace
}  // namespace pgkeep
