#include "common/cron.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <vector>

namespace pgkeep {

namespace {

struct Field {
  const char* name;
  int low;
  int high;
  const char* const* names;  // names for low.., or null
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
constexpr Field kFields[] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day of month", 1, 31, nullptr},
                             {"month", 1, 12, kMonthNames},
                             {"day of week", 0, 7, kDayNames}};
constexpr int kSearchDays = 366 * 8 + 2;

Status Bad(const std::string& text, const Field& f, const std::string& what) {
  return Status::Error(ErrorCode::kConfig,
                       "cron expression \"" + text + "\": " + f.name + " " + what,
                       "five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * "
                       "*\" (02:00 every day), \"*/15 * * * *\", \"0 3 * * sun\"");
}

// A number or (for months and weekdays) a name; nullopt if neither.
std::optional<int> Value(const std::string& s, const Field& f) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::stoi(s);
  if (f.names == nullptr || s.size() != 3) return std::nullopt;
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  int count = f.high - f.low + 1 - (f.names == kDayNames ? 1 : 0);
  for (int i = 0; i < count; ++i)
    if (lower == f.names[i]) return f.low + i;
  return std::nullopt;
}

// Sets the values of one field into `bits` (indexed by value); *star when it was "*".
Status ParseField(const std::string& text, const std::string& spec, const Field& f,
                  std::vector<bool>& bits, bool* star) {
  *star = spec == "*";
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    std::string item =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    if (item.empty()) return Bad(text, f, "has an empty list item in \"" + spec + "\"");
    int step = 1;
    if (size_t slash = item.find('/'); slash != std::string::npos) {
      std::string s = item.substr(slash + 1);
      auto n =
          s.empty() || s.size() > 2 ||
                  !std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); })
              ? std::nullopt
              : std::optional<int>(std::stoi(s));
      if (!n || *n < 1 || *n > f.high)
        return Bad(text, f, "has a bad step \"/" + s + "\" (1 to " + std::to_string(f.high) + ")");
      step = *n;
      item = item.substr(0, slash);
    }
    int low = f.low, high = f.high;
    if (item != "*") {
      size_t dash = item.find('-');
      auto a = Value(item.substr(0, dash), f);
      if (!a) return Bad(text, f, "has \"" + item + "\", which is not a value");
      low = *a;
      if (dash != std::string::npos) {
        auto b = Value(item.substr(dash + 1), f);
        if (!b) return Bad(text, f, "has \"" + item + "\", which is not a range");
        high = *b;
      } else if (step == 1) {
        high = low;  // a single value; "a/n" runs from a to the end
      }
      if (low < f.low || high > f.high || low > f.high)
        return Bad(text, f,
                   "value out of range in \"" + item + "\" (" + std::to_string(f.low) + " to " +
                       std::to_string(f.high) + ")");
      if (low > high) return Bad(text, f, "has a backwards range \"" + item + "\"");
    }
    for (int v = low; v <= high; v += step) bits[static_cast<size_t>(v)] = true;
  }
  return Status::Ok();
}

int64_t DaysFromCivil(std::chrono::year_month_day d) {
  return std::chrono::sys_days(d).time_since_epoch().count();
}

}  // namespace

Result<CronExpr> CronExpr::Parse(const std::string& text) {
  static const std::pair<const char*, const char*> kShorthands[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  std::string expanded = text;
  if (!text.empty() && text[0] == '@') {
    expanded.clear();
    for (const auto& [name, value] : kShorthands)
      if (text == name) expanded = value;
    if (expanded.empty())
      return Status::Error(ErrorCode::kConfig, "cron expression \"" + text + "\" is not known",
                           "shorthands: @hourly, @daily, @weekly, @monthly, @yearly");
  }
  std::vector<std::string> fields;
  for (size_t i = 0; i < expanded.size();) {
    while (i < expanded.size() && (expanded[i] == ' ' || expanded[i] == '\t')) ++i;
    size_t j = i;
    while (j < expanded.size() && expanded[j] != ' ' && expanded[j] != '\t') ++j;
    if (j > i) fields.push_back(expanded.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5)
    return Status::Error(
        ErrorCode::kConfig,
        "cron expression \"" + text + "\" has " + std::to_string(fields.size()) + " fields, not 5",
        "minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\"");
  CronExpr e;
  e.text_ = text;
  std::vector<bool> bits[5];
  bool star[5];
  for (int i = 0; i < 5; ++i) {
    bits[i].assign(static_cast<size_t>(kFields[i].high) + 1, false);
    PGKEEP_RETURN_IF_ERROR(
        ParseField(text, fields[static_cast<size_t>(i)], kFields[i], bits[i], &star[i]));
  }
  for (int m = 0; m < 60; ++m) e.minutes_[static_cast<size_t>(m)] = bits[0][static_cast<size_t>(m)];
  for (int h = 0; h < 24; ++h) e.hours_[static_cast<size_t>(h)] = bits[1][static_cast<size_t>(h)];
  for (int d = 1; d <= 31; ++d) e.days_[static_cast<size_t>(d)] = bits[2][static_cast<size_t>(d)];
  for (int m = 1; m <= 12; ++m) e.months_[static_cast<size_t>(m)] = bits[3][static_cast<size_t>(m)];
  for (int w = 0; w <= 7; ++w)
    if (bits[4][static_cast<size_t>(w)]) e.weekdays_[static_cast<size_t>(w % 7)] = true;
  e.any_day_ = star[2];
  e.any_weekday_ = star[4];
  return e;
}

bool CronExpr::DayMatches(int day_of_month, int month, int weekday) const {
  if (!months_[static_cast<size_t>(month)]) return false;
  bool dom = days_[static_cast<size_t>(day_of_month)];
  bool dow = weekdays_[static_cast<size_t>(weekday)];
  if (any_day_ && any_weekday_) return true;
  if (any_day_) return dow;
  if (any_weekday_) return dom;
  return dom || dow;
}

int64_t LocalToInstant(int64_t local, const TimeZone& zone) {
  // The offsets in force a day before and a day after bracket any change.
  const int64_t before = zone.UtcOffsetAt(local - 86400);
  const int64_t after = zone.UtcOffsetAt(local + 86400);
  const int64_t t1 = local - before, t2 = local - after;
  const bool ok1 = zone.UtcOffsetAt(t1) == before, ok2 = zone.UtcOffsetAt(t2) == after;
  if (ok1 && ok2) return std::min(t1, t2);  // repeated: the first occurrence
  if (ok1) return t1;
  if (ok2) return t2;
  return t1;  // missing: as far past the jump as the time was into it
}

std::optional<int64_t> CronExpr::NextAfter(int64_t after, const TimeZone& zone) const {
  using namespace std::chrono;
  const int64_t first_day = DaysFromCivil(zone.LocalDateAt(after)) - 1;
  std::optional<int64_t> best;
  int64_t found_on = 0;
  for (int64_t day = first_day; day < first_day + kSearchDays; ++day) {
    // A day's times map to instants in order except across a jump, which
    // can move one past the next day's first: that day is looked at too.
    if (best && day > found_on + 1) break;
    const sys_days date{days{day}};
    const year_month_day ymd{date};
    if (!DayMatches(static_cast<int>(static_cast<unsigned>(ymd.day())),
                    static_cast<int>(static_cast<unsigned>(ymd.month())),
                    static_cast<int>(weekday{date}.c_encoding())))
      continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_[static_cast<size_t>(h)]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[static_cast<size_t>(m)]) continue;
        int64_t at = LocalToInstant(day * 86400 + h * 3600 + m * 60, zone);
        if (at > after && (!best || at < *best)) {
          if (!best) found_on = day;
          best = at;
        }
      }
    }
  }
  return best;
}

}  // namespace pgkeep
