#include "cli/commands.h"
#include "monitor/copy_status.h"
#include "monitor/status.h"

namespace pgkeep {

CommandOutput RunStatus(const CommandContext& ctx, const std::string& db) {
  auto opened = OpenRepositoryOrThrow(ctx, std::nullopt, "status", false);
  if (!db.empty()) (void)DatabaseOrThrow(opened.config, db);
  StatusReport r = ValueOrThrow(ComputeStatus(*opened.repo, *ctx.pg, opened.config, db));
  // Each [[copy]] target: read like any repository, with the same key.
  for (const CopyConfig& copy : opened.config.copies) {
    CommandContext at_copy = ctx;
    at_copy.from_copy = copy.name;
    auto read = [&]() -> Result<SnapshotList> {
      try {
        auto target = OpenRepositoryOrThrow(at_copy, std::nullopt, "status", false);
        return target.repo->ListSnapshots();
      } catch (const CommandError& e) {
        return e.status;
      }
    };
    AddCopyStatus(r, copy, read());
  }
  CommandOutput out;
  out.json = StatusToJson(r);
  out.json["ok"] = r.healthy;
  std::string text =
      std::string(r.healthy ? "HEALTHY" : "UNHEALTHY") + " at " + FormatIsoTime(r.time) + "\n";
  for (const auto& d : r.databases) {
    text += "\ndatabase \"" + d.name + "\" (" + d.method + ", " + d.criticality +
            "): " + (d.healthy ? "ok" : "UNHEALTHY") + "\n";
    if (d.last_backup)
      text += "  last backup: " + d.last_backup->id + " (" + d.last_backup->kind + "), ended " +
              FormatIsoTime(d.last_backup->end_time) + ", " +
              std::to_string(d.last_backup->age_seconds / 3600) + "h ago, " +
              FormatBytes(d.last_backup->bytes) + "\n";
    text += "  backups kept: " + std::to_string(d.backups) + "\n";
    if (d.last_drill)
      text += "  last drill: " + d.last_drill->id + " " +
              (d.last_drill->passed ? "passed" : "FAILED") + ", " +
              std::to_string(d.last_drill->age_seconds / 3600) + "h ago (RTO " +
              std::to_string(static_cast<int64_t>(d.last_drill->rto_seconds + 0.5)) + " s, RPO " +
              std::to_string(static_cast<int64_t>(d.last_drill->rpo_seconds + 0.5)) + " s)\n";
    if (d.wal) {
      const WalAnalysis& a = d.wal->analysis;
      text += "  WAL: " + std::to_string(a.segments) + " segment(s) archived" +
              (a.last_segment.empty()
                   ? ""
                   : ", newest " + a.last_segment +
                         (d.wal->last_archived_age_seconds >= 0
                              ? " (" + std::to_string(d.wal->last_archived_age_seconds / 60) +
                                    " min ago)"
                              : "")) +
              "\n";
      text += a.window
                  ? "  point-in-time recovery: " + FormatIsoTime(a.window->earliest) + " .. " +
                        FormatIsoTime(a.window->latest) + " (from backup " + a.window->from_backup +
                        ")\n"
                  : "  point-in-time recovery: not possible (no backup with its WAL archived)\n";
      if (d.wal->timelines.timelines.size() > 1 || !d.wal->timelines.concurrent.empty())
        text += "  timelines:\n" + FormatTimelineTree(d.wal->timelines, "    ");
      const ArchiverStatus& ar = d.wal->archiver;
      if (ar.error.empty())
        text += "  archiver: " + std::to_string(ar.archived_count) + " archived, " +
                std::to_string(ar.failed_count) + " failed" + (ar.failing ? " (failing now)" : "") +
                "\n";
    }
    for (const CopyStatus& c : d.copies)
      text += "  copy \"" + c.target + "\": " +
              (!c.error.empty() ? "cannot be read"
               : c.newest_backup.empty()
                   ? "no backup"
                   : "newest " + c.newest_backup + ", " + FormatSpan(c.age_seconds) + " old") +
              "\n";
    for (const auto& reason : d.reasons) text += "  problem: " + reason + "\n";
  }
  const RepositoryStatus& rs = r.repository;
  text += "\nrepository " + rs.location + ": " + std::to_string(rs.snapshots) + " snapshot(s), " +
          FormatBytes(rs.stored_bytes) + " stored" +
          (rs.free_bytes >= 0 ? ", " + FormatBytes(static_cast<uint64_t>(rs.free_bytes)) + " free"
                              : "") +
          "\n";
  for (const auto& d : rs.damaged) text += "  problem: " + d + "\n";
  text += rs.last_expire
              ? "  last expire: " + FormatIsoTime((*rs.last_expire)["time"].get<int64_t>()) + "\n"
              : "  last expire: never\n";
  if (!r.retention.empty()) {
    text += "\nretention policies (how long erased rows live in backups):\n";
    for (const PolicyRetention& p : r.retention) text += PolicyRetentionText(p, "  ", false);
  }
  out.text = text;
  if (!r.healthy) out.result = ErrorCode::kCheckFailed;
  return out;
}

}  // namespace pgkeep
