#include "backup/backup.h"

#include "backup/logical_backup.h"
#include "backup/physical_backup.h"
#include "repo/pins.h"

namespace pgkeep {

Result<std::string> ResolveBackupType(const DatabaseConfig& db, const std::string& requested) {
  std::string type = requested.empty() ? (db.method == "logical" ? "logical" : "full") : requested;
  bool physical_type = type == "full" || type == "incr";
  if (physical_type != (db.method == "physical"))
    return Status::Error(ErrorCode::kUsage,
                         "--type " + type + " does not apply to database \"" + db.name +
                             "\", which has method = \"" + db.method + "\"",
                         db.method == "physical" ? "use --type full or --type incr"
                                                 : "use --type logical, or leave --type out");
  return type;
}

Result<BackupResult> BackupDatabase(Env& env, Repository& repo, PgConnector& connector,
                                    const DatabaseConfig& db, const BackupOptions& options,
                                    const Progress& progress) {
  int64_t started = env.MonotonicMicros();
  auto type = ResolveBackupType(db, options.type);
  if (!type.ok()) return type.status();
  ReportStep(progress, "backing up database \"" + db.name + "\" (" + *type + ")");
  BackupResult result;
  if (*type == "logical") {
    LogicalBackupOptions o;
    o.label = options.label;
    o.store = options.store;
    o.child_env_drop = options.child_env_drop;
    o.progress = progress;
    auto s = RunLogicalBackup(env, repo, connector, db, o);
    if (!s.ok()) return s.status();
    result.snapshot = std::move(*s);
  } else {
    PhysicalBackupOptions o;
    o.type = *type;
    o.label = options.label;
    o.store = options.store;
    o.config_path = options.config_path;
    o.progress = progress;
    auto r = RunPhysicalBackup(env, repo, connector, db, o);
    if (!r.ok()) return r.status();
    result.snapshot = std::move(r->snapshot);
    result.warnings = std::move(r->warnings);
  }
  if (options.pin) {
    ReportStep(progress, "pinning backup " + result.snapshot.id);
    PGKEEP_RETURN_IF_ERROR(WritePin(
        repo, Pin{result.snapshot.id, std::nullopt, options.note, repo.clock().NowSeconds()}));
    result.pinned = true;
  }
  result.seconds = static_cast<double>(env.MonotonicMicros() - started) / 1e6;
  return result;
}

}  // namespace pgkeep
