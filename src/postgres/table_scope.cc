#include "postgres/table_scope.h"

namespace pgkeep {

Result<std::vector<QualifiedTable>> ListUserTables(PgConnection& pg) {
  auto rows = pg.Query(R"SQL(
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2)SQL");
  if (!rows.ok()) return rows.status();
  std::vector<QualifiedTable> tables;
  for (const auto& row : rows->rows) tables.push_back({*row.values[0], *row.values[1]});
  return tables;
}

Result<int64_t> CountRows(PgConnection& pg, const QualifiedTable& table) {
  auto n =
      pg.Query("SELECT count(*) FROM " + QuoteIdent(table.schema) + "." + QuoteIdent(table.name));
  if (!n.ok()) return n.status();
  return std::stoll(*n->rows[0].values[0]);
}

bool WildcardMatch(const std::string& pattern, const std::string& text) {
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {
bool TableMatches(const std::string& pattern, const QualifiedTable& t) {
  size_t dot = pattern.find('.');
  if (dot == std::string::npos) return WildcardMatch(pattern, t.name);
  return WildcardMatch(pattern.substr(0, dot), t.schema) &&
         WildcardMatch(pattern.substr(dot + 1), t.name);
}
bool AnySchema(const std::vector<std::string>& patterns, const std::string& schema) {
  for (const auto& p : patterns)
    if (WildcardMatch(p, schema)) return true;
  return false;
}
bool AnyTable(const std::vector<std::string>& patterns, const QualifiedTable& t) {
  for (const auto& p : patterns)
    if (TableMatches(p, t)) return true;
  return false;
}
}  // namespace

bool TableScope::Includes(const QualifiedTable& t) const {
  // As pg_dump: --table selects tables only (schemas then just narrow nothing
  // further); otherwise --schema selects schemas; excludes apply last.
  bool included =
      !tables_.empty() ? AnyTable(tables_, t) : (schemas_.empty() || AnySchema(schemas_, t.schema));
  if (!included) return false;
  if (AnySchema(exclude_schemas_, t.schema)) return false;
  return !AnyTable(exclude_tables_, t);
}

std::vector<std::string> TableScope::PgDumpArgs() const {
  std::vector<std::string> args;
  for (const auto& s : schemas_) args.push_back("--schema=" + s);
  for (const auto& t : tables_) args.push_back("--table=" + t);
  for (const auto& s : exclude_schemas_) args.push_back("--exclude-schema=" + s);
  for (const auto& t : exclude_tables_) args.push_back("--exclude-table=" + t);
  return args;
}

}  // namespace pgkeep
