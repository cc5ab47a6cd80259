#include "retention/retention.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <memory>
#include <set>
#include <string_view>
#include <tuple>

namespace pgkeep {
namespace {

namespace chr = std::chrono;

constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo";
constexpr int64_t kDay = 86400;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a backup can have.
constexpr int64_t kMinTime = -62135596800;
constexpr int64_t kMaxTime = 253402300799;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

chr::year_month_day DateOfDay(int64_t day) {
  return chr::year_month_day{chr::sys_days{chr::days{day}}};
}

int64_t DayOf(chr::year_month_day date) { return chr::sys_days{date}.time_since_epoch().count(); }

// ---------------------------------------------------------------------------
// Time zones. libstdc++ 12 has no std::chrono::tzdb, and switching $TZ around
// localtime_r would race with every other thread reading the environment
// (libpq does), so the zone's TZif file (RFC 8536) is read here directly.

// A date of a POSIX TZ rule: "Jn" (1..365, Feb 29 never counted), "n"
// (0..365, Feb 29 counted) or "Mm.w.d" (day d of week w of month m, w = 5
// meaning the last), at `time` seconds local time (may be negative or > 24h).
struct RuleDate {
  enum class Kind { kJulian1, kJulian0, kMonthWeekDay };
  Kind kind = Kind::kJulian0;
  int n = 0;
  int month = 0, week = 0, weekday = 0;
  int32_t time = 2 * 3600;

  int64_t LocalDay(int year) const {
    chr::year y{year};
    switch (kind) {
      case Kind::kJulian1:
        return DayOf(y / chr::January / 1) + n - 1 + (y.is_leap() && n >= 60 ? 1 : 0);
      case Kind::kJulian0:
        return DayOf(y / chr::January / 1) + n;
      case Kind::kMonthWeekDay: {
        chr::month m(static_cast<unsigned>(month));
        chr::weekday wd(static_cast<unsigned>(weekday));
        if (week == 5) return chr::sys_days{y / m / wd[chr::last]}.time_since_epoch().count();
        return chr::sys_days{y / m / wd[static_cast<unsigned>(week)]}.time_since_epoch().count();
      }
    }
    return 0;
  }
};

// The TZif footer: local time after the last listed transition, e.g.
// "CET-1CEST,M3.5.0,M10.5.0/3". Offsets are seconds east of UTC.
struct PosixRule {
  int32_t std_offset = 0;
  bool has_dst = false;
  int32_t dst_offset = 0;
  RuleDate start, end;

  int32_t OffsetAt(int64_t t) const {
    if (!has_dst) return std_offset;
    int year = static_cast<int>(DateOfDay(FloorDiv(t + std_offset, kDay)).year());
    // The latest rule transition at or before t; looking at the neighbouring
    // years too covers southern zones and rule times beyond midnight. On a
    // tie a start wins ("all-year DST" rules end and restart at one instant).
    std::pair<int64_t, bool> latest{LLONG_MIN, false};
    for (int y = year - 1; y <= year + 1; ++y) {
      std::pair<int64_t, bool> s{start.LocalDay(y) * kDay + start.time - std_offset, true};
      std::pair<int64_t, bool> e{end.LocalDay(y) * kDay + end.time - dst_offset, false};
      for (const auto& event : {s, e}) {
        if (event.first <= t && event > latest) latest = event;
      }
    }
    return latest.second ? dst_offset : std_offset;
  }
};

class PosixRuleParser {
 public:
  explicit PosixRuleParser(std::string_view text) : s_(text) {}

  std::optional<PosixRule> Parse() {
    PosixRule rule;
    if (!Name()) return std::nullopt;
    auto std_offset = Hms(24);
    if (!std_offset) return std::nullopt;
    rule.std_offset = -*std_offset;  // POSIX counts west of UTC as positive
    if (AtEnd()) return rule;
    if (!Name()) return std::nullopt;
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + 3600;
    if (!AtEnd() && s_[i_] != ',') {
      auto dst_offset = Hms(24);
      if (!dst_offset) return std::nullopt;
      rule.dst_offset = -*dst_offset;
    }
    // zic always writes the transition dates when there is a DST name.
    if (!Consume(',')) return std::nullopt;
    auto start = Date();
    if (!start || !Consume(',')) return std::nullopt;
    auto end = Date();
    if (!end || !AtEnd()) return std::nullopt;
    rule.start = *start;
    rule.end = *end;
    return rule;
  }

 private:
  bool AtEnd() const { return i_ == s_.size(); }
  bool Consume(char c) {
    if (AtEnd() || s_[i_] != c) return false;
    ++i_;
    return true;
  }

  // "CET" (3+ letters) or "<+0330>".
  bool Name() {
    size_t begin = i_;
    if (Consume('<')) {
      while (!AtEnd() &&
             (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '+' || s_[i_] == '-')) {
        ++i_;
      }
      return i_ > begin + 1 && Consume('>');
    }
    while (!AtEnd() && std::isalpha(static_cast<unsigned char>(s_[i_]))) ++i_;
    return i_ - begin >= 3;
  }

  std::optional<int> Number(int lo, int hi) {
    size_t begin = i_;
    int n = 0;
    while (!AtEnd() && i_ - begin < 4 && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
      n = n * 10 + (s_[i_++] - '0');
    }
    if (i_ == begin || n < lo || n > hi) return std::nullopt;
    return n;
  }

  // [+-]hh[:mm[:ss]] in seconds.
  std::optional<int32_t> Hms(int max_hours) {
    int sign = Consume('-') ? -1 : 1;
    if (sign == 1) Consume('+');
    auto h = Number(0, max_hours);
    if (!h) return std::nullopt;
    int32_t seconds = *h * 3600;
    for (int scale : {60, 1}) {
      if (!Consume(':')) break;
      auto part = Number(0, 59);
      if (!part) return std::nullopt;
      seconds += *part * scale;
    }
    return sign * seconds;
  }

  std::optional<RuleDate> Date() {
    RuleDate d;
    std::optional<int> n;
    if (Consume('J')) {
      d.kind = RuleDate::Kind::kJulian1;
      n = Number(1, 365);
    } else if (Consume('M')) {
      d.kind = RuleDate::Kind::kMonthWeekDay;
      auto m = Number(1, 12);
      auto w = m && Consume('.') ? Number(1, 5) : std::nullopt;
      auto wd = w && Consume('.') ? Number(0, 6) : std::nullopt;
      if (!wd) return std::nullopt;
      d.month = *m;
      d.week = *w;
      d.weekday = *wd;
      n = 0;
    } else {
      n = Number(0, 365);
    }
    if (!n) return std::nullopt;
    d.n = *n;
    if (Consume('/')) {
      auto time = Hms(167);  // RFC 8536 allows -167..167 hours
      if (!time) return std::nullopt;
      d.time = *time;
    }
    return d;
  }

  std::string_view s_;
  size_t i_ = 0;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view data) : data_(data) {}
  bool Has(uint64_t n) const { return data_.size() - pos_ >= n; }
  // Big-endian, sign-extended from `n` bytes; the caller checked Has(n).
  int64_t Signed(size_t n) {
    uint64_t v = Unsigned(n);
    int shift = static_cast<int>(64 - 8 * n);
    return static_cast<int64_t>(v << shift) >> shift;
  }
  uint64_t Unsigned(size_t n) {
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k) v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return v;
  }
  void Skip(size_t n) { pos_ += n; }
  std::string_view Rest() const { return data_.substr(pos_); }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// The file's contents, or "" when it cannot be read (a directory, say) or is
// larger than any zone file.
std::string ReadSmallFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), std::fclose);
  if (!f) return {};
  constexpr size_t kLimit = 1 << 20;
  std::string data(kLimit + 1, '\0');
  size_t n = std::fread(data.data(), 1, data.size(), f.get());
  if (std::ferror(f.get()) || n > kLimit) return {};
  data.resize(n);
  return data;
}

// UTC offsets of one zone over time. Default-constructed: UTC.
class TimeZone {
 public:
  static Result<TimeZone> Load(const std::string& name) {
    if (name == "UTC") return TimeZone();
    auto unknown = [&name] {
      return Status::Error(ErrorCode::kConfig, "unknown time zone \"" + name + "\"",
                           "use an IANA time zone name such as \"Europe/Berlin\" or \"UTC\" (see " +
                               std::string(kZoneInfoDir) + ")");
    };
    if (!ValidName(name)) return unknown();
    std::string path = std::string(kZoneInfoDir) + "/" + name;
    std::string data = ReadSmallFile(path);
    if (data.empty()) return unknown();  // absent, unreadable, or a directory
    std::optional<TimeZone> zone = Parse(data);
    if (!zone) {
      return Status::Error(
          ErrorCode::kConfig,
          "time zone \"" + name + "\": file \"" + path + "\" is not a valid TZif file",
          "reinstall the system's tzdata package");
    }
    return *std::move(zone);
  }

  int32_t OffsetAt(int64_t t) const {
    if (transitions_.empty() || t >= transitions_.back()) {
      if (footer_) return footer_->OffsetAt(t);
      return offsets_[transitions_.empty() ? 0 : types_.back()];
    }
    if (t < transitions_.front()) return offsets_[0];  // RFC 8536: type 0 before the first
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    return offsets_[types_[static_cast<size_t>(it - transitions_.begin()) - 1]];
  }

 private:
  TimeZone() : offsets_{0} {}

  static bool ValidName(std::string_view name) {
    size_t begin = 0;
    while (true) {
      size_t slash = std::min(name.find('/', begin), name.size());
      std::string_view part = name.substr(begin, slash - begin);
      if (part.empty() || part == "." || part == "..") return false;
      for (char c : part) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '+' &&
            c != '.') {
          return false;
        }
      }
      if (slash == name.size()) return true;
      begin = slash + 1;
    }
  }

  struct Header {
    char version = 0;
    uint64_t isut = 0, isstd = 0, leap = 0, time = 0, type = 0, chars = 0;
    uint64_t BlockSize(uint64_t time_size) const {
      return time * time_size + time + type * 6 + chars + leap * (time_size + 4) + isstd + isut;
    }
  };

  static std::optional<Header> ReadHeader(ByteReader& r) {
    if (!r.Has(44) || r.Rest().substr(0, 4) != "TZif") return std::nullopt;
    Header h;
    r.Skip(4);
    h.version = static_cast<char>(r.Unsigned(1));
    r.Skip(15);
    for (uint64_t* count : {&h.isut, &h.isstd, &h.leap, &h.time, &h.type, &h.chars}) {
      *count = r.Unsigned(4);
    }
    if (h.type == 0 || h.type > 256 || h.time > 100000 || h.leap > 100000) return std::nullopt;
    return h;
  }

  // The data block after `h`; leap seconds and designations are not needed
  // for calendar dates.
  static std::optional<TimeZone> Parse(std::string_view data) {
    ByteReader r(data);
    auto h = ReadHeader(r);
    if (!h || !r.Has(h->BlockSize(4))) return std::nullopt;
    size_t time_size = 4;
    if (h->version != 0) {  // version 2+: skip the 32-bit block, use the 64-bit one
      r.Skip(h->BlockSize(4));
      h = ReadHeader(r);
      time_size = 8;
      if (!h || !r.Has(h->BlockSize(8))) return std::nullopt;
    }
    TimeZone zone;
    zone.offsets_.clear();
    for (uint64_t k = 0; k < h->time; ++k) {
      int64_t t = r.Signed(time_size);
      if (!zone.transitions_.empty() && t <= zone.transitions_.back()) return std::nullopt;
      zone.transitions_.push_back(t);
    }
    for (uint64_t k = 0; k < h->time; ++k) {
      zone.types_.push_back(static_cast<uint8_t>(r.Unsigned(1)));
      if (zone.types_.back() >= h->type) return std::nullopt;
    }
    for (uint64_t k = 0; k < h->type; ++k) {
      int64_t offset = r.Signed(4);
      r.Skip(2);  // isdst, designation index
      if (offset < -48 * 3600 || offset > 48 * 3600) return std::nullopt;
      zone.offsets_.push_back(static_cast<int32_t>(offset));
    }
    r.Skip(h->BlockSize(time_size) - h->time * (time_size + 1) - h->type * 6);
    if (time_size == 8) {
      std::string_view rest = r.Rest();
      size_t close = rest.size() >= 2 && rest[0] == '\n' ? rest.find('\n', 1) : std::string::npos;
      if (close == std::string::npos) return std::nullopt;
      std::string_view footer = rest.substr(1, close - 1);
      if (!footer.empty()) {
        zone.footer_ = PosixRuleParser(footer).Parse();
        if (!zone.footer_) return std::nullopt;
      }
    }
    return zone;
  }

  std::vector<int64_t> transitions_;  // ascending, unix seconds
  std::vector<uint8_t> types_;        // per transition: index into offsets_
  std::vector<int32_t> offsets_;      // seconds east of UTC; never empty
  std::optional<PosixRule> footer_;
};

// ---------------------------------------------------------------------------
// Calendar periods.

std::string DayKey(chr::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

// ISO 8601: weeks start on Monday and belong to the year of their Thursday.
std::string WeekKey(chr::year_month_day d) {
  chr::sys_days day{d};
  chr::sys_days thursday = day - chr::days{chr::weekday{day}.iso_encoding() - 1} + chr::days{3};
  chr::year year = chr::year_month_day{thursday}.year();
  auto week = (thursday - chr::sys_days{year / chr::January / 1}).count() / 7 + 1;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", static_cast<int>(year), static_cast<int>(week));
  return buf;
}

std::string MonthKey(chr::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()));
  return buf;
}

std::string YearKey(chr::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", static_cast<int>(d.year()));
  return buf;
}

// "7d", "36h", "90m", "45s": the largest unit that divides exactly (weeks are
// shown as days, the unit people say retention in).
std::string FormatDuration(int64_t seconds) {
  for (auto [unit, suffix] : {std::pair<int64_t, char>{kDay, 'd'}, {3600, 'h'}, {60, 'm'}}) {
    if (seconds % unit == 0) return std::to_string(seconds / unit) + suffix;
  }
  return std::to_string(seconds) + "s";
}

Status CheckRules(const RetentionRules& rules) {
  struct Count {
    const char* name;
    std::optional<int> value;
  };
  for (const auto& [name, value] :
       {Count{"last", rules.last}, Count{"daily", rules.daily}, Count{"weekly", rules.weekly},
        Count{"monthly", rules.monthly}, Count{"yearly", rules.yearly},
        Count{"min_keep", rules.min_keep}}) {
    if (value && *value < 0) {
      return Status::Error(ErrorCode::kConfig, "retention " + std::string(name) +
                                                   " must not be negative, not " +
                                                   std::to_string(*value));
    }
  }
  if (rules.within_seconds < 0) {
    return Status::Error(ErrorCode::kConfig, "retention within must not be negative");
  }
  return Status::Ok();
}

bool HasAnyRule(const RetentionRules& r) {
  return r.last || r.daily || r.weekly || r.monthly || r.yearly || r.within_seconds > 0;
}

}  // namespace

Result<std::vector<RetentionDecision>> ApplyRetention(const std::vector<BackupRecord>& records,
                                                      const RetentionRules& rules, int64_t now) {
  PGKEEP_RETURN_IF_ERROR(CheckRules(rules));
  auto zone = TimeZone::Load(rules.timezone);
  if (!zone.ok()) return zone.status();
  for (const BackupRecord& r : records) {
    if (r.time < kMinTime || r.time > kMaxTime) {
      return Status::Error(ErrorCode::kInternal, "backup \"" + r.id + "\" has an impossible time " +
                                                     std::to_string(r.time));
    }
  }
  if (now < kMinTime || now > kMaxTime) {
    return Status::Error(ErrorCode::kInternal, "impossible current time " + std::to_string(now));
  }

  std::vector<std::vector<std::string>> reasons(records.size());
  if (!HasAnyRule(rules)) {
    for (auto& r : reasons) r.push_back("no retention rules");
  } else {
    // Successful backups, newest first; the id breaks ties so the result
    // does not depend on the order the caller listed them in.
    std::vector<size_t> order;
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].successful) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&records](size_t a, size_t b) {
      return std::tie(records[a].time, records[a].id) > std::tie(records[b].time, records[b].id);
    });
    std::vector<chr::year_month_day> local(records.size());
    for (size_t i : order) {
      local[i] = DateOfDay(FloorDiv(records[i].time + zone->OffsetAt(records[i].time), kDay));
    }

    struct Period {
      const char* rule;
      std::optional<int> count;
      std::string (*key)(chr::year_month_day);
    };
    for (const Period& p :
         {Period{"daily", rules.daily, DayKey}, Period{"weekly", rules.weekly, WeekKey},
          Period{"monthly", rules.monthly, MonthKey}, Period{"yearly", rules.yearly, YearKey}}) {
      if (!p.count) continue;
      // Only periods that have a successful backup are counted, so days (or
      // weeks, ...) of failures never push good backups out of the window.
      std::set<std::string> seen;
      for (size_t i : order) {
        if (seen.size() >= static_cast<size_t>(*p.count)) break;
        std::string key = p.key(local[i]);
        if (seen.insert(key).second) reasons[i].push_back(std::string(p.rule) + " " + key);
      }
    }
    for (size_t rank = 0; rank < order.size(); ++rank) {
      size_t i = order[rank];
      if (rules.last && rank < static_cast<size_t>(*rules.last)) {
        reasons[i].push_back("last " + std::to_string(rank + 1));
      }
      if (rules.within_seconds > 0 && records[i].time > now - rules.within_seconds) {
        reasons[i].push_back("within " + FormatDuration(rules.within_seconds));
      }
      if (rank < static_cast<size_t>(rules.min_keep)) reasons[i].push_back("min_keep");
    }
  }

  std::vector<RetentionDecision> decisions;
  decisions.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    RetentionDecision d;
    d.id = records[i].id;
    d.reasons = std::move(reasons[i]);
    if (records[i].pinned) d.reasons.push_back("pinned");
    d.keep = !d.reasons.empty();
    if (!d.keep) d.reasons.push_back(records[i].successful ? "matches no rule" : "failed backup");
    decisions.push_back(std::move(d));
  }
  return decisions;
}

Result<RetentionRules> RulesFromConfig(const RetentionConfig& config) {
  RetentionRules rules;
  rules.last = config.last;
  rules.daily = config.daily;
  rules.weekly = config.weekly;
  rules.monthly = config.monthly;
  rules.yearly = config.yearly;
  rules.min_keep = config.min_keep;
  if (!config.within.empty()) {
    auto seconds = ParseDurationSeconds(config.within);
    if (!seconds.ok()) return seconds.status().WithContext("retention.within");
    rules.within_seconds = *seconds;
  }
  PGKEEP_RETURN_IF_ERROR(CheckRules(rules));
  auto zone = TimeZone::Load(config.timezone);
  if (!zone.ok()) return zone.status().WithContext("retention.timezone");
  rules.timezone = config.timezone;
  return rules;
}

}  // namespace pgkeep
