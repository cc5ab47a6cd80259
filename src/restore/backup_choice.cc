// Step 2 of a physical restore: the timeline and the backup a target needs.
#include <algorithm>

#include "repo/snapshot_meta.h"
#include "restore/physical_restore_steps.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace physical_restore_internal {

int64_t SnapshotStopMicros(const Snapshot& s) {
  return s.meta.value(kMetaStopMicros, int64_t{s.stop_time} * 1000000);
}

uint64_t SnapshotStopLsn(const Snapshot& s) {
  return ParseLsn(s.meta.value(kMetaStopLsn, "0/0")).value_or(0);
}

}  // namespace physical_restore_internal

using namespace physical_restore_internal;

namespace {

uint32_t SnapshotTimeline(const Snapshot& s) {
  auto it = s.meta.find(kMetaTimeline);
  if (it == s.meta.end() || !it->is_number_integer()) return 1;
  int64_t tli = it->get<int64_t>();
  return tli > 0 && tli <= UINT32_MAX ? static_cast<uint32_t>(tli) : 1;
}

std::string ForkText(const TimelineTree& tree, uint32_t tli) {
  auto fork = tree.Fork(tli);
  return fork ? "timeline " + std::to_string(tli) + " forked from timeline " +
                    std::to_string(fork->parent) + " at " + FormatLsn(fork->switch_lsn)
              : "timeline " + std::to_string(tli) + " has no recorded parent";
}

// The backup among `candidates` (commit order) the target asks for.
Result<Snapshot> ChooseByTarget(const std::vector<const Snapshot*>& candidates,
                                const std::string& db, const PhysicalRestoreOptions& o) {
  if (!o.target_name.empty()) return *candidates.front();
  if (o.target_time.empty() && o.target_lsn.empty()) return *candidates.back();
  const Snapshot* best = nullptr;
  for (const Snapshot* s : candidates) {
    bool before = !o.target_time.empty()
                      ? SnapshotStopMicros(*s) <= ParseTargetTime(o.target_time)->micros
                      : SnapshotStopLsn(*s) <= *ParseLsn(o.target_lsn);
    if (before) best = s;
  }
  if (best) return *best;
  const Snapshot& first = *candidates.front();
  return Status::Error(
      ErrorCode::kNotFound,
      !o.target_time.empty()
          ? "--target-time " + o.target_time + " is before the first backup of database \"" + db +
                "\" became consistent (" + FormatMicrosUtc(SnapshotStopMicros(first)) + ")"
          : "--target-lsn " + o.target_lsn + " is before the first backup of database \"" + db +
                "\" ends (" + first.meta.value(kMetaStopLsn, "") + ")",
      "no backup can recover to that point; pgkeep list --db " + db + " shows what there is");
}

Status CheckGivenBackup(const Snapshot& s, const PhysicalRestoreOptions& o) {
  if (!o.target_time.empty() && ParseTargetTime(o.target_time)->micros < SnapshotStopMicros(s))
    return Usage("--target-time " + o.target_time + " is before backup " + s.id +
                     " became consistent (" + FormatMicrosUtc(SnapshotStopMicros(s)) + ")",
                 "choose an earlier backup, or leave out --backup to pick one automatically");
  if (!o.target_lsn.empty() && *ParseLsn(o.target_lsn) < SnapshotStopLsn(s))
    return Usage("--target-lsn " + o.target_lsn + " is before backup " + s.id + " ends (" +
                 s.meta.value(kMetaStopLsn, "") + ")");
  return Status::Ok();
}

}  // namespace

Result<RestoreChoice> ChooseBackup(const std::vector<Snapshot>& all, const std::string& db,
                                   const PhysicalRestoreOptions& o, const TimelineTree& tree) {
  std::vector<const Snapshot*> physical;
  for (const auto& s : all)
    if (IsPhysicalKind(s.kind) && SnapshotDatabase(s) == db) physical.push_back(&s);
  const Snapshot* given = nullptr;
  if (!o.backup.empty() && o.backup != "latest") {
    for (const auto& s : all)
      if (s.id == o.backup) given = &s;
    if (!given)
      return Status::Error(ErrorCode::kNotFound, "no backup \"" + o.backup + "\" in the repository",
                           "pgkeep list --db " + db + " shows the backups");
    if (!IsPhysicalKind(given->kind) || SnapshotDatabase(*given) != db)
      return Usage("backup " + given->id + " is not a physical backup of database \"" + db + "\"",
                   "pgkeep list --db " + db + " shows its backups");
    PGKEEP_RETURN_IF_ERROR(CheckGivenBackup(*given, o));
  }
  if (physical.empty())
    return Status::Error(ErrorCode::kNotFound,
                         "no physical backup of database \"" + db + "\" in the repository",
                         "take one with: pgkeep backup --db " + db);

  // The lineage: the one asked for, else the newest backup's timeline (the
  // production database's, whatever copies archived beside it).
  RestoreChoice choice;
  bool follow_latest = o.target_timeline == "latest";
  bool explicit_timeline = !o.target_timeline.empty() && !follow_latest;
  uint32_t tli = SnapshotTimeline(*physical.back());
  if (explicit_timeline) {
    tli = static_cast<uint32_t>(std::stoul(o.target_timeline));
    bool has_backup = std::any_of(physical.begin(), physical.end(),
                                  [&](const Snapshot* s) { return SnapshotTimeline(*s) == tli; });
    if (!tree.Known(tli) && !has_backup)
      return Usage(
          "timeline " + o.target_timeline + " of database \"" + db + "\" is not in the repository",
          "pgkeep status --db " + db + " shows its timelines");
  }
  auto on_lineage = [&](const Snapshot& s) {
    return follow_latest || tree.Contains(tli, SnapshotTimeline(s), SnapshotStopLsn(s));
  };
  if (given) {
    if (!on_lineage(*given)) {
      if (explicit_timeline)
        return Usage("backup " + given->id + " (timeline " +
                         std::to_string(SnapshotTimeline(*given)) + ", ends " +
                         given->meta.value(kMetaStopLsn, "") +
                         ") is not in the history of timeline " + std::to_string(tli) + " (" +
                         ForkText(tree, tli) + ")",
                     "leave out --backup to pick one on that timeline");
      tli = SnapshotTimeline(*given);
    }
    choice.backup = *given;
  } else {
    std::vector<const Snapshot*> candidates;
    for (const Snapshot* s : physical)
      if (on_lineage(*s)) candidates.push_back(s);
    if (candidates.empty())
      return Status::Error(
          ErrorCode::kNotFound,
          "no backup of database \"" + db + "\" lies in the history of timeline " +
              std::to_string(tli) + " (" + ForkText(tree, tli) + ")",
          "restore from a backup taken on that timeline's past; pgkeep list --db " + db);
    auto chosen = ChooseByTarget(candidates, db, o);
    if (!chosen.ok()) return chosen.status();
    choice.backup = *chosen;
  }
  if (follow_latest) return choice;  // timeline 0: "latest"
  choice.timeline = tli;
  // Timelines that fork off this lineage after the backup could have been
  // followed: say they were not, and how to.
  uint32_t backup_tli = SnapshotTimeline(choice.backup);
  uint64_t backup_stop = SnapshotStopLsn(choice.backup);
  for (uint32_t other : tree.Timelines()) {
    auto lineage = tree.Lineage(tli);
    bool ancestor = std::any_of(lineage.begin(), lineage.end(),
                                [&](const TimelineSpan& x) { return x.timeline == other; });
    if (ancestor || !tree.Contains(other, backup_tli, backup_stop)) continue;
    choice.notes.push_back(ForkText(tree, other) + " and is not followed; --target-timeline " +
                           std::to_string(other) + " follows it");
  }
  return choice;
}

}  // namespace pgkeep
