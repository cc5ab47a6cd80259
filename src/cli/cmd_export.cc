#include "cli/commands.h"
#include "restore/logical_restore.h"

namespace pgkeep {

CommandOutput RunExport(const CommandContext& ctx, const std::string& id, const std::string& file,
                        const std::string& db) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "export", false);
  if (!db.empty()) (void)DatabaseOrThrow(opened.config, db);
  // "latest" (of `db`, or of any database) must be a logical backup; an
  // explicit id of another kind gets ExportLogicalDump's usage error.
  Snapshot s = !db.empty() || id == "latest"
                   ? ValueOrThrow(FindLogicalSnapshot(*opened.repo, db, id))
                   : ValueOrThrow(opened.repo->ReadSnapshot(id));
  ThrowIfError(opened.repo->LoadIndex());
  ThrowIfError(ExportLogicalDump(*ctx.env, *opened.repo, s, file));
  CommandOutput out;
  out.json = {{"ok", true}, {"backup", s.id}, {"file", file}, {"bytes", s.stats.bytes}};
  out.text = "exported " + s.id + " to " + file + " (" + FormatBytes(s.stats.bytes) +
             ", pg_dump custom format: pg_restore reads it)\n";
  return out;
}

}  // namespace pgkeep
