// CronExpr: the syntax users write in `schedule`, bad expressions refused
// with the field named, and firing times in UTC and across both daylight
// saving changes of Europe/Berlin and America/New_York.
#include "common/cron.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.h"
#include "support/utc.h"

namespace pgkeep {
namespace {

using testing::UtcSeconds;

std::vector<std::string> Next(const std::string& expr, int64_t from, int count,
                              const TimeZone& zone = TimeZone::Utc()) {
  auto e = CronExpr::Parse(expr);
  EXPECT_TRUE(e.ok()) << expr << ": " << e.status().ToString();
  std::vector<std::string> out;
  if (!e.ok()) return out;
  for (int i = 0; i < count; ++i) {
    auto next = e->NextAfter(from, zone);
    if (!next) break;
    out.push_back(FormatIsoTime(*next));
    from = *next;
  }
  return out;
}

TEST(CronTest, FiresWhenTheFieldsSayInUtc) {
  const int64_t t = UtcSeconds(2026, 3, 2, 1, 0);  // a Monday
  EXPECT_EQ(Next("0 2 * * *", t, 2),
            (std::vector<std::string>{"2026-03-02T02:00:00Z", "2026-03-03T02:00:00Z"}));
  // Strictly after: a job that just fired is next due a day later.
  EXPECT_EQ(Next("0 2 * * *", UtcSeconds(2026, 3, 2, 2, 0), 1),
            (std::vector<std::string>{"2026-03-03T02:00:00Z"}));
  EXPECT_EQ(Next("*/15 * * * *", t, 3),
            (std::vector<std::string>{"2026-03-02T01:15:00Z", "2026-03-02T01:30:00Z",
                                      "2026-03-02T01:45:00Z"}));
  EXPECT_EQ(Next("0 2 * * 0", t, 1), (std::vector<std::string>{"2026-03-08T02:00:00Z"}));
  EXPECT_EQ(Next("0 2 * * 7", t, 1), Next("0 2 * * sun", t, 1));  // 7 and names are Sunday
  EXPECT_EQ(Next("0 2 * * 1-6", UtcSeconds(2026, 3, 7, 3), 2),    // Saturday 03:00: Monday next
            (std::vector<std::string>{"2026-03-09T02:00:00Z", "2026-03-10T02:00:00Z"}));
  EXPECT_EQ(Next("30 4 1,15 * *", t, 2),
            (std::vector<std::string>{"2026-03-15T04:30:00Z", "2026-04-01T04:30:00Z"}));
  // Both day fields restricted: either matches (the 1st, and every Friday).
  EXPECT_EQ(Next("0 0 1 * fri", UtcSeconds(2026, 3, 25), 3),
            (std::vector<std::string>{"2026-03-27T00:00:00Z", "2026-04-01T00:00:00Z",
                                      "2026-04-03T00:00:00Z"}));
  EXPECT_EQ(Next("0 0 * JAN,jul MON", t, 1), (std::vector<std::string>{"2026-07-06T00:00:00Z"}));
  EXPECT_EQ(Next("10-20/5 8 * * *", t, 3),
            (std::vector<std::string>{"2026-03-02T08:10:00Z", "2026-03-02T08:15:00Z",
                                      "2026-03-02T08:20:00Z"}));
  EXPECT_EQ(Next("50/5 * * * *", t, 3),  // from 50 to the end of the hour
            (std::vector<std::string>{"2026-03-02T01:50:00Z", "2026-03-02T01:55:00Z",
                                      "2026-03-02T02:50:00Z"}));
  EXPECT_EQ(Next("@weekly", t, 1), (std::vector<std::string>{"2026-03-08T00:00:00Z"}));
  EXPECT_EQ(Next("@hourly", t, 1), (std::vector<std::string>{"2026-03-02T02:00:00Z"}));
  EXPECT_EQ(Next("0 0 29 2 *", t, 1), (std::vector<std::string>{"2028-02-29T00:00:00Z"}));
  auto never = CronExpr::Parse("0 0 30 2 *");
  ASSERT_TRUE(never.ok());
  EXPECT_FALSE(never->NextAfter(t, TimeZone::Utc()).has_value());
}

TEST(CronTest, BadExpressionsNameTheFieldAndWhatIsWrong) {
  struct Case {
    const char* expr;
    const char* says;
  };
  for (const Case& c : {
           Case{"", "has 0 fields, not 5"},
           Case{"0 2 * *", "has 4 fields, not 5"},
           Case{"0 2 * * * *", "has 6 fields, not 5"},
           Case{"60 2 * * *", "minute value out of range in \"60\" (0 to 59)"},
           Case{"0 24 * * *", "hour value out of range"},
           Case{"0 2 0 * *", "day of month value out of range"},
           Case{"0 2 * 13 *", "month value out of range"},
           Case{"0 2 * * 8", "day of week value out of range"},
           Case{"0 2 * * funday", "day of week has \"funday\", which is not a value"},
           Case{"*/0 * * * *", "minute has a bad step \"/0\""},
           Case{"0 5-2 * * *", "hour has a backwards range \"5-2\""},
           Case{"0 2,,3 * * *", "hour has an empty list item"},
           Case{"0 2 * * 1-", "day of week has \"1-\", which is not a range"},
           Case{"-1 * * * *", "minute has \"-1\""},
           Case{"@reboot", "\"@reboot\" is not known"},
       }) {
    auto e = CronExpr::Parse(c.expr);
    ASSERT_FALSE(e.ok()) << c.expr;
    EXPECT_EQ(e.status().code(), ErrorCode::kConfig) << c.expr;
    EXPECT_NE(e.status().message().find(c.says), std::string::npos)
        << c.expr << ": " << e.status().message();
    EXPECT_FALSE(e.status().hint().empty()) << c.expr;
  }
}

// Europe/Berlin, 2026: clocks jump 02:00 -> 03:00 CEST on March 29 (at
// 01:00 UTC) and fall back 03:00 -> 02:00 CET on October 25 (at 01:00 UTC).
TEST(CronTest, ANightlyJobRunsOnceOnBothDaylightSavingChanges) {
  auto berlin = TimeZone::Load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.status().ToString();
  // 02:30 does not exist on March 29: it runs once, at 03:30 CEST.
  EXPECT_EQ(Next("30 2 * * *", UtcSeconds(2026, 3, 27, 12), 3, *berlin),
            (std::vector<std::string>{"2026-03-28T01:30:00Z",     // 02:30 CET
                                      "2026-03-29T01:30:00Z",     // 03:30 CEST
                                      "2026-03-30T00:30:00Z"}));  // 02:30 CEST
  // 02:30 happens twice on October 25: it runs at the first one only.
  EXPECT_EQ(Next("30 2 * * *", UtcSeconds(2026, 10, 24, 12), 2, *berlin),
            (std::vector<std::string>{"2026-10-25T00:30:00Z",     // 02:30 CEST
                                      "2026-10-26T01:30:00Z"}));  // 02:30 CET
  // A time outside the change is untouched on both days.
  EXPECT_EQ(Next("0 4 * * *", UtcSeconds(2026, 3, 28, 12), 1, *berlin),
            (std::vector<std::string>{"2026-03-29T02:00:00Z"}));
  EXPECT_EQ(Next("0 4 * * *", UtcSeconds(2026, 10, 24, 12), 1, *berlin),
            (std::vector<std::string>{"2026-10-25T03:00:00Z"}));
  // Every 30 minutes through the fall-back: the repeated hour is not run twice.
  EXPECT_EQ(Next("*/30 * * * *", UtcSeconds(2026, 10, 25, 0, 0), 3, *berlin),
            (std::vector<std::string>{"2026-10-25T00:30:00Z",  // 02:30 CEST
                                      "2026-10-25T02:00:00Z",  // 03:00 CET
                                      "2026-10-25T02:30:00Z"}));
}

TEST(CronTest, LocalTimesAcrossNewYorkChanges) {
  auto ny = TimeZone::Load("America/New_York");
  ASSERT_TRUE(ny.ok());
  // 2026-03-08: 02:00 EST -> 03:00 EDT at 07:00 UTC. 02:15 is missing.
  const int64_t local_0215 = UtcSeconds(2026, 3, 8, 2, 15);
  EXPECT_EQ(FormatIsoTime(LocalToInstant(local_0215, *ny)), "2026-03-08T07:15:00Z");
  EXPECT_EQ(FormatIsoTime(LocalToInstant(UtcSeconds(2026, 3, 8, 1, 59), *ny)),
            "2026-03-08T06:59:00Z");
  EXPECT_EQ(FormatIsoTime(LocalToInstant(UtcSeconds(2026, 3, 8, 3, 0), *ny)),
            "2026-03-08T07:00:00Z");
  // 2026-11-01: 02:00 EDT -> 01:00 EST at 06:00 UTC. 01:30 happens twice.
  EXPECT_EQ(FormatIsoTime(LocalToInstant(UtcSeconds(2026, 11, 1, 1, 30), *ny)),
            "2026-11-01T05:30:00Z");
  EXPECT_EQ(FormatIsoTime(LocalToInstant(UtcSeconds(2026, 11, 1, 2, 30), *ny)),
            "2026-11-01T07:30:00Z");
}

}  // namespace
}  // namespace pgkeep
