#include "policy/effective_retention.h"

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "repo/pins.h"
#include "repo/snapshot.h"

namespace pgkeep {

BackupHorizon HorizonOf(const RetentionConfig& rules, const std::string& where) {
  BackupHorizon h;
  h.where = where;
  std::vector<std::pair<int64_t, std::string>> spans;
  auto count = [&](const std::optional<int>& n, int64_t days_each, const std::string& name) {
    if (n) spans.emplace_back(int64_t{*n} * days_each, name + " = " + std::to_string(*n));
  };
  count(rules.last, 1, "last");
  count(rules.daily, 1, "daily");
  count(rules.weekly, 7, "weekly");
  count(rules.monthly, 31, "monthly");
  count(rules.yearly, 366, "yearly");
  if (!rules.within.empty()) {
    auto seconds = ParseDurationSeconds(rules.within);
    if (seconds.ok())
      spans.emplace_back((*seconds + 86399) / 86400, "within = \"" + rules.within + "\"");
  }
  if (spans.empty()) {
    h.basis = "no retention rule: nothing expires";
    return h;
  }
  auto longest = std::max_element(spans.begin(), spans.end());
  h.days = longest->first;
  h.basis = longest->second;
  return h;
}

PolicyRetention EffectiveRetention(const RetentionPolicyConfig& policy, const DatabaseConfig& db,
                                   const std::vector<CopyConfig>& copies,
                                   const std::vector<PolicyTenant>& tenants,
                                   const BackupsNow& backups, int64_t now) {
  PolicyRetention out;
  out.policy = policy.name;
  out.database = policy.database;
  out.table = policy.table;
  out.backups = backups;
  out.horizons.push_back(HorizonOf(db.retention, "repository"));
  for (const CopyConfig& c : copies)
    out.horizons.push_back(HorizonOf(c.retention.value_or(db.retention), "copy " + c.name));

  // The longest any of them keeps a backup; a pin in force with no end, or
  // no rule, has no limit.
  std::optional<int64_t> longest = 0;
  std::string longest_where;
  for (const BackupHorizon& h : out.horizons) {
    if (!h.days) {
      longest.reset();
      longest_where = h.where + " (" + h.basis + ")";
      break;
    }
    if (*h.days >= *longest) {
      longest = h.days;
      longest_where = h.where + " (" + h.basis + ")";
    }
  }
  const int64_t oldest_age =
      backups.oldest_id.empty() ? 0 : std::max<int64_t>(0, now - backups.oldest_time) / 86400;
  out.oldest_backup_age_days = oldest_age;
  // Facts beyond the rules: the oldest backup already kept this long, and a
  // pin keeping its backup (and what it holds) until the pin ends.
  if (longest && oldest_age > *longest) {
    longest = oldest_age;
    longest_where = "the oldest backup kept now (" + backups.oldest_id + ")";
  }
  if (longest && backups.pinned_until > now) {
    const int64_t pinned_days = (backups.pinned_until - now + 86399) / 86400;
    if (pinned_days > *longest) {
      longest = pinned_days;
      longest_where = "a backup pinned until " + FormatIsoTime(backups.pinned_until);
    }
  }
  if (backups.pinned_forever) {
    longest.reset();
    longest_where = "a backup pinned until unpinned";
  }

  for (const PolicyTenant& t : tenants) {
    TenantRetention r;
    r.tenant = t;
    if (t.action == "keep") {
      r.finding = "kept forever: nothing is erased";
      out.tenants.push_back(std::move(r));
      continue;
    }
    r.in_backups_days = longest;
    const int days = t.days.value_or(0);
    const std::string span =
        longest ? "up to " + std::to_string(*longest) + " days" : "with no limit";
    r.finding = "rows " + std::string(t.action == "delete" ? "deleted" : "redacted") + " after " +
                std::to_string(days) + " days stay in backups " + span + " after, by " +
                longest_where;
    // A hard delete promised after `days`, with erased rows kept longer in
    // backups that an export or a raw read would give back.
    if (t.action == "delete" && (!longest || *longest > days)) {
      r.contradiction = true;
      r.finding += ". CONTRADICTION: deleted after " + std::to_string(days) + " days, but kept " +
                   span +
                   " in backups; restores through pgkeep re-apply the forget log, an exported "
                   "dump or a restore with --no-reapply-erasures does not";
      out.contradiction = true;
    }
    out.tenants.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<PolicyRetention>> ReportRetention(const Repository& repo, PgConnector& connector,
                                                     const Config& config, const std::string& only,
                                                     const std::string& only_database) {
  const int64_t now = repo.clock().NowSeconds();
  auto listed = repo.ListSnapshots();
  if (!listed.ok()) return listed.status();
  auto pins = ReadPins(repo);
  if (!pins.ok()) return pins.status();
  std::vector<PolicyRetention> out;
  for (const RetentionPolicyConfig& policy : config.retention_policies) {
    if (!only.empty() && policy.name != only) continue;
    if (!only_database.empty() && policy.database != only_database) continue;
    auto db = config.databases.find(policy.database);
    if (db == config.databases.end()) continue;  // the configuration refuses this
    BackupsNow backups;
    for (const Snapshot& s : listed->snapshots) {
      if (SnapshotDatabase(s) != policy.database) continue;
      if (backups.oldest_id.empty() || s.start_time < backups.oldest_time) {
        backups.oldest_id = s.id;
        backups.oldest_time = s.start_time;
      }
      auto pin = pins->find(s.id);
      if (pin != pins->end() && pin->second.HoldsAt(now)) {
        ++backups.pinned;
        backups.pinned_forever |= !pin->second.until.has_value();
        backups.pinned_until = std::max(backups.pinned_until, pin->second.until.value_or(0));
      }
    }
    auto entries = repo.ListForgetEntries(policy.database);
    if (!entries.ok()) return entries.status();
    backups.forget_entries = static_cast<int>(entries->size());

    std::vector<PolicyTenant> tenants;
    std::string error;
    std::optional<StagedErasures> staged;
    auto pg = connector.Connect(db->second.conninfo, "database \"" + db->first + "\"");
    if (pg.ok()) {
      if (auto n = CountStagedErasures(**pg); n.ok()) staged = *n;
    }
    if (policy.tenant.table.empty()) {
      // One "tenant", from the configuration: the database need not answer.
      tenants.push_back(FixedTenant(policy));
    } else if (pg.ok()) {
      auto plan = CheckPolicy(**pg, policy);
      auto read = plan.ok() ? ReadPolicyTenants(**pg, *plan, policy)
                            : Result<std::vector<PolicyTenant>>(plan.status());
      if (read.ok())
        tenants = std::move(*read);
      else
        error = read.status().message();
    } else {
      error = pg.status().message();
    }
    PolicyRetention r =
        EffectiveRetention(policy, db->second, config.copies, tenants, backups, now);
    r.error = error;
    r.staged = staged;
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::json PolicyRetentionToJson(const PolicyRetention& r) {
  nlohmann::json horizons = nlohmann::json::array();
  for (const BackupHorizon& h : r.horizons)
    horizons.push_back({{"where", h.where},
                        {"days", h.days ? nlohmann::json(*h.days) : nlohmann::json()},
                        {"basis", h.basis}});
  nlohmann::json tenants = nlohmann::json::array();
  for (const TenantRetention& t : r.tenants)
    tenants.push_back({{"tenant", t.tenant.key},
                       {"days", t.tenant.days.value_or(0)},
                       {"action", t.tenant.action},
                       {"last_run", t.tenant.last_run.empty() ? nlohmann::json()
                                                              : nlohmann::json(t.tenant.last_run)},
                       {"in_backups_days",
                        t.in_backups_days ? nlohmann::json(*t.in_backups_days) : nlohmann::json()},
                       {"contradiction", t.contradiction},
                       {"finding", t.finding}});
  nlohmann::json oldest = nullptr;
  if (!r.backups.oldest_id.empty())
    oldest = {{"id", r.backups.oldest_id},
              {"started", FormatIsoTime(r.backups.oldest_time)},
              {"age_days", r.oldest_backup_age_days}};
  return {{"policy", r.policy},
          {"database", r.database},
          {"table", r.table},
          {"horizons", horizons},
          {"oldest_backup", oldest},
          {"pinned_backups", r.backups.pinned},
          {"forget_log_entries", r.backups.forget_entries},
          {"staged_batches", r.staged ? nlohmann::json(r.staged->batches) : nlohmann::json()},
          {"staged_since", r.staged && !r.staged->oldest.empty() ? nlohmann::json(r.staged->oldest)
                                                                 : nlohmann::json()},
          {"tenants", tenants},
          {"contradiction", r.contradiction},
          {"error", r.error.empty() ? nlohmann::json() : nlohmann::json(r.error)}};
}

std::string PolicyRetentionText(const PolicyRetention& r, const std::string& indent,
                                bool every_tenant) {
  std::string text =
      indent + "policy \"" + r.policy + "\" (" + r.table + " of database \"" + r.database +
      "\"): forget log " + std::to_string(r.backups.forget_entries) + " entr" +
      (r.backups.forget_entries == 1 ? "y" : "ies") + ", " +
      (r.backups.oldest_id.empty() ? std::string("no backup yet")
                                   : "oldest backup " + r.backups.oldest_id + " (" +
                                         std::to_string(r.oldest_backup_age_days) + " days old)") +
      (r.backups.pinned ? ", " + std::to_string(r.backups.pinned) + " pinned" : "") + "\n";
  for (const BackupHorizon& h : r.horizons)
    text += indent + "  " + h.where + " keeps backups " +
            (h.days ? "up to " + std::to_string(*h.days) + " days" : std::string("with no limit")) +
            " (" + h.basis + ")\n";
  if (!r.error.empty()) text += indent + "  tenants unknown: " + r.error + "\n";
  if (r.staged && r.staged->batches > 0)
    text += indent + "  " + std::to_string(r.staged->batches) + " batch(es) of erasures since " +
            r.staged->oldest +
            " are not in the forget log yet (a run stopped before shipping them; a restore now "
            "would not erase those rows again): the next retention run ships them\n";
  std::map<std::string, int> actions;
  int contradictions = 0;
  for (const TenantRetention& t : r.tenants) {
    ++actions[t.tenant.action];
    contradictions += t.contradiction ? 1 : 0;
    if (!every_tenant && !t.contradiction) continue;
    const std::string who = t.tenant.key.empty() ? "all rows" : "tenant " + t.tenant.key;
    text += indent + "  " + who + ": " + t.finding +
            (t.tenant.last_run.empty() ? "" : " (last run " + t.tenant.last_run + ")") + "\n";
  }
  if (!every_tenant && !r.tenants.empty()) {
    text += indent + "  " + std::to_string(r.tenants.size()) + " tenant(s):";
    for (const auto& [action, n] : actions) text += " " + std::to_string(n) + " " + action;
    text += ", " + std::to_string(contradictions) + " contradiction(s)" +
            (contradictions ? " (pgkeep retention report lists every tenant)" : "") + "\n";
  }
  return text;
}

}  // namespace pgkeep
