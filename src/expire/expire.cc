#include "expire/expire.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <tuple>

#include "repo/pins.h"
#include "repo/snapshot.h"
#include "retention/retention.h"
#include "wal/wal_names.h"
#include "wal/wal_timeline.h"

namespace pgkeep {

namespace {}

Result<ExpireReport> RunExpire(Repository& repo, const Config& config,
                               const ExpireOptions& options) {
  ReportStep(options.progress, "applying retention");
  ExpireReport report;
  report.dry_run = options.dry_run;
  report.time = repo.clock().NowSeconds();
  auto listed = repo.ListSnapshots();
  if (!listed.ok()) return listed.status();
  const std::vector<Snapshot>* snapshots = &listed->snapshots;
  for (const auto& d : listed->damaged) report.damaged_snapshots.push_back(d.name);
  auto pins = ReadPins(repo);
  if (!pins.ok()) return pins.status();

  std::map<std::string, std::vector<size_t>> by_database;
  for (size_t i = 0; i < snapshots->size(); ++i) {
    const Snapshot& s = (*snapshots)[i];
    ExpireDecision d{s.id, SnapshotDatabase(s), s.kind, s.stop_time, s.stats.bytes, true, {}};
    report.decisions.push_back(d);
    by_database[d.database].push_back(i);
  }
  for (auto& [database, indexes] : by_database) {
    auto db = config.databases.find(database);
    if (database.empty() || db == config.databases.end()) {
      for (size_t i : indexes)
        report.decisions[i].reasons.push_back(
            database.empty() ? "not a database backup" : "database not in the configuration");
      continue;
    }
    auto rules = RulesFromConfig(db->second.retention);
    if (!rules.ok()) return rules.status();
    std::vector<BackupRecord> records;
    for (size_t i : indexes) {
      const Snapshot& s = (*snapshots)[i];
      auto pin = pins->find(s.id);
      // Ids are second-precise with a random suffix; the commit time in
      // microseconds, zero-padded, orders snapshots of the same second the
      // way they were taken (retention breaks time ties by id).
      char order_key[32];
      std::snprintf(order_key, sizeof order_key, "%020lld",
                    static_cast<long long>(s.commit_micros));
      records.push_back(
          {order_key, s.stop_time, true, pin != pins->end() && pin->second.HoldsAt(report.time)});
    }
    auto decisions = ApplyRetention(records, *rules, report.time);
    if (!decisions.ok()) return decisions.status();
    for (size_t k = 0; k < indexes.size(); ++k) {
      ExpireDecision& d = report.decisions[indexes[k]];
      d.keep = (*decisions)[k].keep;
      d.reasons = (*decisions)[k].reasons;
    }
  }
  for (const auto& d : report.decisions) report.expired += d.keep ? 0 : 1;

  if (!options.dry_run) {
    // Snapshots first: once one is gone, what only it used is garbage.
    for (const auto& d : report.decisions) {
      if (d.keep) continue;
      PGKEEP_RETURN_IF_ERROR(repo.DeleteSnapshot(d.id));
      if (pins->count(d.id)) PGKEEP_RETURN_IF_ERROR(RemovePin(repo, d.id));
    }
  }
  GcOptions gc = options.gc;
  gc.dry_run = options.dry_run;
  std::vector<Snapshot> kept;
  for (size_t i = 0; i < snapshots->size(); ++i)
    if (report.decisions[i].keep) kept.push_back((*snapshots)[i]);
  if (!listed->damaged.empty()) {
    report.gc_skipped =
        "garbage collection and WAL expiry skipped: " + listed->damaged.front().problem + " (" +
        std::to_string(listed->damaged.size()) +
        " damaged snapshot object(s); what they use is unknown, so nothing is garbage)";
  } else {
    ReportStep(options.progress, "collecting garbage");
    auto collected = CollectGarbage(repo, kept, gc);
    if (collected.ok()) {
      report.gc = *collected;
    } else if (collected.status().code() == ErrorCode::kCheckFailed) {
      report.gc_skipped = collected.status().message() + "; " + collected.status().hint();
    } else {
      return collected.status();
    }
  }
  for (const auto& [name, db] : config.databases) {
    if (!listed->damaged.empty()) break;
    if (db.method != "physical") continue;
    auto points = WalBackupPoints(kept, name);
    if (points.empty()) continue;
    const WalBackupPoint& oldest =
        *std::min_element(points.begin(), points.end(), [](const auto& a, const auto& b) {
          return std::tie(a.timeline, a.start_segment) < std::tie(b.timeline, b.start_segment);
        });
    ReportStep(options.progress, "expiring WAL of database \"" + name + "\"");
    auto obsolete = ObsoleteWalObjects(repo.storage(), name, oldest);
    if (!obsolete.ok()) return obsolete.status();
    WalExpiry w{name, WalSegmentName(oldest.timeline, oldest.start_segment), oldest.id,
                obsolete->size(), 0};
    for (const auto& o : *obsolete) {
      w.bytes += o.size;
      if (!options.dry_run) PGKEEP_RETURN_IF_ERROR(repo.storage().Delete(o.name));
    }
    report.wal.push_back(w);
  }
  // The forget log before the oldest kept backup of each database (less the
  // margin restores use): no restore can need those entries any more.
  for (const auto& [name, db] : config.databases) {
    if (!listed->damaged.empty()) break;
    int64_t oldest = -1;
    for (const Snapshot& s : kept)
      if (SnapshotDatabase(s) == name && (oldest < 0 || s.start_time < oldest))
        oldest = s.start_time;
    if (oldest < 0) continue;
    auto ids = repo.ListForgetEntries(name);
    if (!ids.ok()) return ids.status();
    const std::string before = FormatCompactTime(oldest - kForgetMarginSeconds);
    for (const std::string& id : *ids) {
      if (id.substr(0, before.size()) >= before) break;  // sorted by time
      ++report.forget_entries_removed;
      if (!options.dry_run) PGKEEP_RETURN_IF_ERROR(repo.DeleteForgetEntry(name, id));
    }
  }
  if (!options.dry_run) {
    nlohmann::json summary = {
        {"time", report.time},
        {"expired", report.expired},
        {"bytes_freed", report.gc.bytes_freed},
        {"packs_deleted", report.gc.packs_deleted + report.gc.packs_repacked}};
    PGKEEP_RETURN_IF_ERROR(repo.WriteStateObject(kLastExpireState, AsBytes(summary.dump())));
  }
  return report;
}

Result<std::optional<nlohmann::json>> ReadLastExpire(const Repository& repo) {
  auto plain = repo.ReadStateObject(kLastExpireState);
  if (!plain.ok()) {
    if (plain.status().code() == ErrorCode::kNotFound) return std::optional<nlohmann::json>();
    return plain.status();
  }
  nlohmann::json j = nlohmann::json::parse(AsString(*plain), nullptr, false);
  if (j.is_discarded()) {
    return Status::Error(ErrorCode::kCorrupt,
                         "\"" + StateObjectName(kLastExpireState) + "\" is damaged");
  }
  return std::optional<nlohmann::json>(j);
}

}  // namespace pgkeep
