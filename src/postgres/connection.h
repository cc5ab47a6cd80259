// postgres/connection.h — talking SQL to one PostgreSQL database.
//
// PgConnection is an interface so tests can fake the server; ConnectPostgres
// returns the real one, built on libpq. Every failure is a one-line Status
// with ErrorCode::kPostgres (kConfig for a conninfo libpq cannot parse) that
// names the connection and never contains a password from the conninfo.
//
// Thread safety: a PgConnection may be used by one thread at a time. The free
// functions are pure and may be called from any thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

struct PgRow {
  // Text values in column order; std::nullopt is SQL NULL.
  std::vector<std::optional<std::string>> values;
};

struct PgResult {
  std::vector<std::string> columns;
  std::vector<PgRow> rows;
  std::string command_tag;  // "SELECT 3", "CREATE TABLE", ...
};

class PgConnection {
 public:
  virtual ~PgConnection() = default;

  // Runs one statement with $1, $2, ... bound to `params` (sent as text, type
  // inferred by the server) and returns all rows as text. Statements that
  // return no rows give an empty PgResult with their command tag. Fails with
  // `query failed on <what>: <server's primary message>`; the server's HINT,
  // if any, becomes the Status hint.
  virtual Result<PgResult> Query(const std::string& sql,
                                 const std::vector<std::string>& params = {}) = 0;

  // Runs one or more ';'-separated statements for their effect, as one
  // implicit transaction unless `sql` has its own BEGIN/COMMIT; stops at the
  // first failing one, with the same message as Query.
  virtual Status Exec(const std::string& sql) = 0;

  // The server's version as an integer: 150018 for 15.18.
  virtual int ServerVersionNum() const = 0;

  // The conninfo with any password removed; safe for messages and logs.
  virtual std::string Describe() const = 0;

  // SQLSTATE of the last failed Query/Exec ("42P01"), "" if it succeeded or
  // the failure had none (e.g. the connection was lost). Lets callers tell
  // "permission denied" (42501) from other errors without parsing messages.
  virtual std::string LastSqlState() const { return {}; }

  // Runs `sql`, a COPY ... FROM STDIN, and sends it what `next` yields until
  // it yields an empty view; returns the rows the server loaded. An error
  // from `next` ends the COPY (the server discards what it loaded) and is
  // returned. Connections that cannot (a test's fake) fail with kInternal.
  virtual Result<int64_t> CopyIn(const std::string& sql,
                                 const std::function<Result<ByteView>()>& next) {
    (void)sql;
    (void)next;
    return Status::Error(ErrorCode::kInternal, "this connection cannot COPY FROM STDIN");
  }
};

// Opens a connection. `conninfo` is a libpq key=value string or a
// postgresql:// URI; unset parameters come from the PG* environment and
// ~/.pgpass as usual. application_name defaults to "pgkeep" (the conninfo or
// PGAPPNAME may override it); `connect_timeout_seconds` overrides any
// connect_timeout in the conninfo. `what` names the connection in messages,
// e.g. `database "primary"`. Server NOTICEs are dropped, never printed.
//
// Fails with `cannot connect to <what> (<redacted conninfo>): <reason>` and a
// hint matching the reason (server down, bad password, unknown database...).
Result<std::unique_ptr<PgConnection>> ConnectPostgres(const std::string& conninfo,
                                                      const std::string& what,
                                                      int connect_timeout_seconds = 10);

// `conninfo` without password=... and sslpassword=... entries (key=value
// form) or without the password of a URI's userinfo and query. Works on
// malformed input too, keeping what it cannot parse.
std::string RedactConninfo(const std::string& conninfo);

// An SQL identifier, always quoted: my"table -> "my""table".
std::string QuoteIdent(const std::string& name);

// An SQL string literal: it's -> 'it''s'. A value containing a backslash is
// written as E'...' with doubled backslashes, so it is read back unchanged
// whatever standard_conforming_strings is.
std::string QuoteLiteral(const std::string& value);

// `conninfo` (either form) rewritten as key=value with dbname replaced by
// `dbname`; every other parameter, including a password, is kept. Fails with
// kConfig if libpq cannot parse `conninfo`.
Result<std::string> ConninfoWithDbname(const std::string& conninfo, const std::string& dbname);
// Likewise with any parameters replaced or added ("host", "port", ...).
Result<std::string> ConninfoWith(const std::string& conninfo,
                                 const std::map<std::string, std::string>& overrides);

}  // namespace pgkeep
