// wal/timeline_history.h — which timeline forked from which, and where.
//
// PostgreSQL starts a new timeline whenever a cluster ends recovery (a
// promotion, a point-in-time restore) and archives "TTTTTTTT.history": one
// line per ancestor, oldest first, "<parent tli>\t<switch LSN>\t<reason>",
// meaning WAL of <parent tli> up to <switch LSN> belongs to this timeline's
// past. A restored copy that archives into its original's repository adds
// such a timeline beside the original's, so "the highest timeline" is not
// "the production database": restore picks the timeline whose history holds
// both the backup and the target, and status names two timelines that keep
// receiving WAL at once.
//
// Pure functions plus one reader (ReadTimelineTree); thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repo/repository.h"
#include "wal/wal_timeline.h"

namespace pgkeep {

struct TimelineSwitch {
  uint32_t parent = 0;      // the ancestor timeline
  uint64_t switch_lsn = 0;  // where WAL of `parent` stops belonging to this history
  std::string reason;
};

// Parses a history file of `timeline`. kCorrupt when a line is malformed, a
// parent is not below `timeline` or not increasing, or switch points go back.
Result<std::vector<TimelineSwitch>> ParseTimelineHistory(std::string_view text, uint32_t timeline);

// One stretch of a timeline's past: WAL of `timeline` in [begin, end).
struct TimelineSpan {
  uint32_t timeline = 0;
  uint64_t begin = 0;
  uint64_t end = UINT64_MAX;  // UINT64_MAX: the timeline itself, still open
};

class TimelineTree {
 public:
  // Records the history of `timeline` (as parsed from its history file).
  void Add(uint32_t timeline, std::vector<TimelineSwitch> history);
  bool Known(uint32_t timeline) const { return timeline == 1 || histories_.count(timeline) > 0; }
  // The past of `timeline`, oldest first, ending with the timeline itself
  // (a timeline without a history file has only itself).
  std::vector<TimelineSpan> Lineage(uint32_t timeline) const;
  // Whether recovery towards `timeline` passes position `lsn` of
  // `point_timeline`: a backup that became consistent there can be replayed
  // into `timeline`.
  bool Contains(uint32_t timeline, uint32_t point_timeline, uint64_t lsn) const;
  // The timeline `timeline` forked from and where; nullopt for a root.
  std::optional<TimelineSwitch> Fork(uint32_t timeline) const;
  // Timelines with a history file, ascending.
  std::vector<uint32_t> Timelines() const;

 private:
  std::map<uint32_t, std::vector<TimelineSwitch>> histories_;
};

// What the archive holds of one timeline, for status, verify and list.
struct TimelineInfo {
  uint32_t timeline = 0;
  std::optional<TimelineSwitch> fork;  // parent and switch LSN
  int64_t first_archived = 0;          // its history file's (or first segment's) archive time
  int64_t last_archived = 0;           // its newest segment's archive time
  uint64_t segments = 0;
  std::string first_segment;
  std::string last_segment;
};

// Two timelines that both kept receiving WAL: `older` after `newer` had
// appeared (two servers archiving into one database's WAL).
struct ConcurrentTimelines {
  uint32_t older = 0;
  uint32_t newer = 0;
  int64_t older_last_archived = 0;
  int64_t newer_first_archived = 0;
};

struct TimelineReport {
  TimelineTree tree;
  std::vector<TimelineInfo> timelines;  // ascending by number
  std::vector<std::string> damaged;     // history objects that do not decode or parse
  std::vector<ConcurrentTimelines> concurrent;
};

// A timeline still archiving this long after a newer one appeared is a
// second writer, not the old primary's last segments before a switchover.
constexpr int64_t kConcurrentGraceSeconds = 120;
// "While" both receive WAL: a pair whose older member archived nothing for
// this long is history (still listed, no longer unhealthy).
constexpr int64_t kConcurrentActiveSeconds = 24 * 3600;

// The timelines of `db` from the archive listing `wal_listing` (objects under
// WalPrefix(db) or the whole repository); history objects are read and
// decoded through `repo`. `now` decides which concurrent pairs are active.
Result<TimelineReport> ReadTimelineReport(const Repository& repo, const std::string& db,
                                          const std::vector<ObjectInfo>& wal_listing);

// Pairs that are still concurrent at `now` (both archived within
// kConcurrentActiveSeconds).
std::vector<ConcurrentTimelines> ActiveConcurrent(const TimelineReport& report, int64_t now);

// Text lines drawing the tree ("1", "└─ 2  from 1 at 0/5000000 ..."), each
// indented by `indent`.
std::string FormatTimelineTree(const TimelineReport& report, const std::string& indent);
nlohmann::json TimelinesToJson(const TimelineReport& report);

}  // namespace pgkeep
