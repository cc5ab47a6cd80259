#include <cstdio>

#include "cli/commands.h"
#include "expire/expire.h"
#include "repo/pins.h"

namespace pgkeep {

CommandOutput RunExpireCommand(const CommandContext& ctx, bool dry_run) {
  // A dry run changes nothing and may run beside backups.
  auto opened = OpenRepositoryOrThrow(ctx, dry_run ? LockMode::kShared : LockMode::kExclusive,
                                      dry_run ? "expire --dry-run" : "expire", true);
  ExpireOptions options;
  options.dry_run = dry_run;
  options.progress = ctx.progress;
  options.gc.pack_size = opened.config.repository.pack_size_mib << 20;
  options.gc.repack_below = opened.config.repository.repack_below_percent / 100.0;
  ExpireReport r = ValueOrThrow(RunExpire(*opened.repo, opened.config, options));

  CommandOutput out;
  nlohmann::json list = nlohmann::json::array();
  char line[256];
  std::snprintf(line, sizeof line, "%-26s %-12s %-8s %-20s %-7s %s\n", "ID", "DATABASE", "KIND",
                "TIME", "ACTION", "WHY");
  std::string table = line;
  for (const auto& d : r.decisions) {
    std::string why;
    for (const auto& reason : d.reasons) why += (why.empty() ? "" : ", ") + reason;
    list.push_back({{"id", d.id},
                    {"database", d.database},
                    {"kind", d.kind},
                    {"time", FormatIsoTime(d.time)},
                    {"keep", d.keep},
                    {"reasons", d.reasons}});
    std::snprintf(line, sizeof line, "%-26s %-12s %-8s %-20s %-7s %s\n", d.id.c_str(),
                  d.database.empty() ? "-" : d.database.c_str(), d.kind.c_str(),
                  FormatIsoTime(d.time).c_str(), d.keep ? "keep" : (dry_run ? "expire" : "expired"),
                  why.c_str());
    table += line;
  }
  const GcReport& g = r.gc;
  out.json = {{"ok", true},
              {"dry_run", dry_run},
              {"backups", list},
              {"expired", r.expired},
              {"gc",
               {{"packs", g.packs},
                {"packs_deleted", g.packs_deleted},
                {"packs_repacked", g.packs_repacked},
                {"packs_written", g.packs_written},
                {"leftovers_deleted", g.leftovers_deleted},
                {"chunks_live", g.chunks_live},
                {"chunks_dead", g.chunks_dead},
                {"bytes_freed", g.bytes_freed},
                {"bytes_moved", g.bytes_moved}}}};
  out.text = table + "\n" + (dry_run ? "dry run: would expire " : "expired ") +
             std::to_string(r.expired) + " of " + std::to_string(r.decisions.size()) +
             " backup(s); garbage collection " + (dry_run ? "would free " : "freed ") +
             FormatBytes(g.bytes_freed) + " (" + std::to_string(g.packs_deleted) +
             " pack(s) deleted, " + std::to_string(g.packs_repacked) + " repacked, " +
             std::to_string(g.leftovers_deleted) + " leftover(s) removed)\n";
  nlohmann::json wal = nlohmann::json::array();
  for (const auto& w : r.wal) {
    wal.push_back({{"database", w.database},
                   {"keep_from", w.keep_from},
                   {"oldest_kept_backup", w.backup},
                   {"removed", w.removed},
                   {"bytes", w.bytes}});
    out.text += "WAL of database \"" + w.database +
                "\": " + (dry_run ? "would remove " : "removed ") + std::to_string(w.removed) +
                " file(s) (" + FormatBytes(w.bytes) + ") before " + w.keep_from +
                ", where the oldest kept backup " + w.backup + " starts\n";
  }
  out.json["wal"] = wal;
  out.json["forget_entries_removed"] = r.forget_entries_removed;
  if (r.forget_entries_removed > 0)
    out.text += std::string(dry_run ? "would remove " : "removed ") +
                std::to_string(r.forget_entries_removed) +
                " forget-log entr(ies) older than every kept backup\n";
  out.json["damaged_snapshots"] = r.damaged_snapshots;
  out.json["gc_skipped"] = r.gc_skipped.empty() ? nlohmann::json() : nlohmann::json(r.gc_skipped);
  if (!r.gc_skipped.empty()) {
    // Retention was applied, but the repository needs attention: exit 1.
    out.text += "warning: " + r.gc_skipped + "\n";
    out.json["ok"] = false;
    out.result = ErrorCode::kCheckFailed;
  }
  return out;
}

}  // namespace pgkeep
