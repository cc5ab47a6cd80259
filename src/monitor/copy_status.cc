#include "monitor/copy_status.h"

#include <map>

#include "common/clock.h"
#include "repo/snapshot_meta.h"

namespace pgkeep {

void AddCopyStatus(StatusReport& report, const CopyConfig& copy,
                   const Result<SnapshotList>& listing) {
  int64_t max_age = 0;
  if (!copy.max_copy_age.empty()) {
    auto parsed = ParseDurationSeconds(copy.max_copy_age);  // checked when the config was read
    if (parsed.ok()) max_age = *parsed;
  }
  std::map<std::string, const Snapshot*> newest;
  if (listing.ok())
    for (const Snapshot& s : listing->snapshots)  // oldest first
      if (!SnapshotDatabase(s).empty()) newest[SnapshotDatabase(s)] = &s;
  for (DatabaseStatus& d : report.databases) {
    CopyStatus c;
    c.target = copy.name;
    c.max_age_seconds = max_age;
    std::string problem;
    // A target nothing was copied to yet holds no repository: no backup there.
    if (!listing.ok() && listing.status().code() != ErrorCode::kRepoNotFound) {
      c.error = listing.status().message();
      problem = "copy target \"" + copy.name + "\" cannot be read: " + c.error;
    } else if (auto it = newest.find(d.name); listing.ok() && it != newest.end()) {
      c.newest_backup = it->second->id;
      c.newest_end_time = it->second->stop_time;
      c.age_seconds = report.time - it->second->stop_time;
      if (max_age > 0 && c.age_seconds > max_age)
        problem = "the newest backup in copy target \"" + copy.name + "\" (" + c.newest_backup +
                  ") is " + FormatSpan(c.age_seconds) + " old, more than max_copy_age " +
                  copy.max_copy_age;
    } else if (max_age > 0) {
      problem = "copy target \"" + copy.name + "\" holds no backup of it";
    }
    if (!problem.empty()) {
      d.reasons.push_back(problem);
      d.healthy = false;
      report.reasons.push_back("database \"" + d.name + "\": " + problem);
      report.healthy = false;
    }
    d.copies.push_back(std::move(c));
  }
}

}  // namespace pgkeep
