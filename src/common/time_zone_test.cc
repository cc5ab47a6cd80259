#include "common/time_zone.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/utc.h"

namespace pgkeep {
namespace {

namespace chr = std::chrono;

using testing::UtcSeconds;

struct OffsetCase {
  const char* zone;
  int64_t at;
  int32_t offset;
};

TEST(TimeZoneTest, OffsetsAroundDaylightSavingTransitions) {
  const OffsetCase cases[] = {
      // Berlin: CEST from 2026-03-29 01:00Z to 2026-10-25 01:00Z.
      {"Europe/Berlin", UtcSeconds(2026, 3, 29, 0, 59, 59), 3600},
      {"Europe/Berlin", UtcSeconds(2026, 3, 29, 1, 0, 0), 7200},
      {"Europe/Berlin", UtcSeconds(2026, 10, 25, 0, 59, 59), 7200},
      {"Europe/Berlin", UtcSeconds(2026, 10, 25, 1, 0, 0), 3600},
      // New York: EDT from 2026-03-08 07:00Z to 2026-11-01 06:00Z.
      {"America/New_York", UtcSeconds(2026, 3, 8, 6, 59, 59), -5 * 3600},
      {"America/New_York", UtcSeconds(2026, 3, 8, 7, 0, 0), -4 * 3600},
      {"America/New_York", UtcSeconds(2026, 11, 1, 5, 59, 59), -4 * 3600},
      {"America/New_York", UtcSeconds(2026, 11, 1, 6, 0, 0), -5 * 3600},
      // No DST, a half-hour offset.
      {"Asia/Kolkata", UtcSeconds(2026, 7, 1), 5 * 3600 + 1800},
      {"UTC", UtcSeconds(2026, 7, 1), 0},
  };
  for (const OffsetCase& c : cases) {
    auto zone = TimeZone::Load(c.zone);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    EXPECT_EQ(zone->UtcOffsetAt(c.at), c.offset) << c.zone << " at " << c.at;
  }
}

// zic lists transitions up to 2037; after that the zone's POSIX rule decides.
TEST(TimeZoneTest, FarFutureDatesFollowTheZoneRule) {
  const OffsetCase cases[] = {
      {"Europe/Berlin", UtcSeconds(2038, 7, 1), 7200},
      {"Europe/Berlin", UtcSeconds(2038, 12, 1), 3600},
      {"Europe/Berlin", UtcSeconds(2100, 3, 28, 0, 59, 59), 3600},  // last Sunday of March 2100
      {"Europe/Berlin", UtcSeconds(2100, 3, 28, 1, 0, 0), 7200},
      {"Europe/Berlin", UtcSeconds(9999, 7, 1), 7200},
      {"America/New_York", UtcSeconds(2040, 7, 1), -4 * 3600},
      {"America/New_York", UtcSeconds(2040, 1, 1), -5 * 3600},
      {"America/New_York", UtcSeconds(2061, 3, 13, 6, 59, 59),
       -5 * 3600},  // second Sunday of March 2061
      {"America/New_York", UtcSeconds(2061, 3, 13, 7, 0, 0), -4 * 3600},
      {"Australia/Sydney", UtcSeconds(2050, 1, 1),
       11 * 3600},  // southern summer spans the new year
      {"Australia/Sydney", UtcSeconds(2050, 7, 1), 10 * 3600},
  };
  for (const OffsetCase& c : cases) {
    auto zone = TimeZone::Load(c.zone);
    ASSERT_TRUE(zone.ok()) << zone.status().ToString();
    EXPECT_EQ(zone->UtcOffsetAt(c.at), c.offset) << c.zone << " at " << c.at;
  }
}

TEST(TimeZoneTest, LocalDateIsTheZonesCalendarDay) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  using chr::year, chr::month, chr::day;
  EXPECT_EQ(berlin->LocalDateAt(UtcSeconds(2026, 11, 20, 22, 59, 59)), year{2026} / 11 / day{20});
  EXPECT_EQ(berlin->LocalDateAt(UtcSeconds(2026, 11, 20, 23, 0, 0)), year{2026} / 11 / day{21});
  EXPECT_EQ(berlin->LocalDateAt(UtcSeconds(2026, 7, 10, 22, 0, 0)), year{2026} / 7 / day{11});
  EXPECT_EQ(berlin->LocalDateAt(UtcSeconds(2045, 7, 10, 22, 0, 0)), year{2045} / 7 / day{11});
  auto new_york = TimeZone::Load("America/New_York");
  ASSERT_TRUE(new_york.ok());
  EXPECT_EQ(new_york->LocalDateAt(UtcSeconds(2027, 1, 1, 3, 0, 0)), year{2026} / 12 / day{31});
  // Before 1970 and at the ends of the years a backup can have.
  EXPECT_EQ(new_york->LocalDateAt(UtcSeconds(1960, 1, 1, 3, 0, 0)), year{1959} / 12 / day{31});
  EXPECT_EQ(TimeZone::Utc().LocalDateAt(UtcSeconds(1, 1, 1)), year{1} / 1 / day{1});
  EXPECT_EQ(TimeZone::Utc().LocalDateAt(UtcSeconds(9999, 12, 31, 23, 59, 59)),
            year{9999} / 12 / day{31});
  EXPECT_EQ(berlin->LocalDateAt(UtcSeconds(9999, 12, 31, 22, 59, 59)), year{9999} / 12 / day{31});
}

TEST(TimeZoneTest, UnknownNamesAreConfigErrorsNamingTheZone) {
  for (const char* name : {"Europe/Berln", "Mars/Olympus_Mons", "../../etc/passwd",
                           "/etc/localtime", "Europe", "", "zone.tab", "Europe/./Berlin"}) {
    auto zone = TimeZone::Load(name);
    ASSERT_FALSE(zone.ok()) << name;
    EXPECT_EQ(zone.status().code(), ErrorCode::kConfig) << name;
    EXPECT_EQ(zone.status().message(), std::string("unknown time zone \"") + name + "\"");
    EXPECT_NE(zone.status().hint().find("Europe/Berlin"), std::string::npos);
  }
}

TEST(TimeZoneTest, KeepsItsName) {
  auto zone = TimeZone::Load("America/New_York");
  ASSERT_TRUE(zone.ok());
  EXPECT_EQ(zone->name(), "America/New_York");
  EXPECT_EQ(TimeZone::Utc().name(), "UTC");
}

}  // namespace
}  // namespace pgkeep
