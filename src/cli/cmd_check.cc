// check: is a database well and wired up? Its health (monitor/db_health.h:
// latency, recovery, connections, transaction-id age, archiver, slots), then
// for a physical one the settings and a real WAL segment travelling through
// archive_command into the repository.
#include <chrono>
#include <cstdio>

#include "backup/archiving.h"
#include "backup/physical_backup.h"
#include "cli/commands.h"
#include "monitor/db_health.h"
#include "wal/archive_command.h"
#include "wal/wal_archive.h"

namespace pgkeep {

CommandOutput RunCheck(const CommandContext& ctx, const std::string& db_name, int timeout_seconds) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "check", false);
  const DatabaseConfig& db = DatabaseOrThrow(opened.config, db_name);
  CommandOutput out;
  nlohmann::json checks = nlohmann::json::array();
  auto passed = [&](const std::string& name, const std::string& detail) {
    checks.push_back({{"check", name}, {"ok", true}, {"detail", detail}});
    out.text += "ok    " + name + ": " + detail + "\n";
  };
  // Health first: an unreachable server fails here, with libpq's words.
  DatabaseHealth health = ProbeDatabase(*ctx.env, *ctx.pg, db);
  if (health.status == "error")
    throw CommandError{Status::Error(ErrorCode::kPostgres, health.error)};
  // Its lines go first, written last: a failing archiver the probe saw may
  // be shown working by the archiving check below, and is probed again then.
  auto health_text = [&] {
    char line[200];
    std::snprintf(line, sizeof line,
                  "%s, %.1f ms to connect and query; %s; %lld of %lld connections; "
                  "transaction ID age %lld",
                  health.status.c_str(), health.latency_ms,
                  health.in_recovery ? "in recovery" : "not in recovery",
                  static_cast<long long>(health.connections),
                  static_cast<long long>(health.max_connections),
                  static_cast<long long>(health.xid_age));
    std::string text = "repository: " + opened.storage->Describe() + "\n" +
                       (health.healthy() ? "ok    " : "warn  ") + "health: " + line + "\n";
    for (const auto& slot : health.slots)
      text += "      slot " + slot.name + (slot.active ? " (active)" : " (inactive)") + " holds " +
              std::to_string(slot.retained_bytes) + " bytes of WAL\n";
    for (const auto& p : health.problems) text += "warn  " + p + "\n";
    return text;
  };
  auto pg = ValueOrThrow(ctx.pg->Connect(db.conninfo, "database \"" + db.name + "\""));
  passed("connection",
         pg->Describe() + " (PostgreSQL " + std::to_string(pg->ServerVersionNum() / 10000) + ")");
  auto finish = [&](CommandOutput& o) {
    o.text = health_text() + o.text;
    o.json["health"] = HealthToJson(health);
    if (!health.healthy()) {
      o.json["ok"] = false;
      o.result = ErrorCode::kCheckFailed;
    }
  };
  if (db.method == "logical") {
    out.json = {{"ok", true}, {"database", db.name}, {"checks", checks}};
    finish(out);
    out.text += "database \"" + db.name + "\" is logical: WAL archiving does not apply\n";
    return out;
  }
  auto settings = ValueOrThrow(ReadArchivingSettings(*pg));
  ThrowIfError(CheckArchivingSettings(
      settings, db.name,
      PgkeepCommandLine(*ctx.env, opened.config.source, "wal-push", db.name, "%p")));
  passed("wal_level", settings.wal_level);
  passed("archive_mode", settings.archive_mode);
  passed("archive_command", settings.archive_command);

  // A restore point guarantees the segment has WAL in it, so the switch
  // really completes one (as on an idle server it otherwise would not).
  int64_t started = ctx.env->MonotonicMicros();
  ThrowIfError(pg->Exec("SELECT pg_create_restore_point('pgkeep check')"));
  auto switched = ValueOrThrow(pg->Query("SELECT pg_walfile_name(pg_switch_wal())"));
  std::string segment = switched.rows.at(0).values.at(0).value_or("");
  ThrowIfError(WaitForArchivedWal(*ctx.env, *opened.repo, db.name, segment, timeout_seconds));
  double seconds = (ctx.env->MonotonicMicros() - started) / 1e6;
  char detail[160];
  std::snprintf(detail, sizeof detail, "%s reached the repository %.1f s after the switch",
                segment.c_str(), seconds);
  passed("archiving", detail);
  if (health.archiver_failing) {
    // The failures the probe counted came before this segment was archived.
    DatabaseHealth again = ProbeDatabase(*ctx.env, *ctx.pg, db);
    if (again.status != "error" && !again.archiver_failing) health = std::move(again);
  }
  out.json = {{"ok", true}, {"database", db.name}, {"checks", checks}, {"segment", segment}};
  out.text +=
      "database \"" + db.name + "\" is ready for physical backups and point-in-time recovery\n";
  finish(out);
  return out;
}

}  // namespace pgkeep
