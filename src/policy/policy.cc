#include "policy/policy.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace pgkeep {

namespace {

constexpr char kAuditTable[] = "pgkeep.retention_audit";
// Passes over rows other sessions held, after the first: pauses of 0.5, 1,
// 2, 4 and 8 s, within max_runtime.
constexpr int kLockedRetries = 5;
constexpr int64_t kFirstRetryPauseMicros = 500 * 1000;
// Staged erasures go to the repository this often during a run (and at its
// end): a few entries and syncs a run, not one per batch.
constexpr int64_t kShipEveryMicros = 10 * 1000 * 1000;

std::string Quoted(const std::string& text) { return "\"" + text + "\""; }

class Checker {
 public:
  Checker(PgConnection& pg, const RetentionPolicyConfig& policy) : pg_(pg), policy_(policy) {}

  Status Bad(const std::string& what, const std::string& hint = "") const {
    return Status::Error(ErrorCode::kConfig,
                         "retention policy " + Quoted(policy_.name) + ": " + what, hint);
  }

  struct Table {
    std::string oid;
    std::string schema, name;                    // unquoted
    std::string quoted;                          // "schema"."name"
    std::map<std::string, std::string> columns;  // name -> format_type
    std::string names;                           // for hints
  };

  // `name` as written in the configuration: "table" or "schema.table".
  Result<Table> FindTable(const std::string& name) {
    const size_t dot = name.find('.');
    const std::string regclass = dot == std::string::npos ? QuoteIdent(name)
                                                          : QuoteIdent(name.substr(0, dot)) + "." +
                                                                QuoteIdent(name.substr(dot + 1));
    auto found = pg_.Query(
        "SELECT c.oid::text, n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
        "c.relnamespace WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
        {regclass});
    if (!found.ok()) return found.status();
    if (found->rows.empty())
      return Bad("table " + Quoted(name) + " does not exist in " + pg_.Describe(),
                 "names are case-sensitive, as in SQL with double quotes; write schema.table "
                 "for a table outside the search_path");
    Table t;
    t.oid = *found->rows[0].values[0];
    t.schema = *found->rows[0].values[1];
    t.name = *found->rows[0].values[2];
    t.quoted = QuoteIdent(*found->rows[0].values[1]) + "." + QuoteIdent(*found->rows[0].values[2]);
    auto columns = pg_.Query(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
        "$1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        {t.oid});
    if (!columns.ok()) return columns.status();
    for (const PgRow& row : columns->rows) {
      t.columns[*row.values[0]] = *row.values[1];
      if (t.names.size() < 200) t.names += (t.names.empty() ? "" : ", ") + *row.values[0];
    }
    return t;
  }

  Result<std::string> Column(const Table& t, const std::string& table_name,
                             const std::string& column, const std::string& key) {
    auto it = t.columns.find(column);
    if (it == t.columns.end())
      return Bad(key + ": table " + Quoted(table_name) + " has no column " + Quoted(column),
                 "its columns: " + t.names);
    return it->second;
  }

  // Column() of a type `fits` accepts (described as `wanted`); the column
  // quoted for SQL.
  Result<std::string> TypedColumn(const Table& t, const std::string& table_name,
                                  const std::string& column, const std::string& key,
                                  const std::function<bool(const std::string&)>& fits,
                                  const std::string& wanted) {
    auto type = Column(t, table_name, column, key);
    if (!type.ok()) return type.status();
    if (!fits(*type))
      return Bad(key + " " + Quoted(column) + " is of type " + *type + ", not " + wanted);
    return QuoteIdent(column);
  }

 private:
  PgConnection& pg_;
  const RetentionPolicyConfig& policy_;
};

bool IsTimeType(const std::string& type) {
  return type == "date" || type.rfind("timestamp", 0) == 0;
}

}  // namespace

Result<PolicyPlan> CheckPolicy(PgConnection& pg, const RetentionPolicyConfig& policy) {
  Checker check(pg, policy);
  PolicyPlan plan;
  auto table = check.FindTable(policy.table);
  if (!table.ok()) return table.status();
  plan.table = table->quoted;
  plan.schema_name = table->schema;
  plan.table_name = table->name;

  const std::string kTime = "a timestamp or date";
  auto ts = check.TypedColumn(*table, policy.table, policy.timestamp_column, "timestamp_column",
                              IsTimeType, kTime);
  if (!ts.ok()) return ts.status();
  plan.timestamp_column = *ts;

  auto key = pg.Query(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i JOIN pg_attribute "
      "a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::oid AND "
      "i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
      {table->oid});
  if (!key.ok()) return key.status();
  if (key->rows.empty())
    return check.Bad("table " + Quoted(policy.table) + " has no primary key",
                     "rows are erased in batches keyed on the primary key; add one");
  for (const PgRow& row : key->rows) plan.key.push_back({*row.values[0], *row.values[1]});
  auto in_key = [&](const std::string& column) {
    return std::any_of(plan.key.begin(), plan.key.end(),
                       [&](const PolicyColumn& k) { return k.name == column; });
  };

  for (const auto& [column, value] : policy.redact) {
    auto type = check.Column(*table, policy.table, column, "redact");
    if (!type.ok()) return type.status();
    if (in_key(column) || column == policy.timestamp_column || column == policy.tenant.foreign_key)
      return check.Bad("redact: column " + Quoted(column) +
                           " is the primary key, the timestamp or the tenant's foreign key, "
                           "which a redacted row keeps",
                       "redact only content columns");
    // The type comes from the catalog: format_type() writes valid SQL.
    auto cast = pg.Query("SELECT $1::" + *type, {value});
    if (!cast.ok())
      return check.Bad("redact: " + Quoted(value) + " is not a valid value for column " +
                       Quoted(column) + " of type " + *type);
    plan.redact.emplace_back(QuoteIdent(column), value);
    plan.redact_types.push_back(*type);
  }

  if (!policy.tenant.table.empty()) {
    const TenantConfig& tc = policy.tenant;
    auto fk = check.Column(*table, policy.table, tc.foreign_key, "tenant.foreign_key");
    if (!fk.ok()) return fk.status();
    plan.foreign_key = QuoteIdent(tc.foreign_key);
    auto tenants = check.FindTable(tc.table);
    if (!tenants.ok()) return tenants.status();
    plan.tenant_table = tenants->quoted;
    auto key_type = check.Column(*tenants, tc.table, tc.key, "tenant.key");
    if (!key_type.ok()) return key_type.status();
    plan.tenant_key = QuoteIdent(tc.key);
    plan.tenant_key_type = *key_type;
    plan.foreign_key_type = *fk;
    auto days = check.TypedColumn(
        *tenants, tc.table, tc.days_column, "tenant.days_column",
        [](const std::string& t) { return t == "integer" || t == "smallint" || t == "bigint"; },
        "an integer");
    if (!days.ok()) return days.status();
    plan.days_column = *days;
    if (!tc.hard_delete_column.empty()) {
      auto hard = check.TypedColumn(
          *tenants, tc.table, tc.hard_delete_column, "tenant.hard_delete_column",
          [](const std::string& t) { return t == "boolean"; }, "boolean");
      if (!hard.ok()) return hard.status();
      plan.hard_delete_column = *hard;
    }
    if (!tc.last_run_column.empty()) {
      auto last = check.TypedColumn(*tenants, tc.table, tc.last_run_column,
                                    "tenant.last_run_column", IsTimeType, kTime);
      if (!last.ok()) return last.status();
      plan.last_run_column = *last;
    }
  }

  // Every foreign key into the table, by what a delete does to it.
  auto referencing = pg.Query(
      "SELECT conrelid::regclass::text, conname, confdeltype::text FROM pg_constraint "
      "WHERE confrelid = $1::oid AND contype = 'f' ORDER BY 1, 2",
      {table->oid});
  if (!referencing.ok()) return referencing.status();
  for (const PgRow& row : referencing->rows) {
    const std::string from = row.values[0].value_or(""), name = row.values[1].value_or("");
    const std::string action = row.values[2].value_or("");
    if (action == "c")
      plan.cascades_to.push_back(from);
    else if (action == "n" || action == "d")
      plan.cascades_to.push_back(from + " (ON DELETE SET " + (action == "n" ? "NULL" : "DEFAULT") +
                                 ")");
    else  // "a" NO ACTION, "r" RESTRICT
      plan.blocked_by.push_back(from + " (foreign key " + QuoteIdent(name) + ", ON DELETE " +
                                (action == "r" ? "RESTRICT" : "NO ACTION") + ")");
  }
  return plan;
}

namespace {

std::string KeyList(const PolicyPlan& plan, const std::string& qualifier = "") {
  std::string out;
  for (const PolicyColumn& k : plan.key)
    out += (out.empty() ? "" : ", ") + qualifier + QuoteIdent(k.name);
  return out;
}

// The rows of `tenant` the run erases: older than the cutoff ($1 the run's
// start, $2 the days), of the tenant ($3), not redacted yet (a redact).
// Parameters from $4 on are the caller's.
std::string Matching(const PolicyPlan& plan, const PolicyTenant& tenant, int& next_param,
                     std::vector<std::string>& params) {
  std::string where = plan.timestamp_column + " < ($1::timestamptz - $2::int * interval '1 day')";
  if (!plan.tenant_table.empty())
    where += " AND " + plan.foreign_key + " = $3::" + plan.foreign_key_type;
  else
    where += " AND $3::text IS NOT NULL";  // keeps the numbering the same
  next_param = 4;
  if (tenant.action == "redact") {
    std::string differs;
    for (size_t i = 0; i < plan.redact.size(); ++i) {
      differs += (differs.empty() ? "" : " OR ") + plan.redact[i].first + " IS DISTINCT FROM $" +
                 std::to_string(next_param++) + "::" + plan.redact_types[i];
      params.push_back(plan.redact[i].second);
    }
    where += " AND (" + differs + ")";
  }
  return where;
}

// The forget-log entry of a batch: `keys` is json_agg's array of key arrays.
Result<ForgetEntry> ErasedRows(const PolicyPlan& plan, const RetentionPolicyConfig& policy,
                               const std::string& action, const std::optional<std::string>& keys) {
  ForgetEntry e;
  e.policy = policy.name;
  e.schema = plan.schema_name;
  e.table = plan.table_name;
  e.timestamp_column = policy.timestamp_column;
  for (const PolicyColumn& k : plan.key) e.key.push_back(k.name);
  e.action = action;
  if (action == "redact")
    for (const auto& [column, value] : policy.redact) e.redact.emplace_back(column, value);
  nlohmann::json rows = nlohmann::json::parse(keys.value_or("[]"), nullptr, false);
  if (rows.is_discarded() || !rows.is_array())
    return Status::Error(ErrorCode::kPostgres, "the batch's keys did not come back as JSON");
  for (const auto& row : rows) {
    std::vector<std::string> values;
    for (const auto& v : row) values.push_back(v.is_string() ? v.get<std::string>() : "");
    e.rows.push_back(std::move(values));
  }
  return e;
}

}  // namespace

PolicyTenant FixedTenant(const RetentionPolicyConfig& policy) {
  return {"", policy.days, policy.days.value_or(0) > 0 ? policy.mode : "keep", ""};
}

Result<std::vector<PolicyTenant>> ReadPolicyTenants(PgConnection& pg, const PolicyPlan& plan,
                                                    const RetentionPolicyConfig& policy) {
  std::vector<PolicyTenant> tenants;
  if (plan.tenant_table.empty()) {
    tenants.push_back(FixedTenant(policy));
    return tenants;
  }
  auto rows =
      pg.Query("SELECT " + plan.tenant_key + "::text, " + plan.days_column + ", " +
               (plan.hard_delete_column.empty() ? "NULL" : plan.hard_delete_column) + ", " +
               (plan.last_run_column.empty() ? "NULL" : plan.last_run_column) + "::text FROM " +
               plan.tenant_table + " ORDER BY " + plan.tenant_table + "." + plan.tenant_key);
  if (!rows.ok()) return rows.status();
  for (const PgRow& row : rows->rows) {
    PolicyTenant t;
    if (!row.values[0]) continue;
    t.key = *row.values[0];
    // Days beyond a million (2,700 years) are as good as forever.
    // Negative ones keep, as 0 does (clamped before the narrowing, which
    // would wrap a large negative bigint into a small positive number).
    if (row.values[1])
      t.days = static_cast<int>(std::clamp(std::stoll(*row.values[1]), -1LL, 1000000LL));
    const bool hard = row.values[2] && *row.values[2] == "t";
    t.action = t.days.value_or(0) <= 0 ? "keep"
               : row.values[2]         ? (hard ? "delete" : "redact")
                                       : policy.mode;
    t.last_run = row.values[3].value_or("");
    tenants.push_back(std::move(t));
  }
  return tenants;
}

Result<PolicyOutcome> RunPolicy(Env& env, PgConnection& pg, const RetentionPolicyConfig& policy,
                                const PolicyRunOptions& options) {
  const int64_t started = env.MonotonicMicros();
  PolicyOutcome out;
  out.policy = policy.name;
  out.database = policy.database;
  out.dry_run = options.dry_run;
  auto plan = CheckPolicy(pg, policy);
  if (!plan.ok()) return plan.status();
  // The durations passed the configuration's checks.
  auto seconds = [](const std::string& text) {
    auto parsed = ParseDurationSeconds(text);
    return parsed.ok() ? *parsed : int64_t{0};
  };
  const int64_t deadline = started + seconds(policy.max_runtime) * 1000000;
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };

  // Every statement of the run waits at most lock_timeout for a lock, not
  // only the batches (which set their own): a count queued behind an ALTER
  // TABLE, or a tenant's row the application holds, must not hold the run
  // (and its advisory lock) for ever.
  // A timestamp without time zone is read as UTC (what ORMs such as Prisma
  // store in it), not in whatever zone the server or role defaults to: a
  // server in Asia/Tokyo erased such rows nine hours early.
  PGKEEP_RETURN_IF_ERROR(pg.Exec("SET lock_timeout = '" +
                                 std::to_string(seconds(policy.lock_timeout)) +
                                 "s'; SET TimeZone = 'UTC'"));
  auto tenants = ReadPolicyTenants(pg, *plan, policy);
  if (!tenants.ok()) return tenants.status();
  const bool deletes = std::any_of(tenants->begin(), tenants->end(),
                                   [](const PolicyTenant& t) { return t.action == "delete"; });
  if (deletes && !plan->cascades_to.empty() && !policy.allow_cascade) {
    std::string into;
    for (const std::string& t : plan->cascades_to) into += (into.empty() ? "" : ", ") + t;
    return Status::Error(ErrorCode::kConfig,
                         "retention policy " + Quoted(policy.name) + ": deleting from " +
                             policy.table + " would cascade into " + into +
                             " (rows there deleted or changed); nothing was deleted",
                         "set allow_cascade = true to let it, or redact instead");
  }
  // A batch deleting a row that another still references fails, and every
  // later run would fail on the same batch: refused before any.
  if (deletes && !plan->blocked_by.empty()) {
    std::string by;
    for (const std::string& t : plan->blocked_by) by += (by.empty() ? "" : ", ") + t;
    return Status::Error(ErrorCode::kConfig,
                         "retention policy " + Quoted(policy.name) + ": deleting from " +
                             policy.table + " is blocked by " + by +
                             ": a batch would fail on the first row still referenced; nothing "
                             "was deleted",
                         "redact instead, or make the foreign key ON DELETE CASCADE and set "
                         "allow_cascade = true");
  }
  if (std::any_of(tenants->begin(), tenants->end(),
                  [](const PolicyTenant& t) { return t.action == "redact"; }) &&
      plan->redact.empty())
    return Status::Error(ErrorCode::kConfig,
                         "retention policy " + Quoted(policy.name) +
                             ": tenants are to be redacted, but the policy has no redact = { ... }",
                         "add redact = { column = \"value\" }");

  // One run per policy at a time, across hosts: a session advisory lock.
  struct Unlock {
    PgConnection* pg = nullptr;
    std::string name;
    std::function<Status()> ship;  // set until the run's last ship
    ~Unlock() {
      if (!pg) return;
      // A run that failed ships what its committed batches staged, if it
      // can (if not, the next run does).
      if (ship) (void)ship();
      // Batches commit without waiting for their WAL to reach disk (it
      // spares the live traffic a flush per batch); this transaction commits
      // synchronously, flushing all of it before the run reports anything.
      (void)pg->Query("SELECT txid_current()::text");
      (void)pg->Query("SELECT pg_advisory_unlock(hashtext('pgkeep.retention'), hashtext($1))",
                      {name});
    }
  } unlock;
  if (!options.dry_run) {
    auto locked =
        pg.Query("SELECT pg_try_advisory_lock(hashtext('pgkeep.retention'), hashtext($1))::text",
                 {policy.name});
    if (!locked.ok()) return locked.status();
    if (locked->rows.empty() || locked->rows[0].values[0] != "true")
      return Status::Error(
          ErrorCode::kLocked,
          "retention policy " + Quoted(policy.name) + " is already running on " + pg.Describe(),
          "wait for that run to finish; it stops at max_runtime (" + policy.max_runtime + ")");
    unlock.pg = &pg;
    unlock.name = policy.name;
    // Keys and timestamps read as text must read back the same on a restore.
    if (options.ship) PGKEEP_RETURN_IF_ERROR(SetForgetLogSession(pg));
    PGKEEP_RETURN_IF_ERROR(pg.Exec(
        "CREATE SCHEMA IF NOT EXISTS pgkeep; CREATE TABLE IF NOT EXISTS " +
        std::string(kAuditTable) +
        " (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), policy text NOT "
        "NULL, tenant text NOT NULL, action text NOT NULL, rows bigint NOT NULL, first_key text, "
        "last_key text, duration_ms bigint NOT NULL)"));
    if (options.ship) {
      PGKEEP_RETURN_IF_ERROR(CreateStagedErasuresTable(pg));
      PGKEEP_RETURN_IF_ERROR(options.ship());  // what a run that died left staged
      unlock.ship = options.ship;
    }
  }
  int64_t shipped_at = env.MonotonicMicros();
  auto now = pg.Query("SELECT now()::text");
  if (!now.ok()) return now.status();
  const std::string run_start = *now->rows.at(0).values.at(0);
  const std::string set_local =
      "SET LOCAL lock_timeout = '" + std::to_string(seconds(policy.lock_timeout)) +
      "s'; SET LOCAL statement_timeout = '" + std::to_string(seconds(policy.statement_timeout)) +
      "s'; SET LOCAL synchronous_commit = off";

  for (const PolicyTenant& tenant : *tenants) {
    TenantOutcome t;
    t.tenant = tenant.key;
    t.days = tenant.days.value_or(0);
    t.action = tenant.action;
    if (tenant.action == "keep") {
      out.tenants.push_back(t);
      continue;
    }
    std::vector<std::string> params = {run_start, std::to_string(t.days), tenant.key};
    int next = 0;
    const std::string where = Matching(*plan, tenant, next, params);
    auto count = [&]() -> Result<int64_t> {
      auto r = pg.Query("SELECT count(*) FROM " + plan->table + " WHERE " + where, params);
      if (!r.ok()) return r.status();
      return std::stoll(*r->rows.at(0).values.at(0));
    };
    if (options.dry_run) {
      auto n = count();
      if (!n.ok()) return n.status();
      t.rows = *n;
      out.tenants.push_back(t);
      (tenant.action == "delete" ? out.deleted : out.redacted) += t.rows;
      continue;
    }

    const bool timestamp_in_key = std::any_of(
        plan->key.begin(), plan->key.end(),
        [&](const PolicyColumn& k) { return QuoteIdent(k.name) == plan->timestamp_column; });
    // The statement of one batch: the next rows after the cursor, locked
    // (skipping those others hold), changed, and the first and last key.
    const std::string keys = KeyList(*plan);
    auto batch_sql = [&](bool after_cursor) {
      std::string cursor;
      if (after_cursor) {
        std::string values;
        int p = next;
        for (const PolicyColumn& k : plan->key)
          values += (values.empty() ? "" : ", ") + ("$" + std::to_string(p++)) + "::" + k.type;
        cursor = " AND (" + keys + ") > (" + values + ")";
      }
      std::string change;
      const std::string match =
          "(" + KeyList(*plan, plan->table + ".") + ") = (" + KeyList(*plan, "batch.") + ")";
      if (tenant.action == "delete") {
        change = "DELETE FROM " + plan->table + " USING batch WHERE " + match;
      } else {
        std::string sets;
        for (size_t i = 0; i < plan->redact.size(); ++i)
          sets += (sets.empty() ? "" : ", ") + plan->redact[i].first + " = $" +
                  std::to_string(4 + i) + "::" + plan->redact_types[i];
        change = "UPDATE " + plan->table + " SET " + sets + " FROM batch WHERE " + match;
      }
      std::string first, last, each;
      for (const PolicyColumn& k : plan->key) {
        first += ", f." + QuoteIdent(k.name) + "::text";
        last += ", l." + QuoteIdent(k.name) + "::text";
        each += (each.empty() ? "" : ", ") + ("c." + QuoteIdent(k.name)) + "::text";
      }
      // With a forget log: every changed row's key and timestamp (epoch
      // seconds), as JSON arrays of text.
      each += ", extract(epoch from c." + plan->timestamp_column + ")::text";
      std::string returning = KeyList(*plan, plan->table + ".");
      if (!timestamp_in_key) returning += ", " + plan->table + "." + plan->timestamp_column;
      const std::string changed_keys =
          options.ship ? ", (SELECT json_agg(json_build_array(" + each + ")) FROM changed c)::text"
                       : ", NULL";
      // The batch's last key: every key column descending (", " + " DESC"
      // on the list would order only the last column so).
      std::string keys_desc;
      for (const PolicyColumn& k : plan->key)
        keys_desc += (keys_desc.empty() ? "" : ", ") + QuoteIdent(k.name) + " DESC";
      return "WITH batch AS (SELECT " + keys + " FROM " + plan->table + " WHERE " + where + cursor +
             " ORDER BY " + keys + " LIMIT " + std::to_string(policy.batch_size) +
             " FOR UPDATE SKIP LOCKED), changed AS (" + change + " RETURNING " + returning +
             ") SELECT (SELECT count(*) FROM changed)::text" + first + last + changed_keys +
             " FROM (SELECT " + keys + " FROM batch ORDER BY " + keys + " LIMIT 1) f, (SELECT " +
             keys + " FROM batch ORDER BY " + keys_desc + " LIMIT 1) l";
    };
    const std::string first_batch = batch_sql(false);
    const std::string later_batch = batch_sql(true);

    // One pass over the tenant's rows; false when max_runtime ran out.
    auto pass = [&]() -> Result<bool> {
      std::vector<std::string> cursor;
      while (true) {
        if (env.MonotonicMicros() >= deadline) return false;
        const int64_t batch_started = env.MonotonicMicros();
        std::vector<std::string> p = params;
        p.insert(p.end(), cursor.begin(), cursor.end());
        PGKEEP_RETURN_IF_ERROR(pg.Exec("BEGIN"));
        auto rollback = [&](const Status& s) {
          (void)pg.Exec("ROLLBACK");
          return s.WithContext("retention policy " + Quoted(policy.name) + ", tenant " +
                               Quoted(tenant.key));
        };
        if (Status s = pg.Exec(set_local); !s.ok()) return rollback(s);
        auto r = pg.Query(cursor.empty() ? first_batch : later_batch, p);
        if (!r.ok()) return rollback(r.status());
        if (r->rows.empty()) {  // nothing left after the cursor
          PGKEEP_RETURN_IF_ERROR(pg.Exec("COMMIT"));
          return true;
        }
        const PgRow& row = r->rows[0];
        const int64_t changed = std::stoll(*row.values[0]);
        const size_t n = plan->key.size();
        std::string first_key, last_key;
        cursor.clear();
        for (size_t i = 0; i < n; ++i) {
          first_key += (i ? "," : "") + row.values[1 + i].value_or("");
          last_key += (i ? "," : "") + row.values[1 + n + i].value_or("");
          cursor.push_back(row.values[1 + n + i].value_or(""));
        }
        const int64_t ms = (env.MonotonicMicros() - batch_started) / 1000;
        auto audit = pg.Query("INSERT INTO " + std::string(kAuditTable) +
                                  " (policy, tenant, action, rows, first_key, last_key, "
                                  "duration_ms) VALUES ($1, $2, $3, $4::bigint, $5, $6, "
                                  "$7::bigint)",
                              {policy.name, tenant.key, tenant.action, std::to_string(changed),
                               first_key, last_key, std::to_string(ms)});
        if (!audit.ok()) return rollback(audit.status());
        if (options.ship && changed > 0) {
          auto erased = ErasedRows(*plan, policy, tenant.action, row.values[1 + 2 * n]);
          if (!erased.ok()) return rollback(erased.status());
          erased->at = env.NowMicros() / 1000000;
          if (Status s = StageErasures(pg, *erased); !s.ok()) return rollback(s);
        }
        PGKEEP_RETURN_IF_ERROR(pg.Exec("COMMIT"));
        if (options.ship && env.MonotonicMicros() - shipped_at >= kShipEveryMicros) {
          PGKEEP_RETURN_IF_ERROR(options.ship());
          shipped_at = env.MonotonicMicros();
        }
        t.rows += changed;
        ++t.batches;
        log("retention " + policy.name + (tenant.key.empty() ? "" : " tenant " + tenant.key) +
            ": " + tenant.action + " " + std::to_string(changed) + " row(s), keys " + first_key +
            ".." + last_key + ", " + std::to_string(ms) + " ms");
        if (policy.pause_ms > 0) env.SleepForMicros(int64_t{policy.pause_ms} * 1000);
      }
    };

    bool finished = false;
    int64_t pause = kFirstRetryPauseMicros;
    for (int attempt = 0; attempt <= kLockedRetries; ++attempt) {
      auto done = pass();
      if (!done.ok()) return done.status();
      if (!*done) break;
      auto left = count();
      if (!left.ok()) return left.status();
      t.locked = *left;
      if (*left == 0) {
        finished = true;
        break;
      }
      if (attempt == kLockedRetries || env.MonotonicMicros() + pause >= deadline) break;
      log("retention " + policy.name + (tenant.key.empty() ? "" : " tenant " + tenant.key) + ": " +
          std::to_string(*left) + " row(s) held by other sessions; looking again in " +
          std::to_string(pause / 1000) + " ms");
      env.SleepForMicros(pause);
      pause *= 2;
    }
    if (finished && !plan->last_run_column.empty()) {
      auto stamped =
          pg.Query("UPDATE " + plan->tenant_table + " SET " + plan->last_run_column +
                       " = now() WHERE " + plan->tenant_key + " = $1::" + plan->tenant_key_type,
                   {tenant.key});
      // The application holds the tenant's row: its rows are done, the
      // stamp waits for the next run.
      if (!stamped.ok() && pg.LastSqlState() == "55P03")  // lock_not_available
        log("retention " + policy.name + " tenant " + tenant.key +
            ": its row is locked by another session; last run not stamped");
      else if (!stamped.ok())
        return stamped.status();
      else
        t.stamped = true;
    }
    (tenant.action == "delete" ? out.deleted : out.redacted) += t.rows;
    out.locked += t.locked;
    if (tenant.action == "delete" && t.rows > 0) out.cascades_to = plan->cascades_to;
    out.tenants.push_back(t);
    if (env.MonotonicMicros() >= deadline) {
      out.stopped_at_max_runtime = true;
      break;
    }
  }
  if (unlock.ship) {
    PGKEEP_RETURN_IF_ERROR(options.ship());
    unlock.ship = nullptr;
  }
  out.duration_ms = (env.MonotonicMicros() - started) / 1000;
  return out;
}

}  // namespace pgkeep
