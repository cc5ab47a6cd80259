#include <chrono>
#include <cstdio>

#include "backup/logical_backup.h"
#include "cli/commands.h"
#include "repo/pins.h"

namespace pgkeep {


CommandOutput RunBackup(const CommandContext& ctx, const BackupArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "backup", false);
  const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
  std::string type = args.type.empty() ? (db.method == "logical" ? "logical" : "full") : args.type;
  if (type != "logical")
    throw CommandError{Status::Error(
        ErrorCode::kUsage, "--type " + type + " (physical backups) is not available in this build",
        "set method = \"logical\" for database \"" + db.name + "\" and use --type logical")};
  if (db.method != "logical")
    throw CommandError{Status::Error(ErrorCode::kUsage,
                                     "database \"" + db.name + "\" has method = \"" + db.method + "\"",
                                     "logical backups need method = \"logical\" in [database." + db.name + "]")};
  ThrowIfError(opened.repo->LoadIndex());  // only once the request is known to be good
  auto started = std::chrono::steady_clock::now();
  LogicalBackupOptions options;
  options.label = args.label;
  options.store.compression_level =
      db.compression_level.value_or(opened.config.repository.compression_level);
  options.store.pack_size = opened.config.repository.pack_size_mib << 20;
  Snapshot s = ValueOrThrow(RunLogicalBackup(*opened.repo, db, options));
  if (args.pin) {
    Pin pin{s.id, std::nullopt, args.note, ctx.clock->NowSeconds()};
    ThrowIfError(WritePin(*opened.repo, pin));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  CommandOutput out;
  out.json = {{"ok", true}, {"backup", SnapshotToJson(s, false)}, {"pinned", args.pin}, {"seconds", seconds}};
  const auto& counts = s.meta[kMetaRowCounts];
  uint64_t rows = 0;
  for (auto& [table, n] : counts.items()) rows += n.get<uint64_t>();
  char line[160];
  std::snprintf(line, sizeof line, "%.1f s", seconds);
  out.text = "logical backup " + s.id + " of database \"" + db.name + "\" done in " + line + "\n" +
             "  dump:    " + FormatBytes(s.stats.bytes) + " from " + s.meta.value("pg_dump", "pg_dump") +
             "\n  tables:  " + std::to_string(counts.size()) + " (" + std::to_string(rows) +
             " rows counted in the dump's snapshot)\n  added:   " + FormatBytes(s.stats.stored_bytes) +
             " stored (" + std::to_string(s.stats.new_chunks) + " of " + std::to_string(s.stats.chunks) +
             " chunks were new)\n" + (args.pin ? "  pinned:  until unpinned (pgkeep unpin " + s.id + ")\n" : "");
  return out;
}

}  // namespace pgkeep
