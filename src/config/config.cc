#include "config/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <set>
#include <sstream>
#include <toml.hpp>
#include <tuple>
#include <utility>

#include <libpq-fe.h>
#include <sys/stat.h>

#include "common/file_io.h"

namespace pgkeep {

namespace {

// std::map keeps iteration order deterministic, so which of several equally
// ranked problems is reported never depends on hashing.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

constexpr char kDefaultConfigPath[] = "/etc/pgkeep/pgkeep.toml";
constexpr char kDefaultPasswordEnv[] = "PGKEEP_REPO_PASSWORD";
constexpr size_t kMaxConfigBytes = 4 << 20;
constexpr size_t kMaxSecretBytes = 64 << 10;

Status ConfigError(std::string message, std::string hint = {}) {
  return Status::Error(ErrorCode::kConfig, std::move(message), std::move(hint));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string JoinQuoted(std::initializer_list<std::string_view> items) {
  std::string out;
  size_t i = 0;
  for (std::string_view item : items) {
    if (i > 0) out += (i + 1 == items.size()) ? (items.size() == 2 ? " or " : ", or ") : ", ";
    out += Quote(item);
    ++i;
  }
  return out;
}

bool SameLetter(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

// Optimal string alignment distance: a transposed pair counts as one edit,
// which is the most common typo in key names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = SameLetter(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && SameLetter(a[i - 1], b[j - 2]) && SameLetter(a[i - 2], b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The closest candidate within two edits; two-letter words need a closer
// match so that "to" is not offered for "ab".
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = (word.size() <= 2 ? 1 : 2) + 1;
  for (const auto& c : candidates) {
    size_t dist = EditDistance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

std::string TypeName(const Value& v) {
  switch (v.type()) {
    case toml::value_t::string:
      return "a string";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a float";
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::table:
      return "a table";
    case toml::value_t::array:
      return "an array";
    default:
      return "a date/time";
  }
}

// toml11 reports syntax errors as a multi-line excerpt of the file. Keep the
// headline and the annotation under the caret, never the quoted source line,
// which could hold a secret.
std::string CondenseSyntaxError(const std::string& what) {
  std::string head = what.substr(0, what.find('\n'));
  if (head.rfind("[error] ", 0) == 0) head.erase(0, 8);
  if (head.rfind("toml::", 0) == 0) {
    size_t colon = head.find(": ");
    head = colon == std::string::npos ? std::string() : head.substr(colon + 2);
  }
  std::string note;
  std::istringstream lines(what);
  for (std::string line; std::getline(lines, line);) {
    // Annotation lines have nothing but spaces before the gutter bar; quoted
    // source lines have a line number there.
    size_t bar = line.find('|');
    if (bar == std::string::npos || line.find_first_not_of(' ') != bar) continue;
    size_t mark = line.find("^--- ");
    if (mark != std::string::npos) {
      note = line.substr(mark + 5);
    } else if ((mark = line.find("~ ", bar)) != std::string::npos) {
      note = line.substr(mark + 2);
    }
  }
  while (!head.empty() && (head.back() == ' ' || head.back() == '.')) head.pop_back();
  if (head.empty()) return note.empty() ? "invalid TOML" : "invalid TOML: " + note;
  if (note.empty() || note == "here") return "invalid TOML: " + head;
  return "invalid TOML: " + head + " (" + note + ")";
}

// Severity of a problem, most fundamental first: a misspelt key usually
// *causes* a later "missing key" problem, so that one must not be reported.
enum class Phase { kShape, kValue, kRelation };

// Collects problems and keeps the one to report.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  // `line` 0 means "no useful line"; such problems rank after located ones.
  void Fail(Phase phase, uint32_t line, std::string message, std::string hint = {}) {
    uint32_t order = line == 0 ? UINT32_MAX : line;
    if (best_ && std::tie(best_->phase, best_->order) <= std::tie(phase, order)) return;
    best_ = Problem{phase, order, line, std::move(message), std::move(hint)};
  }

  Status ToStatus() const {
    if (!best_) return Status::Ok();
    std::string where = source_;
    if (best_->line != 0) where += ":" + std::to_string(best_->line);
    return ConfigError(where + ": " + best_->message, best_->hint);
  }

 private:
  struct Problem {
    Phase phase;
    uint32_t order;
    uint32_t line;
    std::string message;
    std::string hint;
  };
  std::string source_;
  std::optional<Problem> best_;
};

uint32_t LineOf(const Value* v) { return v == nullptr ? 0 : v->location().line(); }

// Typed access to one TOML table. Every key asked for is remembered as known;
// Finish() reports the rest as unknown, so the list of valid keys is exactly
// the set of keys the code reads.
class TableReader {
 public:
  // The document root (empty `path`) has no useful line of its own.
  TableReader(Checker& checker, const Value& table, std::string path)
      : checker_(checker), table_(table), path_(std::move(path)) {}

  Checker& checker() { return checker_; }
  uint32_t line() const { return path_.empty() ? 0 : LineOf(&table_); }
  std::string Path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const Value* Get(std::string_view key) {
    known_.emplace_back(key);
    const auto& table = table_.as_table();
    auto it = table.find(std::string(key));
    return it == table.end() ? nullptr : &it->second;
  }

  void WrongType(std::string_view key, const Value& v, std::string_view expected) {
    checker_.Fail(
        Phase::kShape, LineOf(&v),
        "key " + Quote(Path(key)) + " must be " + std::string(expected) + ", not " + TypeName(v));
  }

  void Fail(Phase phase, std::string_view key, std::string problem, std::string hint = {}) {
    const Value* v = Get(key);
    checker_.Fail(phase, v ? LineOf(v) : line(), "key " + Quote(Path(key)) + " " + problem,
                  std::move(hint));
  }

  std::string String(std::string_view key, std::string fallback = {}) {
    const Value* v = Get(key);
    if (v == nullptr) return fallback;
    if (!v->is_string()) {
      WrongType(key, *v, "a string");
      return fallback;
    }
    return v->as_string().str;
  }

  bool Bool(std::string_view key, bool fallback) {
    const Value* v = Get(key);
    if (v == nullptr) return fallback;
    if (!v->is_boolean()) {
      WrongType(key, *v, "true or false");
      return fallback;
    }
    return v->as_boolean();
  }

  std::optional<int64_t> IntIn(std::string_view key, int64_t lo, int64_t hi) {
    const Value* v = Get(key);
    if (v == nullptr) return std::nullopt;
    if (!v->is_integer()) {
      WrongType(key, *v, "an integer");
      return std::nullopt;
    }
    int64_t n = v->as_integer();
    if (lo == 0 && n < 0) {
      Fail(Phase::kValue, key, "must not be negative, not " + std::to_string(n));
    } else if (n < lo || n > hi) {
      Fail(Phase::kValue, key,
           "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", not " +
               std::to_string(n));
    } else {
      return n;
    }
    return std::nullopt;
  }

  std::string OneOf(std::string_view key, std::initializer_list<std::string_view> choices,
                    std::string fallback) {
    const Value* v = Get(key);
    std::string s = String(key, fallback);
    if (v == nullptr || !v->is_string()) return s;
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
    std::vector<std::string> names(choices.begin(), choices.end());
    auto close = ClosestMatch(s, names);
    Fail(Phase::kValue, key, "must be " + JoinQuoted(choices) + ", not " + Quote(s),
         close ? "did you mean " + Quote(*close) + "?" : "");
    return fallback;
  }

  std::string Duration(std::string_view key, std::string fallback) {
    const Value* v = Get(key);
    std::string s = String(key, fallback);
    if (v == nullptr || !v->is_string()) return s;
    auto seconds = ParseDurationSeconds(s);
    if (seconds.ok() && *seconds > 0) return s;
    Fail(Phase::kValue, key,
         "must be a duration like \"36h\", \"7d\", \"90m\" or \"30s\", not " + Quote(s));
    return fallback;
  }

  std::vector<std::string> StringList(std::string_view key) {
    std::vector<std::string> out;
    const Value* v = Get(key);
    if (v == nullptr) return out;
    if (!v->is_array()) {
      WrongType(key, *v, "an array of strings");
      return out;
    }
    for (const auto& item : v->as_array()) {
      if (!item.is_string()) {
        checker_.Fail(Phase::kShape, LineOf(&item),
                      "key " + Quote(Path(key)) + " must hold only strings, not " + TypeName(item));
        return {};
      }
      out.push_back(item.as_string().str);
    }
    return out;
  }

  std::map<std::string, std::string> StringMap(std::string_view key) {
    std::map<std::string, std::string> out;
    const Value* v = SubTable(key);
    if (v == nullptr) return out;
    for (const auto& [name, item] : v->as_table()) {
      if (!item.is_string()) {
        WrongType(std::string(key) + "." + name, item, "a string");
        continue;
      }
      out[name] = item.as_string().str;
    }
    return out;
  }

  const Value* SubTable(std::string_view key) {
    const Value* v = Get(key);
    if (v != nullptr && !v->is_table()) {
      WrongType(key, *v, "a table");
      return nullptr;
    }
    return v;
  }

  // Both [[key]] sections and `key = [ {...}, ... ]`; null if absent or wrong.
  const std::vector<Value>* TableArray(std::string_view key) {
    const Value* v = Get(key);
    if (v == nullptr) return nullptr;
    if (!v->is_array()) {
      checker_.Fail(Phase::kShape, LineOf(v),
                    "key " + Quote(Path(key)) + " must be an array of tables, not " + TypeName(*v),
                    "write each entry as a [[" + Path(key) + "]] section");
      return nullptr;
    }
    for (const auto& item : v->as_array()) {
      if (!item.is_table()) {
        checker_.Fail(Phase::kShape, LineOf(&item),
                      "key " + Quote(Path(key)) + " must hold only tables, not " + TypeName(item));
        return nullptr;
      }
    }
    return &v->as_array();
  }

  // Secrets are only ever referenced, so an inline one is rejected outright
  // (without echoing its value).
  void RejectInlineSecret(std::string_view key) {
    const Value* v = Get(key);
    known_.pop_back();  // handled, but not to be offered as a valid key
    secrets_.emplace_back(key);
    if (v == nullptr) return;
    std::string k(key);
    checker_.Fail(Phase::kShape, LineOf(v), "inline secret " + Quote(Path(key)) + " is not allowed",
                  "use " + k + "_env = \"VARIABLE\" or " + k + "_file = \"/path/to/file\" instead");
  }

  // Reads KEY_env / KEY_file, at most one of which may be set. Returns
  // {env, file}; `default_env` is used when neither is set.
  std::pair<std::string, std::string> EnvOrFile(std::string_view key,
                                                std::string default_env = {}) {
    RejectInlineSecret(key);
    std::string env_key = std::string(key) + "_env";
    std::string file_key = std::string(key) + "_file";
    const Value* env = Get(env_key);
    const Value* file = Get(file_key);
    std::string env_name = String(env_key);
    std::string file_name = String(file_key);
    if (env && env->is_string() && env_name.empty()) Fail(Phase::kValue, env_key, "is empty");
    if (file && file->is_string() && file_name.empty()) Fail(Phase::kValue, file_key, "is empty");
    if (env && file) {
      checker_.Fail(
          Phase::kValue, std::max(LineOf(env), LineOf(file)),
          "keys " + Quote(Path(env_key)) + " and " + Quote(Path(file_key)) + " are both set",
          "keep only one of them");
    }
    if (!env && !file) env_name = std::move(default_env);
    return {env_name, file_name};
  }

  void RequireNonEmpty(std::string_view key, const std::string& value, std::string when = {}) {
    if (!value.empty()) return;
    const Value* v = Get(key);
    if (v != nullptr && !v->is_string()) return;  // already reported as a wrong type
    if (v != nullptr) {
      Fail(Phase::kValue, key, "must not be empty");
    } else {
      checker_.Fail(Phase::kRelation, line(),
                    "key " + Quote(Path(key)) + " is required" + (when.empty() ? "" : " " + when));
    }
  }

  void Finish() {
    for (const auto& [key, v] : table_.as_table()) {
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      if (std::find(secrets_.begin(), secrets_.end(), key) != secrets_.end()) continue;
      std::vector<std::string> known(known_.begin(), known_.end());
      std::sort(known.begin(), known.end());
      known.erase(std::unique(known.begin(), known.end()), known.end());
      auto close = ClosestMatch(key, known);
      std::string hint;
      if (close) {
        hint = "did you mean " + Quote(*close) + "?";
      } else {
        hint = "valid keys" + (path_.empty() ? std::string() : " in " + path_) + ": ";
        for (size_t i = 0; i < known.size(); ++i) hint += (i ? ", " : "") + known[i];
      }
      checker_.Fail(Phase::kShape, LineOf(&v), "unknown key " + Quote(Path(key)), hint);
    }
  }

 private:
  Checker& checker_;
  const Value& table_;
  std::string path_;
  std::vector<std::string> known_;
  std::vector<std::string> secrets_;
};

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
      if ((std::strcmp(o->keyword, "password") == 0 || std::strcmp(o->keyword, "sslpassword") == 0) &&
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
  s3.bucket = r.String("bucket");
  s3.prefix = r.String("prefix");
  s3.region = r.String("region");
  s3.path_style = r.Bool("path_style", true);
  std::tie(s3.access_key_env, s3.access_key_file) = r.EnvOrFile("access_key", s3.access_key_env);
  std::tie(s3.secret_key_env, s3.secret_key_file) = r.EnvOrFile("secret_key", s3.secret_key_env);
  for (auto [key, value] : {std::pair{"endpoint", s3.endpoint}, std::pair{"bucket", s3.bucket},
                            std::pair{"region", s3.region}}) {
    r.RequireNonEmpty(key, value, "when repository.type = \"s3\"");
  }
  r.Finish();
  return s3;
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
  repo.wal_compression_level = static_cast<int>(r.IntIn("wal_compression_level", 1, 19).value_or(1));
  repo.repack_below_percent = static_cast<int>(r.IntIn("repack_below_percent", 0, 100).value_or(50));
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
  if (auto drop = r.IntIn("max_size_drop_percent", 1, 100)) db.max_size_drop_percent = static_cast<int>(*drop);
  if (auto level = r.IntIn("compression_level", 1, 19)) db.compression_level = static_cast<int>(*level);
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
  if (physical && db.globals) r.Fail(Phase::kRelation, "globals", "requires method = \"logical\"",
                                     "a physical backup already contains roles and tablespaces");
  r.Finish();
  return db;
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
  std::tie(server.internal_key_env, server.internal_key_file) = r.EnvOrFile("internal_key");
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

// Whole-file read with errno-based messages; `limit` guards against pointing
// a *_file key at a device or a huge file by mistake.
Result<std::string> ReadSmallFile(Env& env, const std::string& path, size_t limit) {
  auto data = ReadWholeFile(env, path, limit);
  if (data.ok()) return std::string(AsString(*data));
  int err = data.status().os_error();
  if (err == EFBIG)
    return Status::Error(ErrorCode::kIo, "larger than " + std::to_string(limit >> 10) + " KiB");
  return Status::Error(ErrorCode::kIo, err != 0 ? std::strerror(err) : data.status().message());
}

}  // namespace

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
  Value root;
  try {
    std::istringstream in(text);
    root = toml::parse<toml::discard_comments, std::map, std::vector>(in, source_name);
  } catch (const toml::exception& e) {
    return ConfigError(source_name + ":" + std::to_string(e.location().line()) + ": " +
                       CondenseSyntaxError(e.what()));
  } catch (const std::exception& e) {
    return ConfigError(source_name + ": invalid TOML: " + CondenseSyntaxError(e.what()));
  }
  Checker checker(source_name);
  Config config;
  config.source = source_name;
  ReadDocument(root, checker, config);
  PGKEEP_RETURN_IF_ERROR(checker.ToStatus());
  return config;
}

Result<Config> LoadConfig(Env& env, const std::string& explicit_path) {
  std::string path = explicit_path;
  if (path.empty()) {
    const char* from_env = std::getenv("PGKEEP_CONFIG");
    path = (from_env != nullptr && *from_env != '\0') ? from_env : kDefaultConfigPath;
  }
  auto text = ReadSmallFile(env, path, kMaxConfigBytes);
  if (!text.ok()) {
    return ConfigError("cannot read config file " + Quote(path) + ": " + text.status().message(),
                       "pass --config FILE or set PGKEEP_CONFIG");
  }
  return ParseConfig(*text, path);
}

Result<std::string> ResolveSecret(Env& env, const std::string& env_name, const std::string& file_path,
                                  const std::string& what) {
  if (env_name.empty() && file_path.empty()) {
    return ConfigError(what + ": no environment variable or file configured",
                       "set the matching *_env or *_file key in the config file");
  }
  if (!env_name.empty() && !file_path.empty()) {
    return ConfigError(what + ": both environment variable " + Quote(env_name) + " and file " +
                           Quote(file_path) + " are configured",
                       "keep only one of them");
  }
  if (!env_name.empty()) {
    const char* value = std::getenv(env_name.c_str());
    if (value == nullptr || *value == '\0') {
      return Status::Error(ErrorCode::kAuth,
                           what + ": environment variable " + Quote(env_name) +
                               (value == nullptr ? " is not set" : " is empty"),
                           "export " + env_name + " before running pgkeep");
    }
    return std::string(value);
  }
  auto data = ReadSmallFile(env, file_path, kMaxSecretBytes);
  if (!data.ok()) {
    return Status::Error(
        ErrorCode::kAuth,
        what + ": cannot read file " + Quote(file_path) + ": " + data.status().message(),
        "check the path and that pgkeep's user may read it");
  }
  // Like ssh with private keys: a secret others on the host can read is no
  // secret, and saying nothing would let it stay that way.
  struct stat st;
  if (::stat(file_path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return ConfigError(what + ": file " + Quote(file_path) + " is readable by group or others (mode " + mode + ")",
                       "chmod 600 " + file_path);
  }
  std::string secret = std::move(*data);
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  }
  if (secret.empty()) {
    return Status::Error(ErrorCode::kAuth, what + ": file " + Quote(file_path) + " is empty");
  }
  return secret;
}

std::vector<std::string> SecretEnvNames(const Config& config) {
  std::vector<std::string> names = {"PGKEEP_REPO_PASSWORD", config.repository.password_env};
  if (config.repository.s3) {
    names.push_back(config.repository.s3->access_key_env);
    names.push_back(config.repository.s3->secret_key_env);
  }
  for (const auto& key : config.server.api_keys) names.push_back(key.key_env);
  names.push_back(config.server.internal_key_env);
  std::vector<std::string> out;
  for (auto& n : names)
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end()) out.push_back(std::move(n));
  return out;
}

}  // namespace pgkeep
