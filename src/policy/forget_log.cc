#include "policy/forget_log.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "common/clock.h"
#include "repo/snapshot.h"

namespace pgkeep {

namespace {

constexpr size_t kMaxRows = 1000000;
constexpr size_t kMaxKeyColumns = 32;
constexpr size_t kMaxRedactColumns = 256;
constexpr size_t kMaxNameLength = 63;  // NAMEDATALEN - 1
// One entry written holds at most this many rows, or about this many bytes.
constexpr size_t kMaxPartRows = 100000;
constexpr size_t kMaxPartBytes = 8 << 20;
// Staged entries shipped per transaction: at most this many, or about
// this many bytes of JSON.
constexpr int kMaxShipEntries = 1000;
constexpr int64_t kMaxShipBytes = 16 << 20;
// Rows per statement when re-applying or checking.
constexpr size_t kRowsPerStatement = 10000;
// Rounds of retrying the statements that failed (a foreign key other rows
// still used, which a later entry removes).
constexpr int kRetryRounds = 5;

// A PostgreSQL array literal: {"a","b\"c"} (every element quoted, so a
// "NULL" or a comma is text).
std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
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
  std::string timestamp;                                    // quoted
  std::vector<std::pair<std::string, std::string>> redact;  // quoted column, type
};

class Resolver {
 public:
  explicit Resolver(PgConnection& pg) : pg_(pg) {}

  Result<Resolved> Resolve(const ForgetEntry& e) {
    const std::string name = e.schema + "." + e.table;
    const std::string cache_key = e.schema + '\0' + e.table;
    auto it = columns_.find(cache_key);
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
      it = columns_.emplace(cache_key, std::move(cols)).first;
    }
    Resolved r;
    if (it->second.empty()) {
      r.missing = "table " + name + " is not in the restored database";
      return r;
    }
    auto column = [&](const std::string& c, std::string& type) {
      auto t = it->second.find(c);
      if (t == it->second.end()) {
        r.missing = "table " + name + " has no column \"" + c + "\"";
        return false;
      }
      type = t->second;
      return true;
    };
    std::string type;
    for (const std::string& k : e.key) {
      if (!column(k, type)) return r;
      r.key.emplace_back(QuoteIdent(k), type);
    }
    if (!column(e.timestamp_column, type)) return r;
    r.timestamp = QuoteIdent(e.timestamp_column);
    for (const auto& [c, value] : e.redact) {
      if (!column(c, type)) return r;
      r.redact.emplace_back(QuoteIdent(c), type);
    }
    r.table = QuoteIdent(e.schema) + "." + QuoteIdent(e.table);
    r.found = true;
    return r;
  }

 private:
  PgConnection& pg_;
  std::map<std::string, std::map<std::string, std::string>> columns_;
};

// Every value the log redacted a column to: "schema\0table\0column" -> values.
using KnownValues = std::map<std::string, std::set<std::string>>;
std::string KnownKey(const ForgetEntry& e, const std::string& column) {
  return e.schema + '\0' + e.table + '\0' + column;
}

enum class Purpose { kReapply, kCheck };

// The statement for rows [begin, end) of `e`. Parameters: one text array per
// key column and one of timestamps, then per redacted column the values it
// may hold (an array of its type) and, re-applying, the value to set.
struct Statement {
  std::string sql;
  std::vector<std::string> params;
};

Statement Build(const ForgetEntry& e, const Resolved& r, const KnownValues& known, size_t begin,
                size_t end, Purpose purpose) {
  Statement s;
  const size_t n = r.key.size();
  std::string columns, selected, arrays, names;
  for (size_t i = 0; i <= n; ++i) {  // the key columns, then the timestamp
    std::vector<std::string> values;
    values.reserve(end - begin);
    for (size_t row = begin; row < end; ++row) values.push_back(e.rows[row][i]);
    s.params.push_back(ArrayLiteral(values));
    const std::string u = "u.c" + std::to_string(i);
    columns +=
        (i ? ", " : "") + (i < n ? r.key[i].first : "extract(epoch from " + r.timestamp + ")");
    selected += (i ? ", " : "") + u + "::" + (i < n ? r.key[i].second : "numeric");
    arrays += (i ? ", $" : "$") + std::to_string(i + 1) + "::text[]";
    names += (i ? ", c" : "c") + std::to_string(i);
  }
  const std::string rows_in = "(" + columns + ") IN (SELECT " + selected + " FROM unnest(" +
                              arrays + ") AS u(" + names + "))";
  std::string redacted, sets;
  for (size_t i = 0; i < r.redact.size(); ++i) {
    const auto& [column, type] = r.redact[i];
    auto values = known.find(KnownKey(e, e.redact[i].first));
    std::vector<std::string> any;
    if (values != known.end()) any.assign(values->second.begin(), values->second.end());
    s.params.push_back(ArrayLiteral(any));
    redacted += (i ? " AND " : "") + std::string("coalesce(") + column + " = ANY($" +
                std::to_string(s.params.size()) + "::" + type + "[]), false)";
    if (purpose == Purpose::kReapply) {
      s.params.push_back(e.redact[i].second);
      sets += (i ? ", " : "") + column + " = $" + std::to_string(s.params.size()) + "::" + type;
    }
  }
  std::string where = rows_in;
  if (e.action == "redact") where += " AND NOT (" + redacted + ")";
  if (purpose == Purpose::kCheck) {
    std::string keys;
    for (size_t i = 0; i < n; ++i) keys += (i ? " || ',' || " : "") + r.key[i].first + "::text";
    s.sql = "SELECT count(*) OVER ()::text, " + keys + " FROM " + r.table + " WHERE " + where +
            " LIMIT 1";
  } else if (e.action == "delete") {
    s.sql = "WITH d AS (DELETE FROM " + r.table + " WHERE " + where +
            " RETURNING 1) SELECT count(*)::text FROM d";
  } else {
    s.sql = "WITH d AS (UPDATE " + r.table + " SET " + sets + " WHERE " + where +
            " RETURNING 1) SELECT count(*)::text FROM d";
  }
  return s;
}

Result<ForgetEntry> ReadEntry(const Repository& repo, const std::string& db,
                              const std::string& id) {
  auto bytes = repo.ReadForgetEntry(db, id);
  if (!bytes.ok()) return bytes.status();
  return DecodeForgetEntry(std::string(AsString(*bytes)),
                           "forget-log entry " + ForgetEntryObjectName(db, id));
}

// First pass over `ids`: the values each redacted column was set to.
Result<KnownValues> CollectKnownValues(const Repository& repo, const std::string& db,
                                       const std::vector<std::string>& ids) {
  KnownValues known;
  for (const std::string& id : ids) {
    auto e = ReadEntry(repo, db, id);
    if (!e.ok()) return e.status();
    for (const auto& [column, value] : e->redact) known[KnownKey(*e, column)].insert(value);
  }
  return known;
}

void Notes(const std::map<std::string, int64_t>& skipped, const std::string& what,
           std::vector<std::string>& notes) {
  for (const auto& [why, rows] : skipped)
    notes.push_back(why + ": " + std::to_string(rows) + " erased row(s) " + what);
}

}  // namespace

std::string EncodeForgetEntry(const ForgetEntry& e) {
  nlohmann::ordered_json redact = nlohmann::ordered_json::object();
  for (const auto& [c, v] : e.redact) redact[c] = v;
  nlohmann::ordered_json j = {{"version", 1},       {"policy", e.policy},
                              {"schema", e.schema}, {"table", e.table},
                              {"key", e.key},       {"timestamp_column", e.timestamp_column},
                              {"action", e.action}, {"redact", redact},
                              {"at", e.at},         {"rows", e.rows}};
  return j.dump();
}

Result<ForgetEntry> DecodeForgetEntry(const std::string& json, const std::string& what) {
  auto bad = [&](const std::string& why) {
    return Status::Error(ErrorCode::kCorrupt, what + " is not a valid entry: " + why);
  };
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  auto name = [](const nlohmann::json* v) {
    return v && v->is_string() && !v->get_ref<const std::string&>().empty() &&
           v->get_ref<const std::string&>().size() <= kMaxNameLength;
  };
  auto field = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  const nlohmann::json* version = field("version");
  if (!version || !version->is_number_integer() || *version != 1) return bad("unknown version");
  ForgetEntry e;
  for (auto [key, out] : {std::pair{"schema", &e.schema}, std::pair{"table", &e.table},
                          std::pair{"timestamp_column", &e.timestamp_column}}) {
    if (!name(field(key))) return bad(std::string(key) + " missing, empty or too long");
    *out = field(key)->get<std::string>();
  }
  if (const nlohmann::json* policy = field("policy"); policy && policy->is_string())
    e.policy = policy->get<std::string>();
  const nlohmann::json* key = field("key");
  if (!key || !key->is_array() || key->empty() || key->size() > kMaxKeyColumns)
    return bad("key must list 1 to " + std::to_string(kMaxKeyColumns) + " columns");
  for (const auto& k : *key) {
    if (!name(&k)) return bad("a key column name is empty or too long");
    e.key.push_back(k.get<std::string>());
  }
  const nlohmann::json* action = field("action");
  if (!action || !action->is_string() || (*action != "redact" && *action != "delete"))
    return bad("action is not redact or delete");
  e.action = action->get<std::string>();
  const nlohmann::json* redact = field("redact");
  if (redact && (!redact->is_object() || redact->size() > kMaxRedactColumns))
    return bad("redact is not a map");
  if (redact)
    for (const auto& [c, v] : redact->items()) {
      if (c.empty() || c.size() > kMaxNameLength || !v.is_string())
        return bad("a redacted column or value is not text");
      e.redact.emplace_back(c, v.get<std::string>());
    }
  if (e.action == "redact" && e.redact.empty()) return bad("a redact without columns");
  const nlohmann::json* at = field("at");
  if (!at || !at->is_number_integer()) return bad("at is not a time");
  e.at = at->get<int64_t>();
  const nlohmann::json* rows = field("rows");
  if (!rows || !rows->is_array() || rows->size() > kMaxRows)
    return bad("rows is not a list of at most " + std::to_string(kMaxRows) + " rows");
  e.rows.reserve(rows->size());
  for (const auto& row : *rows) {
    // The key's values, then the timestamp.
    if (!row.is_array() || row.size() != e.key.size() + 1)
      return bad("a row has not one value per key column and a timestamp");
    std::vector<std::string> values;
    for (const auto& v : row) {
      if (!v.is_string()) return bad("a row's value is not text");
      values.push_back(v.get<std::string>());
    }
    e.rows.push_back(std::move(values));
  }
  return e;
}

Result<int> AppendForgetEntry(const Repository& repo, const std::string& db,
                              const ForgetEntry& entry) {
  int written = 0;
  size_t begin = 0;
  do {
    // The next part: up to kMaxPartRows rows, or about kMaxPartBytes.
    ForgetEntry part = entry;
    part.rows.clear();
    size_t bytes = 0;
    size_t end = begin;
    while (end < entry.rows.size() && part.rows.size() < kMaxPartRows && bytes < kMaxPartBytes) {
      for (const std::string& v : entry.rows[end]) bytes += v.size() * 2 + 4;  // escaped, quoted
      part.rows.push_back(entry.rows[end++]);
    }
    const std::string json = EncodeForgetEntry(part);
    for (int attempt = 0;; ++attempt) {
      Status s = repo.WriteForgetEntry(db, NewSnapshotId(entry.at), AsBytes(json));
      if (s.ok()) break;
      if (s.code() != ErrorCode::kConflict || attempt == 5)
        return s.WithContext("writing the forget log of database \"" + db + "\"");
    }
    ++written;
    begin = end;
  } while (begin < entry.rows.size());
  return written;
}

Status CreateStagedErasuresTable(PgConnection& pg) {
  return pg.Exec("CREATE SCHEMA IF NOT EXISTS pgkeep; CREATE TABLE IF NOT EXISTS " +
                 std::string(kStagedErasuresTable) +
                 " (id bigserial PRIMARY KEY, staged_at timestamptz NOT NULL DEFAULT now(), "
                 "entry text NOT NULL)");
}

Status StageErasures(PgConnection& pg, const ForgetEntry& entry) {
  auto r = pg.Query("INSERT INTO " + std::string(kStagedErasuresTable) + " (entry) VALUES ($1)",
                    {EncodeForgetEntry(entry)});
  return r.ok() ? Status::Ok() : r.status().WithContext("staging the forget log");
}

namespace {

// Whether `policy` writes entries like `e` (its rows aside).
bool WrittenBy(const ForgetEntry& e, const RetentionPolicyConfig& policy) {
  if (e.policy != policy.name || e.timestamp_column != policy.timestamp_column) return false;
  const size_t dot = policy.table.find('.');
  const bool table = dot == std::string::npos ? e.table == policy.table
                                              : e.schema == policy.table.substr(0, dot) &&
                                                    e.table == policy.table.substr(dot + 1);
  if (!table) return false;
  if (e.action == "delete")
    return e.redact.empty() &&
           (policy.mode == "delete" ||
            (!policy.tenant.table.empty() && !policy.tenant.hard_delete_column.empty()));
  if (e.action != "redact") return false;
  std::vector<std::pair<std::string, std::string>> redact(policy.redact.begin(),
                                                          policy.redact.end());
  return e.redact == redact;
}

}  // namespace

Result<int> ShipStagedErasures(const Repository& repo, PgConnection& pg, const std::string& db,
                               const std::vector<const RetentionPolicyConfig*>& policies) {
  const std::string table = kStagedErasuresTable;
  int written = 0;
  while (true) {
    // The oldest staged entries, up to about kMaxShipBytes (at least one).
    auto sizes = pg.Query("SELECT id::text, octet_length(entry)::text FROM " + table +
                          " ORDER BY id LIMIT " + std::to_string(kMaxShipEntries));
    if (!sizes.ok()) return sizes.status().WithContext("reading the staged forget log");
    if (sizes->rows.empty()) return written;
    std::vector<std::string> ids;
    int64_t bytes = 0;
    for (const PgRow& row : sizes->rows) {
      bytes += std::stoll(row.values.at(1).value_or("0"));
      if (!ids.empty() && bytes > kMaxShipBytes) break;
      ids.push_back(row.values.at(0).value_or(""));
    }
    PGKEEP_RETURN_IF_ERROR(pg.Exec("BEGIN"));
    auto fail = [&](const Status& s) {
      (void)pg.Exec("ROLLBACK");
      return s.WithContext("shipping the forget log of database \"" + db + "\"");
    };
    auto rows = pg.Query("SELECT id::text, entry FROM " + table +
                             " WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE SKIP LOCKED",
                         {ArrayLiteral(ids)});
    if (!rows.ok()) return fail(rows.status());
    if (rows->rows.empty()) {  // another run is shipping them
      PGKEEP_RETURN_IF_ERROR(pg.Exec("COMMIT"));
      return written;
    }
    // Merged per table, action and redaction (an entry's fields but its
    // rows and time), in the order first staged.
    std::vector<ForgetEntry> merged;
    std::map<std::string, size_t> index;
    std::vector<std::string> taken;
    for (const PgRow& row : rows->rows) {
      const std::string id = row.values.at(0).value_or("");
      auto e = DecodeForgetEntry(row.values.at(1).value_or(""), table + " row " + id);
      if (!e.ok())
        return fail(Status::Error(e.status().code(), e.status().message(),
                                  "pgkeep did not write it; delete that row to go on (the rows "
                                  "it names are erased here, but no restore will erase them)"));
      taken.push_back(id);
      if (std::none_of(policies.begin(), policies.end(),
                       [&](const RetentionPolicyConfig* p) { return WrittenBy(*e, *p); })) {
        repo.Warn(table + " row " + id + " names " + e->action + " of " + e->table +
                  " by policy \"" + e->policy +
                  "\", which no configured retention policy writes: deleted, not shipped "
                  "(restores will not act on it)");
        continue;
      }
      ForgetEntry shape = *e;
      shape.rows.clear();
      shape.at = 0;
      auto [it, added] = index.emplace(EncodeForgetEntry(shape), merged.size());
      if (added) {
        merged.push_back(std::move(*e));
      } else {
        ForgetEntry& into = merged[it->second];
        into.at = std::min(into.at, e->at);
        for (auto& r : e->rows) into.rows.push_back(std::move(r));
      }
    }
    for (const ForgetEntry& e : merged) {
      auto n = AppendForgetEntry(repo, db, e);
      if (!n.ok()) return fail(n.status());
      written += *n;
    }
    auto deleted =
        pg.Query("DELETE FROM " + table + " WHERE id = ANY($1::bigint[])", {ArrayLiteral(taken)});
    if (!deleted.ok()) return fail(deleted.status());
    PGKEEP_RETURN_IF_ERROR(pg.Exec("COMMIT"));
  }
}

Result<StagedErasures> CountStagedErasures(PgConnection& pg) {
  const std::string table = kStagedErasuresTable;
  auto r = pg.Query("SELECT to_regclass('" + table + "') IS NOT NULL");
  if (!r.ok()) return r.status();
  StagedErasures out;
  if (r->rows.empty() || r->rows[0].values.at(0).value_or("f") != "t") return out;
  auto n = pg.Query("SELECT count(*)::text, coalesce(min(staged_at)::text, '') FROM " + table);
  if (!n.ok()) return n.status();
  out.batches = std::stoll(n->rows.at(0).values.at(0).value_or("0"));
  out.oldest = n->rows.at(0).values.at(1).value_or("");
  return out;
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

Status SetForgetLogSession(PgConnection& pg) {
  return pg.Exec(
      "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; "
      "SET extra_float_digits = 3");
}

Result<ErasureReplay> ReapplyErasures(const Repository& repo, PgConnection& pg,
                                      const std::string& db, int64_t since) {
  ErasureReplay out;
  out.since = since;
  auto ids = ForgetEntriesSince(repo, db, since);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return out;
  PGKEEP_RETURN_IF_ERROR(SetForgetLogSession(pg));
  auto known = CollectKnownValues(repo, db, *ids);
  if (!known.ok()) return known.status();
  Resolver resolver(pg);
  std::map<std::string, int64_t> skipped;  // why -> rows
  // Statements that failed, to try again: the entry id and the rows.
  struct Failed {
    std::string id;
    size_t begin, end;
    Status error;
  };
  std::vector<Failed> failed;
  auto apply = [&](const ForgetEntry& e, const Resolved& r, size_t begin,
                   size_t end) -> Result<int64_t> {
    Statement s = Build(e, r, *known, begin, end, Purpose::kReapply);
    auto result = pg.Query(s.sql, s.params);
    if (!result.ok()) return result.status();
    return std::stoll(result->rows.at(0).values.at(0).value_or("0"));
  };
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
    for (size_t begin = 0; begin < e->rows.size(); begin += kRowsPerStatement) {
      const size_t end = std::min(e->rows.size(), begin + kRowsPerStatement);
      auto n = apply(*e, *r, begin, end);
      if (!n.ok()) {
        if (n.status().code() != ErrorCode::kPostgres) return n.status();
        failed.push_back({id, begin, end, n.status()});
        continue;
      }
      (e->action == "delete" ? out.deleted : out.redacted) += *n;
    }
  }
  // What failed, again, while some of it succeeds: a delete blocked by rows
  // another entry removes later goes through once that one has.
  for (int round = 0; round < kRetryRounds && !failed.empty(); ++round) {
    std::vector<Failed> still;
    for (Failed& f : failed) {
      auto e = ReadEntry(repo, db, f.id);
      if (!e.ok()) return e.status();
      auto r = resolver.Resolve(*e);
      if (!r.ok()) return r.status();
      auto n = apply(*e, *r, f.begin, f.end);
      if (!n.ok()) {
        f.error = n.status();
        still.push_back(std::move(f));
        continue;
      }
      (e->action == "delete" ? out.deleted : out.redacted) += *n;
    }
    const bool progress = still.size() < failed.size();
    failed = std::move(still);
    if (!progress) break;
  }
  if (!failed.empty()) {
    int64_t rows = 0;
    for (const Failed& f : failed) rows += static_cast<int64_t>(f.end - f.begin);
    return Status::Error(ErrorCode::kPostgres,
                         std::to_string(rows) + " erased row(s) could not be erased again (" +
                             ForgetEntryObjectName(db, failed.front().id) +
                             "): " + failed.front().error.message(),
                         "a foreign key from rows the forget log does not name blocks a delete: "
                         "remove those rows by hand, or restore with --no-reapply-erasures");
  }
  Notes(skipped, "not re-applied there", out.notes);
  return out;
}

Result<ErasureCheck> CheckErasures(const Repository& repo, PgConnection& pg,
                                   const std::string& db) {
  ErasureCheck out;
  auto ids = repo.ListForgetEntries(db);
  if (!ids.ok()) return ids.status();
  if (ids->empty()) return out;
  PGKEEP_RETURN_IF_ERROR(SetForgetLogSession(pg));
  auto known = CollectKnownValues(repo, db, *ids);
  if (!known.ok()) return known.status();
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
    for (size_t begin = 0; begin < e->rows.size(); begin += kRowsPerStatement) {
      const size_t end = std::min(e->rows.size(), begin + kRowsPerStatement);
      Statement s = Build(*e, *r, *known, begin, end, Purpose::kCheck);
      auto found = pg.Query(s.sql, s.params);
      if (!found.ok()) return found.status();
      if (found->rows.empty()) continue;
      out.came_back += std::stoll(found->rows[0].values[0].value_or("0"));
      if (out.first.empty())
        out.first = e->schema + "." + e->table + " key (" + found->rows[0].values[1].value_or("") +
                    "), " + (e->action == "delete" ? "deleted" : "redacted") + " by policy \"" +
                    e->policy + "\" at " + FormatIsoTime(e->at);
    }
  }
  Notes(skipped, "not checked", out.notes);
  return out;
}

}  // namespace pgkeep
