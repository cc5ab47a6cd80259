// postgres/libpq_connect.h — the raw libpq connection behind ConnectPostgres,
// for code that needs protocol features PgConnection does not wrap (the
// replication protocol's COPY stream in postgres/replication.cc).
#pragma once

#include <libpq-fe.h>

#include <string>

#include "common/status.h"

namespace pgkeep {

// Connects like ConnectPostgres (same errors, hints and redaction); with
// `replication` ("database" or "true") the server enters walsender mode.
// The caller owns the connection (PQfinish).
Result<PGconn*> OpenLibpqConnection(const std::string& conninfo, const std::string& what,
                                    int connect_timeout_seconds, const char* replication);

// A libpq or server message as one line (first line, trailing newline dropped).
std::string CondensePgError(const std::string& raw);

}  // namespace pgkeep
