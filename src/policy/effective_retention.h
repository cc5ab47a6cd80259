// policy/effective_retention.h — how long rows a retention policy erased
// still live in backups (`pgkeep retention report`, `status`).
//
// A row erased today is still in every backup taken before today, until
// the last of them expires. How long that is follows from the backup
// retention rules of the database (in the repository and in each [[copy]]
// target, which keeps its own), assuming at least one backup a day:
// `within` its duration, `daily = N` N days, `weekly = N` 7N, `monthly = N`
// 31N, `yearly = N` 366N, `last = N` N days; the longest of them. No rule
// at all, or a pin in force with no end, is "no limit"; a pin with an end
// keeps its backup until then. The oldest backup kept now is a lower bound
// (rules count days *with* a backup, so rarer backups reach further back).
//
// Restores through pgkeep re-apply the forget log, so erased rows do not
// come back that way; a dump exported with `pgkeep export`, a restore with
// --no-reapply-erasures, or anyone reading the repository's bytes still
// gets them. A policy that hard-deletes after D days while backups keep
// erased rows for longer than D days is flagged as a contradiction.
//
// EffectiveRetention is pure (everything is an argument); ReportRetention
// gathers its arguments: the repository's backups, pins and forget log, and
// each policy's tenants from its database. Thread safety: none.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "policy/policy.h"
#include "postgres/pg_connector.h"
#include "repo/repository.h"

namespace pgkeep {

// How long backups may be kept under some retention rules.
struct BackupHorizon {
  std::string where;            // "repository" or "copy NAME"
  std::optional<int64_t> days;  // nullopt: no limit
  std::string basis;            // the rule that sets it, e.g. "yearly = 7"
};

// The longest `rules` may keep a backup; `where` names the repository or copy.
BackupHorizon HorizonOf(const RetentionConfig& rules, const std::string& where);

struct BackupsNow {
  std::string oldest_id;        // "" when the database has no backup
  int64_t oldest_time = 0;      // unix seconds, when it started
  int pinned = 0;               // backups pinned now
  bool pinned_forever = false;  // one of the pins has no end
  int64_t pinned_until = 0;     // the latest end of a pin in force (unix seconds), 0: none
  int forget_entries = 0;       // the database's forget log
};

struct TenantRetention {
  PolicyTenant tenant;
  // How long its erased rows may still live in backups (the longest
  // horizon); nullopt: no limit.
  std::optional<int64_t> in_backups_days;
  bool contradiction = false;
  std::string finding;  // one line; "" when nothing to say
};

struct PolicyRetention {
  std::string policy;
  std::string database;
  std::string table;
  std::vector<BackupHorizon> horizons;  // the repository's, then each copy's
  BackupsNow backups;
  int64_t oldest_backup_age_days = 0;
  std::vector<TenantRetention> tenants;
  bool contradiction = false;  // any tenant's
  std::string error;           // tenants could not be read (the database did not answer)
  // Erasures done but not yet shipped to the forget log (a run stopped
  // before shipping them); unknown when the database did not answer.
  std::optional<StagedErasures> staged;
};

// `tenants` from ReadPolicyTenants (empty with `error` set when they could
// not be read); `db` the policy's database; `copies` every [[copy]] target.
PolicyRetention EffectiveRetention(const RetentionPolicyConfig& policy, const DatabaseConfig& db,
                                   const std::vector<CopyConfig>& copies,
                                   const std::vector<PolicyTenant>& tenants,
                                   const BackupsNow& backups, int64_t now);

// EffectiveRetention of every policy of `config` (only `only` when not
// empty), at the repository clock's now, with the erasures staged in each
// policy's database and not yet shipped. A database that does not answer
// gives a PolicyRetention with `error` and no tenants (a policy with fixed
// days: its tenant, and `staged` unknown). Failure: the
// repository's (listing backups, pins, the forget log).
// `only_database`: only the policies of that database, when not empty.
Result<std::vector<PolicyRetention>> ReportRetention(const Repository& repo, PgConnector& connector,
                                                     const Config& config, const std::string& only,
                                                     const std::string& only_database = "");

nlohmann::json PolicyRetentionToJson(const PolicyRetention& r);
// Lines for people, each ending in a newline, indented by `indent`: every
// tenant, or (`every_tenant` false) those in contradiction and a count.
std::string PolicyRetentionText(const PolicyRetention& r, const std::string& indent,
                                bool every_tenant);

}  // namespace pgkeep
