// Row-level data retention (`pgkeep retention run`) against a real
// PostgreSQL 15, through the pgkeep binary as a user runs it, on the seed
// team's chat schema with its quoted, mixed-case names.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "policy/forget_log.h"
#include "postgres/connection.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;

// Three organizations: 7 days then redact, 90 days then delete, forever.
// Each has 400 messages, one a day going back from an hour ago.
constexpr char kChatSql[] = R"SQL(
CREATE TABLE "Organization" (id text PRIMARY KEY, name text NOT NULL,
  "messageRetentionDays" integer NOT NULL DEFAULT 365,
  "hardDeleteOnRetention" boolean NOT NULL DEFAULT false,
  "lastRetentionRunAt" timestamptz);
INSERT INTO "Organization" VALUES ('org-redact', 'Redact Ltd', 7, false, NULL),
  ('org-delete', 'Delete Inc', 90, true, NULL), ('org-forever', 'Forever GmbH', 0, false, NULL);
CREATE TABLE "Message" (id bigserial PRIMARY KEY,
  "orgId" text NOT NULL REFERENCES "Organization"(id), "senderId" text NOT NULL,
  content text NOT NULL, "timestamp" timestamptz NOT NULL);
INSERT INTO "Message" ("orgId", "senderId", content, "timestamp")
  SELECT o, 'user-' || g, 'message ' || g || ' of ' || o, now() - g * interval '1 day' - interval '1 hour'
  FROM unnest(ARRAY['org-redact', 'org-delete', 'org-forever']) o, generate_series(0, 399) g;
)SQL";

constexpr char kPolicy[] = R"(
[[retention_policy]]
name = "messages"
database = "chat"
table = "Message"
timestamp_column = "timestamp"
tenant = { table = "Organization", key = "id", foreign_key = "orgId", days_column = "messageRetentionDays", hard_delete_column = "hardDeleteOnRetention", last_run_column = "lastRetentionRunAt" }
redact = { content = "[redacted]" }
batch_size = 50
)";

class PolicyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = PgCluster::Start().release();
    cluster_->Exec("CREATE DATABASE chat_template");
    cluster_->Exec(kChatSql, "chat_template");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-policy-");
    cluster_->Exec("DROP DATABASE IF EXISTS chat");
    cluster_->Exec("CREATE DATABASE chat TEMPLATE chat_template");
    WriteConfig(kPolicy);
    ProcessResult init = Pgkeep({"init"});  // the forget log lives in the repository
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  void WriteConfig(const std::string& policies) {
    std::ofstream(dir_ + "/pgkeep.toml")
        << "[repository]\npath = \"" << dir_ << "/repo\"\nencryption = \"none\"\n\n"
        << "[database.chat]\nconninfo = \"" << cluster_->ConnInfo("chat")
        << "\"\nmethod = \"logical\"\n"
        << policies;
  }
  ProcessResult Pgkeep(std::vector<std::string> args) {
    args.insert(args.begin(), {PGKEEP_BINARY, "--config", dir_ + "/pgkeep.toml"});
    return RunProcess(args, "", {});
  }
  nlohmann::json Json(std::vector<std::string> args, int expected_exit = 0) {
    args.insert(args.begin(), {"--output", "json"});
    ProcessResult r = Pgkeep(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return nlohmann::json::parse(r.out.empty() ? "{}" : r.out, nullptr, false);
  }
  std::string Count(const std::string& where) {
    return cluster_->Query("SELECT count(*) FROM \"Message\" WHERE " + where, "chat");
  }
  // Everything but the content, for "metadata unchanged".
  std::string Metadata() {
    return cluster_->Query(
        "SELECT md5(string_agg(id || \"orgId\" || \"senderId\" || \"timestamp\", ',' ORDER BY "
        "id)) FROM \"Message\" WHERE \"orgId\" <> 'org-delete'",
        "chat");
  }
  bool AuditTableExists() {
    return cluster_->Query("SELECT to_regclass('pgkeep.retention_audit') IS NOT NULL", "chat") ==
           "t";
  }

  static PgCluster* cluster_;
  std::string dir_;
};
PgCluster* PolicyTest::cluster_ = nullptr;

TEST_F(PolicyTest, RedactsAndDeletesExactlyTheRowsPastTheirTenantsDays) {
  const std::string metadata = Metadata();
  // The dry run predicts and changes nothing, not even the audit table.
  auto dry = Json({"retention", "run", "--dry-run"});
  EXPECT_EQ(dry["redacted"], 393);  // 7..399 days old
  EXPECT_EQ(dry["deleted"], 310);   // 90..399 days old
  EXPECT_EQ(Count("true"), "1200");
  EXPECT_EQ(Count("content = '[redacted]'"), "0");
  EXPECT_FALSE(AuditTableExists());
  EXPECT_EQ(cluster_->Query("SELECT count(\"lastRetentionRunAt\") FROM \"Organization\"", "chat"),
            "0");

  auto run = Json({"retention", "run"});
  ASSERT_EQ(run["policies"].size(), 1u) << run.dump();
  const auto& policy = run["policies"][0];
  EXPECT_EQ(policy["redacted"], 393);
  EXPECT_EQ(policy["deleted"], 310);
  EXPECT_EQ(policy["locked"], 0);
  EXPECT_EQ(run["tenants_processed"], 2);
  // 15 batches staged their rows; the run shipped them merged: one entry
  // for the redactions, one for the deletes.
  EXPECT_EQ(run["forget_log_entries"], 2);
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pgkeep.forget_staged", "chat"), "0");
  EXPECT_EQ(Count("\"orgId\" = 'org-redact' AND content = '[redacted]'"), "393");
  EXPECT_EQ(Count("\"orgId\" = 'org-redact' AND \"timestamp\" > now() - interval '7 days'"), "7");
  EXPECT_EQ(Count("\"orgId\" = 'org-redact' AND content <> '[redacted]'"), "7");
  EXPECT_EQ(Count("\"orgId\" = 'org-delete'"), "90");
  EXPECT_EQ(Count("\"orgId\" = 'org-delete' AND \"timestamp\" < now() - interval '90 days'"), "0");
  EXPECT_EQ(Count("\"orgId\" = 'org-forever'"), "400");
  EXPECT_EQ(Count("\"orgId\" = 'org-forever' AND content = '[redacted]'"), "0");
  EXPECT_EQ(Metadata(), metadata);  // redacted rows keep their metadata
  // The tenants done are stamped; the one kept forever is untouched.
  EXPECT_EQ(cluster_->Query("SELECT string_agg(id, ',' ORDER BY id) FROM \"Organization\" WHERE "
                            "\"lastRetentionRunAt\" IS NOT NULL",
                            "chat"),
            "org-delete,org-redact");
  // Every batch audited: 8 batches of at most 50 to redact 393, 7 to delete 310.
  EXPECT_EQ(cluster_->Query("SELECT sum(rows) || ' ' || count(*) FROM pgkeep.retention_audit "
                            "WHERE policy = 'messages'",
                            "chat"),
            "703 15");
  EXPECT_EQ(cluster_->Query("SELECT string_agg(DISTINCT tenant || ':' || action, ',') FROM "
                            "pgkeep.retention_audit",
                            "chat"),
            "org-delete:delete,org-redact:redact");

  // A second run and a dry run find nothing left to do.
  auto again = Json({"retention", "run"});
  EXPECT_EQ(again["redacted"], 0);
  EXPECT_EQ(again["deleted"], 0);
  EXPECT_EQ(Json({"retention", "run", "--dry-run"})["redacted"], 0);
  EXPECT_EQ(Count("true"), "890");  // 1200 - 310 deleted
}

// A run that dies after a batch committed leaves that batch's rows staged
// in the database; the next run ships them before it erases anything. A
// staged row pgkeep did not write stops the run and stays.
TEST_F(PolicyTest, ErasuresStagedByARunThatDiedAreShippedByTheNextRun) {
  ASSERT_EQ(Json({"retention", "run"})["forget_log_entries"], 2);
  ForgetEntry died;
  died.policy = "messages";
  died.schema = "public";
  died.table = "Message";
  died.key = {"id"};
  died.timestamp_column = "timestamp";
  died.action = "delete";
  died.at = std::chrono::duration_cast<std::chrono::seconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  died.rows = {{"1000", "1700000000"}, {"1001", "1700000001"}};
  cluster_->Exec("INSERT INTO pgkeep.forget_staged (entry) VALUES ('{\"version\": 1}')", "chat");
  ProcessResult corrupt = Pgkeep({"retention", "run"});
  EXPECT_EQ(corrupt.exit_code, 11) << corrupt.out << corrupt.err;
  EXPECT_NE(corrupt.err.find("pgkeep.forget_staged row "), std::string::npos) << corrupt.err;
  EXPECT_NE(corrupt.err.find("HINT: pgkeep did not write it"), std::string::npos) << corrupt.err;
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pgkeep.forget_staged", "chat"), "1");

  cluster_->Exec("DELETE FROM pgkeep.forget_staged", "chat");
  cluster_->Exec("INSERT INTO pgkeep.forget_staged (entry) VALUES ('" + EncodeForgetEntry(died) +
                     "')",  // the JSON holds no quote
                 "chat");
  // The report says they wait (exit 1: backups kept forever contradict the
  // deletes).
  auto waiting = Json({"retention", "report"}, 1)["policies"][0];
  EXPECT_EQ(waiting["staged_batches"], 1) << waiting.dump();
  EXPECT_TRUE(waiting["staged_since"].is_string()) << waiting.dump();
  ProcessResult text = Pgkeep({"retention", "report"});
  EXPECT_NE(text.err.find("1 batch(es) of erasures since "), std::string::npos) << text.err;
  // Rows no configured policy writes, staged by whoever may write the
  // table: restores would re-apply them, so they are never shipped.
  ForgetEntry forged = died;
  forged.table = "Organization";
  forged.action = "redact";
  forged.redact = {{"name", "taken over"}};
  ForgetEntry other_redaction = died;
  other_redaction.action = "redact";
  other_redaction.redact = {{"content", "hello"}};
  for (const ForgetEntry& f : {forged, other_redaction})
    cluster_->Exec(
        "INSERT INTO pgkeep.forget_staged (entry) VALUES ('" + EncodeForgetEntry(f) + "')", "chat");
  ProcessResult next_run = Pgkeep({"--output", "json", "retention", "run"});
  ASSERT_EQ(next_run.exit_code, 0) << next_run.out << next_run.err;
  auto next = nlohmann::json::parse(next_run.out);
  EXPECT_EQ(next["deleted"], 0);  // nothing new was due
  EXPECT_EQ(next["forget_log_entries"], 1);
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM pgkeep.forget_staged", "chat"), "0");
  EXPECT_NE(next["warnings"].dump().find("names redact of Organization by policy "
                                         "\\\"messages\\\", which no configured retention "
                                         "policy writes: deleted, not shipped"),
            std::string::npos)
      << next_run.out;
  auto shipped = Json({"retention", "report"}, 1)["policies"][0];
  EXPECT_EQ(shipped["forget_log_entries"], 3);
  EXPECT_EQ(shipped["staged_batches"], 0);
}

TEST_F(PolicyTest, LockedRowsArePickedUpLaterAndASecondRunIsRefused) {
  auto holder = ConnectPostgres(cluster_->ConnInfo("chat"), "the test's session");
  ASSERT_TRUE(holder.ok()) << holder.status().message();
  // Another session holds ten of the rows to redact for a while.
  ASSERT_TRUE((*holder)->Exec("BEGIN").ok());
  auto held = (*holder)->Query(
      "SELECT id FROM \"Message\" WHERE \"orgId\" = 'org-redact' AND \"timestamp\" < now() - "
      "interval '100 days' ORDER BY id LIMIT 10 FOR UPDATE");
  ASSERT_TRUE(held.ok()) << held.status().message();
  auto run = std::async(std::launch::async, [&] { return Json({"retention", "run"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // Meanwhile the rest is done, and the held rows are still as they were.
  EXPECT_EQ(Count("\"orgId\" = 'org-delete'"), "90");
  EXPECT_EQ(Count("\"orgId\" = 'org-redact' AND content = '[redacted]'"), "383");
  ASSERT_TRUE((*holder)->Exec("COMMIT").ok());
  auto done = run.get();
  EXPECT_EQ(done["redacted"], 393) << done.dump();
  EXPECT_EQ(done["policies"][0]["locked"], 0);
  EXPECT_EQ(Count("\"orgId\" = 'org-redact' AND content = '[redacted]'"), "393");

  // The application holds a tenant's own row: the run does that tenant's
  // rows, leaves its stamp to the next run, and finishes (it waited for
  // ever before, holding its advisory lock).
  cluster_->Exec(
      "UPDATE \"Message\" SET \"timestamp\" = now() - interval '200 days' WHERE id IN "
      "(SELECT id FROM \"Message\" WHERE \"orgId\" = 'org-redact' AND content <> "
      "'[redacted]' LIMIT 3)",
      "chat");
  ASSERT_TRUE((*holder)->Exec("BEGIN").ok());
  ASSERT_TRUE(
      (*holder)->Query("SELECT id FROM \"Organization\" WHERE id = 'org-redact' FOR UPDATE").ok());
  WriteConfig(std::string(kPolicy) + "lock_timeout = \"1s\"\n");
  const std::string stamped_before = cluster_->Query(
      "SELECT \"lastRetentionRunAt\"::text FROM \"Organization\" WHERE id = 'org-redact'", "chat");
  auto held_tenant = Json({"retention", "run"});
  EXPECT_EQ(held_tenant["redacted"], 3) << held_tenant.dump();
  ASSERT_TRUE((*holder)->Exec("COMMIT").ok());
  EXPECT_EQ(cluster_->Query(
                "SELECT \"lastRetentionRunAt\"::text FROM \"Organization\" WHERE id = 'org-redact'",
                "chat"),
            stamped_before);
  WriteConfig(kPolicy);

  // A run of the same policy while one is running is refused, clearly.
  auto lock = (*holder)->Query(
      "SELECT pg_advisory_lock(hashtext('pgkeep.retention'), hashtext('messages'))");
  ASSERT_TRUE(lock.ok()) << lock.status().message();
  ProcessResult refused = Pgkeep({"retention", "run"});
  EXPECT_EQ(refused.exit_code, 8) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("retention policy \"messages\" is already running"), std::string::npos)
      << refused.err;
}

TEST_F(PolicyTest, APolicyThatDoesNotFitTheSchemaFailsBeforeTouchingData) {
  struct Case {
    std::string from, to, message;
  };
  for (const Case& c : std::vector<Case>{
           {"timestamp_column = \"timestamp\"", "timestamp_column = \"sentAt\"",
            "timestamp_column: table \"Message\" has no column \"sentAt\""},
           {"table = \"Message\"", "table = \"message\"", "table \"message\" does not exist"},
           {"foreign_key = \"orgId\"", "foreign_key = \"orgid\"",
            "tenant.foreign_key: table \"Message\" has no column \"orgid\""},
           {"days_column = \"messageRetentionDays\"", "days_column = \"name\"",
            "tenant.days_column \"name\" is of type text, not an integer"},
           {"redact = { content = \"[redacted]\" }", "redact = { \"timestamp\" = \"never\" }",
            "redact: column \"timestamp\" is the primary key, the timestamp"},
       }) {
    std::string policy = kPolicy;
    policy.replace(policy.find(c.from), c.from.size(), c.to);
    WriteConfig(policy);
    ProcessResult r = Pgkeep({"retention", "run"});
    EXPECT_EQ(r.exit_code, 3) << c.to << "\n" << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
  }
  EXPECT_FALSE(AuditTableExists());
  EXPECT_EQ(Count("true"), "1200");
  EXPECT_EQ(Count("content = '[redacted]'"), "0");

  // A delete that would cascade is refused unless the policy allows it.
  cluster_->Exec(
      "CREATE TABLE \"Attachment\" (id serial PRIMARY KEY, \"messageId\" bigint REFERENCES "
      "\"Message\"(id) ON DELETE CASCADE); INSERT INTO \"Attachment\" (\"messageId\") SELECT id "
      "FROM \"Message\" WHERE \"orgId\" = 'org-delete' ORDER BY id LIMIT 5",
      "chat");
  WriteConfig(kPolicy);
  ProcessResult cascade = Pgkeep({"retention", "run"});
  EXPECT_EQ(cascade.exit_code, 3) << cascade.out << cascade.err;
  EXPECT_NE(cascade.err.find("would cascade into \"Attachment\""), std::string::npos)
      << cascade.err;
  EXPECT_EQ(Count("true"), "1200");
  // A key that blocks deletes (Prisma's default, Restrict) is refused before
  // any batch: a batch would fail on the first row still referenced, and so
  // would every later run. SET NULL changes rows elsewhere: a cascade.
  cluster_->Exec(
      "CREATE TABLE \"Reaction\" (id serial PRIMARY KEY, \"messageId\" bigint REFERENCES "
      "\"Message\"(id) ON DELETE RESTRICT); CREATE TABLE \"Pin\" (id serial PRIMARY KEY, "
      "\"messageId\" bigint REFERENCES \"Message\"(id) ON DELETE SET NULL)",
      "chat");
  WriteConfig(std::string(kPolicy) + "allow_cascade = true\n");
  ProcessResult blocked = Pgkeep({"retention", "run"});
  EXPECT_EQ(blocked.exit_code, 3) << blocked.out << blocked.err;
  EXPECT_NE(blocked.err.find("is blocked by \"Reaction\" (foreign key "), std::string::npos)
      << blocked.err;
  EXPECT_NE(blocked.err.find("ON DELETE RESTRICT)"), std::string::npos) << blocked.err;
  EXPECT_EQ(Count("true"), "1200");
  cluster_->Exec("DROP TABLE \"Reaction\"", "chat");
  WriteConfig(kPolicy);
  ProcessResult set_null = Pgkeep({"retention", "run"});
  EXPECT_EQ(set_null.exit_code, 3) << set_null.out << set_null.err;
  EXPECT_NE(set_null.err.find("\"Pin\" (ON DELETE SET NULL)"), std::string::npos) << set_null.err;
  WriteConfig(std::string(kPolicy) + "allow_cascade = true\n");
  auto allowed = Json({"retention", "run"});
  EXPECT_EQ(allowed["deleted"], 310);
  EXPECT_EQ(allowed["policies"][0]["cascades_to"][0], "\"Attachment\"");
  EXPECT_EQ(allowed["policies"][0]["cascades_to"][1], "\"Pin\" (ON DELETE SET NULL)");
  cluster_->Exec("DROP TABLE \"Pin\"", "chat");
}

TEST_F(PolicyTest, ACompositeKeyBatchRecordsItsRealLastKeyAndTimestampsAreUtc) {
  cluster_->Exec(
      "CREATE TABLE \"Reading\" (sensor int, seq int, at timestamptz NOT NULL, value text, "
      "PRIMARY KEY (sensor, seq)); INSERT INTO \"Reading\" SELECT s, q, now() - interval '10 "
      "days', 'v' FROM generate_series(1, 3) s, generate_series(1, 2) q",
      "chat");
  WriteConfig(
      "\n[[retention_policy]]\nname = \"readings\"\ndatabase = \"chat\"\ntable = "
      "\"Reading\"\ntimestamp_column = \"at\"\ndays = 1\nmode = \"redact\"\nredact = { value "
      "= \"x\" }\nbatch_size = 3\n");
  auto ran = Json({"retention", "run"});
  EXPECT_EQ(ran["redacted"], 6) << ran.dump();
  // Batches of three in key order: (1,1) (1,2) (2,1), then (2,2) (3,1) (3,2).
  EXPECT_EQ(cluster_->Query("SELECT string_agg(first_key || '..' || last_key, ' ' ORDER BY id) "
                            "FROM pgkeep.retention_audit WHERE policy = 'readings'",
                            "chat"),
            "1,1..2,1 2,2..3,2");
  cluster_->Exec("DROP TABLE \"Reading\"", "chat");

  // A timestamp without time zone holds UTC (as Prisma writes it): a row 21
  // hours old is not due after one day, whatever the server's zone.
  cluster_->Exec(
      "CREATE TABLE \"Visit\" (id int PRIMARY KEY, at timestamp NOT NULL, page text); INSERT "
      "INTO \"Visit\" VALUES (1, (now() AT TIME ZONE 'UTC') - interval '21 hours', 'p'), (2, "
      "(now() AT TIME ZONE 'UTC') - interval '27 hours', 'p'); ALTER DATABASE chat SET TimeZone "
      "= 'Asia/Tokyo'",
      "chat");
  WriteConfig(
      "\n[[retention_policy]]\nname = \"visits\"\ndatabase = \"chat\"\ntable = "
      "\"Visit\"\ntimestamp_column = \"at\"\ndays = 1\nmode = \"redact\"\nredact = { page "
      "= \"x\" }\n");
  auto visits = Json({"retention", "run"});
  cluster_->Exec("ALTER DATABASE chat RESET TimeZone", "chat");
  EXPECT_EQ(visits["redacted"], 1) << visits.dump();
  EXPECT_EQ(cluster_->Query("SELECT string_agg(page, ',' ORDER BY id) FROM \"Visit\"", "chat"),
            "p,x");
  cluster_->Exec("DROP TABLE \"Visit\"", "chat");
}

TEST_F(PolicyTest, TheReportSaysHowLongErasedRowsLiveInBackups) {
  WriteConfig(std::string("\n[database.chat.retention]\ndaily = 30\n") + kPolicy);
  ASSERT_EQ(Pgkeep({"backup", "--db", "chat"}).exit_code, 0);
  ASSERT_EQ(Json({"retention", "run"})["deleted"], 310);
  // Backups kept 30 days, deletes after 90: nothing contradicts.
  auto report = Json({"retention", "report"});
  ASSERT_EQ(report["policies"].size(), 1u) << report.dump();
  const auto& p = report["policies"][0];
  EXPECT_EQ(p["forget_log_entries"], 2);
  EXPECT_TRUE(p["oldest_backup"].is_object()) << p.dump();
  EXPECT_EQ(p["horizons"][0]["days"], 30);
  ASSERT_EQ(p["tenants"].size(), 3u);
  EXPECT_EQ(p["tenants"][0]["tenant"], "org-delete");
  EXPECT_EQ(p["tenants"][0]["in_backups_days"], 30);
  EXPECT_EQ(p["tenants"][0]["contradiction"], false);
  EXPECT_TRUE(p["tenants"][0]["last_run"].is_string()) << p.dump();  // stamped by the run
  EXPECT_EQ(p["tenants"][1]["action"], "keep");

  // Yearly backups for 7 years against a 90-day hard delete: flagged, exit 1.
  WriteConfig(std::string("\n[database.chat.retention]\ndaily = 30\nyearly = 7\n") + kPolicy);
  ProcessResult flagged = Pgkeep({"retention", "report"});
  EXPECT_EQ(flagged.exit_code, 1) << flagged.out << flagged.err;
  // A report that finds a problem prints on stderr, as status does.
  EXPECT_NE(flagged.err.find("tenant org-delete: rows deleted after 90 days stay in backups up "
                             "to 2562 days after, by repository (yearly = 7)"),
            std::string::npos)
      << flagged.err;
  EXPECT_NE(flagged.err.find("CONTRADICTION: deleted after 90 days"), std::string::npos);
  // status shows the same, as a warning: it is not what makes it unhealthy.
  ProcessResult status = Pgkeep({"--output", "json", "status"});
  auto s = nlohmann::json::parse(status.out, nullptr, false);
  ASSERT_FALSE(s.is_discarded()) << status.out << status.err;
  EXPECT_EQ(s["retention_policies"][0]["contradiction"], true);
  EXPECT_EQ(s["reasons"].dump().find("retention"), std::string::npos) << s["reasons"].dump();
}

}  // namespace
}  // namespace pgkeep
