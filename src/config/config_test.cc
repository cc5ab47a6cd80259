#include "config/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <string>

#include "common/cron.h"
#include "config/secrets.h"

namespace pgkeep {
namespace {
PosixEnv test_env;  // config files are real files in a temporary directory

// The example from PRODUCT.md, "Configuration shape", verbatim.
constexpr char kProductExample[] = R"(
[repository]
type = "posix"                          # "posix" (default) | "s3"
path = "/var/lib/pgkeep/repo"
password_env = "PGKEEP_REPO_PASSWORD"   # or password_file = "..."; encryption = "none" to opt out
compression_level = 3

[repository.s3]                         # when type = "s3"
endpoint = "https://s3.eu-central-1.amazonaws.com"
bucket = "acme-backups"
prefix = "pgkeep/"
region = "eu-central-1"
access_key_env = "AWS_ACCESS_KEY_ID"
secret_key_env = "AWS_SECRET_ACCESS_KEY"

[database.primary]                      # physical: the whole cluster behind conninfo
conninfo = "host=db1 port=5432 dbname=app user=pgkeep"
pgdata = "/var/lib/postgresql/15/main"  # read files locally; omit to stream over replication
method = "physical"                     # "physical" | "logical"
criticality = "critical"                # "critical" | "standard" | "rebuildable"
schedule = { full = "0 2 * * 0", incr = "0 2 * * 1-6", drill = "0 4 * * 1" }
retention = { daily = 30, weekly = 12, monthly = 12, yearly = 7, min_keep = 3 }
max_backup_age = "36h"
rto = "1h"                              # drill targets: a drill that misses one fails
rpo = "5m"

[[database.primary.check]]              # user checks a drill runs on the restored copy
name = "organizations present"
sql = "SELECT count(*) FROM organizations"
expect = ">= 1"

[database.data]                         # logical: one database
conninfo = "host=db2 dbname=data user=pgkeep"
method = "logical"
schemas = ["workspace", "reference"]
schedule = { logical = "0 2 * * *" }
retention = { daily = 14 }

[[retention_policy]]
name = "messages"
database = "primary"
table = "messages"
timestamp_column = "timestamp"
tenant = { table = "organizations", key = "id", foreign_key = "orgId", days_column = "messageRetentionDays", hard_delete_column = "hardDeleteOnRetention", last_run_column = "lastRetentionRunAt" }
redact = { content = "[redacted]" }
batch_size = 1000

[server]
listen = "127.0.0.1:8432"
state = "/var/lib/pgkeep/state.db"      # SQLite
api_keys = [ { name = "ops", role = "operator", key_env = "PGKEEP_OPS_KEY" } ]
internal_key_env = "PGKEEP_INTERNAL_KEY"

[[copy]]                                # off-site copies, each with its own retention
name = "offsite"
type = "s3"                             # or "posix" with path = "..."
s3 = { endpoint = "https://s3.eu-west-1.amazonaws.com", bucket = "acme-offsite", region = "eu-west-1", access_key_env = "OFFSITE_KEY", secret_key_env = "OFFSITE_SECRET", storage_class = "STANDARD_IA" }
retention = { weekly = 13 }
max_copy_age = "8d"

[[alert]]
type = "webhook"                        # "webhook" | "slack" | "email"
url = "https://hooks.example.com/pgkeep"
)";

Config MustParse(const std::string& text) {
  auto config = ParseConfig(text, "t.toml");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  if (!config.ok()) return Config{};
  return std::move(config).value();
}

TEST(ConfigTest, ProductExampleParses) {
  Config c = MustParse(kProductExample);
  EXPECT_EQ(c.source, "t.toml");
  const RepositoryConfig& r = c.repository;
  EXPECT_EQ(r.type, "posix");
  EXPECT_EQ(r.path, "/var/lib/pgkeep/repo");
  EXPECT_EQ(r.password_env, "PGKEEP_REPO_PASSWORD");
  EXPECT_EQ(r.password_file, "");
  EXPECT_EQ(r.encryption, "aes-256-gcm");
  EXPECT_EQ(r.compression_level, 3);
  EXPECT_EQ(r.pack_size_mib, 16u);
  ASSERT_TRUE(r.s3.has_value());
  EXPECT_EQ(r.s3->endpoint, "https://s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(r.s3->bucket, "acme-backups");
  EXPECT_EQ(r.s3->prefix, "pgkeep/");
  EXPECT_EQ(r.s3->region, "eu-central-1");
  EXPECT_EQ(r.s3->access_key_env, "AWS_ACCESS_KEY_ID");
  EXPECT_EQ(r.s3->secret_key_env, "AWS_SECRET_ACCESS_KEY");
  EXPECT_TRUE(r.s3->path_style);

  ASSERT_EQ(c.databases.size(), 2u);
  const DatabaseConfig& p = c.databases.at("primary");
  EXPECT_EQ(p.name, "primary");
  EXPECT_EQ(p.conninfo, "host=db1 port=5432 dbname=app user=pgkeep");
  EXPECT_EQ(p.pgdata, "/var/lib/postgresql/15/main");
  EXPECT_EQ(p.method, "physical");
  EXPECT_EQ(p.criticality, "critical");
  EXPECT_EQ(p.schedule,
            (std::map<std::string, std::string>{
                {"full", "0 2 * * 0"}, {"incr", "0 2 * * 1-6"}, {"drill", "0 4 * * 1"}}));
  EXPECT_EQ(p.retention.daily, 30);
  EXPECT_EQ(p.retention.weekly, 12);
  EXPECT_EQ(p.retention.monthly, 12);
  EXPECT_EQ(p.retention.yearly, 7);
  EXPECT_EQ(p.retention.last, std::nullopt);
  EXPECT_EQ(p.retention.min_keep, 3);
  EXPECT_EQ(p.max_backup_age, "36h");
  EXPECT_EQ(p.rto, "1h");
  EXPECT_EQ(p.rpo, "5m");
  EXPECT_EQ(EffectiveMaxDrillAge(p), "8d");  // a drill is scheduled
  ASSERT_EQ(p.checks.size(), 1u);
  EXPECT_EQ(p.checks[0].name, "organizations present");
  EXPECT_EQ(p.checks[0].sql, "SELECT count(*) FROM organizations");
  EXPECT_EQ(p.checks[0].expect.text, ">= 1");
  EXPECT_TRUE(p.checks[0].expect.numeric);

  const DatabaseConfig& d = c.databases.at("data");
  EXPECT_EQ(d.method, "logical");
  EXPECT_EQ(d.criticality, "standard");
  EXPECT_EQ(d.schemas, (std::vector<std::string>{"workspace", "reference"}));
  EXPECT_EQ(d.schedule, (std::map<std::string, std::string>{{"logical", "0 2 * * *"}}));
  EXPECT_EQ(d.retention.daily, 14);
  EXPECT_EQ(d.retention.weekly, std::nullopt);
  EXPECT_EQ(d.rto, "");
  EXPECT_EQ(EffectiveMaxDrillAge(d), "");  // no drill scheduled, none required
  EXPECT_TRUE(d.checks.empty());

  ASSERT_EQ(c.retention_policies.size(), 1u);
  const RetentionPolicyConfig& rp = c.retention_policies[0];
  EXPECT_EQ(rp.name, "messages");
  EXPECT_EQ(rp.database, "primary");
  EXPECT_EQ(rp.table, "messages");
  EXPECT_EQ(rp.timestamp_column, "timestamp");
  EXPECT_EQ(rp.tenant.table, "organizations");
  EXPECT_EQ(rp.tenant.key, "id");
  EXPECT_EQ(rp.tenant.foreign_key, "orgId");
  EXPECT_EQ(rp.tenant.days_column, "messageRetentionDays");
  EXPECT_EQ(rp.tenant.hard_delete_column, "hardDeleteOnRetention");
  EXPECT_EQ(rp.tenant.last_run_column, "lastRetentionRunAt");
  EXPECT_EQ(rp.redact, (std::map<std::string, std::string>{{"content", "[redacted]"}}));
  EXPECT_EQ(rp.batch_size, 1000);

  EXPECT_EQ(c.server.listen, "127.0.0.1:8432");
  EXPECT_EQ(c.server.state, "/var/lib/pgkeep/state.db");
  ASSERT_EQ(c.server.api_keys.size(), 1u);
  EXPECT_EQ(c.server.api_keys[0].name, "ops");
  EXPECT_EQ(c.server.api_keys[0].role, "operator");
  EXPECT_EQ(c.server.api_keys[0].key_env, "PGKEEP_OPS_KEY");
  EXPECT_EQ(c.server.internal_key_env, "PGKEEP_INTERNAL_KEY");

  ASSERT_EQ(c.alerts.size(), 1u);
  EXPECT_EQ(c.alerts[0].type, "webhook");
  EXPECT_EQ(c.alerts[0].url, "https://hooks.example.com/pgkeep");
}

TEST(ConfigTest, CopyTargetsAndTheConfigurationSeenFromOne) {
  Config c =
      MustParse(std::string(kProductExample) +
                "\n[[copy]]\nname = \"dr\"\npath = \"/mnt/dr\"\npassword_env = \"DR_PASSWORD\"\n");
  ASSERT_EQ(c.copies.size(), 2u);
  const CopyConfig& offsite = c.copies[0];
  EXPECT_EQ(offsite.name, "offsite");
  EXPECT_EQ(offsite.type, "s3");
  ASSERT_TRUE(offsite.s3.has_value());
  EXPECT_EQ(offsite.s3->bucket, "acme-offsite");
  EXPECT_EQ(offsite.s3->storage_class, "STANDARD_IA");
  EXPECT_EQ(offsite.s3->access_key_env, "OFFSITE_KEY");
  EXPECT_EQ(offsite.retention->weekly, 13);
  EXPECT_EQ(offsite.max_copy_age, "8d");
  EXPECT_EQ(c.copies[1].type, "posix");
  EXPECT_FALSE(c.copies[1].retention.has_value());

  Config seen = ConfigForCopy(c, "offsite").value();
  EXPECT_EQ(seen.repository.type, "s3");
  EXPECT_EQ(seen.repository.s3->bucket, "acme-offsite");
  EXPECT_EQ(seen.repository.copy_name, "offsite");
  EXPECT_EQ(seen.repository.password_env, c.repository.password_env);  // one key for both
  for (const auto& [name, db] : seen.databases) EXPECT_EQ(db.retention.weekly, 13) << name;
  Config dr = ConfigForCopy(c, "dr").value();
  EXPECT_EQ(dr.repository.path, "/mnt/dr");
  EXPECT_EQ(dr.repository.password_env, "DR_PASSWORD");       // its own password
  EXPECT_EQ(dr.databases.at("primary").retention.daily, 30);  // its own: none, so the database's
  auto missing = ConfigForCopy(c, "nope");
  EXPECT_EQ(missing.status().code(), ErrorCode::kUsage);
  EXPECT_NE(missing.status().hint().find("offsite, dr"), std::string::npos);
  // The copy's S3 credentials are secrets children never see.
  auto secrets = SecretEnvNames(c);
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), "OFFSITE_SECRET"), secrets.end());
  EXPECT_NE(std::find(secrets.begin(), secrets.end(), "DR_PASSWORD"), secrets.end());
}

TEST(ConfigTest, Defaults) {
  Config c = MustParse("[repository]\npath = \"/r\"\n[database.a]\nconninfo = \"host=x\"\n");
  EXPECT_EQ(c.repository.type, "posix");
  EXPECT_EQ(c.repository.password_env, "PGKEEP_REPO_PASSWORD");
  EXPECT_EQ(c.repository.encryption, "aes-256-gcm");
  EXPECT_EQ(c.repository.compression_level, 3);
  EXPECT_EQ(c.repository.pack_size_mib, 16u);
  EXPECT_FALSE(c.repository.s3.has_value());
  const DatabaseConfig& a = c.databases.at("a");
  EXPECT_EQ(a.method, "physical");
  EXPECT_EQ(a.criticality, "standard");
  EXPECT_EQ(a.max_backup_age, "36h");
  EXPECT_EQ(a.retention.min_keep, 3);
  EXPECT_EQ(a.retention.daily, std::nullopt);
  EXPECT_EQ(a.retention.timezone, "UTC");
  EXPECT_TRUE(a.schedule.empty());
  EXPECT_EQ(c.server.listen, "127.0.0.1:8432");
  EXPECT_EQ(c.server.state, "/var/lib/pgkeep/state.db");
  EXPECT_EQ(c.server.internal_key_env, "");
  EXPECT_TRUE(c.alerts.empty());
  EXPECT_TRUE(c.retention_policies.empty());
}

TEST(ConfigTest, RetentionTimezone) {
  Config c = MustParse(
      "[repository]\npath = \"/r\"\n[database.a]\nconninfo = \"host=x\"\n"
      "retention = { daily = 7, within = \"2d\", timezone = \"Europe/Berlin\" }\n");
  const RetentionConfig& r = c.databases.at("a").retention;
  EXPECT_EQ(r.timezone, "Europe/Berlin");
  EXPECT_EQ(r.daily, 7);
  EXPECT_EQ(r.within, "2d");
  EXPECT_EQ(r.min_keep, 3);
}

TEST(ConfigTest, SecretSourcesAndTheirDefaults) {
  Config none = MustParse("[repository]\npath = \"/r\"\nencryption = \"none\"\n");
  EXPECT_EQ(none.repository.password_env, "");
  EXPECT_EQ(none.repository.password_file, "");

  Config file = MustParse(
      "[repository]\ntype = \"s3\"\npassword_file = \"/etc/pw\"\n"
      "[repository.s3]\nendpoint = \"http://minio:9000\"\nbucket = \"b\"\nregion = \"r\"\n"
      "access_key_file = \"/etc/ak\"\npath_style = false\n");
  EXPECT_EQ(file.repository.password_env, "");
  EXPECT_EQ(file.repository.password_file, "/etc/pw");
  ASSERT_TRUE(file.repository.s3.has_value());
  EXPECT_EQ(file.repository.s3->access_key_env, "");
  EXPECT_EQ(file.repository.s3->access_key_file, "/etc/ak");
  EXPECT_EQ(file.repository.s3->secret_key_env, "AWS_SECRET_ACCESS_KEY");
  EXPECT_FALSE(file.repository.s3->path_style);
}

struct ErrorCase {
  const char* name;
  std::string text;
  std::string message;  // exact
  std::string hint;     // exact
};

// Lines 1-2 of most cases; problems start on line 3.
const std::string kRepo = "[repository]\npath = \"/r\"\n";
const std::string kDb = "[database.a]\nconninfo = \"host=x\"\n";  // lines 3-4 after kRepo

// Failure output names the case instead of dumping its bytes.
void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ReportsOneLine) {
  const ErrorCase& c = GetParam();
  auto config = ParseConfig(c.text, "t.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(config.status().message(), c.message);
  EXPECT_EQ(config.status().hint(), c.hint);
  EXPECT_EQ(config.status().message().find('\n'), std::string::npos);
}

const ErrorCase kErrorCases[] = {
    {"BadRto", kRepo + kDb + "rto = \"soon\"\n",
     "t.toml:5: key \"database.a.rto\" must be a duration like \"36h\", \"7d\", \"90m\" or "
     "\"30s\", "
     "not \"soon\"",
     ""},
    {"BadExpectation",
     kRepo + kDb + "[[database.a.check]]\nname = \"n\"\nsql = \"SELECT 1\"\nexpect = \">== 1\"\n",
     "t.toml:8: key \"database.a.check.expect\" is \">== 1\", not an expectation: \"= 1\" is not a "
     "number (quote text: '...')",
     "write \"= 0\", \">= 1\", \"!= 'x'\", \"is null\" or \"is not null\""},
    {"DrillScratchOnPhysical", kRepo + kDb + "drill_scratch = \"cluster\"\n",
     "t.toml:5: key \"database.a.drill_scratch\" requires method = \"logical\"",
     "a physical drill always restores into a scratch data directory of its own"},
    {"CheckWithoutSql", kRepo + kDb + "[[database.a.check]]\nname = \"n\"\nexpect = \"= 1\"\n",
     "t.toml:5: key \"database.a.check.sql\" is required", ""},
    {"RepeatedCheckName",
     kRepo + kDb + "[[database.a.check]]\nname = \"n\"\nsql = \"SELECT 1\"\nexpect = \"= 1\"\n" +
         "[[database.a.check]]\nname = \"n\"\nsql = \"SELECT 2\"\nexpect = \"= 2\"\n",
     "t.toml:10: key \"database.a.check.name\" repeats the check name \"n\"",
     "give every check of a database its own name"},
    {"UnknownCheckKey",
     kRepo + kDb + "[[database.a.check]]\nname = \"n\"\nsql = \"SELECT 1\"\nexpected = \"= 1\"\n",
     "t.toml:8: unknown key \"database.a.check.expected\"", "did you mean \"expect\"?"},
    {"UnknownKeyNearMatch", "[repository]\ntype = \"posix\"\npth = \"/r\"\n",
     "t.toml:3: unknown key \"repository.pth\"", "did you mean \"path\"?"},
    {"UnknownKeyListsValid", kRepo + "color = \"red\"\n",
     "t.toml:3: unknown key \"repository.color\"",
     "valid keys in repository: compression_level, encryption, pack_size_mib, password_env, "
     "password_file, path, repack_below_percent, s3, type, wal_compression_level"},
    {"UnknownTopLevel", kRepo + "[databases.a]\n", "t.toml:3: unknown key \"databases\"",
     "did you mean \"database\"?"},
    {"UnknownScheduleKind", kRepo + kDb + "schedule = { ful = \"0 2 * * *\" }\n",
     "t.toml:5: unknown key \"database.a.schedule.ful\"", "did you mean \"full\"?"},
    {"UnknownRetentionKey", kRepo + kDb + "retention = { dayly = 3 }\n",
     "t.toml:5: unknown key \"database.a.retention.dayly\"", "did you mean \"daily\"?"},
    {"WrongTypeInteger", kRepo + "compression_level = \"3\"\n",
     "t.toml:3: key \"repository.compression_level\" must be an integer, not a string", ""},
    {"WrongTypeString", kRepo + kDb + "method = 1\n",
     "t.toml:5: key \"database.a.method\" must be a string, not an integer", ""},
    {"WrongTypeArrayElement", kRepo + kDb + "method = \"logical\"\nschemas = [\"a\",\n  2]\n",
     "t.toml:7: key \"database.a.schemas\" must hold only strings, not an integer", ""},
    {"WrongTypeTableArray", kRepo + "[alert]\ntype = \"slack\"\n",
     "t.toml:3: key \"alert\" must be an array of tables, not a table",
     "write each entry as a [[alert]] section"},
    {"SyntaxError", kRepo + "compression_level = \n",
     "t.toml:3: invalid TOML: missing value after key-value separator '=' (expected value, but "
     "got nothing)",
     ""},
    {"SyntaxDuplicateKey", kRepo + "path = \"/s\"\n",
     "t.toml:3: invalid TOML: value (\"path\") already exists (value defined twice)", ""},
    {"MissingRepository", kDb, "t.toml: missing [repository] table",
     "add [repository] with type = \"posix\" and path = \"/path/to/repo\""},
    {"BadRepositoryType", "[repository]\ntype = \"s4\"\n",
     "t.toml:2: key \"repository.type\" must be \"posix\" or \"s3\", not \"s4\"",
     "did you mean \"s3\"?"},
    {"PosixWithoutPath", "\n[repository]\ntype = \"posix\"\n",
     "t.toml:2: key \"repository.path\" is required when repository.type = \"posix\"", ""},
    {"EmptyPath", "[repository]\npath = \"\"\n",
     "t.toml:2: key \"repository.path\" must not be empty", ""},
    {"S3WithoutTable", "[repository]\ntype = \"s3\"\n",
     "t.toml:1: table [repository.s3] is required when repository.type = \"s3\"",
     "add [repository.s3] with endpoint, bucket and region"},
    {"S3WithoutBucket",
     "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"http://x\"\nregion = \"r\"\n",
     "t.toml:3: key \"repository.s3.bucket\" is required when repository.type = \"s3\"", ""},
    {"BadEncryption", kRepo + "encryption = \"aes\"\n",
     "t.toml:3: key \"repository.encryption\" must be \"aes-256-gcm\" or \"none\", not \"aes\"",
     ""},
    {"BothPasswordSources", kRepo + "password_env = \"P\"\npassword_file = \"/p\"\n",
     "t.toml:4: keys \"repository.password_env\" and \"repository.password_file\" are both set",
     "keep only one of them"},
    {"PasswordWithoutEncryption", kRepo + "encryption = \"none\"\npassword_env = \"P\"\n",
     "t.toml:4: key \"repository.password_env\" is set but repository.encryption = \"none\"",
     "remove it, or set encryption = \"aes-256-gcm\""},
    {"CompressionTooHigh", kRepo + "compression_level = 20\n",
     "t.toml:3: key \"repository.compression_level\" must be between 1 and 19, not 20", ""},
    {"CompressionZero", kRepo + "compression_level = 0\n",
     "t.toml:3: key \"repository.compression_level\" must be between 1 and 19, not 0", ""},
    {"PackSizeTooLarge", kRepo + "pack_size_mib = 257\n",
     "t.toml:3: key \"repository.pack_size_mib\" must be between 1 and 256, not 257", ""},
    {"BadMethod", kRepo + kDb + "method = \"physcial\"\n",
     "t.toml:5: key \"database.a.method\" must be \"physical\" or \"logical\", not \"physcial\"",
     "did you mean \"physical\"?"},
    {"BadCron", kRepo + kDb + "schedule = { full = \"0 25 * * *\" }\n",
     "t.toml:5: key \"database.a.schedule.full\" is not a valid cron expression: hour value out "
     "of range in \"25\" (0 to 23)",
     "five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" (02:00 every "
     "day), \"*/15 * * * *\", \"0 3 * * sun\""},
    {"BadCriticality", kRepo + kDb + "criticality = \"high\"\n",
     "t.toml:5: key \"database.a.criticality\" must be \"critical\", \"standard\", or "
     "\"rebuildable\", not \"high\"",
     ""},
    {"NegativeRetention", kRepo + kDb + "retention = { daily = -1 }\n",
     "t.toml:5: key \"database.a.retention.daily\" must not be negative, not -1", ""},
    {"NegativeMinKeep", kRepo + kDb + "[database.a.retention]\nweekly = 4\nmin_keep = -2\n",
     "t.toml:7: key \"database.a.retention.min_keep\" must not be negative, not -2", ""},
    {"BadMaxBackupAge", kRepo + kDb + "max_backup_age = \"36 hours\"\n",
     "t.toml:5: key \"database.a.max_backup_age\" must be a duration like \"36h\", \"7d\", \"90m\" "
     "or \"30s\", not \"36 hours\"",
     ""},
    {"EmptyRetentionTimezone", kRepo + kDb + "retention = { daily = 3, timezone = \"\" }\n",
     "t.toml:5: key \"database.a.retention.timezone\" must not be empty", ""},
    {"WrongTypeRetentionTimezone", kRepo + kDb + "[database.a.retention]\ntimezone = 1\n",
     "t.toml:6: key \"database.a.retention.timezone\" must be a string, not an integer", ""},
    {"UnknownRetentionKeyNearTimezone", kRepo + kDb + "retention = { time_zone = \"UTC\" }\n",
     "t.toml:5: unknown key \"database.a.retention.time_zone\"", "did you mean \"timezone\"?"},
    {"BadWithin", kRepo + kDb + "retention = { within = \"7y\" }\n",
     "t.toml:5: key \"database.a.retention.within\" must be a duration like \"36h\", \"7d\", "
     "\"90m\" or \"30s\", not \"7y\"",
     ""},
    {"MissingConninfo", kRepo + "[database.a]\nmethod = \"logical\"\n",
     "t.toml:3: key \"database.a.conninfo\" is required", ""},
    {"BadDatabaseName", kRepo + "[database.\"a/b\"]\nconninfo = \"host=x\"\n",
     "t.toml:3: database name \"a/b\" may only contain letters, digits, \"_\" and \"-\"", ""},
    {"SchemasOnPhysical", kRepo + kDb + "schemas = [\"s\"]\n",
     "t.toml:5: key \"database.a.schemas\" requires method = \"logical\"",
     "a physical backup always copies the whole cluster"},
    {"ScheduleKindForOtherMethod",
     kRepo + kDb + "method = \"logical\"\nschedule = { incr = \"* * * * *\" }\n",
     "t.toml:6: key \"database.a.schedule.incr\" does not apply to method = \"logical\"",
     "logical databases schedule logical and drill"},
    {"PolicyUnknownDatabase",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"b\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\ndays = 9\nmode = \"delete\"\n",
     "t.toml:7: key \"retention_policy.database\" names \"b\", but there is no [database.b]",
     "defined databases: a"},
    {"PolicyMissingTable",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntimestamp_column = \"ts\"\n",
     "t.toml:5: key \"retention_policy.table\" is required", ""},
    {"PolicyTenantMissingKey",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\ntenant = { table = \"o\", key = \"id\", days_column = \"d\" "
         "}\nredact = { body = \"x\" }\n",
     "t.toml:10: key \"retention_policy.tenant.foreign_key\" is required", ""},
    {"PolicyWithoutDaysOrTenant",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\nmode = \"delete\"\n",
     "t.toml:8: key \"retention_policy.table\" needs days = N or tenant = { ... } in its policy",
     "days = 90 erases rows older than 90 days; tenant reads each tenant's days"},
    {"PolicyDaysAndTenant",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\nmode = \"delete\"\ndays = 30\ntenant = { table = \"o\", "
         "key = \"id\", foreign_key = \"o\", days_column = \"d\" }\n",
     "t.toml:11: key \"retention_policy.days\" is set together with tenant = { ... }",
     "each tenant's days come from tenant.days_column; remove days"},
    {"PolicyRedactWithoutValues",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\ndays = 30\n",
     "t.toml:5: key \"retention_policy.mode\" is \"redact\", but the policy has no redact = { ... "
     "}",
     "add redact = { column = \"value\" }, or set mode = \"delete\""},
    {"PolicyBatchSizeZero",
     kRepo + kDb +
         "[[retention_policy]]\nname = \"m\"\ndatabase = \"a\"\ntable = \"t\"\n"
         "timestamp_column = \"ts\"\nbatch_size = 0\n",
     "t.toml:10: key \"retention_policy.batch_size\" must be between 1 and 1000000, not 0", ""},
    {"BadApiKeyRole",
     kRepo + "[server]\napi_keys = [ { name = \"ops\", role = \"root\", key_env = \"K\" } ]\n",
     "t.toml:4: key \"server.api_keys.role\" must be \"viewer\", \"operator\", or \"admin\", not "
     "\"root\"",
     ""},
    {"ApiKeyWithoutSource", kRepo + "[[server.api_keys]]\nname = \"ops\"\nrole = \"admin\"\n",
     "t.toml:3: api key \"ops\" needs key_env or key_file",
     "set key_env = \"VARIABLE\" or key_file = \"/path/to/file\""},
    {"BadListen", kRepo + "[server]\nlisten = \"8432\"\n",
     "t.toml:4: key \"server.listen\" must be HOST:PORT like \"127.0.0.1:8432\", not \"8432\"", ""},
    {"BadAlertType", kRepo + "[[alert]]\ntype = \"pager\"\nurl = \"http://x\"\n",
     "t.toml:4: key \"alert.type\" must be \"webhook\", \"slack\", or \"email\", not \"pager\"",
     ""},
    {"CopyWithoutName", kRepo + "[[copy]]\npath = \"/mnt/x\"\n",
     "t.toml:3: key \"copy.name\" is required in every [[copy]]", ""},
    {"S3CopyWithoutS3", kRepo + "[[copy]]\nname = \"x\"\ntype = \"s3\"\n",
     "t.toml:5: key \"copy.type\" is \"s3\", but the copy has no s3 = { ... }",
     "add s3 = { endpoint = ..., bucket = ..., region = ... }"},
    {"RepeatedCopyName",
     kRepo + "[[copy]]\nname = \"x\"\npath = \"/a\"\n[[copy]]\nname = \"x\"\npath = \"/b\"\n",
     "t.toml:7: key \"copy.name\" repeats the copy name \"x\"", ""},
    {"S3EndpointWithoutScheme",
     kRepo + "[[copy]]\nname = \"x\"\ntype = \"s3\"\ns3 = { endpoint = \"s3.amazonaws.com\", "
             "bucket = \"b\", region = \"r\" }\n",
     "t.toml:6: key \"copy.s3.endpoint\" must start with https:// (or http://)",
     "for instance endpoint = \"https://s3.eu-central-1.amazonaws.com\""},
    {"CopyInAnArchiveStorageClass",
     kRepo +
         "[[copy]]\nname = \"x\"\ntype = \"s3\"\ns3 = { endpoint = \"https://s3.amazonaws.com\", "
         "bucket = \"b\", region = \"r\", storage_class = \"DEEP_ARCHIVE\" }\n",
     "t.toml:6: key \"copy.s3.storage_class\" is \"DEEP_ARCHIVE\", an archive class whose objects "
     "cannot be read",
     "packs are shared by newer backups and must stay readable; use STANDARD_IA, ONEZONE_IA or "
     "GLACIER_IR (instant retrieval) for a cold [[copy]] target (docs/s3.md)"},
    {"PacksInAnArchiveStorageClass",
     kRepo +
         "[[copy]]\nname = \"x\"\ntype = \"s3\"\ns3 = { endpoint = \"https://s3.amazonaws.com\", "
         "bucket = \"b\", region = \"r\", storage_classes = { data = \"GLACIER\" } }\n",
     "t.toml:6: key \"copy.s3.storage_classes\" puts data in \"GLACIER\", an archive class whose "
     "objects cannot be read",
     "packs are shared by newer backups and must stay readable; use STANDARD_IA, ONEZONE_IA or "
     "GLACIER_IR (instant retrieval) for a cold [[copy]] target (docs/s3.md)"},
    {"CopyPasswordWithoutEncryption",
     "[repository]\npath = \"/r\"\nencryption = \"none\"\n[[copy]]\nname = \"x\"\npath = "
     "\"/a\"\npassword_env = \"X\"\n",
     "t.toml:7: key \"copy.password_env\" is set but repository.encryption = \"none\": a copy "
     "is as encrypted as its source",
     "remove it"},
    {"AlertWithoutUrl", kRepo + "[[alert]]\ntype = \"slack\"\n",
     "t.toml:3: key \"alert.url\" is required when alert.type = \"slack\"", ""},
    // Inline secrets: the message must name the key and never echo the value.
    {"InlinePassword", kRepo + "password = \"hunter2\"\n",
     "t.toml:3: inline secret \"repository.password\" is not allowed",
     "use password_env = \"VARIABLE\" or password_file = \"/path/to/file\" instead"},
    {"InlineS3SecretKey",
     "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"e\"\nbucket = \"b\"\n"
     "region = \"r\"\nsecret_key = \"hunter2\"\n",
     "t.toml:7: inline secret \"repository.s3.secret_key\" is not allowed",
     "use secret_key_env = \"VARIABLE\" or secret_key_file = \"/path/to/file\" instead"},
    {"InlineS3AccessKey",
     "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"e\"\nbucket = \"b\"\n"
     "region = \"r\"\naccess_key = \"hunter2\"\n",
     "t.toml:7: inline secret \"repository.s3.access_key\" is not allowed",
     "use access_key_env = \"VARIABLE\" or access_key_file = \"/path/to/file\" instead"},
    {"InlineApiKey",
     kRepo + "[server]\napi_keys = [ { name = \"ops\", role = \"admin\", key = \"hunter2\" } ]\n",
     "t.toml:4: inline secret \"server.api_keys.key\" is not allowed",
     "use key_env = \"VARIABLE\" or key_file = \"/path/to/file\" instead"},
    {"PasswordInConninfo", kRepo + "[database.a]\nconninfo = \"host=x password=hunter2\"\n",
     "t.toml:4: key \"database.a.conninfo\" must not contain a password",
     "use a ~/.pgpass file, passfile=... in the conninfo, or PGPASSWORD"},
    {"PasswordInConninfoUri", kRepo + "[database.a]\nconninfo = \"postgresql://u:hunter2@h/db\"\n",
     "t.toml:4: key \"database.a.conninfo\" must not contain a password",
     "use a ~/.pgpass file, passfile=... in the conninfo, or PGPASSWORD"},
    // libpq decodes URI query keys, so the check must too.
    {"PercentEncodedPasswordKey",
     kRepo + "[database.a]\nconninfo = \"postgresql://u@h/db?pass%77ord=hunter2\"\n",
     "t.toml:4: key \"database.a.conninfo\" must not contain a password",
     "use a ~/.pgpass file, passfile=... in the conninfo, or PGPASSWORD"},
    {"PasswordKeyWithSpaces",
     kRepo + "[database.a]\nconninfo = \"host=h  password  =  'hunter2'\"\n",
     "t.toml:4: key \"database.a.conninfo\" must not contain a password",
     "use a ~/.pgpass file, passfile=... in the conninfo, or PGPASSWORD"},
    // A typo outranks the "missing key" it causes, even on a later line.
    {"TypoOutranksMissing", "[repository]\ntype = \"posix\"\npht = \"/r\"\n",
     "t.toml:3: unknown key \"repository.pht\"", "did you mean \"path\"?"},
    // Among problems of one kind, the earliest line wins.
    {"EarliestLineWins", kRepo + "compression_level = 0\npack_size_mib = 0\n",
     "t.toml:3: key \"repository.compression_level\" must be between 1 and 19, not 0", ""},
};

INSTANTIATE_TEST_SUITE_P(Cases, ConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ConfigTest, ErrorsNeverEchoSecrets) {
  for (const ErrorCase& c : kErrorCases) {
    auto config = ParseConfig(c.text, "t.toml");
    ASSERT_FALSE(config.ok());
    EXPECT_EQ(config.status().ToString().find("hunter2"), std::string::npos) << c.name;
  }
  // An unterminated inline secret fails in the TOML parser, whose own message
  // quotes the source line.
  auto config = ParseConfig(kRepo + "password = \"hunter2\n", "t.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().ToString().find("hunter2"), std::string::npos)
      << config.status().ToString();
}

TEST(ConfigDurationTest, ParsesUnits) {
  struct Case {
    const char* text;
    int64_t seconds;
  };
  for (const Case& c : {Case{"30s", 30}, Case{"90m", 5400}, Case{"36h", 129600}, Case{"7d", 604800},
                        Case{"2w", 1209600}, Case{"0s", 0}}) {
    auto r = ParseDurationSeconds(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(r.value(), c.seconds) << c.text;
  }
  for (const char* bad : {"", "h", "36", "-1h", "1.5h", "36 h", "36H", "1y",
                          "99999999999999999999s", "9999999999999999w"}) {
    auto r = ParseDurationSeconds(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kConfig);
  }
  EXPECT_EQ(ParseDurationSeconds("1y").status().message(),
            "invalid duration \"1y\": expected a whole number followed by s, m, h, d or w, like "
            "\"36h\"");
}

class TempFile {
 public:
  explicit TempFile(const std::string& contents) {
    char name[] = "/tmp/pgkeep_config_test_XXXXXX";
    int fd = mkstemp(name);
    EXPECT_GE(fd, 0);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadConfigTest, ExplicitPath) {
  TempFile file(kRepo);
  auto config = LoadConfig(test_env, file.path());
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, file.path());
  EXPECT_EQ(config->repository.path, "/r");
}

TEST(LoadConfigTest, ErrorsNameTheFile) {
  TempFile file(kRepo + "pth = \"/x\"\n");
  auto config = LoadConfig(test_env, file.path());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), file.path() + ":3: unknown key \"repository.pth\"");
}

TEST(LoadConfigTest, EnvironmentVariable) {
  TempFile file(kRepo);
  setenv("PGKEEP_CONFIG", file.path().c_str(), 1);
  auto config = LoadConfig(test_env, "");
  unsetenv("PGKEEP_CONFIG");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->source, file.path());
}

TEST(LoadConfigTest, MissingFile) {
  auto config = LoadConfig(test_env, "/nonexistent/pgkeep.toml");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(config.status().message(),
            "cannot read config file \"/nonexistent/pgkeep.toml\": No such file or directory");
  EXPECT_EQ(config.status().hint(), "pass --config FILE or set PGKEEP_CONFIG");
}

TEST(LoadConfigTest, DirectoryIsNotAFile) {
  auto config = LoadConfig(test_env, "/tmp");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(), "cannot read config file \"/tmp\": Is a directory");
}

TEST(ResolveSecretTest, FromEnvironment) {
  setenv("PGKEEP_TEST_SECRET", "s3cret", 1);
  auto secret = ResolveSecret(test_env, "PGKEEP_TEST_SECRET", "", "repository password");
  unsetenv("PGKEEP_TEST_SECRET");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret.value(), "s3cret");
}

TEST(ResolveSecretTest, MissingEnvironmentVariable) {
  unsetenv("PGKEEP_TEST_UNSET");
  auto secret = ResolveSecret(test_env, "PGKEEP_TEST_UNSET", "", "repository password");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(secret.status().message(),
            "repository password: environment variable \"PGKEEP_TEST_UNSET\" is not set");
  EXPECT_EQ(secret.status().hint(), "export PGKEEP_TEST_UNSET before running pgkeep");
}

TEST(ResolveSecretTest, EmptyEnvironmentVariable) {
  setenv("PGKEEP_TEST_EMPTY", "", 1);
  auto secret = ResolveSecret(test_env, "PGKEEP_TEST_EMPTY", "", "api key \"ops\"");
  unsetenv("PGKEEP_TEST_EMPTY");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.status().message(),
            "api key \"ops\": environment variable \"PGKEEP_TEST_EMPTY\" is empty");
}

TEST(ResolveSecretTest, FromFileStripsOneNewline) {
  TempFile file("s3cret\n\n");
  auto secret = ResolveSecret(test_env, "", file.path(), "repository password");
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  EXPECT_EQ(secret.value(), "s3cret\n");

  TempFile crlf("s3cret\r\n");
  EXPECT_EQ(ResolveSecret(test_env, "", crlf.path(), "x").value(), "s3cret");
  TempFile bare("s3cret");
  EXPECT_EQ(ResolveSecret(test_env, "", bare.path(), "x").value(), "s3cret");
}

TEST(ResolveSecretTest, FileErrors) {
  auto missing = ResolveSecret(test_env, "", "/nonexistent/pw", "repository password");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(missing.status().message(),
            "repository password: cannot read file \"/nonexistent/pw\": No such file or directory");

  TempFile empty("\n");
  auto e = ResolveSecret(test_env, "", empty.path(), "repository password");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "repository password: file \"" + empty.path() + "\" is empty");

  TempFile huge(std::string(65 * 1024, 'x'));
  auto h = ResolveSecret(test_env, "", huge.path(), "repository password");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(),
            "repository password: cannot read file \"" + huge.path() + "\": larger than 64 KiB");
  EXPECT_EQ(h.status().ToString().find("xxxx"), std::string::npos);
}

TEST(ResolveSecretTest, NeitherOrBothSources) {
  auto neither = ResolveSecret(test_env, "", "", "repository password");
  ASSERT_FALSE(neither.ok());
  EXPECT_EQ(neither.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(neither.status().message(),
            "repository password: no environment variable or file configured");

  auto both = ResolveSecret(test_env, "E", "/f", "repository password");
  ASSERT_FALSE(both.ok());
  EXPECT_EQ(both.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(both.status().message(),
            "repository password: both environment variable \"E\" and file \"/f\" are configured");
}

TEST(ResolveSecretTest, RefusesAFileOthersCanRead) {
  TempFile file("s3cret\n");
  for (mode_t mode : {0644, 0640, 0604}) {
    ASSERT_EQ(chmod(file.path().c_str(), mode), 0);
    auto secret = ResolveSecret(test_env, "", file.path(), "repository password");
    ASSERT_FALSE(secret.ok()) << mode;
    EXPECT_EQ(secret.status().code(), ErrorCode::kConfig);
    EXPECT_NE(secret.status().message().find("is readable by group or others"), std::string::npos)
        << secret.status().message();
    EXPECT_EQ(secret.status().hint(), "chmod 600 " + file.path());
    EXPECT_EQ(secret.status().message().find("s3cret"), std::string::npos);
  }
  for (mode_t mode : {0600, 0400}) {
    ASSERT_EQ(chmod(file.path().c_str(), mode), 0);
    EXPECT_TRUE(ResolveSecret(test_env, "", file.path(), "x").ok()) << mode;
  }
}

TEST(SecretEnvNamesTest, ListsEverySecretVariableOnce) {
  auto config = ParseConfig(
      "[repository]\npath = \"/r\"\npassword_env = \"MY_REPO_PW\"\n"
      "[server]\ninternal_key_env = \"INTERNAL_KEY\"\n"
      "api_keys = [ { name = \"ops\", role = \"admin\", key_env = \"OPS_KEY\" } ]\n",
      "t.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  auto names = SecretEnvNames(*config);
  std::vector<std::string> want = {"PGKEEP_REPO_PASSWORD", "MY_REPO_PW", "OPS_KEY", "INTERNAL_KEY"};
  EXPECT_EQ(names, want);
  // libpq's own variables are what pg_dump and friends need: never dropped.
  EXPECT_EQ(std::find(names.begin(), names.end(), "PGPASSWORD"), names.end());
}

TEST(EffectiveScheduleTest, CriticalityGivesDefaultsOnlyWhenNothingIsScheduled) {
  DatabaseConfig db;
  db.name = "a";
  using Schedule = std::map<std::string, std::string>;
  db.criticality = "critical";
  EXPECT_EQ(EffectiveSchedule(db),
            (Schedule{{"full", "0 2 * * 0"}, {"incr", "0 2 * * 1-6"}, {"drill", "0 4 * * 1"}}));
  EXPECT_EQ(EffectiveMaxDrillAge(db), "8d");  // the default schedule has a drill
  db.method = "logical";
  EXPECT_EQ(EffectiveSchedule(db), (Schedule{{"logical", "0 2 * * *"}, {"drill", "0 4 * * 1"}}));
  db.criticality = "standard";
  EXPECT_EQ(EffectiveSchedule(db), (Schedule{{"logical", "0 2 * * *"}}));
  EXPECT_EQ(EffectiveMaxDrillAge(db), "");
  db.criticality = "rebuildable";
  EXPECT_EQ(EffectiveSchedule(db), (Schedule{{"logical", "0 3 * * 0"}}));
  db.method = "physical";
  EXPECT_EQ(EffectiveSchedule(db), (Schedule{{"full", "0 3 * * 0"}}));
  // A schedule of its own replaces the defaults whole.
  db.criticality = "critical";
  db.schedule = {{"full", "0 1 * * *"}};
  EXPECT_EQ(EffectiveSchedule(db), (Schedule{{"full", "0 1 * * *"}}));
  EXPECT_EQ(EffectiveMaxDrillAge(db), "");
  // Every default is a valid cron expression.
  for (const char* c : {"critical", "standard", "rebuildable"})
    for (const char* m : {"physical", "logical"}) {
      DatabaseConfig d;
      d.criticality = c;
      d.method = m;
      for (const auto& [kind, cron] : EffectiveSchedule(d))
        EXPECT_TRUE(CronExpr::Parse(cron).ok()) << c << " " << m << " " << kind;
    }
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

// The real Env with the environment variables of a map.
class VarsEnv final : public EnvWrapper {
 public:
  explicit VarsEnv(std::map<std::string, std::string> vars)
      : EnvWrapper(test_env), vars_(std::move(vars)) {}
  std::optional<std::string> GetEnvVar(const std::string& name) override {
    auto it = vars_.find(name);
    if (it == vars_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> vars_;
};

const char kSharedCredentials[] =
    "# written by aws configure\n"
    "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n"
    "[prod]\n aws_access_key_id=AKIDPROD \naws_secret_access_key = prod/secret=\n"
    "aws_session_token = prod-token\n"
    "[broken]\naws_access_key_id = AKIDBROKEN\n";

S3Config S3From(const std::string& lines) {
  Config c = MustParse(
      "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"http://x\"\n"
      "bucket = \"b\"\nregion = \"r\"\n" +
      lines);
  return *c.repository.s3;
}

TEST(S3CredentialsTest, FromANamedProfileOfTheSharedFile) {
  TempFile file(kSharedCredentials);
  VarsEnv env({{"AWS_ACCESS_KEY_ID", "ignored"}, {"AWS_SECRET_ACCESS_KEY", "ignored"}});
  auto c = ResolveS3Credentials(
      env, S3From("profile = \"prod\"\ncredentials_file = \"" + file.path() + "\"\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key, "AKIDPROD");
  EXPECT_EQ(c->secret_key, "prod/secret=");
  EXPECT_EQ(c->session_token, "prod-token");
  EXPECT_EQ(c->source, "profile \"prod\" of \"" + file.path() + "\"");

  auto missing = ResolveS3Credentials(
      env, S3From("profile = \"staging\"\ncredentials_file = \"" + file.path() + "\"\n"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(missing.status().message(),
            "S3 credentials: profile \"staging\" is not in \"" + file.path() + "\"");
  EXPECT_EQ(missing.status().hint(), "profiles there: default, prod, broken");

  auto broken = ResolveS3Credentials(
      env, S3From("profile = \"broken\"\ncredentials_file = \"" + file.path() + "\"\n"));
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(), "S3 credentials: profile \"broken\" of \"" + file.path() +
                                           "\" has no aws_secret_access_key");
  EXPECT_EQ(broken.status().message().find("AKIDBROKEN"), std::string::npos);
}

TEST(S3CredentialsTest, TheDefaultChainLikeTheAwsCli) {
  TempFile file(kSharedCredentials);
  // The variables first, with a session token when one is set.
  VarsEnv vars({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                {"AWS_SECRET_ACCESS_KEY", "env-secret"},
                {"AWS_SESSION_TOKEN", "env-token"},
                {"AWS_SHARED_CREDENTIALS_FILE", file.path()}});
  auto c = ResolveS3Credentials(vars, S3From(""));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key, "AKIDENV");
  EXPECT_EQ(c->session_token, "env-token");
  EXPECT_EQ(c->source, "$AWS_ACCESS_KEY_ID");
  // Then $AWS_PROFILE (or "default") of the shared file.
  VarsEnv profile({{"AWS_PROFILE", "prod"}, {"AWS_SHARED_CREDENTIALS_FILE", file.path()}});
  EXPECT_EQ(ResolveS3Credentials(profile, S3From(""))->access_key, "AKIDPROD");
  VarsEnv home({{"HOME", "/nonexistent"}, {"AWS_SHARED_CREDENTIALS_FILE", file.path()}});
  EXPECT_EQ(ResolveS3Credentials(home, S3From(""))->access_key, "AKIDDEFAULT");
  // Neither: the error says every way to give them.
  VarsEnv none(std::map<std::string, std::string>{{"HOME", "/nonexistent"}});
  auto missing = ResolveS3Credentials(none, S3From(""));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kAuth);
  EXPECT_NE(missing.status().hint().find("AWS_PROFILE"), std::string::npos);
  // Keys named in the file leave the shared file and $AWS_SESSION_TOKEN alone.
  VarsEnv named({{"MY_KEY", "AKIDMINE"},
                 {"MY_SECRET", "mine"},
                 {"AWS_SESSION_TOKEN", "not-mine"},
                 {"AWS_SHARED_CREDENTIALS_FILE", file.path()}});
  auto mine = ResolveS3Credentials(named, S3From("access_key_env = \"MY_KEY\"\n"
                                                 "secret_key_env = \"MY_SECRET\"\n"));
  ASSERT_TRUE(mine.ok()) << mine.status().ToString();
  EXPECT_EQ(mine->access_key, "AKIDMINE");
  EXPECT_EQ(mine->session_token, "");
}

TEST(S3CredentialsTest, AProfileWithExplicitKeysIsRefused) {
  auto parsed = ParseConfig(
      "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"http://x\"\n"
      "bucket = \"b\"\nregion = \"r\"\nprofile = \"prod\"\naccess_key_env = \"K\"\n",
      "t.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "t.toml:7: key \"repository.s3.profile\" is set together with access_key_env");
  // A session token inline is a secret in the file.
  auto inline_token = ParseConfig(
      "[repository]\ntype = \"s3\"\n[repository.s3]\nendpoint = \"http://x\"\n"
      "bucket = \"b\"\nregion = \"r\"\nsession_token = \"abc\"\n",
      "t.toml");
  ASSERT_FALSE(inline_token.ok());
  EXPECT_EQ(inline_token.status().message().find("abc"), std::string::npos);
}

}  // namespace
}  // namespace pgkeep
