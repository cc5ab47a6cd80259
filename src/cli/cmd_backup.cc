#include <chrono>
#include <cstdio>

#include "backup/logical_backup.h"
#include "backup/physical_backup.h"
#include "cli/commands.h"
#include "repo/pins.h"

namespace pgkeep {


namespace {

// The store settings for a backup of `db`: its own zstd level, else the repository's.
StoreOptions BackupStoreOptions(const Config& config, const DatabaseConfig& db) {
  StoreOptions store;
  store.compression_level = db.compression_level.value_or(config.repository.compression_level);
  store.pack_size = config.repository.pack_size_mib << 20;
  return store;
}

CommandOutput RunPhysical(const CommandContext& ctx, OpenedRepository& opened, const DatabaseConfig& db,
                          const BackupArgs& args, const std::string& type) {
  auto started = std::chrono::steady_clock::now();
  PhysicalBackupOptions options;
  options.type = type;
  options.label = args.label;
  options.store = BackupStoreOptions(opened.config, db);
  options.config_path = opened.config.source;
  PhysicalBackupResult r = ValueOrThrow(RunPhysicalBackup(*opened.repo, *ctx.pg, db, options));
  const Snapshot& s = r.snapshot;
  if (args.pin) ThrowIfError(WritePin(*opened.repo, Pin{s.id, std::nullopt, args.note, ctx.clock->NowSeconds()}));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CommandOutput out;
  out.json = {{"ok", true},
              {"backup", SnapshotToJson(s, false)},
              {"pinned", args.pin},
              {"warnings", r.warnings},
              {"seconds", seconds}};
  char line[160];
  std::snprintf(line, sizeof line, "%.1f s", seconds);
  const auto& m = s.meta;
  out.text = s.kind + " backup " + s.id + " of database \"" + db.name + "\" done in " + line + " (" +
             m.value("method", "") + " files)\n" + "  WAL:     " + m.value(kMetaStartLsn, "") + " .. " +
             m.value(kMetaStopLsn, "") + " on timeline " + std::to_string(m.value(kMetaTimeline, 0)) +
             " (" + m.value("start_wal", "") + " .. " + m.value("stop_wal", "") + ")\n" +
             "  read:    " + FormatBytes(s.stats.bytes) + " in " + std::to_string(s.stats.files) + " files\n" +
             "  added:   " + FormatBytes(s.stats.stored_bytes) + " stored (" + std::to_string(s.stats.new_chunks) +
             " of " + std::to_string(s.stats.chunks) + " blocks were new)\n" + "  pages:   " +
             (m.value("data_checksums", false)
                  ? std::to_string(m.value("pages_checked", uint64_t{0})) + " checksums verified, " +
                        std::to_string(m.value("corrupt_page_count", uint64_t{0})) + " corrupt"
                  : std::string("the cluster has no data checksums (initdb --data-checksums)")) +
             "\n" + (args.pin ? "  pinned:  until unpinned (pgkeep unpin " + s.id + ")\n" : "");
  for (const auto& w : r.warnings) out.text += "warning: " + w + "\n";
  return out;
}

}  // namespace

CommandOutput RunBackup(const CommandContext& ctx, const BackupArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "backup", false);
  const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
  std::string type = args.type.empty() ? (db.method == "logical" ? "logical" : "full") : args.type;
  bool physical_type = type == "full" || type == "incr";
  if (physical_type != (db.method == "physical"))
    throw CommandError{Status::Error(ErrorCode::kUsage,
                                     "--type " + type + " does not apply to database \"" + db.name +
                                         "\", which has method = \"" + db.method + "\"",
                                     db.method == "physical" ? "use --type full or --type incr"
                                                             : "use --type logical, or leave --type out")};
  ThrowIfError(opened.repo->LoadIndex());  // only once the request is known to be good
  if (physical_type) return RunPhysical(ctx, opened, db, args, type);
  auto started = std::chrono::steady_clock::now();
  LogicalBackupOptions options;
  options.label = args.label;
  options.store = BackupStoreOptions(opened.config, db);
  options.child_env_drop = SecretEnvNames(opened.config);
  Snapshot s = ValueOrThrow(RunLogicalBackup(*opened.repo, *ctx.pg, db, options));
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
