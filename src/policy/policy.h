// policy/policy.h — row-level data retention: a [[retention_policy]]
// redacts or deletes the rows of one table older than a number of days,
// per tenant when the policy reads each tenant's days from a tenant table.
//
// Checking (CheckPolicy) reads the catalog only: the table, the timestamp
// column, the primary key, the redacted columns and their types (each
// replacement must be a valid value of its column's type), the tenant table
// and its columns, and the foreign keys a delete would cascade through. A
// policy naming a missing table or column fails there, before any row is
// read. Every identifier goes into SQL quoted (QuoteIdent) and every value
// as a parameter, so the configuration cannot inject SQL.
//
// Running (RunPolicy), per tenant whose days are more than 0:
//   - keyset batches on the primary key, one transaction each (with
//     SET LOCAL lock_timeout, statement_timeout and synchronous_commit =
//     off; one synchronous commit at the end flushes them all before the
//     run returns), whose rows are locked
//     FOR UPDATE SKIP LOCKED: rows another session holds are passed over,
//     and looked for again after the pass, a few times with growing pauses
//     within max_runtime; rows still locked then are left to the next run;
//   - a redact sets the configured columns where any differs from its
//     replacement, so a row is redacted once and a second run changes
//     nothing; a delete removes the rows;
//   - each batch is recorded in pgkeep.retention_audit (created when
//     missing) in the same transaction, and in the log; with a forget log,
//     the rows it erased are staged in pgkeep.forget_staged in that
//     transaction too, and shipped to the repository between batches;
//   - the tenant's last-run column is stamped once its rows are all done;
//   - the run stops between batches at max_runtime; the next run resumes
//     (what is left still matches);
//   - a session advisory lock per policy: a second run of the same policy
//     on the same database is refused (kLocked) while one runs.
// A dry run (RunOptions::dry_run) counts per tenant what would change and
// writes nothing, not even the audit table.
//
// Thread safety: none; one connection, used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/config.h"
#include "policy/forget_log.h"
#include "postgres/connection.h"

namespace pgkeep {

struct PolicyColumn {
  std::string name;
  std::string type;  // format_type(), e.g. "timestamp with time zone"
};

// What the catalog says about a policy's tables.
struct PolicyPlan {
  std::string table;              // quoted and qualified: "public"."messages"
  std::string schema_name;        // unquoted, as in the catalog: public
  std::string table_name;         // unquoted: messages
  std::vector<PolicyColumn> key;  // the primary key, in index order
  std::string timestamp_column;   // quoted
  std::vector<std::pair<std::string, std::string>> redact;  // quoted column, value
  std::vector<std::string> redact_types;                    // format_type() of each
  // With a tenant table: quoted names.
  std::string tenant_table;
  std::string tenant_key;
  std::string tenant_key_type;
  std::string foreign_key;
  std::string foreign_key_type;
  std::string days_column;
  std::string hard_delete_column;  // "" when not configured
  std::string last_run_column;     // "" when not configured
  // Tables a delete changes too, as "schema.table": ON DELETE CASCADE, and
  // SET NULL / SET DEFAULT (with the action after the name).
  std::vector<std::string> cascades_to;
  // Foreign keys a delete fails on (NO ACTION, RESTRICT): "table (foreign
  // key name, ON DELETE ...)". A delete policy is refused while there are any.
  std::vector<std::string> blocked_by;
};

// Checks `policy` against the catalog of the database `pg` is connected to.
// Failure: kConfig naming the policy and the missing or unfit table, column
// or value; kPostgres when the catalog cannot be read.
Result<PolicyPlan> CheckPolicy(PgConnection& pg, const RetentionPolicyConfig& policy);

// A tenant of a policy (a policy without a tenant table has one, key "").
struct PolicyTenant {
  std::string key;          // the tenant key as text
  std::optional<int> days;  // NULL days: kept forever
  std::string action;       // "redact" | "delete" | "keep" (days 0 or NULL)
  std::string last_run;     // the last-run column as text; "" when NULL or not configured
};

// The one tenant of a policy without a tenant table (its days and mode).
PolicyTenant FixedTenant(const RetentionPolicyConfig& policy);

// The tenants of `policy`, in key order, with what a run does to each.
// Failure: kPostgres when the tenant table cannot be read.
Result<std::vector<PolicyTenant>> ReadPolicyTenants(PgConnection& pg, const PolicyPlan& plan,
                                                    const RetentionPolicyConfig& policy);

struct TenantOutcome {
  std::string tenant;  // the tenant key as text; "" for a policy without tenants
  int days = 0;        // 0: kept forever, nothing done
  std::string action;  // "redact" | "delete" | "keep"
  int64_t rows = 0;    // rows changed (a dry run: rows that would change)
  int64_t locked = 0;  // rows left because other sessions held them
  int batches = 0;
  bool stamped = false;  // its last-run column was set
};

struct PolicyOutcome {
  std::string policy;
  std::string database;
  bool dry_run = false;
  std::vector<TenantOutcome> tenants;
  int64_t redacted = 0;
  int64_t deleted = 0;
  int64_t locked = 0;  // rows left locked, for the next run
  bool stopped_at_max_runtime = false;
  std::vector<std::string> cascades_to;  // tables deletes cascaded into
  int64_t duration_ms = 0;
};

struct PolicyRunOptions {
  bool dry_run = false;
  // Called once per batch with one line for the log.
  std::function<void(const std::string&)> log;
  // The forget log (policy/forget_log.h): when set, each batch stages the
  // rows it erased in its own transaction (StageErasures), and the run calls
  // `ship` (ShipStagedErasures to the repository) outside a transaction at
  // its start (what a run that died left), every 10 s, and at
  // its end; a run that fails still ships what it committed, if it can.
  std::function<Status()> ship;
};

// Runs (or dry-runs) `policy`, checked first with CheckPolicy. `env`
// supplies the monotonic clock and the pauses.
// Failure: CheckPolicy's; kLocked when another run of the policy holds its
// advisory lock; kConfig for a delete that would cascade without
// allow_cascade; kPostgres when a batch fails (the batches before it stay
// done and audited).
Result<PolicyOutcome> RunPolicy(Env& env, PgConnection& pg, const RetentionPolicyConfig& policy,
                                const PolicyRunOptions& options);

}  // namespace pgkeep
