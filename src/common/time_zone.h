// common/time_zone.h — UTC offsets and local calendar dates of an IANA time
// zone, from the system's tz database (/usr/share/zoneinfo) through Howard
// Hinnant's date library. Shared by retention (calendar days, weeks, months)
// and, later, the scheduler.
//
// Instants are unix seconds (int64_t), as everywhere in pgkeep. Within the
// years the zone file tabulates (zic writes transitions up to 2037) the
// offsets are the file's; after its last transition the zone's POSIX rule
// (the file's footer, e.g. "CET-1CEST,M3.5.0,M10.5.0/3") takes over, so DST
// keeps alternating in 2040 or 2100. The three Greenland zones whose rule
// switches at a negative hour ("M3.5.0/-1"), which the date library's POSIX
// parser refuses, keep the offset of their last listed transition instead.
//
// Thread safety: Load may be called from any thread (the date library loads
// its database once, under its own synchronisation); a TimeZone is immutable.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace pgkeep {

class TimeZone {
 public:
  // "UTC", without touching the file system.
  static TimeZone Utc();

  // The zone named `name` ("Europe/Berlin", "UTC", ...): a zone or link of
  // the system's database; no environment variable is consulted. Failure:
  // kConfig "unknown time zone "<name>"" with a hint, for names the database
  // does not have (paths such as "../x" or "/etc/localtime" included); kConfig
  // too when the zone's file cannot be read.
  static Result<TimeZone> Load(const std::string& name);

  TimeZone(TimeZone&&) noexcept;
  TimeZone& operator=(TimeZone&&) noexcept;
  ~TimeZone();

  const std::string& name() const { return name_; }

  // Seconds east of UTC in force at `unix_seconds` (years 1-9999).
  int32_t UtcOffsetAt(int64_t unix_seconds) const;

  // The local calendar date at `unix_seconds`.
  std::chrono::year_month_day LocalDateAt(int64_t unix_seconds) const;

 private:
  struct Rules;
  TimeZone(std::string name, std::unique_ptr<const Rules> rules);

  std::string name_;
  std::unique_ptr<const Rules> rules_;  // null: UTC
};

}  // namespace pgkeep
