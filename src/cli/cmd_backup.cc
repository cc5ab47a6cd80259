// backup: parses, calls BackupDatabase (backup/backup.h), renders the result.
#include <cstdio>

#include "backup/backup.h"
#include "backup/logical_backup.h"
#include "cli/commands.h"
#include "config/secrets.h"

namespace pgkeep {

namespace {

// The store settings for a backup of `db`: its own zstd level, else the repository's.
StoreOptions BackupStoreOptions(const Config& config, const DatabaseConfig& db) {
  StoreOptions store;
  store.compression_level = db.compression_level.value_or(config.repository.compression_level);
  store.pack_size = config.repository.pack_size_mib << 20;
  return store;
}

std::string Seconds(double seconds) {
  char line[64];
  std::snprintf(line, sizeof line, "%.1f s", seconds);
  return line;
}

std::string PinnedLine(const BackupResult& r) {
  return r.pinned ? "  pinned:  until unpinned (pgkeep unpin " + r.snapshot.id + ")\n" : "";
}

CommandOutput RenderPhysical(const DatabaseConfig& db, const BackupResult& r) {
  const Snapshot& s = r.snapshot;
  CommandOutput out;
  out.json = {{"ok", true},
              {"backup", SnapshotToJson(s, false)},
              {"pinned", r.pinned},
              {"warnings", r.warnings},
              {"seconds", r.seconds}};
  const auto& m = s.meta;
  out.text =
      s.kind + " backup " + s.id + " of database \"" + db.name + "\" done in " +
      Seconds(r.seconds) + " (" + m.value(kMetaMethod, "") + " files)\n" +
      "  WAL:     " + m.value(kMetaStartLsn, "") + " .. " + m.value(kMetaStopLsn, "") +
      " on timeline " + std::to_string(m.value(kMetaTimeline, 0)) + " (" +
      m.value(kMetaStartWal, "") + " .. " + m.value(kMetaStopWal, "") + ")\n" +
      "  read:    " + FormatBytes(s.stats.bytes) + " in " + std::to_string(s.stats.files) +
      " files\n" + "  added:   " + FormatBytes(s.stats.stored_bytes) + " stored (" +
      std::to_string(s.stats.new_chunks) + " of " + std::to_string(s.stats.chunks) +
      " blocks were new)\n" + "  pages:   " +
      (m.value(kMetaDataChecksums, false)
           ? std::to_string(m.value(kMetaPagesChecked, uint64_t{0})) + " checksums verified, " +
                 std::to_string(m.value(kMetaCorruptPageCount, uint64_t{0})) + " corrupt"
           : std::string("the cluster has no data checksums (initdb --data-checksums)")) +
      "\n" + PinnedLine(r);
  for (const auto& w : r.warnings) out.text += "warning: " + w + "\n";
  return out;
}

CommandOutput RenderLogical(const DatabaseConfig& db, const BackupResult& r) {
  const Snapshot& s = r.snapshot;
  CommandOutput out;
  out.json = {{"ok", true},
              {"backup", SnapshotToJson(s, false)},
              {"pinned", r.pinned},
              {"seconds", r.seconds}};
  const auto& counts = s.meta[kMetaRowCounts];
  uint64_t rows = 0;
  for (auto& [table, n] : counts.items()) rows += n.get<uint64_t>();
  out.text =
      "logical backup " + s.id + " of database \"" + db.name + "\" done in " + Seconds(r.seconds) +
      "\n" + "  dump:    " + FormatBytes(s.stats.bytes) + " from " +
      s.meta.value(kMetaPgDump, "pg_dump") + "\n  tables:  " + std::to_string(counts.size()) +
      " (" + std::to_string(rows) +
      " rows counted in the dump's snapshot)\n  added:   " + FormatBytes(s.stats.stored_bytes) +
      " stored (" + std::to_string(s.stats.new_chunks) + " of " + std::to_string(s.stats.chunks) +
      " chunks were new)\n" + PinnedLine(r);
  return out;
}

}  // namespace

CommandOutput RunBackup(const CommandContext& ctx, const BackupArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "backup", false);
  const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
  BackupOptions options;
  options.type = ValueOrThrow(ResolveBackupType(db, args.type));
  options.label = args.label;
  options.pin = args.pin;
  options.note = args.note;
  options.store = BackupStoreOptions(opened.config, db);
  options.config_path = opened.config.source;
  options.child_env_drop = SecretEnvNames(opened.config);
  ThrowIfError(opened.repo->LoadIndex());  // only once the request is known to be good
  BackupResult r =
      ValueOrThrow(BackupDatabase(*ctx.env, *opened.repo, *ctx.pg, db, options, ctx.progress));
  return options.type == "logical" ? RenderLogical(db, r) : RenderPhysical(db, r);
}

}  // namespace pgkeep
