// config/config.h — the pgkeep configuration file: its shape, parsing and
// validation (the schema). The TOML reading underneath is toml_reader.h's;
// resolving the secrets the file refers to is secrets.h's.
//
// The key names are a public contract (docs/PRODUCT.md, "Configuration
// shape"). Parsing is all-or-nothing: ParseConfig either returns a Config that
// passed every check below, or one kConfig error whose message is a single line
// "<source>:<line>: <problem>" (line omitted when the problem has none, e.g. a
// missing [repository] table) with an optional hint. When a file has several
// problems the one reported is the most fundamental (syntax, then unknown keys,
// wrong types and inline secrets, then bad values, then missing or dangling
// references), earliest line first, so fixing errors top-down converges.
//
// Secrets never live in the file: only the names of environment variables or
// files that hold them (the *_env / *_file keys). Error messages never contain
// a secret value. All functions are thread-compatible and keep no state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/expectation.h"

namespace pgkeep {

// [repository.s3]. Credentials come from access_key_env/secret_key_env
// (defaults below) unless the matching *_file key is set, in which case the
// *_env member is empty.
//
// Where the credentials come from (ResolveS3Credentials, secrets.h):
//   - `profile` set: that profile of the shared credentials file;
//   - any access_key_* / secret_key_* / session_token_* key set: those;
//   - none of them (default_credentials): like the AWS CLI,
//     $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY (and $AWS_SESSION_TOKEN
//     when set), else profile $AWS_PROFILE (or "default") of the shared
//     credentials file when that file exists.
// The shared credentials file is `credentials_file`, else
// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials.
struct S3Config {
  std::string endpoint;
  std::string bucket;
  std::string prefix;
  std::string region;
  std::string access_key_env = "AWS_ACCESS_KEY_ID";
  std::string secret_key_env = "AWS_SECRET_ACCESS_KEY";
  std::string access_key_file;
  std::string secret_key_file;
  std::string session_token_env;  // temporary (STS) credentials; both empty: none
  std::string session_token_file;
  std::string profile;
  std::string credentials_file;
  bool default_credentials = true;
  bool path_style = true;
  std::string storage_class;  // empty: the bucket's default
  std::map<std::string, std::string>
      storage_classes;       // per kind: data, index, snapshots, wal, drills
  std::string sse = "none";  // "none" | "AES256" | "aws:kms"
  std::string sse_kms_key_id;
  int part_size_mib = 64;              // objects larger than this are uploaded in parts
  int max_connections = 8;             // requests in flight at once
  int retry_seconds = 60;              // how long one request is retried in all
  std::string put_if_absent = "auto";  // "auto" | "conditional" | "claim"
  std::string ca_file;                 // CA bundle for the endpoint's certificate
};

// [repository]. At most one of password_env / password_file is non-empty; when
// encryption != "none" exactly one is (password_env defaults to
// "PGKEEP_REPO_PASSWORD"). `s3` is set whenever [repository.s3] is present and
// always when type == "s3".
struct RepositoryConfig {
  std::string type = "posix";  // "posix" | "s3"
  std::string path;            // non-empty when type == "posix"
  std::string password_env;
  std::string password_file;
  std::string encryption = "aes-256-gcm";  // "aes-256-gcm" | "none"
  int compression_level = 3;               // zstd level, 1..19
  // zstd level for WAL files (wal-push): written once, read only by recovery,
  // and waited for by the archiver, so speed comes first.
  int wal_compression_level = 1;
  // expire repacks a pack when less than this share of its bytes is still
  // used (0: never repack, only delete empty packs; 100: always).
  int repack_below_percent = 50;
  uint64_t pack_size_mib = 16;  // 1..256
  std::optional<S3Config> s3;
  // Set when a command runs on a [[copy]] target (--from NAME, ConfigForCopy):
  // the target's name, passed on to the restore_command of a restored server.
  std::string copy_name;
};

// database.NAME.retention: calendar (GFS) rules. Unset counts mean "no rule".
struct RetentionConfig {
  std::optional<int> last;
  std::optional<int> daily;
  std::optional<int> weekly;
  std::optional<int> monthly;
  std::optional<int> yearly;
  std::string within;  // duration ("7d"), empty when unset
  int min_keep = 3;    // floor: never expire below this many good backups
  // IANA time zone name in which calendar days, weeks, months and years are
  // counted. Only checked to be non-empty here; RulesFromConfig
  // (retention/retention.h) looks it up in the time zone database.
  std::string timezone = "UTC";
};

// [database.NAME].
// [[database.NAME.check]]: a query a drill runs on the restored copy, and
// what its single value must be.
struct DrillCheckConfig {
  std::string name;  // unique within the database
  std::string sql;   // one statement returning one value (first column of the first row)
  Expectation expect;
};

struct DatabaseConfig {
  std::string name;      // the NAME in [database.NAME]; [A-Za-z0-9_-]+
  std::string conninfo;  // libpq conninfo or URI; never contains a password
  std::string pgdata;
  std::string method = "physical";       // "physical" | "logical"
  std::string criticality = "standard";  // "critical" | "standard" | "rebuildable"
  // Cron expressions by job kind: "full", "incr", "drill" (physical) or
  // "logical", "drill" (logical); each a valid 5-field cron expression
  // (common/cron.h), checked when the configuration is read.
  std::map<std::string, std::string> schedule;
  RetentionConfig retention;
  std::string max_backup_age = "36h";  // duration, > 0
  // Only for method == "logical"; empty for physical databases.
  std::vector<std::string> schemas;
  std::vector<std::string> tables;
  std::vector<std::string> exclude_schemas;
  std::vector<std::string> exclude_tables;
  // `status` flags a backup this much smaller than the median of the ones before.
  int max_size_drop_percent = 40;
  // zstd level for this database's backups; unset: repository.compression_level.
  std::optional<int> compression_level;
  // Directory holding pg_dump/pg_restore; empty: newest /usr/lib/postgresql/*/bin, then PATH.
  std::string pg_bin;
  // Logical only: also keep roles and tablespaces (pg_dumpall --globals-only).
  bool globals = false;
  // Drill targets (durations): a drill whose measured RTO or RPO exceeds one
  // fails. Empty: measured and reported, not judged.
  std::string rto;
  std::string rpo;
  // `status` is unhealthy when the last drill is older; empty: "8d" when a
  // drill is scheduled, else no drill is required (EffectiveMaxDrillAge).
  std::string max_drill_age;
  std::vector<DrillCheckConfig> checks;
  // Logical drills restore into "cluster" (a scratch PostgreSQL of the
  // backup's major version or newer, started for the drill), "database" (a
  // scratch database on this database's server) or "auto" (cluster when
  // such a PostgreSQL is installed, else database).
  std::string drill_scratch = "auto";
};

// db.schedule, else the defaults of db.criticality (all times in the
// scheduler's time zone):
//   critical:    daily backups (physical: full on Sunday 02:00, incr 02:00
//                the other days; logical: 02:00), a drill on Monday 04:00
//   standard:    the same backups, no drill
//   rebuildable: a weekly backup (Sunday 03:00), no drill
std::map<std::string, std::string> EffectiveSchedule(const DatabaseConfig& db);

// db.max_drill_age, else "8d" when a drill is scheduled (EffectiveSchedule),
// else "" (none required).
std::string EffectiveMaxDrillAge(const DatabaseConfig& db);

// retention_policy.tenant: per-tenant retention period read from a tenant
// table. An empty `table` means the policy has no tenant section.
struct TenantConfig {
  std::string table;               // required when the section is present
  std::string key;                 // required
  std::string foreign_key;         // required
  std::string days_column;         // required
  std::string hard_delete_column;  // optional
  std::string last_run_column;     // optional
};

// [[retention_policy]]: rows of `table` older than a number of days are
// redacted or deleted (policy/policy.h). `database` names an entry of
// Config::databases. Either `days` (with `mode`) applies to every row, or
// `tenant` gives each tenant its own days (0 = forever) and, with
// hard_delete_column, its own mode; exactly one of them is set.
struct RetentionPolicyConfig {
  std::string name;  // unique among policies
  std::string database;
  std::string table;             // "table" (search_path) or "schema.table", as written in SQL
  std::string timestamp_column;  // a timestamp, timestamptz or date column
  std::optional<int> days;       // without tenant; 0 = forever
  std::string mode = "redact";  // "redact" | "delete"; with tenant, where hard_delete_column is not
  TenantConfig tenant;
  std::map<std::string, std::string> redact;  // column -> replacement; required for redact
  int batch_size = 1000;                      // 1..1000000
  int pause_ms = 0;                           // between batches, 0..60000
  std::string lock_timeout = "5s";            // per batch (SET LOCAL)
  std::string statement_timeout = "60s";      // per batch (SET LOCAL)
  std::string max_runtime = "1h";             // a run stops after this and the next resumes
  bool allow_cascade = false;                 // a delete may cascade through foreign keys
  std::string schedule = "15 3 * * *";        // when the daemon runs it (cron); "" = never
};

// server.api_keys entry: exactly one of key_env / key_file is non-empty.
struct ApiKeyConfig {
  std::string name;  // unique among API keys
  std::string role;  // "viewer" | "operator" | "admin"
  std::string key_env;
  std::string key_file;
};

// [server]. At most one of internal_key_env / internal_key_file is set; both
// empty disables the internal endpoints.
struct ServerConfig {
  std::string listen = "127.0.0.1:8432";  // HOST:PORT
  std::string state = "/var/lib/pgkeep/state.db";
  // IANA time zone of every `schedule` (daylight saving handled: common/cron.h).
  std::string timezone = "UTC";
  std::vector<ApiKeyConfig> api_keys;
  std::string internal_key_env;
  std::string internal_key_file;
  // HTTPS when both are set: PEM certificate (chain) and its private key.
  std::string tls_cert;
  std::string tls_key;
  int64_t health_interval_seconds = 120;  // each database's health sampled this often
  int64_t status_interval_seconds = 60;   // the repository's status re-read this often
  // One notification per channel and alert at most this often.
  int64_t alert_min_interval_seconds = 300;
  // The health checks' connection pool per database (postgres/pg_pool.h);
  // DB_POOL_MAX, DB_POOL_MIN, DB_CONNECTION_TIMEOUT, DB_IDLE_TIMEOUT and
  // DB_MAX_LIFETIME (milliseconds) override these.
  int pool_max = 20;
  int pool_min = 2;
  int64_t pool_connect_timeout_seconds = 10;
  int64_t pool_idle_timeout_seconds = 30;
  int64_t pool_max_lifetime_seconds = 1800;
};

// [[alert]]. `url` is set for webhook and slack, `to` for email.
struct AlertConfig {
  std::string type;  // "webhook" | "slack" | "email"
  std::string url;
  std::string to;
  std::string from;
  std::string smtp_url;
};

// [[copy]]: a second repository holding copies of the backups (pgkeep
// copy --to NAME), with its own storage and retention. It holds the main
// repository's master key, so copies are the same objects, never
// re-encrypted; with password_env / password_file (at most one set) that key
// is wrapped under the copy's own password there, otherwise the main
// repository's key files are copied as they are.
struct CopyConfig {
  std::string name;
  std::string type = "posix";                // "posix" | "s3"
  std::string path;                          // when type == "posix"
  std::optional<S3Config> s3;                // when type == "s3"
  std::optional<RetentionConfig> retention;  // replaces every database's retention there
  std::string max_copy_age;  // status is unhealthy when the newest copy is older; "" = no check
  std::string password_env;  // both empty: the main repository's password opens the copy
  std::string password_file;
  // When the daemon copies to it (cron, [server] timezone); "" = never. Its
  // expire and weekly verify follow the repository's (schedule/scheduler.h).
  std::string schedule = "30 4 * * *";
};

struct Config {
  std::string source;  // the path (or name) the configuration was read from
  RepositoryConfig repository;
  std::vector<CopyConfig> copies;
  std::map<std::string, DatabaseConfig> databases;  // keyed by DatabaseConfig::name
  std::vector<RetentionPolicyConfig> retention_policies;
  ServerConfig server;
  std::vector<AlertConfig> alerts;
};

// Parses and validates TOML `text`. `source_name` is used verbatim as the
// file name in error messages and stored in Config::source.
// Failure: kConfig, see the file comment.
Result<Config> ParseConfig(const std::string& text, const std::string& source_name);

// Reads and parses the configuration file: `explicit_path` if non-empty, else
// $PGKEEP_CONFIG if set and non-empty, else /etc/pgkeep/pgkeep.toml.
// Failure: kConfig, including for a missing or unreadable file.
Result<Config> LoadConfig(Env& env, const std::string& explicit_path);

// The configuration as seen from copy target `name`: its storage in place
// of [repository] (and its password when it has its own), and its
// retention, when it has one, in place of every database's.
// Failure: kUsage naming the defined copies when there is no such target.
Result<Config> ConfigForCopy(const Config& config, const std::string& name);

// Parses a duration: a non-negative integer followed by one unit, s, m, h, d
// or w ("30s", "90m", "36h", "7d", "2w"). Returns seconds.
// Failure: kConfig for any other text or a value that overflows.
Result<int64_t> ParseDurationSeconds(std::string_view text);

}  // namespace pgkeep
