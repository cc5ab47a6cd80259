// retention run: parse, connect to each policy's database, call RunPolicy
// (policy/policy.h) with the forget log (policy/forget_log.h) as its record, render.
// retention report: ReportRetention (policy/effective_retention.h), render.
#include "cli/commands.h"
#include "policy/effective_retention.h"
#include "policy/policy.h"

namespace pgkeep {

namespace {

nlohmann::json OutcomeJson(const PolicyOutcome& o) {
  nlohmann::json tenants = nlohmann::json::array();
  for (const TenantOutcome& t : o.tenants)
    tenants.push_back({{"tenant", t.tenant},
                       {"days", t.days},
                       {"action", t.action},
                       {"rows", t.rows},
                       {"locked", t.locked},
                       {"batches", t.batches},
                       {"stamped", t.stamped}});
  return {{"policy", o.policy},           {"database", o.database},
          {"dry_run", o.dry_run},         {"tenants", tenants},
          {"redacted", o.redacted},       {"deleted", o.deleted},
          {"locked", o.locked},           {"stopped_at_max_runtime", o.stopped_at_max_runtime},
          {"cascades_to", o.cascades_to}, {"duration_ms", o.duration_ms}};
}

std::string OutcomeText(const PolicyOutcome& o) {
  const std::string would = o.dry_run ? "would be " : "";
  std::string text = "policy \"" + o.policy + "\" on database \"" + o.database +
                     "\": " + std::to_string(o.redacted) + " row(s) " + would + "redacted, " +
                     std::to_string(o.deleted) + " " + would + "deleted";
  if (o.locked > 0)
    text += ", " + std::to_string(o.locked) + " held by other sessions (left for the next run)";
  text += " in " + std::to_string(o.duration_ms) + " ms" + (o.dry_run ? " (dry run)" : "") + "\n";
  for (const TenantOutcome& t : o.tenants) {
    text += "  " + (t.tenant.empty() ? std::string("all rows") : "tenant " + t.tenant) + ": ";
    if (t.action == "keep") {
      text += "kept forever (0 days)\n";
      continue;
    }
    text += t.action + " after " + std::to_string(t.days) + " days, " + std::to_string(t.rows) +
            " row(s)" + (t.locked > 0 ? ", " + std::to_string(t.locked) + " locked" : "") +
            (t.stamped ? ", last run stamped" : "") + "\n";
  }
  if (!o.cascades_to.empty()) {
    text += "  deletes cascaded into:";
    for (const std::string& t : o.cascades_to) text += " " + t;
    text += "\n";
  }
  if (o.stopped_at_max_runtime) text += "  stopped at max_runtime; the next run resumes\n";
  return text;
}

}  // namespace

CommandOutput RunRetentionReport(const CommandContext& ctx, const RetentionArgs& args) {
  // Reads only: backups, pins and the forget log, and the tenant tables.
  auto opened = OpenRepositoryOrThrow(ctx, std::nullopt, "retention report", false);
  auto report = ValueOrThrow(ReportRetention(*opened.repo, *ctx.pg, opened.config, args.policy));
  CommandOutput out;
  nlohmann::json policies = nlohmann::json::array();
  bool contradiction = false;
  for (const PolicyRetention& r : report) {
    policies.push_back(PolicyRetentionToJson(r));
    out.text += PolicyRetentionText(r, "", true);
    contradiction |= r.contradiction;
  }
  out.json = {{"ok", !contradiction}, {"policies", policies}, {"contradiction", contradiction}};
  if (contradiction) {
    out.text +=
        "warning: erased rows outlive a hard-delete promise in backups; shorten the "
        "backup retention, or keep such backups where only pgkeep restores them\n";
    out.result = ErrorCode::kCheckFailed;
  }
  return out;
}

CommandOutput RunRetention(const CommandContext& ctx, const RetentionArgs& args) {
  Config config = LoadConfigOrThrow(ctx);
  std::vector<const RetentionPolicyConfig*> policies;
  std::string names;
  for (const RetentionPolicyConfig& p : config.retention_policies) {
    names += (names.empty() ? "" : ", ") + p.name;
    if (args.policy.empty() || p.name == args.policy) policies.push_back(&p);
  }
  if (config.retention_policies.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage,
                                     "there is no [[retention_policy]] in " + config.source,
                                     "see docs/data-retention.md")};
  if (policies.empty())
    throw CommandError{
        Status::Error(ErrorCode::kUsage,
                      "there is no retention policy \"" + args.policy + "\" in " + config.source,
                      "policies: " + names)};
  if (args.action == "report") {
    if (args.dry_run)
      throw CommandError{Status::Error(ErrorCode::kUsage, "--dry-run is for retention run")};
    return RunRetentionReport(ctx, args);
  }
  // The forget log needs the repository (a dry run erases nothing). No
  // lock: entries are new objects, and expire never prunes recent ones.
  std::unique_ptr<OpenedRepository> opened;
  if (!args.dry_run)
    opened = std::make_unique<OpenedRepository>(
        OpenRepositoryOrThrow(ctx, std::nullopt, "retention run", false));
  CommandOutput out;
  nlohmann::json results = nlohmann::json::array();
  int64_t redacted = 0, deleted = 0, tenants = 0, entries = 0;
  for (const RetentionPolicyConfig* p : policies) {
    const DatabaseConfig& db = DatabaseOrThrow(config, p->database);
    auto pg = ValueOrThrow(ctx.pg->Connect(db.conninfo, "database \"" + db.name + "\""));
    PolicyRunOptions options;
    options.dry_run = args.dry_run;
    options.log = ctx.progress;
    std::vector<const RetentionPolicyConfig*> of_database;
    for (const RetentionPolicyConfig& q : config.retention_policies)
      if (q.database == p->database) of_database.push_back(&q);
    if (opened)
      options.ship = [&]() -> Status {
        auto written = ShipStagedErasures(*opened->repo, *pg, p->database, of_database);
        if (!written.ok()) return written.status();
        entries += *written;
        return Status::Ok();
      };
    PolicyOutcome o = ValueOrThrow(RunPolicy(*ctx.env, *pg, *p, options));
    results.push_back(OutcomeJson(o));
    out.text += OutcomeText(o);
    redacted += o.redacted;
    deleted += o.deleted;
    for (const TenantOutcome& t : o.tenants) tenants += t.action == "keep" ? 0 : 1;
  }
  out.json = {{"ok", true},
              {"dry_run", args.dry_run},
              {"policies", results},
              {"redacted", redacted},
              {"deleted", deleted},
              {"tenants_processed", tenants},
              {"forget_log_entries", entries}};
  if (entries > 0)
    out.text += "forget log: " + std::to_string(entries) + " entr" + (entries == 1 ? "y" : "ies") +
                " written to the repository; restores re-apply them\n";
  return out;
}

}  // namespace pgkeep
