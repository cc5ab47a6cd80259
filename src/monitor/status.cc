#include "monitor/status.h"

#include <algorithm>

#include "common/bytes.h"
#include "common/clock.h"
#include "expire/expire.h"

namespace pgkeep {

namespace {

constexpr size_t kAnomalyWindow = 7;

std::string Hours(int64_t seconds) {
  return std::to_string(seconds / 3600) + "h" + (seconds % 3600 ? std::to_string(seconds % 3600 / 60) + "m" : "");
}

}  // namespace

Result<StatusReport> ComputeStatus(const Repository& repo, const Config& config,
                                   const std::string& only_database) {
  StatusReport report;
  report.time = repo.clock().NowSeconds();
  auto snapshots = repo.ListSnapshots();
  if (!snapshots.ok()) return snapshots.status();

  for (const auto& [name, db] : config.databases) {
    if (!only_database.empty() && name != only_database) continue;
    DatabaseStatus st;
    st.name = name;
    st.method = db.method;
    st.criticality = db.criticality;
    auto age = ParseDurationSeconds(db.max_backup_age);
    st.max_backup_age_seconds = age.ok() ? *age : 36 * 3600;
    std::vector<const Snapshot*> mine;
    for (const auto& s : *snapshots)
      if (SnapshotDatabase(s) == name) mine.push_back(&s);
    st.backups = mine.size();
    if (mine.empty()) {
      st.reasons.push_back("has no backup yet");
    } else {
      const Snapshot& last = *mine.back();
      st.last_backup = BackupSummary{last.id, last.kind, last.stop_time, report.time - last.stop_time,
                                     last.stats.bytes, last.stats.stored_bytes};
      if (st.last_backup->age_seconds > st.max_backup_age_seconds)
        st.reasons.push_back("last backup " + last.id + " is " + Hours(st.last_backup->age_seconds) +
                             " old, more than max_backup_age " + db.max_backup_age);
      if (mine.size() >= 2) {
        std::vector<uint64_t> previous;
        for (size_t i = mine.size() - 1; i-- > 0 && previous.size() < kAnomalyWindow;)
          previous.push_back(mine[i]->stats.bytes);
        std::sort(previous.begin(), previous.end());
        SizeAnomaly a;
        a.bytes = last.stats.bytes;
        a.reference_bytes = previous[previous.size() / 2];
        a.threshold = db.max_size_drop_percent / 100.0;
        a.drop = a.reference_bytes ? 1.0 - static_cast<double>(a.bytes) / static_cast<double>(a.reference_bytes) : 0;
        a.suspicious = a.drop >= a.threshold;
        if (a.suspicious)
          st.reasons.push_back("last backup " + last.id + " is " + std::to_string(static_cast<int>(a.drop * 100 + 0.5)) +
                               "% smaller than the median of the backups before it (" + FormatBytes(a.bytes) +
                               " vs " + FormatBytes(a.reference_bytes) + ")");
        st.size_anomaly = a;
      }
    }
    st.healthy = st.reasons.empty();
    for (const auto& r : st.reasons) report.reasons.push_back("database \"" + name + "\": " + r);
    report.databases.push_back(std::move(st));
  }

  RepositoryStatus& rs = report.repository;
  rs.location = repo.storage().Describe();
  rs.snapshots = snapshots->size();
  auto listing = repo.storage().List("");
  if (!listing.ok()) return listing.status();
  for (const auto& o : *listing) rs.stored_bytes += o.size;
  rs.free_bytes = repo.storage().FreeBytes();
  auto last_expire = ReadLastExpire(repo);
  if (!last_expire.ok()) return last_expire.status();
  rs.last_expire = *last_expire;
  report.healthy = report.reasons.empty();
  return report;
}

nlohmann::json StatusToJson(const StatusReport& r) {
  nlohmann::json dbs = nlohmann::json::array();
  for (const auto& d : r.databases) {
    nlohmann::json last;
    if (d.last_backup)
      last = {{"id", d.last_backup->id},
              {"kind", d.last_backup->kind},
              {"end_time", FormatIsoTime(d.last_backup->end_time)},
              {"age_seconds", d.last_backup->age_seconds},
              {"bytes", d.last_backup->bytes},
              {"stored_bytes", d.last_backup->stored_bytes}};
    nlohmann::json anomaly;
    if (d.size_anomaly)
      anomaly = {{"bytes", d.size_anomaly->bytes},
                 {"reference_bytes", d.size_anomaly->reference_bytes},
                 {"drop", d.size_anomaly->drop},
                 {"threshold", d.size_anomaly->threshold},
                 {"suspicious", d.size_anomaly->suspicious}};
    dbs.push_back({{"name", d.name},
                   {"method", d.method},
                   {"criticality", d.criticality},
                   {"healthy", d.healthy},
                   {"reasons", d.reasons},
                   {"backups", d.backups},
                   {"last_backup", last},
                   {"max_backup_age_seconds", d.max_backup_age_seconds},
                   {"size_anomaly", anomaly},
                   {"wal", nullptr}});
  }
  const RepositoryStatus& rs = r.repository;
  return {{"ok", true},
          {"healthy", r.healthy},
          {"time", FormatIsoTime(r.time)},
          {"reasons", r.reasons},
          {"databases", dbs},
          {"repository",
           {{"location", rs.location},
            {"snapshots", rs.snapshots},
            {"stored_bytes", rs.stored_bytes},
            {"free_bytes", rs.free_bytes >= 0 ? nlohmann::json(rs.free_bytes) : nlohmann::json()},
            {"last_expire", rs.last_expire ? *rs.last_expire : nlohmann::json()}}}};
}

}  // namespace pgkeep
