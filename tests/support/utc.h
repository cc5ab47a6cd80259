// tests/support/utc.h — unix seconds of a UTC calendar date and time, for
// tests that reason in dates (retention, time zones, schedules).
#pragma once

#include <chrono>
#include <cstdint>

namespace pgkeep::testing {

inline int64_t UtcSeconds(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
  return day.time_since_epoch().count() * 86400 + hh * 3600 + mm * 60 + ss;
}

}  // namespace pgkeep::testing
