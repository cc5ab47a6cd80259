// restore/table_load.h — one table's data, from a staged dump
// (restore/dump_staging.h), loaded over several connections at once.
//
// pg_restore loads each table over one connection, so a database whose
// largest table holds most of its data restores at the speed of one COPY
// however many jobs it is given. LoadTableInParts cuts that table's COPY
// data into `parts` ranges at row boundaries (COPY text ends each row with
// a newline and escapes the ones inside values), and runs one
// COPY ... FROM STDIN per range, each on its own connection and thread,
// with the session settings pg_restore would use. The rows arrive in the
// same table, in another physical order.
//
// Failure: the first error of any part (the others are stopped); kCorrupt
// when the staged chunks do not parse. What the parts loaded before a
// failure stays in the table: the caller starts over (the logical restore
// drops the database).
//
// Thread safety: call from one thread; it runs its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/env.h"
#include "common/status.h"
#include "postgres/pg_connector.h"
#include "restore/dump_staging.h"

namespace pgkeep {

// Tables with less COPY data than this are left to pg_restore.
inline constexpr uint64_t kSplitTableMinBytes = 48 << 20;

struct TableLoad {
  int parts = 0;       // COPY statements run
  int64_t rows = 0;    // rows they loaded
  uint64_t bytes = 0;  // COPY data sent
};

// Loads `data` from the staged dump `path` into the database at `conninfo`
// over `parts` connections (fewer when the data has fewer rows).
// `int_size` and `session_sql` come from the staging (DumpStaging).
// `cancel`, when it becomes non-zero, stops every part (kInterrupted).
Result<TableLoad> LoadTableInParts(Env& env, PgConnector& connector, const std::string& conninfo,
                                   const std::string& what, const std::string& path,
                                   const StagedTableData& data, int int_size,
                                   const std::string& session_sql, int parts,
                                   const std::atomic<int>* cancel);

}  // namespace pgkeep
