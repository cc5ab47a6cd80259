// Scheduler on a simulated clock: nothing "missed" before it existed, missed
// slots run once after downtime, no job overlaps itself, one repository runs
// one job at a time, and a nightly job runs once a night across both daylight
// saving changes.
#include "schedule/scheduler.h"

#include <gtest/gtest.h>

#include <chrono>

#include "common/clock.h"
#include "support/utc.h"

namespace pgkeep {
namespace {

using testing::UtcSeconds;

ScheduledJob Job(const std::string& id, const std::string& kind, const std::string& cron) {
  auto parsed = CronExpr::Parse(cron);
  EXPECT_TRUE(parsed.ok()) << cron;
  return {id, "main", kind, "", *parsed};
}

// Steps a minute at a time from `from` to `to`, finishing every job at once;
// returns each run as "id@time".
std::vector<std::string> Simulate(Scheduler& s, int64_t from, int64_t to) {
  std::vector<std::string> runs;
  for (int64_t t = from; t <= to; t += 60)
    for (const DueJob& d : s.TakeDue(t)) {
      runs.push_back(d.job->id + "@" + FormatIsoTime(t));
      s.Finished(d.job->id);
    }
  return runs;
}

TEST(SchedulerTest, NothingBeforeTheFirstStartCountsAsMissed) {
  Scheduler s({Job("backup/main/full", "full", "0 2 * * *")}, TimeZone::Utc(),
              UtcSeconds(2026, 12, 1, 10), {});
  EXPECT_TRUE(s.TakeDue(UtcSeconds(2026, 12, 1, 10)).empty());
  EXPECT_EQ(s.NextWake(), UtcSeconds(2026, 12, 2, 2));
  EXPECT_EQ(Simulate(s, UtcSeconds(2026, 12, 1, 10), UtcSeconds(2026, 12, 3, 10)),
            (std::vector<std::string>{"backup/main/full@2026-12-02T02:00:00Z",
                                      "backup/main/full@2026-12-03T02:00:00Z"}));
}

TEST(SchedulerTest, SlotsMissedDuringDowntimeRunOnceAtStart) {
  // Last run three nights ago; the daemon comes back at 10:00.
  Scheduler s({Job("backup/main/full", "full", "0 2 * * *")}, TimeZone::Utc(),
              UtcSeconds(2026, 12, 4, 10), {{"backup/main/full", UtcSeconds(2026, 12, 1, 2)}});
  auto due = s.TakeDue(UtcSeconds(2026, 12, 4, 10));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].slot, UtcSeconds(2026, 12, 4, 2));  // the latest slot that passed
  EXPECT_EQ(due[0].skipped, 2);                        // the 2nd and the 3rd
  s.Finished("backup/main/full");
  EXPECT_TRUE(s.TakeDue(UtcSeconds(2026, 12, 4, 10, 1)).empty());
  EXPECT_EQ(s.NextWake(), UtcSeconds(2026, 12, 5, 2));
  EXPECT_EQ(s.LastSlots().at("backup/main/full"), UtcSeconds(2026, 12, 4, 2));

  // A recorded slot from the future (the clock was set back): from now on.
  Scheduler back({Job("backup/main/full", "full", "0 2 * * *")}, TimeZone::Utc(),
                 UtcSeconds(2026, 12, 4, 10), {{"backup/main/full", UtcSeconds(2027, 1, 1)}});
  EXPECT_TRUE(back.TakeDue(UtcSeconds(2026, 12, 4, 10)).empty());
  EXPECT_EQ(back.NextWake(), UtcSeconds(2026, 12, 5, 2));
}

TEST(SchedulerTest, AJobNeverOverlapsItselfAndRunsOnceAfterALongRun) {
  Scheduler s({Job("backup/main/incr", "incr", "*/15 * * * *")}, TimeZone::Utc(),
              UtcSeconds(2026, 12, 1), {});
  auto first = s.TakeDue(UtcSeconds(2026, 12, 1, 0, 15));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_TRUE(s.Running("backup/main/incr"));
  // Still running through two more slots: not due.
  EXPECT_TRUE(s.TakeDue(UtcSeconds(2026, 12, 1, 0, 30)).empty());
  EXPECT_TRUE(s.TakeDue(UtcSeconds(2026, 12, 1, 0, 45)).empty());
  s.Finished("backup/main/incr");
  auto again = s.TakeDue(UtcSeconds(2026, 12, 1, 0, 50));
  ASSERT_EQ(again.size(), 1u);  // once, not twice
  EXPECT_EQ(again[0].slot, UtcSeconds(2026, 12, 1, 0, 45));
  EXPECT_EQ(again[0].skipped, 1);
  s.Finished("backup/main/incr");
  EXPECT_TRUE(s.TakeDue(UtcSeconds(2026, 12, 1, 0, 55)).empty());
  EXPECT_EQ(s.NextWake(), UtcSeconds(2026, 12, 1, 1, 0));
}

TEST(SchedulerTest, JobsOfOneRepositoryWaitForEachOther) {
  Scheduler s(
      {Job("verify", "verify", "0 2 * * *"), Job("expire", "expire", "0 2 * * *"),
       Job("drill/main", "drill", "0 2 * * *"), Job("backup/main/full", "full", "0 2 * * *")},
      TimeZone::Utc(), UtcSeconds(2026, 12, 1), {}, 1);
  std::vector<std::string> order;
  int64_t t = UtcSeconds(2026, 12, 1, 2);
  for (int i = 0; i < 4; ++i) {
    auto due = s.TakeDue(t);
    ASSERT_EQ(due.size(), 1u) << "one at a time";
    EXPECT_TRUE(s.TakeDue(t).empty()) << "the others wait while one runs";
    order.push_back(due[0].job->id);
    t += 600;  // each runs ten minutes
    s.Finished(due[0].job->id);
  }
  EXPECT_EQ(order,
            (std::vector<std::string>{"backup/main/full", "drill/main", "expire", "verify"}));
  EXPECT_TRUE(s.TakeDue(t).empty());
}

TEST(SchedulerTest, ANightlyJobRunsOnceANightAcrossDaylightSavingChanges) {
  ASSERT_TRUE(TimeZone::Load("Europe/Berlin").ok());
  auto berlin = [] { return std::move(*TimeZone::Load("Europe/Berlin")); };
  // 2026-03-29: 02:00 -> 03:00; 02:30 does not exist that night.
  Scheduler spring({Job("backup/main/full", "full", "30 2 * * *")}, berlin(),
                   UtcSeconds(2026, 3, 27, 12), {});
  EXPECT_EQ(Simulate(spring, UtcSeconds(2026, 3, 27, 12), UtcSeconds(2026, 3, 30, 12)),
            (std::vector<std::string>{"backup/main/full@2026-03-28T01:30:00Z",
                                      "backup/main/full@2026-03-29T01:30:00Z",
                                      "backup/main/full@2026-03-30T00:30:00Z"}));
  // 2026-10-25: 03:00 -> 02:00; 02:30 happens twice that night.
  Scheduler fall({Job("backup/main/full", "full", "30 2 * * *")}, berlin(),
                 UtcSeconds(2026, 10, 23, 12), {});
  EXPECT_EQ(Simulate(fall, UtcSeconds(2026, 10, 23, 12), UtcSeconds(2026, 10, 26, 12)),
            (std::vector<std::string>{"backup/main/full@2026-10-24T00:30:00Z",
                                      "backup/main/full@2026-10-25T00:30:00Z",
                                      "backup/main/full@2026-10-26T01:30:00Z"}));
}

TEST(SchedulerTest, JobsFromTheConfigurationAndCriticalityDefaults) {
  Config config;
  DatabaseConfig critical;
  critical.name = "main";
  critical.criticality = "critical";
  DatabaseConfig logical;
  logical.name = "reports";
  logical.method = "logical";
  logical.schedule = {{"logical", "15 1 * * *"}};
  config.databases = {{"main", critical}, {"reports", logical}};
  CopyConfig offsite;
  offsite.name = "offsite";
  CopyConfig manual;  // copied by hand only
  manual.name = "manual";
  manual.schedule = "";
  config.copies = {offsite, manual};
  RetentionPolicyConfig messages;
  messages.name = "messages";
  messages.database = "reports";
  config.retention_policies = {messages};
  auto jobs = JobsFromConfig(config);
  ASSERT_TRUE(jobs.ok()) << jobs.status().ToString();
  std::vector<std::string> ids;
  for (const auto& j : *jobs) ids.push_back(j.id + " " + j.cron.text());
  EXPECT_EQ(
      ids, (std::vector<std::string>{
               "drill/main 0 4 * * 1", "backup/main/full 0 2 * * 0", "backup/main/incr 0 2 * * 1-6",
               "backup/reports/logical 15 1 * * *", "expire 30 5 * * *", "verify 0 6 * * 0",
               "copy/offsite 30 4 * * *", "expire/offsite 30 5 * * *", "verify/offsite 0 6 * * 0",
               "retention/messages 15 3 * * *"}));
  EXPECT_EQ(jobs->at(6).target, "offsite");
  EXPECT_EQ(jobs->back().target, "messages");
  EXPECT_EQ(jobs->back().database, "reports");
}

}  // namespace
}  // namespace pgkeep
