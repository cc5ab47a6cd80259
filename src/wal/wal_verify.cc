#include "wal/wal_verify.h"

#include <set>

#include "common/clock.h"
#include "wal/wal_archive.h"
#include "wal/wal_timeline.h"

namespace pgkeep {

Result<WalVerifyReport> VerifyWal(Repository& repo, const std::vector<Snapshot>& snapshots,
                                  bool read_data) {
  WalVerifyReport report;
  std::set<std::string> physical;
  for (const auto& s : snapshots)
    if (IsPhysicalKind(s.kind)) physical.insert(SnapshotDatabase(s));
  for (const auto& db : physical) {
    auto wal_listing = repo.storage().List(WalPrefix(db));
    if (!wal_listing.ok()) return wal_listing.status();
    auto tree = ReadTimelineReport(repo, db, *wal_listing);
    if (!tree.ok()) return tree.status();
    for (const auto& d : tree->damaged) report.errors.push_back("database \"" + db + "\": " + d);
    for (const auto& c : tree->concurrent)
      report.warnings.push_back("database \"" + db + "\": timeline " + std::to_string(c.older) +
                                " received WAL until " + FormatIsoTime(c.older_last_archived) +
                                ", after timeline " + std::to_string(c.newer) + " appeared at " +
                                FormatIsoTime(c.newer_first_archived) +
                                ": two servers archived at once");
    report.timelines[db] = std::move(*tree);
    auto segments = ArchivedSegmentsIn(*wal_listing, db);
    report.segments += segments.size();
    WalAnalysis wal = AnalyzeWal(std::move(segments), WalBackupPoints(snapshots, db));
    for (const auto& g : wal.gaps)
      report.errors.push_back(
          "WAL gap in database \"" + db + "\", timeline " + std::to_string(g.timeline) + ": " +
          g.first_missing + (g.count > 1 ? " .. " + g.last_missing : "") + " (" +
          std::to_string(g.count) + " segment(s)) missing; recovery cannot pass it");
    if (read_data) {
      auto problems = CheckWalObjects(repo, db, &report.bytes_read);
      if (!problems.ok()) return problems.status();
      for (auto& p : *problems) report.errors.push_back(std::move(p));
    }
  }
  return report;
}

}  // namespace pgkeep
