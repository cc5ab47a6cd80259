// check: is a physical database wired up? Connection, settings, and a real
// WAL segment travelling through archive_command into the repository.
#include <chrono>

#include "backup/archiving.h"
#include "backup/physical_backup.h"
#include "cli/commands.h"
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
  out.text = "repository: " + opened.storage->Describe() + "\n";
  auto pg = ValueOrThrow(ctx.pg->Connect(db.conninfo, "database \"" + db.name + "\""));
  passed("connection",
         pg->Describe() + " (PostgreSQL " + std::to_string(pg->ServerVersionNum() / 10000) + ")");
  if (db.method == "logical") {
    out.json = {{"ok", true}, {"database", db.name}, {"checks", checks}};
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
  out.json = {{"ok", true}, {"database", db.name}, {"checks", checks}, {"segment", segment}};
  out.text +=
      "database \"" + db.name + "\" is ready for physical backups and point-in-time recovery\n";
  return out;
}

}  // namespace pgkeep
