#include <algorithm>
#include <cstdio>
#include <set>

#include "backup/physical_backup.h"
#include "cli/commands.h"
#include "repo/loader.h"
#include "wal/timeline_history.h"
#include "wal/wal_archive.h"

namespace pgkeep {

namespace {

std::string PhysicalDetails(const Snapshot& s) {
  const auto& m = s.meta;
  std::string text =
      "  database: " + m.value(kMetaDatabase, "") + " (" + m.value(kMetaMethod, "") +
      " files; PostgreSQL " + std::to_string(m.value(kMetaServerVersionNum, 0) / 10000) +
      ", system " + m.value(kMetaSystemId, "") + ")\n" +
      "  WAL:      " + m.value(kMetaStartLsn, "") + " .. " + m.value(kMetaStopLsn, "") +
      " on timeline " + std::to_string(m.value(kMetaTimeline, 0)) + " (" +
      m.value(kMetaStartWal, "") + " .. " + m.value(kMetaStopWal, "") + ")\n";
  if (!m.value(kMetaParent, "").empty()) text += "  parent:   " + m.value(kMetaParent, "") + "\n";
  if (m.value(kMetaDataChecksums, false)) {
    text += "  pages:    " + std::to_string(m.value(kMetaPagesChecked, uint64_t{0})) +
            " checksums verified, " + std::to_string(m.value(kMetaCorruptPageCount, uint64_t{0})) +
            " corrupt\n";
    for (const auto& c : m.value(kMetaCorruptPages, nlohmann::json::array()))
      text += "    corrupt: " + c.value("file", "") + " block " +
              std::to_string(c.value("block", 0)) + "\n";
  } else {
    text += "  pages:    not verified (the cluster has no data checksums)\n";
  }
  for (const auto& t : m.value(kMetaTablespaces, nlohmann::json::array()))
    text += "  tablespace " + t.value("oid", "") + ": " + t.value("location", "") + "\n";
  return text;
}

}  // namespace

CommandOutput RunList(const CommandContext& ctx, const std::string& db) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "list", false);
  if (!db.empty()) (void)DatabaseOrThrow(opened.config, db);
  // Damaged snapshots are warned about (on stderr, or "warnings" in JSON) and skipped.
  auto snapshots = ValueOrThrow(opened.repo->ListSnapshots()).snapshots;
  if (!db.empty())
    std::erase_if(snapshots, [&](const Snapshot& s) { return SnapshotDatabase(s) != db; });
  CommandOutput out;
  auto& list = out.json["snapshots"] = nlohmann::json::array();
  char line[256];
  std::snprintf(line, sizeof line, "%-26s %-8s %-12s %-20s %-20s %-23s %10s %10s  %s\n", "ID",
                "KIND", "DATABASE", "START", "STOP", "LSN (START-STOP)", "SIZE", "ADDED", "LABEL");
  out.text = line;
  for (const auto& s : snapshots) {
    list.push_back(SnapshotToJson(s, false));
    std::string lsn = s.meta.contains(kMetaStartLsn)
                          ? s.meta.value(kMetaStartLsn, "") + "-" + s.meta.value(kMetaStopLsn, "")
                          : "-";
    std::snprintf(line, sizeof line, "%-26s %-8s %-12s %-20s %-20s %-23s %10s %10s  %s\n",
                  s.id.c_str(), s.kind.c_str(), s.meta.value(kMetaDatabase, "-").c_str(),
                  FormatIsoTime(s.start_time).c_str(), FormatIsoTime(s.stop_time).c_str(),
                  lsn.c_str(), FormatBytes(s.stats.bytes).c_str(),
                  FormatBytes(s.stats.stored_bytes).c_str(), s.label.c_str());
    out.text += line;
  }
  // The timeline tree of every physical database listed: which backups lie
  // on which history (a restored copy's timeline shows beside the original's).
  std::set<std::string> physical;
  for (const auto& s : snapshots)
    if (IsPhysicalKind(s.kind)) physical.insert(SnapshotDatabase(s));
  auto& timelines = out.json["timelines"] = nlohmann::json::object();
  for (const auto& name : physical) {
    auto wal_listing = ValueOrThrow(opened.repo->storage().List(WalPrefix(name)));
    TimelineReport tree = ValueOrThrow(ReadTimelineReport(*opened.repo, name, wal_listing));
    timelines[name] = TimelinesToJson(tree);
    out.text += "\ntimelines of database \"" + name + "\":\n" + FormatTimelineTree(tree, "  ");
    for (const auto& d : tree.damaged) out.text += "  warning: damaged " + d + "\n";
  }
  out.json["ok"] = true;
  if (snapshots.empty())
    out.text = db.empty() ? "the repository holds no snapshot yet\n"
                          : "no backup of database \"" + db + "\" yet\n";
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
             "\n  stop:     " + FormatIsoTime(s.stop_time) +
             "\n  size:     " + FormatBytes(s.stats.bytes) + " in " +
             std::to_string(s.stats.files) + " file(s), " + std::to_string(s.stats.chunks) +
             " chunks\n  added:    " + FormatBytes(s.stats.stored_bytes) + " stored, " +
             std::to_string(s.stats.new_chunks) + " new chunks\n";
  if (IsPhysicalKind(s.kind)) out.text += PhysicalDetails(s);
  // A data directory has about a thousand files: the text shows the biggest.
  constexpr size_t kTextFiles = 30;
  std::vector<const FileEntry*> shown;
  for (const auto& f : files) {
    list.push_back({{"path", f.path},
                    {"size", f.size},
                    {"mode", f.mode},
                    {"mtime", f.mtime},
                    {"chunks", f.chunks.size()}});
    shown.push_back(&f);
  }
  if (shown.size() > kTextFiles) {
    std::stable_sort(shown.begin(), shown.end(),
                     [](auto* a, auto* b) { return a->size > b->size; });
    out.text += "  files:    " + std::to_string(files.size()) + ", the " +
                std::to_string(kTextFiles) + " biggest below (--output json lists all)\n";
    shown.resize(kTextFiles);
  } else {
    out.text += "  files:\n";
  }
  for (const FileEntry* f : shown)
    out.text += "    " + f->path + "  " + FormatBytes(f->size) + "\n";
  return out;
}

}  // namespace pgkeep
