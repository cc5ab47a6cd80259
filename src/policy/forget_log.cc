#include "policy/forget_log.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "repo/snapshot.h"

namespace pgkeep {

namespace {

constexpr size_t kMaxRows = 1000000;
constexpr size_t kMaxKeyColumns = 32;
constexpr size_t kMaxRedactColumns = 256;
constexpr size_t kMaxNameLength = 63;  // NAMEDATALEN - 1
// Keys per statement when re-applying or checking.
constexpr size_t kKeysPerStatement = 10000;

// A PostgreSQL array literal of text elements: {"a","b\"c"}.
std::string TextArray(const std::vector<std::vector<std::string>>& rows, size_t column,
                      size_t begin, size_t end) {
  std::string out = "{";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) out += ',';
    out += '"';
    for (char c : rows[i][column]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

// The catalog's view of an entry's table in the connected database.
struct Resolved {
  bool found = false;
  std::string missing;                                      // why it cannot be used, for a note
  std::string table;                                        // quoted "schema"."table"
  std::vector<std::pair<std::string, std::string>> key;     // quoted column, type
  std::vector<std::pair<std::string, std::string>> redact;  // quoted column, type
};

class Resolver {
 public:
  explicit Resolver(PgConnection& pg) : pg_(pg) {}

  Result<Resolved> Resolve(const ForgetEntry& e) {
    const std::string name = e.schema + "." + e.table;
    auto it = columns_.find(name);
    if (it == columns_.end()) {
      auto found = pg_.Query(
          "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN "
          "pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE "
          "n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND "
          "NOT a.attisdropped",
          {e.schema, e.table});
      if (!found.ok()) return found.status();
      std::map<std::string, std::string> cols;
      for (const PgRow& row : found->rows) cols[*row.values[0]] = *row.values[1];
      it = columns_.emplace(name, std::move(cols)).first;
    }
    Resolved r;
    if (it->second.empty()) {
      r.missing = "table " + name + " is not in the restored database";
      return r;
    }
    auto column = [&](const std::string& c) -> std::optional<std::string> {
      auto t = it->second.find(c);
      if (t == it->second.end()) return std::nullopt;
      return t->second;
    };
    for (const std::string& k : e.key) {
      auto type = column(k);
      if (!type) {
        r.missing = "table " + name + " has no column \"" + k + "\"";
        return r;
      }
      r.key.emplace_back(QuoteIdent(k), *type);
    }
    for (const auto& [c, value] : e.redact) {
      auto type = column(c);
      if (!type) {
        r.missing = "table " + name + " has no column \"" + c + "\"";
        return r;
      }
      r.redact.emplace_back(QuoteIdent(c), *type);
    }
    r.table = QuoteIdent(e.schema) + "." + QuoteIdent(e.table);
    r.found = true;
    return r;
  }

 private:
  PgConnection& pg_;
  std::map<std::string, std::map<std::string, std::string>> columns_;
};

// "($1 ...) keys" of rows [begin, end): the parameters (one text array per
// key column, then the redacted values) and the SQL pieces using them.
struct KeyedStatement {
  std::vector<std::string> params;
  std::string keys_in;       // (k1, k2) IN (SELECT ... FROM unnest(...))
  std::string not_redacted;  // c1 IS DISTINCT FROM $n::type OR ...
  std::string sets;          // c1 = $n::type, ...
};

KeyedStatement Keyed(const ForgetEntry& e, const Resolved& r, size_t begin, size_t end) {
  KeyedStatement s;
  std::string columns, selected, arrays;
  for (size_t i = 0; i < r.key.size(); ++i) {
    s.params.push_back(TextArray(e.rows, i, begin, end));
    const std::string p = "$" + std::to_string(i + 1);
    columns += (i ? ", " : "") + r.key[i].first;
    selected += (i ? ", " : "") + std::string("u.c") + std::to_string(i) + "::" + r.key[i].second;
    arrays += (i ? ", " : "") + p + "::text[]";
  }
  std::string names;
  for (size_t i = 0; i < r.key.size(); ++i) names += (i ? ", c" : "c") + std::to_string(i);
  s.keys_in = "(" + columns + ") IN (SELECT " + selected + " FROM unnest(" + arrays + ") AS u(" +
              names + "))";
  for (size_t i = 0; i < r.redact.size(); ++i) {
    s.params.push_back(e.redact[i].second);
    const std::string value =
        "$" + std::to_string(r.key.size() + i + 1) + "::" + r.redact[i].second;
    s.not_redacted += (i ? " OR " : "") + r.redact[i].first + " IS DISTINCT FROM " + value;
    s.sets += (i ? ", " : "") + r.redact[i].first + " = " + value;
  }
  return s;
}

Result<int64_t> CountOf(PgConnection& pg, const std::string& sql,
                        const std::vector<std::string>& params) {
  auto r = pg.Query(sql, params);
  if (!r.ok()) return r.status();
  return std::stoll(r->rows.at(0).values.at(0).value_or("0"));
}

Result<ForgetEntry> ReadEntry(const Repository& repo, const std::string& db,
                              const std::string& id) {
  auto bytes = repo.ReadForgetEntry(db, id);
  if (!bytes.ok()) return bytes.status();
  return DecodeForgetEntry(std::string(AsString(*bytes)),
                           "forget-log entry " + ForgetEntryObjectName(db, id));
}

}  // namespace

std::string EncodeForgetEntry(const ForgetEntry& e) {
  nlohmann::ordered_json redact = nlohmann::ordered_json::object();
  for (const auto& [c, v] : e.redact) redact[c] = v;
  nlohmann::ordered_json j = {{"version", 1},     {"policy", e.policy}, {"schema", e.schema},
                              {"table", e.table}, {"key", e.key},       {"action", e.action},
                              {"redact", redact}, {"at", e.at},         {"rows", e.rows}};
  return j.dump();
}

Result<ForgetEntry> DecodeForgetEntry(const std::string& json, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Status::Error(ErrorCode::kCorrupt, what + " is not a valid entry: " + why);
  };
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (j.value("version", 0) != 1) return bad("unknown version");
  auto name = [&](const nlohmann::json& v) {
    return v.is_string() && !v.get<std::string>().empty() &&
           v.get<std::string>().size() <= kMaxNameLength;
  };
  ForgetEntry e;
  if (!j.contains("schema") || !name(j["schema"]) || !j.contains("table") || !name(j["table"]))
    return bad("schema or table missing or too long");
  e.schema = j["schema"];
  e.table = j["table"];
  e.policy = j.value("policy", "");
  const nlohmann::json& key = j.value("key", nlohmann::json());
  if (!key.is_array() || key.empty() || key.size() > kMaxKeyColumns)
    return bad("key must list 1 to " + std::to_string(kMaxKeyColumns) + " columns");
  for (const auto& k : key) {
    if (!name(k)) return bad("a key column name is empty or too long");
    e.key.push_back(k);
  }
  e.action = j.value("action", "");
  if (e.action != "redact" && e.action != "delete") return bad("action is not redact or delete");
  const nlohmann::json& redact = j.value("redact", nlohmann::json::object());
  if (!redact.is_object() || redact.size() > kMaxRedactColumns) return bad("redact is not a map");
  for (const auto& [c, v] : redact.items()) {
    if (c.empty() || c.size() > kMaxNameLength || !v.is_string())
      return bad("a redacted column or value is not text");
    e.redact.emplace_back(c, v.get<std::string>());
  }
  if (e.action == "redact" && e.redact.empty()) return bad("a redact without columns");
  if (!j.contains("at") || !j["at"].is_number_integer()) return bad("at is not a time");
  e.at = j["at"];
  const nlohmann::json& rows = j.value("rows", nlohmann::json());
  if (!rows.is_array() || rows.size() > kMaxRows) return bad("rows is not a list of keys");
  e.rows.reserve(rows.size());
  for (const auto& row : rows) {
    if (!row.is_array() || row.size() != e.key.size()) return bad("a row's key has other columns");
    std::vector<std::string> values;
    for (const auto& v : row) {
      if (!v.is_string()) return bad("a key value is not text");
      values.push_back(v);
    }
    e.rows.push_back(std::move(values));
  }
  return e;
}

Result<std::string> AppendForgetEntry(const Repository& repo, const std::string& db,
                                      const ForgetEntry& entry) {
  const std::string json = EncodeForgetEntry(entry);
  for (int attempt = 0;; ++attempt) {
    const std::string id = NewSnapshotId(entry.at);
    Status s = repo.WriteForgetEntry(db, id, AsBytes(json));
    if (s.ok()) return id;
    if (s.code() != ErrorCode::kConflict || attempt == 5)
      return s.WithContext("writing the forget log of database \"" + db + "\"");
  }
}

Result<std::vector<std::string>> ForgetEntriesSince(const Repository& repo, const std::string& db,
                                                    int64_t since) {
  auto ids = repo.ListForgetEntries(db);
  if (!ids.ok()) return ids.status();
  // Ids begin with their UTC second, which sorts as text.
  const std::string from = FormatCompactTime(std::max<int64_t>(0, since));
  std::vector<std::string> out;
  for (std::string& id : *ids)
    if (id.substr(0, from.size()) >= from) out.push_back(std::move(id));
  return out;
}

Result<ErasureReplay> ReapplyErasures(const Repository& repo, PgConnection& pg,
                                      const std::string& db, int64_t since) {
  ErasureReplay out;
  out.since = since;
  auto ids = ForgetEntriesSince(repo, db, since);
  if (!ids.ok()) return ids.status();
  Resolver resolver(pg);
  std::map<std::string, int64_t> skipped;  // why -> rows
  for (const std::string& id : *ids) {
    auto e = ReadEntry(repo, db, id);
    if (!e.ok()) return e.status();
    ++out.entries;
    out.rows += static_cast<int64_t>(e->rows.size());
    auto r = resolver.Resolve(*e);
    if (!r.ok()) return r.status();
    if (!r->found) {
      skipped[r->missing] += static_cast<int64_t>(e->rows.size());
      continue;
    }
    for (size_t begin = 0; begin < e->rows.size(); begin += kKeysPerStatement) {
      const size_t end = std::min(e->rows.size(), begin + kKeysPerStatement);
      KeyedStatement s = Keyed(*e, *r, begin, end);
      const std::string sql = e->action == "delete"
                                  ? "WITH d AS (DELETE FROM " + r->table + " WHERE " + s.keys_in +
                                        " RETURNING 1) SELECT count(*)::text FROM d"
                                  : "WITH d AS (UPDATE " + r->table + " SET " + s.sets + " WHERE " +
                                        s.keys_in + " AND (" + s.not_redacted +
                                        ") RETURNING 1) SELECT count(*)::text FROM d";
      auto n = CountOf(pg, sql, s.params);
      if (!n.ok())
        return n.status().WithContext("re-applying forget-log entry " +
                                      ForgetEntryObjectName(db, id));
      (e->action == "delete" ? out.deleted : out.redacted) += *n;
    }
  }
  for (const auto& [why, rows] : skipped)
    out.notes.push_back(why + ": " + std::to_string(rows) + " erased row(s) not re-applied there");
  return out;
}

Result<ErasureCheck> CheckErasures(const Repository& repo, PgConnection& pg,
                                   const std::string& db) {
  ErasureCheck out;
  auto ids = repo.ListForgetEntries(db);
  if (!ids.ok()) return ids.status();
  Resolver resolver(pg);
  std::map<std::string, int64_t> skipped;
  for (const std::string& id : *ids) {
    auto e = ReadEntry(repo, db, id);
    if (!e.ok()) return e.status();
    ++out.entries;
    auto r = resolver.Resolve(*e);
    if (!r.ok()) return r.status();
    if (!r->found) {
      skipped[r->missing] += static_cast<int64_t>(e->rows.size());
      continue;
    }
    out.rows += static_cast<int64_t>(e->rows.size());
    for (size_t begin = 0; begin < e->rows.size(); begin += kKeysPerStatement) {
      const size_t end = std::min(e->rows.size(), begin + kKeysPerStatement);
      KeyedStatement s = Keyed(*e, *r, begin, end);
      std::string where = s.keys_in;
      if (e->action == "redact") where += " AND (" + s.not_redacted + ")";
      std::string keys;
      for (size_t i = 0; i < r->key.size(); ++i)
        keys += (i ? " || ',' || " : "") + r->key[i].first + "::text";
      auto found = pg.Query("SELECT count(*) OVER ()::text, " + keys + " FROM " + r->table +
                                " WHERE " + where + " LIMIT 1",
                            s.params);
      if (!found.ok()) return found.status();
      if (found->rows.empty()) continue;
      out.came_back += std::stoll(found->rows[0].values[0].value_or("0"));
      if (out.first.empty())
        out.first = e->schema + "." + e->table + " key (" + found->rows[0].values[1].value_or("") +
                    "), " + (e->action == "delete" ? "deleted" : "redacted") + " by policy \"" +
                    e->policy + "\" at " + FormatIsoTime(e->at);
    }
  }
  for (const auto& [why, rows] : skipped)
    out.notes.push_back(why + ": " + std::to_string(rows) + " erased row(s) not checked");
  return out;
}

}  // namespace pgkeep
