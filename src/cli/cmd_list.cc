#include <cstdio>

#include "cli/commands.h"
#include "repo/loader.h"

namespace pgkeep {

CommandOutput RunList(const CommandContext& ctx, const std::string& db) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "list", false);
  if (!db.empty()) (void)DatabaseOrThrow(opened.config, db);
  auto snapshots = ValueOrThrow(opened.repo->ListSnapshots());
  if (!db.empty())
    std::erase_if(snapshots, [&](const Snapshot& s) { return SnapshotDatabase(s) != db; });
  CommandOutput out;
  auto& list = out.json["snapshots"] = nlohmann::json::array();
  char line[256];
  std::snprintf(line, sizeof line, "%-26s %-8s %-12s %-20s %-20s %10s %10s  %s\n", "ID", "KIND",
                "DATABASE", "START", "STOP", "SIZE", "ADDED", "LABEL");
  out.text = line;
  for (const auto& s : snapshots) {
    list.push_back(SnapshotToJson(s, false));
    std::snprintf(line, sizeof line, "%-26s %-8s %-12s %-20s %-20s %10s %10s  %s\n", s.id.c_str(),
                  s.kind.c_str(), s.meta.value(kMetaDatabase, "-").c_str(), FormatIsoTime(s.start_time).c_str(),
                  FormatIsoTime(s.stop_time).c_str(), FormatBytes(s.stats.bytes).c_str(),
                  FormatBytes(s.stats.stored_bytes).c_str(), s.label.c_str());
    out.text += line;
  }
  out.json["ok"] = true;
  if (snapshots.empty())
    out.text = db.empty() ? "the repository holds no snapshot yet\n" : "no backup of database \"" + db + "\" yet\n";
  return out;
}

CommandOutput RunInfo(const CommandContext& ctx, const std::string& id) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "info", true);
  Snapshot s = ValueOrThrow(opened.repo->ReadSnapshot(id));
  Loader loader(*opened.repo);
  auto files = ValueOrThrow(loader.ReadManifest(s));
  CommandOutput out;
  out.json = {{"ok", true}, {"snapshot", SnapshotToJson(s, false)}};
  auto& list = out.json["files"] = nlohmann::json::array();
  out.text = "snapshot " + s.id + "\n  kind:     " + s.kind + "\n  label:    " + s.label +
             "\n  host:     " + s.hostname + "\n  start:    " + FormatIsoTime(s.start_time) +
             "\n  stop:     " + FormatIsoTime(s.stop_time) + "\n  size:     " +
             FormatBytes(s.stats.bytes) + " in " + std::to_string(s.stats.files) + " file(s), " +
             std::to_string(s.stats.chunks) + " chunks\n  added:    " +
             FormatBytes(s.stats.stored_bytes) + " stored, " + std::to_string(s.stats.new_chunks) +
             " new chunks\n  files:\n";
  for (const auto& f : files) {
    list.push_back({{"path", f.path}, {"size", f.size}, {"mode", f.mode}, {"mtime", f.mtime},
                    {"chunks", f.chunks.size()}});
    out.text += "    " + f.path + "  " + FormatBytes(f.size) + "\n";
  }
  return out;
}

}  // namespace pgkeep
