#include "config/config.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "common/cron.h"
#include "common/file_io.h"
#include "common/time_zone.h"
#include "config/toml_reader.h"

namespace pgkeep {

namespace {

using config_internal::Checker;
using config_internal::ConfigError;
using config_internal::LineOf;
using config_internal::Phase;
using config_internal::Quote;
using config_internal::TableReader;
using config_internal::TypeName;
using config_internal::Value;

constexpr char kDefaultConfigPath[] = "/etc/pgkeep/pgkeep.toml";
constexpr char kDefaultPasswordEnv[] = "PGKEEP_REPO_PASSWORD";
constexpr size_t kMaxConfigBytes = 4 << 20;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ValidName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

// libpq accepts "password=..." and "postgresql://user:secret@host"; both would
// put a secret in the file, so both are rejected. libpq itself parses it, so
// the check sees what libpq will use: URI keys and values percent-decoded
// ("?pass%77ord=..."), quoting and spacing as libpq reads them.
bool ConninfoHasPassword(std::string_view c) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(c).c_str(), &error);
  if (error) PQfreemem(error);
  if (options) {
    bool found = false;
    for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o)
      if ((std::strcmp(o->keyword, "password") == 0 ||
           std::strcmp(o->keyword, "sslpassword") == 0) &&
          o->val != nullptr && o->val[0] != '\0')
        found = true;
    PQconninfoFree(options);
    return found;
  }
  // Unparsable (reported when it is used): look at the text itself.
  for (std::string_view scheme : {"postgresql://", "postgres://"}) {
    if (c.substr(0, scheme.size()) != scheme) continue;
    std::string_view rest = c.substr(scheme.size());
    std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
    size_t at = authority.rfind('@');
    if (at != std::string_view::npos && authority.substr(0, at).find(':') != std::string_view::npos)
      return true;
    size_t query = rest.find('?');
    if (query == std::string_view::npos) return false;
    std::string_view params = rest.substr(query + 1);
    return params.substr(0, 9) == "password=" ||
           params.find("&password=") != std::string_view::npos;
  }
  for (size_t pos = c.find("password"); pos != std::string_view::npos;
       pos = c.find("password", pos + 1)) {
    if (pos > 0 && !std::isspace(static_cast<unsigned char>(c[pos - 1]))) continue;
    size_t next = c.find_first_not_of(" \t", pos + 8);
    if (next != std::string_view::npos && c[next] == '=') return true;
  }
  return false;
}

bool ValidListen(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == listen.size()) return false;
  std::string port = listen.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) return false;
  int n = std::stoi(port);
  return n >= 1 && n <= 65535;
}

S3Config ReadS3(TableReader r) {
  S3Config s3;
  s3.endpoint = r.String("endpoint");
  if (!s3.endpoint.empty() && s3.endpoint.rfind("https://", 0) != 0 &&
      s3.endpoint.rfind("http://", 0) != 0)
    r.Fail(Phase::kValue, "endpoint", "must start with https:// (or http://)",
           "for instance endpoint = \"https://s3.eu-central-1.amazonaws.com\"");
  s3.bucket = r.String("bucket");
  s3.prefix = r.String("prefix");
  s3.region = r.String("region");
  s3.path_style = r.Bool("path_style", true);
  s3.storage_class = r.String("storage_class");
  s3.storage_classes = r.StringMap("storage_classes");
  // Objects in an archive class cannot be read without a restore request:
  // refused here, before anything is written in one (docs/s3.md).
  const auto archived = [](const std::string& c) { return c == "GLACIER" || c == "DEEP_ARCHIVE"; };
  const std::string cold_hint =
      "packs are shared by newer backups and must stay readable; use STANDARD_IA, ONEZONE_IA or "
      "GLACIER_IR (instant retrieval) for a cold [[copy]] target (docs/s3.md)";
  if (archived(s3.storage_class))
    r.Fail(Phase::kValue, "storage_class",
           "is \"" + s3.storage_class + "\", an archive class whose objects cannot be read",
           cold_hint);
  for (const auto& [kind, storage_class] : s3.storage_classes) {
    static const std::set<std::string> kKinds = {"data", "index", "snapshots", "wal", "drills"};
    if (!kKinds.count(kind))
      r.Fail(Phase::kValue, "storage_classes", "has an unknown kind of object \"" + kind + "\"",
             "kinds: data, index, snapshots, wal, drills");
    else if (archived(storage_class))
      r.Fail(Phase::kValue, "storage_classes",
             "puts " + kind + " in \"" + storage_class +
                 "\", an archive class whose objects cannot be read",
             cold_hint);
  }
  s3.sse = r.OneOf("sse", {"none", "AES256", "aws:kms"}, "none");
  s3.sse_kms_key_id = r.String("sse_kms_key_id");
  if (!s3.sse_kms_key_id.empty() && s3.sse != "aws:kms")
    r.Fail(Phase::kRelation, "sse_kms_key_id", "is set, but sse is not \"aws:kms\"",
           "set sse = \"aws:kms\"");
  s3.part_size_mib = static_cast<int>(r.IntIn("part_size_mib", 5, 1024).value_or(64));
  s3.max_connections = static_cast<int>(r.IntIn("max_connections", 1, 64).value_or(8));
  s3.retry_seconds = static_cast<int>(r.IntIn("retry_seconds", 0, 3600).value_or(60));
  s3.put_if_absent = r.OneOf("put_if_absent", {"auto", "conditional", "claim"}, "auto");
  s3.ca_file = r.String("ca_file");
  std::tie(s3.access_key_env, s3.access_key_file) = r.EnvOrFile("access_key", s3.access_key_env);
  std::tie(s3.secret_key_env, s3.secret_key_file) = r.EnvOrFile("secret_key", s3.secret_key_env);
  std::tie(s3.session_token_env, s3.session_token_file) = r.EnvOrFile("session_token");
  s3.profile = r.String("profile");
  s3.credentials_file = r.String("credentials_file");
  std::string explicit_key;
  for (const char* key : {"access_key_env", "access_key_file", "secret_key_env", "secret_key_file",
                          "session_token_env", "session_token_file"})
    if (explicit_key.empty() && r.Get(key)) explicit_key = key;
  s3.default_credentials = explicit_key.empty() && s3.profile.empty();
  if (!s3.profile.empty() && !explicit_key.empty())
    r.Fail(Phase::kRelation, "profile", "is set together with " + explicit_key,
           "take the credentials from the profile or from the *_env / *_file keys, not both");
  for (auto [key, value] : {std::pair{"endpoint", s3.endpoint}, std::pair{"bucket", s3.bucket},
                            std::pair{"region", s3.region}}) {
    r.RequireNonEmpty(key, value, "when repository.type = \"s3\"");
  }
  r.Finish();
  return s3;
}

// Fails `key` of `r` when `cron` is not a valid cron expression.
void CheckCron(TableReader& r, std::string_view key, const std::string& cron) {
  auto parsed = CronExpr::Parse(cron);
  if (parsed.ok()) return;
  // "cron expression "X": minute ..." -> "minute ..." after the key.
  std::string why = parsed.status().message();
  size_t colon = why.find("\": ");
  r.Fail(
      Phase::kValue, key,
      colon == std::string::npos ? why : "is not a valid cron expression: " + why.substr(colon + 3),
      parsed.status().hint());
}

RepositoryConfig ReadRepository(TableReader r) {
  RepositoryConfig repo;
  repo.type = r.OneOf("type", {"posix", "s3"}, repo.type);
  repo.path = r.String("path");
  repo.encryption = r.OneOf("encryption", {"aes-256-gcm", "none"}, repo.encryption);
  bool encrypted = repo.encryption != "none";
  std::tie(repo.password_env, repo.password_file) =
      r.EnvOrFile("password", encrypted ? kDefaultPasswordEnv : "");
  if (!encrypted && (r.Get("password_env") || r.Get("password_file"))) {
    r.Fail(Phase::kRelation, r.Get("password_env") ? "password_env" : "password_file",
           "is set but repository.encryption = \"none\"",
           "remove it, or set encryption = \"aes-256-gcm\"");
  }
  repo.compression_level = static_cast<int>(r.IntIn("compression_level", 1, 19).value_or(3));
  repo.pack_size_mib = static_cast<uint64_t>(r.IntIn("pack_size_mib", 1, 256).value_or(16));
  repo.wal_compression_level =
      static_cast<int>(r.IntIn("wal_compression_level", 1, 19).value_or(1));
  repo.repack_below_percent =
      static_cast<int>(r.IntIn("repack_below_percent", 0, 100).value_or(50));
  const Value* s3 = r.SubTable("s3");
  if (s3 != nullptr) repo.s3 = ReadS3(TableReader(r.checker(), *s3, r.Path("s3")));
  if (repo.type == "posix") {
    r.RequireNonEmpty("path", repo.path, "when repository.type = \"posix\"");
  }
  if (repo.type == "s3" && s3 == nullptr && r.Get("s3") == nullptr) {
    r.checker().Fail(Phase::kRelation, r.line(),
                     "table [repository.s3] is required when repository.type = \"s3\"",
                     "add [repository.s3] with endpoint, bucket and region");
  }
  r.Finish();
  return repo;
}

RetentionConfig ReadRetention(TableReader r) {
  RetentionConfig ret;
  auto count = [&r](const char* key) -> std::optional<int> {
    auto n = r.IntIn(key, 0, INT_MAX);
    if (!n) return std::nullopt;
    return static_cast<int>(*n);
  };
  ret.last = count("last");
  ret.daily = count("daily");
  ret.weekly = count("weekly");
  ret.monthly = count("monthly");
  ret.yearly = count("yearly");
  ret.min_keep = count("min_keep").value_or(ret.min_keep);
  ret.within = r.Duration("within", "");
  ret.timezone = r.String("timezone", ret.timezone);
  r.RequireNonEmpty("timezone", ret.timezone);
  r.Finish();
  return ret;
}

DatabaseConfig ReadDatabase(TableReader r, const std::string& name) {
  DatabaseConfig db;
  db.name = name;
  db.conninfo = r.String("conninfo");
  r.RequireNonEmpty("conninfo", db.conninfo);
  if (ConninfoHasPassword(db.conninfo)) {
    r.Fail(Phase::kShape, "conninfo", "must not contain a password",
           "use a ~/.pgpass file, passfile=... in the conninfo, or PGPASSWORD");
  }
  db.pgdata = r.String("pgdata");
  db.pg_bin = r.String("pg_bin");
  if (auto drop = r.IntIn("max_size_drop_percent", 1, 100))
    db.max_size_drop_percent = static_cast<int>(*drop);
  if (auto level = r.IntIn("compression_level", 1, 19))
    db.compression_level = static_cast<int>(*level);
  db.globals = r.Bool("globals", false);
  db.method = r.OneOf("method", {"physical", "logical"}, db.method);
  db.criticality = r.OneOf("criticality", {"critical", "standard", "rebuildable"}, db.criticality);
  db.max_backup_age = r.Duration("max_backup_age", db.max_backup_age);
  bool physical = db.method == "physical";
  if (const Value* schedule = r.SubTable("schedule")) {
    // Read through a reader of its own so that a misspelt job kind is an
    // unknown key like any other.
    TableReader s(r.checker(), *schedule, r.Path("schedule"));
    for (const char* kind : {"full", "incr", "logical", "drill"}) {
      std::string cron = s.String(kind);
      if (cron.empty()) continue;
      db.schedule[kind] = cron;
      CheckCron(s, kind, cron);
      bool logical_kind = std::string_view(kind) == "logical";
      bool physical_kind = std::string_view(kind) == "full" || std::string_view(kind) == "incr";
      if ((logical_kind && physical) || (physical_kind && !physical)) {
        s.Fail(Phase::kRelation, kind, "does not apply to method = " + Quote(db.method),
               physical ? "physical databases schedule full, incr and drill"
                        : "logical databases schedule logical and drill");
      }
    }
    s.Finish();
  }
  const Value* retention = r.SubTable("retention");
  if (retention != nullptr) {
    db.retention = ReadRetention(TableReader(r.checker(), *retention, r.Path("retention")));
  }
  struct ListKey {
    const char* key;
    std::vector<std::string>* out;
  };
  for (auto [key, out] : {ListKey{"schemas", &db.schemas}, ListKey{"tables", &db.tables},
                          ListKey{"exclude_schemas", &db.exclude_schemas},
                          ListKey{"exclude_tables", &db.exclude_tables}}) {
    *out = r.StringList(key);
    if (physical && !out->empty()) {
      r.Fail(Phase::kRelation, key, "requires method = \"logical\"",
             "a physical backup always copies the whole cluster");
      out->clear();
    }
  }
  if (physical && db.globals)
    r.Fail(Phase::kRelation, "globals", "requires method = \"logical\"",
           "a physical backup already contains roles and tablespaces");
  db.drill_scratch = r.OneOf("drill_scratch", {"auto", "cluster", "database"}, db.drill_scratch);
  if (physical && db.drill_scratch != "auto")
    r.Fail(Phase::kRelation, "drill_scratch", "requires method = \"logical\"",
           "a physical drill always restores into a scratch data directory of its own");
  db.rto = r.Duration("rto", "");
  db.rpo = r.Duration("rpo", "");
  db.max_drill_age = r.Duration("max_drill_age", "");
  if (const auto* checks = r.TableArray("check")) {
    std::set<std::string> names;
    for (const auto& item : *checks) {
      TableReader c(r.checker(), item, r.Path("check"));
      DrillCheckConfig check;
      check.name = c.String("name");
      check.sql = c.String("sql");
      std::string expect = c.String("expect");
      c.RequireNonEmpty("name", check.name);
      c.RequireNonEmpty("sql", check.sql);
      c.RequireNonEmpty("expect", expect);
      if (!expect.empty()) {
        auto parsed = ParseExpectation(expect);
        if (parsed.ok()) {
          check.expect = *parsed;
        } else {
          const std::string& m = parsed.status().message();
          const std::string marker = "is not an expectation: ";
          size_t why = m.find(marker);
          c.Fail(Phase::kValue, "expect",
                 "is " + Quote(expect) + ", not an expectation: " +
                     (why == std::string::npos ? m : m.substr(why + marker.size())),
                 parsed.status().hint());
        }
      }
      if (!check.name.empty() && !names.insert(check.name).second)
        c.Fail(Phase::kRelation, "name", "repeats the check name " + Quote(check.name),
               "give every check of a database its own name");
      c.Finish();
      db.checks.push_back(std::move(check));
    }
  }
  r.Finish();
  return db;
}

CopyConfig ReadCopy(TableReader r, bool encrypted) {
  CopyConfig c;
  c.name = r.String("name");
  r.RequireNonEmpty("name", c.name, "in every [[copy]]");
  if (!c.name.empty() && !ValidName(c.name))
    r.Fail(Phase::kValue, "name", "may only contain letters, digits, \"_\" and \"-\"");
  c.type = r.OneOf("type", {"posix", "s3"}, c.type);
  c.path = r.String("path");
  if (c.type == "posix") r.RequireNonEmpty("path", c.path, "when type = \"posix\"");
  if (const Value* s3 = r.SubTable("s3"))
    c.s3 = ReadS3(TableReader(r.checker(), *s3, r.Path("s3")));
  if (c.type == "s3" && !c.s3 && r.Get("s3") == nullptr)
    r.Fail(Phase::kRelation, "type", "is \"s3\", but the copy has no s3 = { ... }",
           "add s3 = { endpoint = ..., bucket = ..., region = ... }");
  if (const Value* retention = r.SubTable("retention"))
    c.retention = ReadRetention(TableReader(r.checker(), *retention, r.Path("retention")));
  c.max_copy_age = r.Duration("max_copy_age", "");
  c.schedule = r.String("schedule", c.schedule);
  if (!c.schedule.empty()) CheckCron(r, "schedule", c.schedule);
  std::tie(c.password_env, c.password_file) = r.EnvOrFile("password");
  if (!encrypted && (r.Get("password_env") || r.Get("password_file")))
    r.Fail(Phase::kRelation, r.Get("password_env") ? "password_env" : "password_file",
           "is set but repository.encryption = \"none\": a copy is as encrypted as its source",
           "remove it");
  r.Finish();
  return c;
}

RetentionPolicyConfig ReadRetentionPolicy(TableReader r) {
  RetentionPolicyConfig p;
  p.name = r.String("name");
  p.database = r.String("database");
  p.table = r.String("table");
  p.timestamp_column = r.String("timestamp_column");
  for (auto [key, value] :
       {std::pair{"name", p.name}, std::pair{"database", p.database}, std::pair{"table", p.table},
        std::pair{"timestamp_column", p.timestamp_column}}) {
    r.RequireNonEmpty(key, value);
  }
  if (const Value* tenant = r.SubTable("tenant")) {
    TableReader t(r.checker(), *tenant, r.Path("tenant"));
    p.tenant.table = t.String("table");
    p.tenant.key = t.String("key");
    p.tenant.foreign_key = t.String("foreign_key");
    p.tenant.days_column = t.String("days_column");
    p.tenant.hard_delete_column = t.String("hard_delete_column");
    p.tenant.last_run_column = t.String("last_run_column");
    for (auto [key, value] : {std::pair{"table", p.tenant.table}, std::pair{"key", p.tenant.key},
                              std::pair{"foreign_key", p.tenant.foreign_key},
                              std::pair{"days_column", p.tenant.days_column}}) {
      t.RequireNonEmpty(key, value);
    }
    t.Finish();
  }
  p.redact = r.StringMap("redact");
  p.batch_size = static_cast<int>(r.IntIn("batch_size", 1, 1000000).value_or(p.batch_size));
  if (auto days = r.IntIn("days", 0, 1000000)) p.days = static_cast<int>(*days);
  p.mode = r.OneOf("mode", {"redact", "delete"}, p.mode);
  p.pause_ms = static_cast<int>(r.IntIn("pause_ms", 0, 60000).value_or(p.pause_ms));
  p.lock_timeout = r.Duration("lock_timeout", p.lock_timeout);
  p.statement_timeout = r.Duration("statement_timeout", p.statement_timeout);
  p.max_runtime = r.Duration("max_runtime", p.max_runtime);
  p.allow_cascade = r.Bool("allow_cascade", false);
  p.schedule = r.String("schedule", p.schedule);
  if (!p.schedule.empty()) CheckCron(r, "schedule", p.schedule);
  const bool tenant = !p.tenant.table.empty() || r.Get("tenant");
  if (tenant && r.Get("days"))
    r.Fail(Phase::kRelation, "days", "is set together with tenant = { ... }",
           "each tenant's days come from tenant.days_column; remove days");
  if (!tenant && !r.Get("days"))
    r.Fail(Phase::kRelation, "table", "needs days = N or tenant = { ... } in its policy",
           "days = 90 erases rows older than 90 days; tenant reads each tenant's days");
  const bool may_redact = p.mode == "redact" || !p.tenant.hard_delete_column.empty();
  if (may_redact && p.redact.empty() && (p.mode == "redact" || r.Get("mode")))
    r.Fail(Phase::kRelation, "mode", "is \"redact\", but the policy has no redact = { ... }",
           "add redact = { column = \"value\" }, or set mode = \"delete\"");
  r.Finish();
  return p;
}

ServerConfig ReadServer(TableReader r) {
  ServerConfig server;
  server.listen = r.String("listen", server.listen);
  if (r.Get("listen") && !ValidListen(server.listen)) {
    r.Fail(Phase::kValue, "listen",
           "must be HOST:PORT like \"127.0.0.1:8432\", not " + Quote(server.listen));
  }
  server.state = r.String("state", server.state);
  r.RequireNonEmpty("state", server.state);
  server.timezone = r.String("timezone", server.timezone);
  if (r.Get("timezone"))
    if (auto zone = TimeZone::Load(server.timezone); !zone.ok())
      r.Fail(Phase::kValue, "timezone", zone.status().message(), zone.status().hint());
  std::tie(server.internal_key_env, server.internal_key_file) = r.EnvOrFile("internal_key");
  server.tls_cert = r.String("tls_cert");
  server.tls_key = r.String("tls_key");
  if (server.tls_cert.empty() != server.tls_key.empty())
    r.Fail(Phase::kRelation, server.tls_cert.empty() ? "tls_key" : "tls_cert",
           "needs both tls_cert and tls_key", "set both to PEM files, or neither for plain HTTP");
  for (auto [key, seconds] :
       {std::pair{"health_interval", &server.health_interval_seconds},
        std::pair{"status_interval", &server.status_interval_seconds},
        std::pair{"alert_min_interval", &server.alert_min_interval_seconds}}) {
    const std::string text = r.Duration(key, "");
    if (!text.empty())
      if (auto parsed = ParseDurationSeconds(text); parsed.ok()) *seconds = *parsed;
  }
  server.pool_max = static_cast<int>(r.IntIn("pool_max", 1, 1000).value_or(server.pool_max));
  server.pool_min = static_cast<int>(r.IntIn("pool_min", 0, 1000).value_or(server.pool_min));
  if (server.pool_min > server.pool_max)
    r.Fail(Phase::kRelation, "pool_min",
           "is " + std::to_string(server.pool_min) + ", more than pool_max " +
               std::to_string(server.pool_max),
           "pool_min must not exceed pool_max");
  std::set<std::string> names;
  if (const auto* keys = r.TableArray("api_keys")) {
    for (const auto& item : *keys) {
      TableReader k(r.checker(), item, r.Path("api_keys"));
      ApiKeyConfig key;
      key.name = k.String("name");
      k.RequireNonEmpty("name", key.name);
      key.role = k.OneOf("role", {"viewer", "operator", "admin"}, "");
      if (!k.Get("role")) k.RequireNonEmpty("role", key.role);
      std::tie(key.key_env, key.key_file) = k.EnvOrFile("key");
      if (!k.Get("key_env") && !k.Get("key_file")) {
        r.checker().Fail(Phase::kRelation, k.line(),
                         "api key " + Quote(key.name) + " needs key_env or key_file",
                         "set key_env = \"VARIABLE\" or key_file = \"/path/to/file\"");
      }
      if (!key.name.empty() && !names.insert(key.name).second) {
        k.Fail(Phase::kRelation, "name", "repeats the api key name " + Quote(key.name));
      }
      k.Finish();
      server.api_keys.push_back(std::move(key));
    }
  }
  r.Finish();
  return server;
}

AlertConfig ReadAlert(TableReader r) {
  AlertConfig alert;
  alert.type = r.OneOf("type", {"webhook", "slack", "email"}, "");
  if (!r.Get("type")) r.RequireNonEmpty("type", alert.type);
  alert.url = r.String("url");
  alert.to = r.String("to");
  alert.from = r.String("from");
  alert.smtp_url = r.String("smtp_url");
  if (alert.type == "webhook" || alert.type == "slack") {
    r.RequireNonEmpty("url", alert.url, "when alert.type = " + Quote(alert.type));
  } else if (alert.type == "email") {
    r.RequireNonEmpty("to", alert.to, "when alert.type = \"email\"");
  }
  r.Finish();
  return alert;
}

void ReadDocument(const Value& root, Checker& checker, Config& config) {
  TableReader top(checker, root, "");
  if (const Value* repo = top.SubTable("repository")) {
    config.repository = ReadRepository(TableReader(checker, *repo, "repository"));
  } else if (top.Get("repository") == nullptr) {
    checker.Fail(Phase::kRelation, 0, "missing [repository] table",
                 "add [repository] with type = \"posix\" and path = \"/path/to/repo\"");
  }
  if (const Value* dbs = top.SubTable("database")) {
    for (const auto& [name, v] : dbs->as_table()) {
      std::string path = "database." + name;
      if (!v.is_table()) {
        checker.Fail(
            Phase::kShape, LineOf(&v),
            "key " + Quote(path) + " must be a table like [database.NAME], not " + TypeName(v));
        continue;
      }
      if (!ValidName(name)) {
        checker.Fail(
            Phase::kValue, LineOf(&v),
            "database name " + Quote(name) + " may only contain letters, digits, \"_\" and \"-\"");
      }
      config.databases[name] = ReadDatabase(TableReader(checker, v, path), name);
    }
  }
  std::set<std::string> policy_names;
  if (const auto* policies = top.TableArray("retention_policy")) {
    for (const auto& item : *policies) {
      TableReader r(checker, item, "retention_policy");
      RetentionPolicyConfig p = ReadRetentionPolicy(r);
      if (!p.name.empty() && !policy_names.insert(p.name).second) {
        r.Fail(Phase::kRelation, "name", "repeats the retention policy name " + Quote(p.name));
      }
      if (!p.database.empty() && config.databases.count(p.database) == 0) {
        std::string defined;
        for (const auto& [name, db] : config.databases) {
          defined += (defined.empty() ? "" : ", ") + name;
        }
        r.Fail(Phase::kRelation, "database",
               "names " + Quote(p.database) + ", but there is no [database." + p.database + "]",
               defined.empty() ? "define [database." + p.database + "]"
                               : "defined databases: " + defined);
      }
      config.retention_policies.push_back(std::move(p));
    }
  }
  if (const auto* copies = top.TableArray("copy")) {
    std::set<std::string> names;
    for (const auto& item : *copies) {
      TableReader r(checker, item, "copy");
      CopyConfig c = ReadCopy(r, config.repository.encryption != "none");
      if (!c.name.empty() && !names.insert(c.name).second)
        r.Fail(Phase::kRelation, "name", "repeats the copy name " + Quote(c.name));
      config.copies.push_back(std::move(c));
    }
  }
  if (const Value* server = top.SubTable("server")) {
    config.server = ReadServer(TableReader(checker, *server, "server"));
  }
  if (const auto* alerts = top.TableArray("alert")) {
    for (const auto& item : *alerts) {
      config.alerts.push_back(ReadAlert(TableReader(checker, item, "alert")));
    }
  }
  top.Finish();
}

}  // namespace

Result<Config> ConfigForCopy(const Config& config, const std::string& name) {
  for (const CopyConfig& c : config.copies) {
    if (c.name != name) continue;
    Config copy = config;
    copy.repository.type = c.type;
    copy.repository.path = c.path;
    copy.repository.s3 = c.s3;
    copy.repository.copy_name = c.name;
    if (!c.password_env.empty() || !c.password_file.empty()) {
      copy.repository.password_env = c.password_env;
      copy.repository.password_file = c.password_file;
    }
    if (c.retention)
      for (auto& [db_name, db] : copy.databases) db.retention = *c.retention;
    return copy;
  }
  std::string defined;
  for (const CopyConfig& c : config.copies) defined += (defined.empty() ? "" : ", ") + c.name;
  return Status::Error(ErrorCode::kUsage, "there is no copy target " + Quote(name),
                       defined.empty() ? "define one with [[copy]] in " + config.source
                                       : "copy targets: " + defined);
}

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto invalid = [text] {
    return ConfigError("invalid duration " + Quote(text) +
                       ": expected a whole number followed by s, m, h, d or w, like \"36h\"");
  };
  if (text.size() < 2 || text.size() > 20) return invalid();
  std::string_view digits = text.substr(0, text.size() - 1);
  if (!std::all_of(digits.begin(), digits.end(), IsDigit)) return invalid();
  int64_t unit = 0;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    case 'w':
      unit = 7 * 86400;
      break;
    default:
      return invalid();
  }
  int64_t n = 0;
  for (char c : digits) {
    if (n > (INT64_MAX - (c - '0')) / 10) return invalid();
    n = n * 10 + (c - '0');
  }
  if (n > INT64_MAX / unit) return invalid();
  return n * unit;
}

Result<Config> ParseConfig(const std::string& text, const std::string& source_name) {
  auto root = config_internal::ParseToml(text, source_name);
  if (!root.ok()) return root.status();
  Checker checker(source_name);
  Config config;
  config.source = source_name;
  ReadDocument(*root, checker, config);
  PGKEEP_RETURN_IF_ERROR(checker.ToStatus());
  return config;
}

std::map<std::string, std::string> EffectiveSchedule(const DatabaseConfig& db) {
  if (!db.schedule.empty()) return db.schedule;
  const bool physical = db.method == "physical";
  std::map<std::string, std::string> s;
  if (db.criticality == "rebuildable") {
    s[physical ? "full" : "logical"] = "0 3 * * 0";
    return s;
  }
  if (physical) {
    s["full"] = "0 2 * * 0";
    s["incr"] = "0 2 * * 1-6";
  } else {
    s["logical"] = "0 2 * * *";
  }
  if (db.criticality == "critical") s["drill"] = "0 4 * * 1";
  return s;
}

std::string EffectiveMaxDrillAge(const DatabaseConfig& db) {
  if (!db.max_drill_age.empty()) return db.max_drill_age;
  return EffectiveSchedule(db).count("drill") ? "8d" : "";
}

Result<Config> LoadConfig(Env& env, const std::string& explicit_path) {
  std::string path = explicit_path;
  if (path.empty()) {
    std::optional<std::string> from_env = env.GetEnvVar("PGKEEP_CONFIG");
    path = from_env && !from_env->empty() ? *from_env : kDefaultConfigPath;
  }
  auto text = config_internal::ReadSmallFile(env, path, kMaxConfigBytes);
  if (!text.ok()) {
    return ConfigError("cannot read config file " + Quote(path) + ": " + text.status().message(),
                       "pass --config FILE or set PGKEEP_CONFIG");
  }
  return ParseConfig(*text, path);
}

}  // namespace pgkeep
