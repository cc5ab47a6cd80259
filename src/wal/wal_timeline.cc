#include "wal/wal_timeline.h"

#include <algorithm>
#include <map>
#include <set>

#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

void AddGap(std::vector<WalGap>& gaps, uint32_t tli, uint64_t from, uint64_t to) {
  if (from > to) return;
  gaps.push_back({tli, WalSegmentName(tli, from), WalSegmentName(tli, to), to - from + 1});
}

}  // namespace

WalAnalysis AnalyzeWal(std::vector<ArchivedSegment> segments,
                       const std::vector<WalBackupPoint>& backups) {
  WalAnalysis a;
  std::sort(segments.begin(), segments.end(),
            [](const ArchivedSegment& x, const ArchivedSegment& y) {
              return std::tie(x.timeline, x.segment_no) < std::tie(y.timeline, y.segment_no);
            });
  a.segments = segments.size();
  std::map<uint32_t, std::map<uint64_t, const ArchivedSegment*>> by_tli;
  for (const auto& s : segments) by_tli[s.timeline][s.segment_no] = &s;
  if (!segments.empty()) {
    a.last_segment = segments.back().name;
    a.last_archived_time = segments.back().archived_time;
  }

  // Gaps: per timeline, between the first segment the oldest backup there
  // needs (or the first archived, without backups) and the last one archived
  // or needed.
  std::set<uint32_t> timelines;
  for (const auto& [t, m] : by_tli) timelines.insert(t);
  for (const auto& b : backups) timelines.insert(b.timeline);
  for (uint32_t t : timelines) {
    const auto& present = by_tli[t];
    std::optional<uint64_t> low, high;
    if (!present.empty()) {
      low = present.begin()->first;
      high = present.rbegin()->first;
    }
    // WAL older than every backup on this timeline is needed by none: its
    // holes are not gaps.
    std::optional<uint64_t> oldest_start;
    for (const auto& b : backups) {
      if (b.timeline != t) continue;
      oldest_start = oldest_start ? std::min(*oldest_start, b.start_segment) : b.start_segment;
      high = high ? std::max(*high, b.stop_segment) : b.stop_segment;
    }
    if (oldest_start) low = oldest_start;
    if (!low) continue;
    uint64_t expect = *low;
    for (const auto& [segno, s] : present) {
      if (segno < expect) continue;
      if (segno > expect) AddGap(a.gaps, t, expect, segno - 1);
      expect = segno + 1;
    }
    if (expect <= *high) AddGap(a.gaps, t, expect, *high);
  }

  // The window, on the newest backup's timeline.
  if (backups.empty()) return a;
  // Of backups ending in the same second, the later one in `backups` (commit
  // order) is the newest.
  const WalBackupPoint* newest_ptr = &backups.front();
  for (const auto& b : backups)
    if (b.stop_time >= newest_ptr->stop_time) newest_ptr = &b;
  const WalBackupPoint& newest = *newest_ptr;
  const auto& present = by_tli[newest.timeline];
  if (!present.count(newest.start_segment)) return a;
  uint64_t end = newest.start_segment;
  while (present.count(end + 1)) ++end;
  if (end < newest.stop_segment) return a;  // the newest backup itself lacks WAL
  PitrWindow w;
  w.last_segment = present.at(end)->name;
  w.latest = present.at(end)->archived_time;
  w.from_backup = newest.id;
  w.earliest = newest.stop_time;
  // Older backups count while the run reaches back to their start.
  uint64_t run_start = newest.start_segment;
  while (run_start > 0 && present.count(run_start - 1)) --run_start;
  const WalBackupPoint* oldest = &newest;
  for (const auto& b : backups) {
    if (b.timeline != newest.timeline || b.start_segment < run_start) continue;
    // Same second: the earlier in commit order is the older.
    if (b.stop_time < oldest->stop_time || (b.stop_time == oldest->stop_time && &b < oldest))
      oldest = &b;
  }
  w.earliest = oldest->stop_time;
  w.from_backup = oldest->id;
  a.window = w;
  return a;
}

std::vector<WalBackupPoint> WalBackupPoints(const std::vector<Snapshot>& snapshots,
                                            const std::string& db) {
  std::vector<WalBackupPoint> out;
  for (const auto& s : snapshots) {
    if (!IsPhysicalKind(s.kind) || SnapshotDatabase(s) != db) continue;
    WalBackupPoint p;
    p.id = s.id;
    uint32_t tli = 0;
    uint64_t start = 0, stop = 0;
    auto text = [&](const char* key) {
      auto it = s.meta.find(key);
      return it != s.meta.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!ParseWalSegmentName(text(kMetaStartWal), &tli, &start) ||
        !ParseWalSegmentName(text(kMetaStopWal), &tli, &stop))
      continue;
    auto micros = s.meta.find(kMetaStopMicros);
    p.timeline = tli;
    p.start_segment = start;
    p.stop_segment = stop;
    // Rounded up: the window's start must be a time recovery can be asked for.
    p.stop_time = micros != s.meta.end() && micros->is_number_integer()
                      ? (micros->get<int64_t>() + 999999) / 1000000
                      : s.stop_time;
    out.push_back(p);
  }
  return out;
}

Result<std::vector<ArchivedSegment>> ListArchivedSegments(Storage& storage, const std::string& db) {
  auto listing = storage.List(WalPrefix(db));
  if (!listing.ok()) return listing.status();
  return ArchivedSegmentsIn(*listing, db);
}

std::vector<ArchivedSegment> ArchivedSegmentsIn(const std::vector<ObjectInfo>& listing,
                                                const std::string& db) {
  const std::string prefix = WalPrefix(db);
  std::vector<ArchivedSegment> out;
  for (const auto& o : listing) {
    if (o.name.rfind(prefix, 0) != 0) continue;
    std::string name = o.name.substr(o.name.rfind('/') + 1);
    if (ClassifyWalFileName(name) != WalFileKind::kSegment) continue;
    ArchivedSegment s;
    s.name = name;
    ParseWalSegmentName(name, &s.timeline, &s.segment_no);
    s.archived_time = o.modified;
    s.stored_bytes = o.size;
    out.push_back(s);
  }
  return out;
}

Result<std::vector<ObjectInfo>> ObsoleteWalObjects(Storage& storage, const std::string& db,
                                                   const WalBackupPoint& oldest_kept) {
  auto listing = storage.List(WalPrefix(db));
  if (!listing.ok()) return listing.status();
  std::vector<ObjectInfo> out;
  for (const auto& o : *listing) {
    std::string name = o.name.substr(o.name.rfind('/') + 1);
    auto kind = ClassifyWalFileName(name);
    if (!kind || *kind == WalFileKind::kHistory) continue;
    uint32_t tli = 0;
    uint64_t segno = 0;
    if (!ParseWalSegmentName(name, &tli, &segno)) continue;
    if (tli <= oldest_kept.timeline && segno < oldest_kept.start_segment) out.push_back(o);
  }
  std::sort(out.begin(), out.end(),
            [](const ObjectInfo& x, const ObjectInfo& y) { return x.name < y.name; });
  return out;
}

}  // namespace pgkeep
