// common/cron.h — 5-field cron expressions and when they next fire, in a
// time zone.
//
//   minute hour day-of-month month day-of-week
//
// Each field: `*`, a number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n`
// (from a to the field's end), or a comma-separated list of those. Months
// and weekdays also take names (jan..dec, sun..sat, any case); weekday 0 and
// 7 are Sunday. When both day fields are restricted, a day matches either
// (Vixie cron's rule): "0 2 1 * 1" fires on the 1st and on every Monday.
// Shorthands: @hourly, @daily (@midnight), @weekly, @monthly, @yearly
// (@annually). @reboot is refused: the daemon has no such event.
//
// Times are local to the zone given to NextAfter. Daylight saving time:
//   - a local time that does not exist (clocks jump from 02:00 to 03:00 and
//     the job says 02:30) fires once, at the instant the same distance past
//     the jump (03:30 local): a nightly job is never skipped;
//   - a local time that happens twice (clocks go back from 03:00 to 02:00)
//     fires once, at its first occurrence: a nightly job never runs twice.
//   A job firing every minute therefore skips the repeated hour.
//
// Thread safety: a CronExpr is immutable after Parse.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/time_zone.h"

namespace pgkeep {

class CronExpr {
 public:
  // kConfig naming the field and what is wrong in it, with a hint.
  static Result<CronExpr> Parse(const std::string& text);

  // The first instant (unix seconds) strictly after `after` at which it
  // fires in `zone`; nullopt when it never fires within 8 years (e.g.
  // "0 0 30 2 *").
  std::optional<int64_t> NextAfter(int64_t after, const TimeZone& zone) const;

  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int day_of_month, int month, int weekday) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool any_day_ = true;      // day-of-month was "*"
  bool any_weekday_ = true;  // day-of-week was "*"
};

// The unix instant at which the wall-clock time `local_seconds` (seconds
// since 1970-01-01 00:00 local) happens in `zone`, with the daylight saving
// rules above (a missing time: the same distance past the jump; a repeated
// time: its first occurrence).
int64_t LocalToInstant(int64_t local_seconds, const TimeZone& zone);

}  // namespace pgkeep
