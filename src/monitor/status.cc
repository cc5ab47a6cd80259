#include "monitor/status.h"

#include <algorithm>

#include "common/bytes.h"
#include "common/clock.h"
#include "drill/drill_report.h"
#include "expire/expire.h"
#include "postgres/pg_connector.h"
#include "repo/format.h"
#include "repo/layout.h"

namespace pgkeep {

namespace {

constexpr size_t kAnomalyWindow = 7;

std::string Hours(int64_t seconds) {
  return std::to_string(seconds / 3600) + "h" +
         (seconds % 3600 ? std::to_string(seconds % 3600 / 60) + "m" : "");
}

ArchiverStatus AskArchiver(PgConnector& connector, const DatabaseConfig& db) {
  ArchiverStatus a;
  auto pg = connector.Connect(db.conninfo, "database \"" + db.name + "\"", 5);
  if (!pg.ok()) {
    a.error = pg.status().message();
    return a;
  }
  auto r = (*pg)->Query(
      "SELECT archived_count, coalesce(last_archived_wal, ''), coalesce(last_archived_time::text, "
      "''), "
      "failed_count, coalesce(last_failed_wal, ''), coalesce(last_failed_time::text, ''), "
      "coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) FROM "
      "pg_stat_archiver");
  if (!r.ok()) {
    a.error = r.status().message();
    return a;
  }
  const auto& v = r->rows.at(0).values;
  a.archived_count = std::stoull(v[0].value_or("0"));
  a.last_archived_wal = v[1].value_or("");
  a.last_archived_time = v[2].value_or("");
  a.failed_count = std::stoull(v[3].value_or("0"));
  a.last_failed_wal = v[4].value_or("");
  a.last_failed_time = v[5].value_or("");
  a.failing = v[6].value_or("f") == "t";
  return a;
}

Result<WalStatus> WalStatusOf(const Repository& repo, PgConnector& connector,
                              const std::vector<ObjectInfo>& listing, const DatabaseConfig& db,
                              const std::vector<Snapshot>& snapshots, int64_t now) {
  WalStatus w;
  auto timelines = ReadTimelineReport(repo, db.name, listing);
  if (!timelines.ok()) return timelines.status();
  w.timelines = std::move(*timelines);
  w.analysis =
      AnalyzeWal(ArchivedSegmentsIn(listing, db.name), WalBackupPoints(snapshots, db.name));
  if (w.analysis.last_archived_time > 0)
    w.last_archived_age_seconds = now - w.analysis.last_archived_time;
  w.archiver = AskArchiver(connector, db);
  return w;
}

void AddWalReasons(const WalStatus& w, int64_t now, std::vector<std::string>& reasons) {
  for (const auto& c : ActiveConcurrent(w.timelines, now))
    reasons.push_back("two servers archive WAL at once: timeline " + std::to_string(c.older) +
                      " still received WAL at " + FormatIsoTime(c.older_last_archived) +
                      ", after timeline " + std::to_string(c.newer) + " appeared at " +
                      FormatIsoTime(c.newer_first_archived) +
                      "; a restored copy or an old primary archives with this configuration: set "
                      "archive_mode = off there");
  for (const auto& d : w.timelines.damaged) reasons.push_back("damaged timeline history: " + d);
  for (const auto& g : w.analysis.gaps)
    reasons.push_back("WAL gap on timeline " + std::to_string(g.timeline) + ": " + g.first_missing +
                      (g.count > 1 ? " .. " + g.last_missing : "") + " (" +
                      std::to_string(g.count) + " segment(s)) missing from the repository" +
                      (w.analysis.window ? "; point-in-time recovery reaches back only to " +
                                               FormatIsoTime(w.analysis.window->earliest) +
                                               " (backup " + w.analysis.window->from_backup + ")"
                                         : ""));
  if (!w.archiver.error.empty())
    reasons.push_back("cannot read pg_stat_archiver: " + w.archiver.error);
  else if (w.archiver.failing)
    reasons.push_back("WAL archiving is failing: " + w.archiver.last_failed_wal + " failed at " +
                      w.archiver.last_failed_time + " (" + std::to_string(w.archiver.failed_count) +
                      " failure(s) since the statistics were reset); see the server log");
}

// Damaged snapshot and index objects, and packs the index names that are
// gone: any of it means some backup may not be restorable. Which backups is
// left to `verify` (it reads every manifest); here only index objects are
// read. Unknown names are warnings.
std::vector<std::string> RepositoryDamage(const Repository& repo, const SnapshotList& listed,
                                          const std::vector<ObjectInfo>& listing) {
  std::vector<std::string> damage;
  for (const auto& d : listed.damaged) damage.push_back(d.problem);
  for (const auto& w : UnknownObjectWarnings(listing))
    if (w.rfind("\"" + std::string(kSnapshotsDir), 0) != 0)
      repo.Warn(w);  // those are in listed.damaged already
  auto index = repo.CheckIndex(listing);
  if (!index.ok()) {
    damage.push_back("cannot check the index: " + index.status().message());
    return damage;
  }
  for (const auto& d : index->unreadable_index) damage.push_back(d.problem);
  if (!index->missing_packs.empty()) {
    std::string names;
    for (size_t i = 0; i < index->missing_packs.size() && i < 5; ++i)
      names += (i ? ", " : "") + ("\"" + index->missing_packs[i].name + "\"");
    if (index->missing_packs.size() > 5) names += ", ...";
    damage.push_back("the index names " + std::to_string(index->missing_packs.size()) +
                     " pack(s) that are missing or short (" + names +
                     "); backups using them cannot be restored; run \"pgkeep verify\"");
  }
  return damage;
}

}  // namespace

// The newest drill of `db` (from the listing), and what it says about health:
// a failed last drill, or none newer than max_drill_age when one is required.
void AddDrillStatus(const Repository& repo, const std::vector<ObjectInfo>& listing,
                    const DatabaseConfig& db, int64_t now, DatabaseStatus& st) {
  const std::string prefix = DrillReportObjectName(db.name, "");
  std::string newest;
  for (const auto& o : listing)
    if (o.name.rfind(prefix, 0) == 0 && o.name.size() > prefix.size()) {
      std::string id = o.name.substr(prefix.size());
      if (IsValidSnapshotId(id) && id > newest) newest = id;
    }
  std::string max_age = EffectiveMaxDrillAge(db);
  if (!max_age.empty()) {
    auto seconds = ParseDurationSeconds(max_age);
    st.max_drill_age_seconds = seconds.ok() ? *seconds : 8 * 86400;
  }
  if (newest.empty()) {
    if (st.max_drill_age_seconds > 0)
      st.reasons.push_back("has no drill yet (max_drill_age " + max_age + ")");
    return;
  }
  auto report = ReadDrillReport(repo, db.name, newest);
  if (!report.ok()) {
    st.reasons.push_back("last drill report " + newest +
                         " cannot be read: " + report.status().message());
    return;
  }
  DrillSummary d{report->id,          report->passed,      report->finished, now - report->finished,
                 report->rto.seconds, report->rpo.seconds, report->failures};
  if (!d.passed)
    st.reasons.push_back("last drill " + d.id + " failed" +
                         (d.failures.empty() ? std::string() : ": " + d.failures.front()));
  if (st.max_drill_age_seconds > 0 && d.age_seconds > st.max_drill_age_seconds)
    st.reasons.push_back("last drill " + d.id + " is " + Hours(d.age_seconds) +
                         " old, more than max_drill_age " + max_age);
  st.last_drill = std::move(d);
}

Result<StatusReport> ComputeStatus(const Repository& repo, PgConnector& connector,
                                   const Config& config, const std::string& only_database) {
  StatusReport report;
  report.time = repo.clock().NowSeconds();
  auto listed = repo.ListSnapshots();
  if (!listed.ok()) return listed.status();
  const std::vector<Snapshot>* snapshots = &listed->snapshots;
  // One listing serves the repository's total, every database's WAL and the
  // damage checks.
  auto listing = repo.storage().List("");
  if (!listing.ok()) return listing.status();
  std::vector<std::string> damage = RepositoryDamage(repo, *listed, *listing);
  if (!damage.empty()) report.repository.damaged = damage;

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
      st.last_backup = BackupSummary{last.id,          last.kind,
                                     last.stop_time,   report.time - last.stop_time,
                                     last.stats.bytes, last.stats.stored_bytes};
      if (st.last_backup->age_seconds > st.max_backup_age_seconds)
        st.reasons.push_back("last backup " + last.id + " is " +
                             Hours(st.last_backup->age_seconds) +
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
        a.drop = a.reference_bytes
                     ? 1.0 - static_cast<double>(a.bytes) / static_cast<double>(a.reference_bytes)
                     : 0;
        a.suspicious = a.drop >= a.threshold;
        if (a.suspicious)
          st.reasons.push_back("last backup " + last.id + " is " +
                               std::to_string(static_cast<int>(a.drop * 100 + 0.5)) +
                               "% smaller than the median of the backups before it (" +
                               FormatBytes(a.bytes) + " vs " + FormatBytes(a.reference_bytes) +
                               ")");
        st.size_anomaly = a;
      }
    }
    AddDrillStatus(repo, *listing, db, report.time, st);
    if (db.method == "physical") {
      auto wal = WalStatusOf(repo, connector, *listing, db, *snapshots, report.time);
      if (!wal.ok()) return wal.status();
      AddWalReasons(*wal, report.time, st.reasons);
      st.wal = std::move(*wal);
    }
    st.healthy = st.reasons.empty();
    for (const auto& r : st.reasons) report.reasons.push_back("database \"" + name + "\": " + r);
    report.databases.push_back(std::move(st));
  }

  RepositoryStatus& rs = report.repository;
  rs.location = repo.storage().Describe();
  rs.snapshots = snapshots->size();
  for (const auto& o : *listing) rs.stored_bytes += o.size;
  rs.free_bytes = repo.storage().FreeBytes();
  // Only a record for monitoring: damage there loses nothing, so it warns.
  auto last_expire = ReadLastExpire(repo);
  if (last_expire.ok())
    rs.last_expire = *last_expire;
  else
    repo.Warn(last_expire.status().message() + "; shown as never");
  for (const auto& d : rs.damaged) report.reasons.push_back("repository: " + d);
  report.healthy = report.reasons.empty();
  if (!config.retention_policies.empty()) {
    auto effective = ReportRetention(repo, connector, config, "", only_database);
    if (!effective.ok()) return effective.status();
    report.retention = std::move(*effective);
  }
  return report;
}

namespace {

nlohmann::json WalToJson(const WalStatus& w) {
  nlohmann::json gaps = nlohmann::json::array();
  for (const auto& g : w.analysis.gaps)
    gaps.push_back({{"timeline", g.timeline},
                    {"first", g.first_missing},
                    {"last", g.last_missing},
                    {"count", g.count}});
  nlohmann::json window;
  if (w.analysis.window)
    window = {{"from_backup", w.analysis.window->from_backup},
              {"earliest", FormatIsoTime(w.analysis.window->earliest)},
              {"latest", FormatIsoTime(w.analysis.window->latest)},
              {"last_segment", w.analysis.window->last_segment}};
  const ArchiverStatus& a = w.archiver;
  nlohmann::json archiver = a.error.empty()
                                ? nlohmann::json{{"archived_count", a.archived_count},
                                                 {"last_archived_wal", a.last_archived_wal},
                                                 {"last_archived_time", a.last_archived_time},
                                                 {"failed_count", a.failed_count},
                                                 {"last_failed_wal", a.last_failed_wal},
                                                 {"last_failed_time", a.last_failed_time},
                                                 {"failing", a.failing}}
                                : nlohmann::json{{"error", a.error}};
  nlohmann::json concurrent = nlohmann::json::array();
  for (const auto& c : w.timelines.concurrent)
    concurrent.push_back({{"older", c.older},
                          {"newer", c.newer},
                          {"older_last_archived", FormatIsoTime(c.older_last_archived)},
                          {"newer_first_archived", FormatIsoTime(c.newer_first_archived)}});
  return {{"timelines", TimelinesToJson(w.timelines)},
          {"concurrent_timelines", concurrent},
          {"damaged_history", w.timelines.damaged},
          {"archived_segments", w.analysis.segments},
          {"last_segment", w.analysis.last_segment},
          {"last_archived_time", w.analysis.last_archived_time
                                     ? nlohmann::json(FormatIsoTime(w.analysis.last_archived_time))
                                     : nlohmann::json()},
          {"last_archived_age_seconds", w.last_archived_age_seconds >= 0
                                            ? nlohmann::json(w.last_archived_age_seconds)
                                            : nlohmann::json()},
          {"gaps", gaps},
          {"pitr_window", window},
          {"archiver", archiver}};
}

}  // namespace

nlohmann::json DrillSummaryToJson(const std::optional<DrillSummary>& d) {
  if (!d) return nlohmann::json();
  return {{"id", d->id},
          {"passed", d->passed},
          {"finished", FormatIsoTime(d->finished)},
          {"age_seconds", d->age_seconds},
          {"rto_seconds", d->rto_seconds},
          {"rpo_seconds", d->rpo_seconds},
          {"failures", d->failures}};
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
    nlohmann::json copies = nlohmann::json::array();
    for (const CopyStatus& c : d.copies)
      copies.push_back(
          {{"target", c.target},
           {"newest_backup",
            c.newest_backup.empty() ? nlohmann::json() : nlohmann::json(c.newest_backup)},
           {"newest_end_time", c.newest_backup.empty()
                                   ? nlohmann::json()
                                   : nlohmann::json(FormatIsoTime(c.newest_end_time))},
           {"age_seconds",
            c.newest_backup.empty() ? nlohmann::json() : nlohmann::json(c.age_seconds)},
           {"max_age_seconds",
            c.max_age_seconds > 0 ? nlohmann::json(c.max_age_seconds) : nlohmann::json()},
           {"error", c.error.empty() ? nlohmann::json() : nlohmann::json(c.error)}});
    dbs.push_back({{"name", d.name},
                   {"method", d.method},
                   {"criticality", d.criticality},
                   {"healthy", d.healthy},
                   {"reasons", d.reasons},
                   {"backups", d.backups},
                   {"last_backup", last},
                   {"max_backup_age_seconds", d.max_backup_age_seconds},
                   {"size_anomaly", anomaly},
                   {"wal", d.wal ? WalToJson(*d.wal) : nlohmann::json()},
                   {"last_drill", DrillSummaryToJson(d.last_drill)},
                   {"copies", copies},
                   {"max_drill_age_seconds", d.max_drill_age_seconds > 0
                                                 ? nlohmann::json(d.max_drill_age_seconds)
                                                 : nlohmann::json()}});
  }
  const RepositoryStatus& rs = r.repository;
  nlohmann::json retention = nlohmann::json::array();
  for (const PolicyRetention& p : r.retention) retention.push_back(PolicyRetentionToJson(p));
  return {{"ok", true},
          {"retention_policies", retention},
          {"healthy", r.healthy},
          {"time", FormatIsoTime(r.time)},
          {"reasons", r.reasons},
          {"databases", dbs},
          {"repository",
           {{"location", rs.location},
            {"snapshots", rs.snapshots},
            {"stored_bytes", rs.stored_bytes},
            {"free_bytes", rs.free_bytes >= 0 ? nlohmann::json(rs.free_bytes) : nlohmann::json()},
            {"last_expire", rs.last_expire ? *rs.last_expire : nlohmann::json()},
            {"damaged", rs.damaged}}}};
}

}  // namespace pgkeep
