#include "postgres/connection.h"

#include <libpq-fe.h>

#include <cctype>
#include <map>
#include <string_view>

#include "postgres/libpq_connect.h"

namespace pgkeep {

namespace {

constexpr const char* kConninfoHint =
    "see https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING";
constexpr const char* kPasswordHint =
    "set PGPASSWORD or a ~/.pgpass entry; conninfo must not contain the password";

bool IsSecretKey(std::string_view key) { return key == "password" || key == "sslpassword"; }

constexpr const char* kSpaces = " \t\n\r\f\v";

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// libpq percent-decodes URI query keys and values ("pass%77ord" is
// "password"); redaction must see what libpq sees.
std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// All pieces, empty ones included: "a,,b" -> {"a", "", "b"}.
std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> pieces;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    pieces.push_back(s.substr(start, end == std::string::npos ? end : end - start));
    if (end == std::string::npos) return pieces;
    start = end + 1;
  }
}

bool IsUri(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

// One "key = value" entry of a key=value conninfo; [begin, end) is its text.
// An entry without '=' (malformed) has has_value false.
struct KvEntry {
  size_t begin = 0;
  size_t end = 0;
  std::string key;
  std::string value;
  bool has_value = false;
};

// Splits like libpq's conninfo_parse, but never fails: what libpq would
// reject still comes out as entries, so redaction works on bad input too.
std::vector<KvEntry> ScanKeyValue(const std::string& s) {
  std::vector<KvEntry> entries;
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    if (IsSpace(s[i])) {
      ++i;
      continue;
    }
    KvEntry e;
    e.begin = i;
    while (i < n && s[i] != '=' && !IsSpace(s[i])) e.key += s[i++];
    size_t j = i;
    while (j < n && IsSpace(s[j])) ++j;
    if (j < n && s[j] == '=') {
      e.has_value = true;
      i = j + 1;
      while (i < n && IsSpace(s[i])) ++i;
      const bool quoted = i < n && s[i] == '\'';
      if (quoted) ++i;
      while (i < n && (quoted ? s[i] != '\'' : !IsSpace(s[i]))) {
        if (s[i] == '\\' && i + 1 < n) ++i;
        e.value += s[i++];
      }
      if (quoted && i < n) ++i;  // the closing quote
    }
    e.end = i;
    entries.push_back(std::move(e));
  }
  return entries;
}

// The conninfo without its secrets, and the secrets themselves, so messages
// that echo them (libpq's "invalid percent-encoded token: ...") can be scrubbed.
struct Redaction {
  std::string text;
  std::vector<std::string> secrets;
};

Redaction RedactUri(const std::string& s) {
  Redaction r;
  const size_t start = s.find("://") + 3;
  r.text = s.substr(0, start);
  size_t after = start;
  // As in libpq, the userinfo ends at the first '@' seen before any '/'.
  const size_t at = s.find_first_of("@/", start);
  if (at != std::string::npos && s[at] == '@') {
    const std::string userinfo = s.substr(start, at - start);
    const size_t colon = userinfo.find(':');
    r.text += userinfo.substr(0, colon) + "@";
    if (colon != std::string::npos) {
      r.secrets.push_back(userinfo.substr(colon + 1));
      r.secrets.push_back(PercentDecode(userinfo.substr(colon + 1)));
    }
    after = at + 1;
  }
  const size_t q = s.find('?', after);
  r.text += s.substr(after, q == std::string::npos ? std::string::npos : q - after);
  if (q == std::string::npos) return r;
  std::string query;
  for (const std::string& param : Split(s.substr(q + 1), '&')) {
    const size_t eq = param.find('=');
    if (IsSecretKey(PercentDecode(std::string_view(param).substr(0, eq)))) {
      if (eq != std::string::npos) {
        r.secrets.push_back(param.substr(eq + 1));
        r.secrets.push_back(PercentDecode(param.substr(eq + 1)));
      }
    } else if (!param.empty()) {
      query += (query.empty() ? "?" : "&") + param;
    }
  }
  r.text += query;
  return r;
}

Redaction Redact(const std::string& conninfo) {
  if (IsUri(conninfo)) return RedactUri(conninfo);
  Redaction r;
  const std::vector<KvEntry> entries = ScanKeyValue(conninfo);
  for (size_t i = 0; i < entries.size(); ++i) {
    const KvEntry& e = entries[i];
    if (IsSecretKey(e.key)) {
      r.secrets.push_back(e.value);
      // "password hunter2" (malformed): the next word is the secret.
      if (!e.has_value && i + 1 < entries.size()) r.secrets.push_back(entries[++i].key);
      continue;
    }
    if (!r.text.empty()) r.text += ' ';
    r.text += conninfo.substr(e.begin, e.end - e.begin);
  }
  return r;
}

std::string Scrub(std::string message, const std::string& conninfo) {
  for (const std::string& secret : Redact(conninfo).secrets) {
    if (secret.empty()) continue;
    for (size_t pos = message.find(secret); pos != std::string::npos;
         pos = message.find(secret, pos + 3)) {
      message.replace(pos, secret.size(), "***");
    }
  }
  return message;
}

// libpq messages span lines: one "connection to server at ... failed: X"
// per address tried, each followed by tab-indented advice, and server errors
// carry "FATAL:  ". Keeps the reason of the server's error if there is one,
// else of the last attempt, lowercased like our own messages.
std::string Condense(const std::string& raw) {
  std::string chosen;
  for (const std::string& line : Split(raw, '\n')) {
    const bool advice = line.empty() || IsSpace(line[0]) || line.starts_with("DETAIL:") ||
                        line.starts_with("HINT:");
    if (!advice && chosen.find("FATAL:") == std::string::npos) chosen = line;
  }
  if (chosen.starts_with("connection to server")) {
    const size_t failed = chosen.find(" failed: ");
    if (failed != std::string::npos) chosen = chosen.substr(failed + 9);
  }
  for (std::string_view severity : {"FATAL:", "ERROR:"}) {
    if (chosen.starts_with(severity)) chosen.erase(0, severity.size());
  }
  const size_t first = chosen.find_first_not_of(kSpaces);
  if (first == std::string::npos) return "unknown error";
  chosen = chosen.substr(first, chosen.find_last_not_of(kSpaces) - first + 1);
  // "Connection refused" (strerror) -> "connection refused", but "SSL ..." stays.
  if (chosen.size() > 1 && std::isupper(static_cast<unsigned char>(chosen[0])) &&
      std::islower(static_cast<unsigned char>(chosen[1]))) {
    chosen[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(chosen[0])));
  }
  return chosen;
}

struct HintRule {
  const char* needle;
  const char* hint;
};
// First match wins; the pg_hba message also names a database, so it comes
// before the database rule.
constexpr HintRule kConnectHints[] = {
    {"password authentication failed", kPasswordHint},
    {"no password supplied", kPasswordHint},
    {"no pg_hba.conf entry", "add a matching line to the server's pg_hba.conf and reload it"},
    {"role \"", "check user in conninfo"},
    {"database \"", "check dbname in conninfo"},
};

std::string ConnectHint(const std::string& reason) {
  for (const HintRule& rule : kConnectHints) {
    if (reason.find(rule.needle) != std::string::npos) return rule.hint;
  }
  return "is PostgreSQL running and listening there? check conninfo";
}

// Frees a libpq object with its own function (PQfinish, PQclear, ...).
template <auto kFree>
struct LibpqDeleter {
  template <typename T>
  void operator()(T* p) const {
    kFree(p);
  }
};
using ConnPtr = std::unique_ptr<PGconn, LibpqDeleter<PQfinish>>;
using ResultPtr = std::unique_ptr<PGresult, LibpqDeleter<PQclear>>;
using OptionsPtr = std::unique_ptr<PQconninfoOption, LibpqDeleter<PQconninfoFree>>;

// libpq's default prints NOTICEs to stderr, which would garble our output.
void DropNotice(void* /*arg*/, const char* /*message*/) {}

// Parses `conninfo` with libpq; `subject` names it in the error.
Result<OptionsPtr> ParseConninfo(const std::string& conninfo, const std::string& subject) {
  char* error = nullptr;
  OptionsPtr options(PQconninfoParse(conninfo.c_str(), &error));
  if (options) return options;
  std::string reason = error ? Condense(error) : "out of memory";
  PQfreemem(error);
  std::string redacted = RedactConninfo(conninfo);
  return Status::Error(
      ErrorCode::kConfig,
      "invalid conninfo" + subject + " (" + redacted + "): " + Scrub(reason, conninfo),
      kConninfoHint);
}

class LibpqConnection final : public PgConnection {
 public:
  LibpqConnection(ConnPtr conn, std::string what, std::string description)
      : conn_(std::move(conn)),
        what_(std::move(what)),
        description_(std::move(description)),
        version_(PQserverVersion(conn_.get())) {
    PQsetNoticeProcessor(conn_.get(), DropNotice, nullptr);
  }

  Result<PgResult> Query(const std::string& sql, const std::vector<std::string>& params) override {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const std::string& p : params) values.push_back(p.c_str());
    ResultPtr res(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                               values.data(), nullptr, nullptr, /*resultFormat=*/0));
    PGKEEP_RETURN_IF_ERROR(Check(res.get()));
    PgResult out;
    out.command_tag = PQcmdStatus(res.get());
    const int ncols = PQnfields(res.get());
    const int nrows = PQntuples(res.get());
    for (int c = 0; c < ncols; ++c) out.columns.emplace_back(PQfname(res.get(), c));
    out.rows.resize(static_cast<size_t>(nrows));
    for (int r = 0; r < nrows; ++r) {
      auto& values_out = out.rows[static_cast<size_t>(r)].values;
      values_out.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) {
        if (PQgetisnull(res.get(), r, c)) {
          values_out.emplace_back(std::nullopt);
          continue;
        }
        const auto length = static_cast<size_t>(PQgetlength(res.get(), r, c));
        values_out.emplace_back(std::string(PQgetvalue(res.get(), r, c), length));
      }
    }
    return out;
  }

  Status Exec(const std::string& sql) override {
    ResultPtr res(PQexec(conn_.get(), sql.c_str()));
    return Check(res.get());
  }

  Result<int64_t> CopyIn(const std::string& sql,
                         const std::function<Result<ByteView>()>& next) override {
    ResultPtr start(PQexec(conn_.get(), sql.c_str()));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
      PGKEEP_RETURN_IF_ERROR(Check(start.get()));
      return Status::Error(ErrorCode::kInternal, "not a COPY ... FROM STDIN: " + sql);
    }
    Status failed;
    for (;;) {
      auto data = next();
      if (!data.ok()) {
        failed = data.status();
        break;
      }
      if (data->empty()) break;
      if (PQputCopyData(conn_.get(), reinterpret_cast<const char*>(data->data()),
                        static_cast<int>(data->size())) != 1)
        break;  // the connection failed: PQgetResult below says how
    }
    (void)PQputCopyEnd(conn_.get(), failed.ok() ? nullptr : "pgkeep stopped sending");
    ResultPtr end(PQgetResult(conn_.get()));
    Status s = Check(end.get());
    const std::string rows = end ? PQcmdTuples(end.get()) : "";
    while (PGresult* more = PQgetResult(conn_.get())) PQclear(more);
    if (!failed.ok()) return failed;
    PGKEEP_RETURN_IF_ERROR(s);
    return rows.empty() ? int64_t{0} : std::stoll(rows);
  }

  int ServerVersionNum() const override { return version_; }
  std::string Describe() const override { return description_; }
  std::string LastSqlState() const override { return last_sqlstate_; }

 private:
  Status Check(const PGresult* res) {
    const ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK) {
      last_sqlstate_.clear();
      return Status::Ok();
    }
    auto field = [res](int code) -> std::string {
      const char* value = res ? PQresultErrorField(res, code) : nullptr;
      return value ? value : "";
    };
    last_sqlstate_ = field(PG_DIAG_SQLSTATE);
    std::string reason = field(PG_DIAG_MESSAGE_PRIMARY);
    std::string hint = field(PG_DIAG_MESSAGE_HINT);
    if (reason.empty() && (status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR)) {
      reason = Condense(PQerrorMessage(conn_.get()));  // e.g. the server went away
    } else if (reason.empty()) {
      reason = std::string("unexpected result ") + PQresStatus(status);  // COPY: not supported
    }
    if (hint.empty() && PQstatus(conn_.get()) == CONNECTION_BAD) {
      hint = "the connection to the server was lost; check the server log";
    }
    return Status::Error(ErrorCode::kPostgres, "query failed on " + what_ + ": " + reason, hint);
  }

  ConnPtr conn_;
  std::string what_;
  std::string description_;
  int version_;
  std::string last_sqlstate_;
};

std::string QuoteConninfoValue(const std::string& value) {
  if (!value.empty() && value.find_first_of(std::string(kSpaces) + "'\\") == std::string::npos) {
    return value;
  }
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

}  // namespace

Result<PGconn*> OpenLibpqConnection(const std::string& conninfo, const std::string& what,
                                    int connect_timeout_seconds, const char* replication) {
  // A syntax error is a configuration problem, not a server one.
  Result<OptionsPtr> parsed = ParseConninfo(conninfo, " for " + what);
  if (!parsed.ok()) return parsed.status();

  const std::string timeout =
      connect_timeout_seconds > 0 ? std::to_string(connect_timeout_seconds) : "";
  // Entries before the expanded "dbname" yield to the conninfo, entries after
  // it override it (an empty value overrides nothing).
  const char* const keys[] = {"fallback_application_name", "dbname", "connect_timeout",
                              "replication", nullptr};
  const char* const values[] = {"pgkeep", conninfo.c_str(), timeout.c_str(),
                                replication ? replication : "", nullptr};
  ConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));

  const std::string redacted = RedactConninfo(conninfo);
  const std::string prefix =
      "cannot connect to " + what + (redacted.empty() ? "" : " (" + redacted + ")") + ": ";
  if (!conn) return Status::Error(ErrorCode::kPostgres, prefix + "out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string reason = Scrub(Condense(PQerrorMessage(conn.get())), conninfo);
    return Status::Error(ErrorCode::kPostgres, prefix + reason, ConnectHint(reason));
  }
  return conn.release();
}

std::string CondensePgError(const std::string& raw) { return Condense(raw); }

Result<std::unique_ptr<PgConnection>> ConnectPostgres(const std::string& conninfo,
                                                      const std::string& what,
                                                      int connect_timeout_seconds) {
  auto conn = OpenLibpqConnection(conninfo, what, connect_timeout_seconds, nullptr);
  if (!conn.ok()) return conn.status();
  return std::unique_ptr<PgConnection>(
      std::make_unique<LibpqConnection>(ConnPtr(*conn), what, RedactConninfo(conninfo)));
}

std::string RedactConninfo(const std::string& conninfo) { return Redact(conninfo).text; }

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& value) {
  const bool has_backslash = value.find('\\') != std::string::npos;
  std::string out = has_backslash ? "E'" : "'";
  for (char c : value) {
    if (c == '\'' || (c == '\\' && has_backslash)) out += c;
    out += c;
  }
  return out + "'";
}

Result<std::string> ConninfoWith(const std::string& conninfo,
                                 const std::map<std::string, std::string>& overrides) {
  Result<OptionsPtr> parsed = ParseConninfo(conninfo, "");
  if (!parsed.ok()) return parsed.status();
  std::string out;
  for (const PQconninfoOption* o = parsed->get(); o->keyword != nullptr; ++o) {
    auto over = overrides.find(o->keyword);
    if (over == overrides.end() && o->val == nullptr) continue;
    if (!out.empty()) out += ' ';
    out += std::string(o->keyword) + "=" +
           QuoteConninfoValue(over != overrides.end() ? over->second : o->val);
  }
  return out;
}

Result<std::string> ConninfoWithDbname(const std::string& conninfo, const std::string& dbname) {
  return ConninfoWith(conninfo, {{"dbname", dbname}});
}

}  // namespace pgkeep
