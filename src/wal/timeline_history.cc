#include "wal/timeline_history.h"

#include <algorithm>
#include <sstream>

#include "common/clock.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

// History files hold one short line per ancestor; anything bigger is not one.
constexpr uint64_t kMaxHistoryBytes = 1 << 20;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

std::optional<uint32_t> ParseTimelineNumber(const std::string& text) {
  if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  uint64_t v = std::stoull(text);
  if (v == 0 || v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

std::string TimeText(int64_t t) { return t > 0 ? FormatIsoTime(t) : "unknown"; }

}  // namespace

Result<std::vector<TimelineSwitch>> ParseTimelineHistory(std::string_view text, uint32_t timeline) {
  std::vector<TimelineSwitch> out;
  std::istringstream in{std::string(text)};
  int line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    std::string t = Trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status::Error(ErrorCode::kCorrupt, "history of timeline " + std::to_string(timeline) +
                                                    ", line " + std::to_string(line_no) + ": " +
                                                    why);
    };
    std::istringstream fields(t);
    std::string tli_text, lsn_text;
    fields >> tli_text >> lsn_text;
    auto parent = ParseTimelineNumber(tli_text);
    auto lsn = ParseLsn(lsn_text);
    if (!parent || !lsn) return bad("expected \"<timeline> <LSN> <reason>\"");
    if (*parent >= timeline)
      return bad("parent timeline " + tli_text + " is not below " + std::to_string(timeline));
    if (!out.empty() && (*parent <= out.back().parent || *lsn < out.back().switch_lsn))
      return bad("parents must increase and switch points must not go back");
    std::string reason;
    std::getline(fields, reason);
    out.push_back({*parent, *lsn, Trim(reason)});
  }
  return out;
}

void TimelineTree::Add(uint32_t timeline, std::vector<TimelineSwitch> history) {
  histories_[timeline] = std::move(history);
}

std::vector<TimelineSpan> TimelineTree::Lineage(uint32_t timeline) const {
  std::vector<TimelineSpan> spans;
  uint64_t begin = 0;
  auto it = histories_.find(timeline);
  if (it != histories_.end()) {
    for (const auto& sw : it->second) {
      spans.push_back({sw.parent, begin, sw.switch_lsn});
      begin = sw.switch_lsn;
    }
  }
  spans.push_back({timeline, begin, UINT64_MAX});
  return spans;
}

bool TimelineTree::Contains(uint32_t timeline, uint32_t point_timeline, uint64_t lsn) const {
  for (const auto& span : Lineage(timeline)) {
    // A backup consistent exactly at the switch point replays into the child.
    if (span.timeline == point_timeline)
      return lsn >= span.begin && (span.end == UINT64_MAX || lsn <= span.end);
  }
  return false;
}

std::optional<TimelineSwitch> TimelineTree::Fork(uint32_t timeline) const {
  auto it = histories_.find(timeline);
  if (it == histories_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<uint32_t> TimelineTree::Timelines() const {
  std::vector<uint32_t> out;
  for (const auto& [t, h] : histories_) out.push_back(t);
  return out;
}

Result<TimelineReport> ReadTimelineReport(const Repository& repo, const std::string& db,
                                          const std::vector<ObjectInfo>& wal_listing) {
  TimelineReport report;
  std::map<uint32_t, TimelineInfo> info;
  const std::string prefix = WalPrefix(db);
  auto codec = repo.NewCodec();
  for (const auto& o : wal_listing) {
    if (o.name.rfind(prefix, 0) != 0) continue;
    std::string name = o.name.substr(o.name.rfind('/') + 1);
    auto kind = ClassifyWalFileName(name);
    if (kind == WalFileKind::kSegment) {
      uint32_t tli = 0;
      uint64_t segno = 0;
      if (!ParseWalSegmentName(name, &tli, &segno)) continue;
      TimelineInfo& t = info[tli];
      t.timeline = tli;
      ++t.segments;
      if (t.first_segment.empty() || name < t.first_segment) t.first_segment = name;
      if (t.last_segment.empty() || name > t.last_segment) t.last_segment = name;
      t.last_archived = std::max(t.last_archived, o.modified);
      // A timeline's history file, when there is one, sets its birth instead.
      bool earlier = t.first_archived == 0 || (o.modified > 0 && o.modified < t.first_archived);
      if (earlier && !t.fork) t.first_archived = o.modified;
      continue;
    }
    if (kind != WalFileKind::kHistory) continue;
    // A history name is 8 hex digits, so this fits.
    auto tli =
        std::optional<uint32_t>(static_cast<uint32_t>(std::stoul(name.substr(0, 8), nullptr, 16)));
    if (*tli == 0) continue;
    auto damaged = [&](const std::string& why) {
      report.damaged.push_back("WAL object \"" + o.name + "\": " + why);
    };
    if (o.size > kMaxHistoryBytes) {
      damaged("is " + std::to_string(o.size) + " bytes, more than any timeline history");
      continue;
    }
    auto stored = repo.storage().Get(o.name);
    if (!stored.ok()) {
      if (stored.status().code() != ErrorCode::kNotFound) damaged(stored.status().message());
      continue;
    }
    auto plain = codec->DecodeObject(*stored, o.name);
    if (!plain.ok()) {
      damaged(plain.status().message());
      continue;
    }
    auto history = ParseTimelineHistory(AsString(*plain), *tli);
    if (!history.ok()) {
      damaged(history.status().message());
      continue;
    }
    TimelineInfo& t = info[*tli];
    t.timeline = *tli;
    if (!history->empty()) t.fork = history->back();
    // The history file is archived when the timeline starts: its time is
    // the timeline's birth, even when its first segments come later.
    t.first_archived = o.modified;
    report.tree.Add(*tli, std::move(*history));
  }
  for (auto& [tli, t] : info) report.timelines.push_back(t);

  // Any two timelines, the older (by birth) still archiving well after the
  // newer appeared: two servers write into one archive.
  for (const auto& a : report.timelines) {
    for (const auto& b : report.timelines) {
      if (&a == &b || a.first_archived == 0 || b.first_archived == 0) continue;
      // `a` must be the older: the ancestor when one descends from the
      // other, else the one born first.
      auto lineage_b = report.tree.Lineage(b.timeline);
      auto lineage_a = report.tree.Lineage(a.timeline);
      auto has = [](const std::vector<TimelineSpan>& l, uint32_t t) {
        return std::any_of(l.begin(), l.end(),
                           [&](const TimelineSpan& x) { return x.timeline == t; });
      };
      if (has(lineage_a, b.timeline)) continue;  // b is a's ancestor: seen the other way round
      if (!has(lineage_b, a.timeline) &&
          std::tie(a.first_archived, a.timeline) >= std::tie(b.first_archived, b.timeline))
        continue;
      if (a.last_archived > b.first_archived + kConcurrentGraceSeconds && b.segments > 0)
        report.concurrent.push_back({a.timeline, b.timeline, a.last_archived, b.first_archived});
    }
  }
  return report;
}

std::vector<ConcurrentTimelines> ActiveConcurrent(const TimelineReport& report, int64_t now) {
  std::vector<ConcurrentTimelines> out;
  for (const auto& c : report.concurrent) {
    int64_t newer_last = 0;
    for (const auto& t : report.timelines)
      if (t.timeline == c.newer) newer_last = t.last_archived;
    if (now - c.older_last_archived < kConcurrentActiveSeconds &&
        now - newer_last < kConcurrentActiveSeconds)
      out.push_back(c);
  }
  return out;
}

std::string FormatTimelineTree(const TimelineReport& report, const std::string& indent) {
  std::map<uint32_t, std::vector<const TimelineInfo*>> children;
  std::vector<const TimelineInfo*> roots;
  std::map<uint32_t, const TimelineInfo*> by_number;
  for (const auto& t : report.timelines) by_number[t.timeline] = &t;
  for (const auto& t : report.timelines) {
    if (t.fork && by_number.count(t.fork->parent))
      children[t.fork->parent].push_back(&t);
    else
      roots.push_back(&t);
  }
  std::string out;
  auto line = [&](const TimelineInfo& t, int depth, auto& self) -> void {
    out += indent + std::string(depth * 3, ' ') + (depth ? "└─ " : "") + "timeline " +
           std::to_string(t.timeline);
    if (t.fork)
      out += " from " + std::to_string(t.fork->parent) + " at " + FormatLsn(t.fork->switch_lsn);
    out += ": first archived " + TimeText(t.first_archived) + ", " + std::to_string(t.segments) +
           " segment(s)";
    if (!t.last_segment.empty())
      out += ", newest " + t.last_segment + " at " + TimeText(t.last_archived);
    out += "\n";
    for (const TimelineInfo* c : children[t.timeline]) self(*c, depth + 1, self);
  };
  for (const TimelineInfo* r : roots) line(*r, 0, line);
  return out;
}

nlohmann::json TimelinesToJson(const TimelineReport& report) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& t : report.timelines) {
    nlohmann::json j = {
        {"timeline", t.timeline},
        {"parent", t.fork ? nlohmann::json(t.fork->parent) : nlohmann::json()},
        {"fork_lsn", t.fork ? nlohmann::json(FormatLsn(t.fork->switch_lsn)) : nlohmann::json()},
        {"first_archived",
         t.first_archived > 0 ? nlohmann::json(FormatIsoTime(t.first_archived)) : nlohmann::json()},
        {"last_archived",
         t.last_archived > 0 ? nlohmann::json(FormatIsoTime(t.last_archived)) : nlohmann::json()},
        {"segments", t.segments},
        {"newest_segment", t.last_segment}};
    list.push_back(j);
  }
  return list;
}

}  // namespace pgkeep
