// postgres/table_scope.h — which tables a logical backup covers (and a logical
// restore may select), decided the way
// pg_dump decides it for --schema/--table/--exclude-* patterns (the subset
// pgkeep supports: exact names with * and ? wildcards; a table pattern may
// be qualified "schema.table").
#pragma once

#include <string>
#include <vector>

#include "postgres/connection.h"

namespace pgkeep {

struct QualifiedTable {
  std::string schema;
  std::string name;
  std::string Display() const { return schema + "." + name; }
};

class TableScope {
 public:
  // The lists of a [database.NAME] table: schemas, tables, exclude_schemas,
  // exclude_tables (config.h); empty include lists mean "everything".
  TableScope(std::vector<std::string> schemas, std::vector<std::string> tables,
             std::vector<std::string> exclude_schemas = {},
             std::vector<std::string> exclude_tables = {})
      : schemas_(std::move(schemas)),
        tables_(std::move(tables)),
        exclude_schemas_(std::move(exclude_schemas)),
        exclude_tables_(std::move(exclude_tables)) {}

  bool Includes(const QualifiedTable& t) const;
  // pg_dump / pg_restore arguments expressing the same scope.
  std::vector<std::string> PgDumpArgs() const;

 private:
  std::vector<std::string> schemas_, tables_, exclude_schemas_, exclude_tables_;
};

// Ordinary tables of the connected database outside the system schemas and
// extensions (what pg_dump dumps data of), sorted by schema and name.
Result<std::vector<QualifiedTable>> ListUserTables(PgConnection& pg);
// Exact row count of one table, in the connection's current snapshot.
Result<int64_t> CountRows(PgConnection& pg, const QualifiedTable& table);

// Shell-style match of `text` against `pattern` (* and ?), case-sensitive.
bool WildcardMatch(const std::string& pattern, const std::string& text);

}  // namespace pgkeep
