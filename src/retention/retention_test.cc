#include "retention/retention.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <climits>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"

namespace pgkeep {
namespace {

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 86400;

// Parses "2026-11-20T23:30:00Z" with the C library, independently of the code
// under test.
int64_t At(const char* iso) {
  std::tm tm{};
  EXPECT_NE(strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm), nullptr) << iso;
  return timegm(&tm);
}

BackupRecord Good(int64_t t) { return {FormatCompactTime(t), t, true, false}; }
BackupRecord Failed(int64_t t) { return {FormatCompactTime(t), t, false, false}; }

std::vector<RetentionDecision> Decide(const std::vector<BackupRecord>& records,
                                      const RetentionRules& rules, int64_t now) {
  auto decisions = ApplyRetention(records, rules, now);
  EXPECT_TRUE(decisions.ok()) << decisions.status().ToString();
  if (!decisions.ok()) return {};
  EXPECT_EQ(decisions->size(), records.size());
  for (size_t i = 0; i < decisions->size() && i < records.size(); ++i) {
    EXPECT_EQ((*decisions)[i].id, records[i].id) << "decisions keep the input order";
  }
  return std::move(decisions).value();
}

std::set<std::string> KeptIds(const std::vector<RetentionDecision>& decisions) {
  std::set<std::string> kept;
  for (const auto& d : decisions) {
    if (d.keep) kept.insert(d.id);
  }
  return kept;
}

std::map<std::string, std::vector<std::string>> ReasonsById(
    const std::vector<RetentionDecision>& decisions) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& d : decisions) out[d.id] = d.reasons;
  return out;
}

RetentionRules Gfs() {
  RetentionRules r;
  r.daily = 30;
  r.weekly = 12;
  r.monthly = 12;
  r.yearly = 7;
  r.min_keep = 3;
  return r;
}

// 800 days from 2025-01-01, one backup at 02:00 UTC: days i%7==3 and i%11==5
// fail, days 400-409 all fail (an outage inside the kept history), i%13==4
// adds a 03:00 run, i%5==0 a 14:00 run (both successful).
std::vector<BackupRecord> EightHundredDays() {
  const int64_t start = At("2025-01-01T02:00:00Z");
  std::vector<BackupRecord> records;
  for (int i = 0; i < 800; ++i) {
    int64_t t = start + i * kDay;
    bool fails = i % 7 == 3 || i % 11 == 5 || (i >= 400 && i < 410);
    records.push_back(fails ? Failed(t) : Good(t));
    if (i % 13 == 4) records.push_back(Good(t + kHour));
    if (i % 5 == 0) records.push_back(Good(t + 12 * kHour));
  }
  return records;
}

// The documented GFS rules, computed the plainest way: strftime keys (ISO
// weeks via %G-W%V), newest backup per key, the N latest keys, plus the
// min_keep newest.
std::set<std::string> ExpectedGfs(const std::vector<BackupRecord>& records) {
  std::vector<BackupRecord> good;
  for (const auto& r : records) {
    if (r.successful) good.push_back(r);
  }
  std::set<std::string> kept;
  struct Rule {
    const char* format;
    int count;
  };
  for (Rule rule : {Rule{"%Y-%m-%d", 30}, Rule{"%G-W%V", 12}, Rule{"%Y-%m", 12}, Rule{"%Y", 7}}) {
    std::map<std::string, BackupRecord> newest;  // key -> newest backup in it
    for (const auto& r : good) {
      std::time_t t = r.time;
      std::tm tm{};
      gmtime_r(&t, &tm);
      char key[32];
      std::strftime(key, sizeof key, rule.format, &tm);
      auto [it, fresh] = newest.emplace(key, r);
      if (!fresh && r.time > it->second.time) it->second = r;
    }
    int taken = 0;
    for (auto it = newest.rbegin(); it != newest.rend() && taken < rule.count; ++it, ++taken) {
      kept.insert(it->second.id);
    }
  }
  std::sort(good.begin(), good.end(), [](const auto& a, const auto& b) { return a.time > b.time; });
  for (size_t i = 0; i < 3 && i < good.size(); ++i) kept.insert(good[i].id);
  return kept;
}

TEST(RetentionTest, EightHundredDaysKeepExactlyTheGfsSet) {
  std::vector<BackupRecord> records = EightHundredDays();
  int64_t now = records.back().time + kHour;
  auto decisions = Decide(records, Gfs(), now);
  std::set<std::string> expected = ExpectedGfs(records);
  EXPECT_EQ(KeptIds(decisions), expected);

  std::map<std::string, int> per_rule;
  for (size_t i = 0; i < records.size(); ++i) {
    const RetentionDecision& d = decisions[i];
    ASSERT_FALSE(d.reasons.empty()) << d.id;
    if (!records[i].successful) {
      EXPECT_FALSE(d.keep) << d.id;
      EXPECT_EQ(d.reasons, std::vector<std::string>{"failed backup"}) << d.id;
    } else if (!d.keep) {
      EXPECT_EQ(d.reasons, std::vector<std::string>{"matches no rule"}) << d.id;
    }
    for (const auto& reason : d.reasons) ++per_rule[reason.substr(0, reason.find(' '))];
  }
  // Every budget is spent in full: 800 days span 3 calendar years.
  EXPECT_EQ(per_rule["daily"], 30);
  EXPECT_EQ(per_rule["weekly"], 12);
  EXPECT_EQ(per_rule["monthly"], 12);
  EXPECT_EQ(per_rule["yearly"], 3);
  EXPECT_EQ(per_rule["min_keep"], 3);

  // The result does not depend on the order records are listed in.
  std::vector<BackupRecord> reversed(records.rbegin(), records.rend());
  EXPECT_EQ(KeptIds(Decide(reversed, Gfs(), now)), expected);
}

TEST(RetentionTest, FailureStreakKeepsWhatWasKept) {
  std::vector<BackupRecord> records = EightHundredDays();
  int64_t last = records.back().time;
  std::set<std::string> before = KeptIds(Decide(records, Gfs(), last + kHour));

  for (int i = 1; i <= 10; ++i) records.push_back(Failed(last + i * kDay));
  auto after = Decide(records, Gfs(), last + 10 * kDay + kHour);
  EXPECT_EQ(KeptIds(after), before);
  EXPECT_GE(KeptIds(after).size(), 3u);
  for (size_t i = records.size() - 10; i < records.size(); ++i) {
    EXPECT_EQ(after[i].reasons, std::vector<std::string>{"failed backup"});
  }
}

// What the teams' `find -mtime +7 -delete` did: a week of failures, then one
// good run, deleted every older backup. With min_keep it cannot.
TEST(RetentionTest, AgeRuleCannotEmptyTheRepositoryAfterFailures) {
  RetentionRules rules;
  rules.within_seconds = 7 * kDay;
  rules.min_keep = 3;
  int64_t start = At("2026-11-01T02:00:00Z");
  std::vector<BackupRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back(Good(start + i * kDay));
  for (int i = 20; i < 30; ++i) records.push_back(Failed(start + i * kDay));
  auto streak = Decide(records, rules, start + 29 * kDay + kHour);
  EXPECT_EQ(KeptIds(streak),
            (std::set<std::string>{records[17].id, records[18].id, records[19].id}));
  EXPECT_EQ(streak[19].reasons, std::vector<std::string>{"min_keep"});
  EXPECT_EQ(streak[16].reasons, std::vector<std::string>{"matches no rule"});

  records.push_back(Good(start + 30 * kDay));
  auto recovered = Decide(records, rules, start + 30 * kDay + kHour);
  EXPECT_EQ(KeptIds(recovered),
            (std::set<std::string>{records[18].id, records[19].id, records[30].id}));
  EXPECT_EQ(recovered[30].reasons, (std::vector<std::string>{"within 7d", "min_keep"}));
}

TEST(RetentionTest, ReasonsNameEveryRuleThatKeeps) {
  RetentionRules rules;
  rules.daily = 2;
  rules.weekly = 2;
  rules.monthly = 2;
  rules.yearly = 2;
  rules.last = 1;
  rules.within_seconds = kDay;
  rules.min_keep = 2;
  std::vector<BackupRecord> records = {
      Good(At("2026-11-23T02:00:00Z")),    // Monday of ISO week 48
      Good(At("2026-11-22T02:00:00Z")),    // Sunday, week 47
      Good(At("2026-11-22T01:00:00Z")),    // same day, older
      Good(At("2026-10-31T02:00:00Z")),    // week 44
      Good(At("2025-12-31T02:00:00Z")),    // ISO week 2026-W01, calendar year 2025
      Failed(At("2026-11-23T03:00:00Z")),  // newer than all, but failed
  };
  auto decisions = Decide(records, rules, At("2026-11-23T12:00:00Z"));
  using V = std::vector<std::string>;
  EXPECT_EQ(decisions[0].reasons, (V{"daily 2026-11-23", "weekly 2026-W48", "monthly 2026-11",
                                     "yearly 2026", "last 1", "within 1d", "min_keep"}));
  EXPECT_EQ(decisions[1].reasons, (V{"daily 2026-11-22", "weekly 2026-W47", "min_keep"}));
  EXPECT_EQ(decisions[2].reasons, (V{"matches no rule"}));
  EXPECT_EQ(decisions[3].reasons, (V{"monthly 2026-10"}));
  EXPECT_EQ(decisions[4].reasons, (V{"yearly 2025"}));
  EXPECT_EQ(decisions[5].reasons, (V{"failed backup"}));
  for (size_t i : {0, 1, 3, 4}) EXPECT_TRUE(decisions[i].keep) << i;
  for (size_t i : {2, 5}) EXPECT_FALSE(decisions[i].keep) << i;
}

TEST(RetentionTest, WeeksFollowIso8601) {
  RetentionRules rules;
  rules.weekly = 10;
  rules.min_keep = 0;
  std::vector<BackupRecord> records = {
      Good(At("2026-12-31T02:00:00Z")),  // Thursday: 2026-W53
      Good(At("2027-01-03T02:00:00Z")),  // Sunday, still 2026-W53
      Good(At("2027-01-04T02:00:00Z")),  // Monday: 2027-W01
      Good(At("2024-12-30T02:00:00Z")),  // Monday: 2025-W01
  };
  auto reasons = ReasonsById(Decide(records, rules, At("2027-01-05T00:00:00Z")));
  using V = std::vector<std::string>;
  EXPECT_EQ(reasons[records[0].id], (V{"matches no rule"}));
  EXPECT_EQ(reasons[records[1].id], (V{"weekly 2026-W53"}));
  EXPECT_EQ(reasons[records[2].id], (V{"weekly 2027-W01"}));
  EXPECT_EQ(reasons[records[3].id], (V{"weekly 2025-W01"}));
}

TEST(RetentionTest, PinnedBackupsSurvive) {
  RetentionRules rules;
  rules.daily = 1;
  rules.min_keep = 1;
  int64_t t = At("2026-06-01T02:00:00Z");
  std::vector<BackupRecord> records = {Good(t), Good(t + kDay), Failed(t + 2 * kDay),
                                       Good(t + 3 * kDay)};
  records[0].pinned = true;  // the pre-deploy snapshot
  records[2].pinned = true;  // pinned to investigate the failure
  records[3].pinned = true;
  auto d = Decide(records, rules, t + 3 * kDay + kHour);
  using V = std::vector<std::string>;
  EXPECT_TRUE(d[0].keep);
  EXPECT_EQ(d[0].reasons, (V{"pinned"}));
  EXPECT_FALSE(d[1].keep);
  EXPECT_TRUE(d[2].keep);
  EXPECT_EQ(d[2].reasons, (V{"pinned"}));
  EXPECT_EQ(d[3].reasons, (V{"daily 2026-06-04", "min_keep", "pinned"}));
}

TEST(RetentionTest, LastKeepsTheNewestByRank) {
  RetentionRules rules;
  rules.last = 2;
  rules.min_keep = 0;
  int64_t t = At("2026-03-01T00:00:00Z");
  // Listed out of order; ranks follow time.
  std::vector<BackupRecord> records = {Good(t + 2 * kHour), Good(t + 4 * kHour),
                                       Failed(t + 5 * kHour), Good(t), Good(t + 3 * kHour)};
  auto d = Decide(records, rules, t + kDay);
  using V = std::vector<std::string>;
  EXPECT_EQ(d[0].reasons, (V{"matches no rule"}));
  EXPECT_EQ(d[1].reasons, (V{"last 1"}));
  EXPECT_EQ(d[2].reasons, (V{"failed backup"}));
  EXPECT_EQ(d[3].reasons, (V{"matches no rule"}));
  EXPECT_EQ(d[4].reasons, (V{"last 2"}));

  rules.last = 0;  // a rule that keeps nothing is still a rule
  EXPECT_TRUE(KeptIds(Decide(records, rules, t + kDay)).empty());
}

TEST(RetentionTest, WithinKeepsStrictlyNewerThanNowMinusDuration) {
  RetentionRules rules;
  rules.within_seconds = 7 * kDay;
  rules.min_keep = 0;
  int64_t now = At("2026-05-10T12:00:00Z");
  std::vector<BackupRecord> records = {Good(now - 7 * kDay), Good(now - 7 * kDay + 1),
                                       Good(now - kDay), Failed(now - kHour),
                                       Good(now + kHour)};  // clock skew: from the future
  auto d = Decide(records, rules, now);
  using V = std::vector<std::string>;
  EXPECT_EQ(d[0].reasons, (V{"matches no rule"}));
  EXPECT_EQ(d[1].reasons, (V{"within 7d"}));
  EXPECT_EQ(d[2].reasons, (V{"within 7d"}));
  EXPECT_EQ(d[3].reasons, (V{"failed backup"}));
  EXPECT_EQ(d[4].reasons, (V{"within 7d"}));

  rules.within_seconds = 36 * kHour;
  EXPECT_EQ(Decide({Good(now)}, rules, now)[0].reasons, (V{"within 36h"}));
  rules.within_seconds = 90 * 60;
  EXPECT_EQ(Decide({Good(now)}, rules, now)[0].reasons, (V{"within 90m"}));
}

TEST(RetentionTest, NoRulesKeepsEverything) {
  RetentionRules rules;  // min_keep alone is a floor, not a rule
  int64_t t = At("2020-01-01T02:00:00Z");
  std::vector<BackupRecord> records = {Good(t), Failed(t + kDay), Good(t + 2 * kDay)};
  records[2].pinned = true;
  auto d = Decide(records, rules, t + 1000 * kDay);
  using V = std::vector<std::string>;
  EXPECT_EQ(KeptIds(d).size(), 3u);
  EXPECT_EQ(d[0].reasons, (V{"no retention rules"}));
  EXPECT_EQ(d[1].reasons, (V{"no retention rules"}));
  EXPECT_EQ(d[2].reasons, (V{"no retention rules", "pinned"}));
  EXPECT_TRUE(Decide({}, rules, t).empty());
}

TEST(RetentionTest, MinKeepCountsOnlySuccessfulBackups) {
  RetentionRules rules;
  rules.daily = 0;
  rules.min_keep = 2;
  int64_t t = At("2026-01-10T02:00:00Z");
  std::vector<BackupRecord> records = {Good(t), Good(t + kDay), Failed(t + 2 * kDay),
                                       Failed(t + 3 * kDay)};
  EXPECT_EQ(KeptIds(Decide(records, rules, t + 4 * kDay)),
            (std::set<std::string>{records[0].id, records[1].id}));
}

// A backup at 23:30 UTC is already the next day in Berlin (UTC+1 in winter,
// +2 in summer), and in 2040, past the last transition the zone file lists,
// where its POSIX rule takes over; Sydney's summer spans the new year.
TEST(RetentionTest, CalendarDaysFollowTheTimeZone) {
  struct Case {
    const char* zone;
    const char* time;
    const char* day;
  };
  const Case cases[] = {
      {"UTC", "2026-11-20T23:30:00Z", "daily 2026-11-20"},
      {"Europe/Berlin", "2026-11-20T23:30:00Z", "daily 2026-11-21"},
      {"Europe/Berlin", "2026-11-20T22:59:59Z", "daily 2026-11-20"},
      {"Europe/Berlin", "2026-07-10T22:30:00Z", "daily 2026-07-11"},
      {"Europe/Berlin", "2026-07-10T21:59:59Z", "daily 2026-07-10"},
      {"Europe/Berlin", "2040-07-10T22:30:00Z", "daily 2040-07-11"},
      {"Europe/Berlin", "2040-12-10T22:30:00Z", "daily 2040-12-10"},
      {"America/New_York", "2027-01-01T03:00:00Z", "daily 2026-12-31"},
      {"Australia/Sydney", "2040-01-15T13:30:00Z", "daily 2040-01-16"},
      {"Australia/Sydney", "2040-07-15T13:30:00Z", "daily 2040-07-15"},
      {"Asia/Kolkata", "2026-03-01T18:29:00Z", "daily 2026-03-01"},
      {"Asia/Kolkata", "2026-03-01T18:30:00Z", "daily 2026-03-02"},
  };
  for (const Case& c : cases) {
    RetentionRules rules;
    rules.daily = 1;
    rules.timezone = c.zone;
    auto d = Decide({Good(At(c.time))}, rules, At(c.time));
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0].reasons[0], c.day) << c.zone << " " << c.time;
  }

  // Two backups an hour and a half apart: one UTC day, two Berlin days.
  std::vector<BackupRecord> records = {Good(At("2026-11-20T22:00:00Z")),
                                       Good(At("2026-11-20T23:30:00Z"))};
  RetentionRules rules;
  rules.daily = 2;
  rules.min_keep = 0;
  EXPECT_EQ(KeptIds(Decide(records, rules, At("2026-11-21T00:00:00Z"))).size(), 1u);
  rules.timezone = "Europe/Berlin";
  EXPECT_EQ(KeptIds(Decide(records, rules, At("2026-11-21T00:00:00Z"))).size(), 2u);
}

// Our reading of the zone files against glibc's, at local 00:30 and 23:30 on
// days spread over 1990-2069, where a wrong offset would change the date.
TEST(RetentionTest, TimeZonesAgreeWithTheCLibrary) {
  const char* old_tz = getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  for (const char* zone : {"Europe/Berlin", "Europe/Dublin", "America/New_York", "America/St_Johns",
                           "America/Sao_Paulo", "Australia/Sydney", "Australia/Lord_Howe",
                           "Pacific/Apia", "Asia/Kolkata", "Africa/Casablanca"}) {
    setenv("TZ", zone, 1);
    tzset();
    std::vector<BackupRecord> records;
    std::vector<std::string> expected;
    for (int64_t t = At("1990-01-01T12:00:00Z"); t < At("2070-01-01T00:00:00Z"); t += 9 * kDay) {
      std::time_t tt = t;
      std::tm tm{};
      localtime_r(&tt, &tm);
      int64_t local_midnight = t - (tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec);
      for (int64_t probe : {local_midnight + 1800, local_midnight - 1800}) {
        std::time_t pt = probe;
        localtime_r(&pt, &tm);
        // On a day the offset changes, `local_midnight` is off; skip the probe
        // rather than compare two that fall on one date.
        if (tm.tm_min != 30 || (tm.tm_hour != 0 && tm.tm_hour != 23)) continue;
        char day[32];
        std::strftime(day, sizeof day, "daily %Y-%m-%d", &tm);
        records.push_back(Good(probe));
        expected.push_back(day);
      }
    }
    RetentionRules rules;
    rules.daily = INT_MAX;
    rules.min_keep = 0;
    rules.timezone = zone;
    auto d = Decide(records, rules, At("2070-01-01T00:00:00Z"));
    ASSERT_EQ(d.size(), expected.size());
    int mismatches = 0;
    for (size_t i = 0; i < d.size(); ++i) {
      if (d[i].reasons[0] == expected[i] || ++mismatches > 5) continue;
      ADD_FAILURE() << zone << " at " << FormatIsoTime(records[i].time) << ": got "
                    << d[i].reasons[0] << ", C library says " << expected[i];
    }
  }
  if (old_tz) {
    setenv("TZ", saved.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
}

TEST(RetentionTest, UtcIgnoresTheEnvironment) {
  setenv("TZ", "Asia/Tokyo", 1);
  tzset();
  RetentionRules rules;
  rules.daily = 1;
  auto d = Decide({Good(At("2026-11-20T23:30:00Z"))}, rules, At("2026-11-21T00:00:00Z"));
  unsetenv("TZ");
  tzset();
  EXPECT_EQ(d[0].reasons[0], "daily 2026-11-20");
}

TEST(RetentionTest, RejectsUnknownTimeZonesAndNegativeCounts) {
  for (const char* zone : {"Europe/Berln", "../../etc/passwd", "/etc/localtime", "Europe", "",
                           "zone.tab", "Europe/./Berlin"}) {
    RetentionRules rules;
    rules.daily = 1;
    rules.timezone = zone;
    auto d = ApplyRetention({Good(0)}, rules, 0);
    ASSERT_FALSE(d.ok()) << zone;
    EXPECT_EQ(d.status().code(), ErrorCode::kConfig);
    EXPECT_NE(d.status().message().find(std::string("\"") + zone + "\""), std::string::npos)
        << d.status().message();
  }
  RetentionRules rules;
  rules.weekly = -1;
  auto d = ApplyRetention({}, rules, 0);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(d.status().message(), "retention weekly must not be negative, not -1");
}

TEST(RetentionTest, RulesFromConfig) {
  RetentionConfig config;
  config.daily = 30;
  config.weekly = 12;
  config.within = "2w";
  config.min_keep = 5;
  config.timezone = "Europe/Berlin";
  auto rules = RulesFromConfig(config);
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  EXPECT_EQ(rules->daily, 30);
  EXPECT_EQ(rules->weekly, 12);
  EXPECT_EQ(rules->monthly, std::nullopt);
  EXPECT_EQ(rules->last, std::nullopt);
  EXPECT_EQ(rules->within_seconds, 14 * kDay);
  EXPECT_EQ(rules->min_keep, 5);
  EXPECT_EQ(rules->timezone, "Europe/Berlin");

  auto defaults = RulesFromConfig(RetentionConfig{});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->within_seconds, 0);
  EXPECT_EQ(defaults->min_keep, 3);
  EXPECT_EQ(defaults->timezone, "UTC");

  config.timezone = "Mars/Olympus_Mons";
  auto bad_zone = RulesFromConfig(config);
  ASSERT_FALSE(bad_zone.ok());
  EXPECT_EQ(bad_zone.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(bad_zone.status().message(),
            "retention.timezone: unknown time zone \"Mars/Olympus_Mons\"");

  config.timezone = "UTC";
  config.within = "7 days";
  auto bad_within = RulesFromConfig(config);
  ASSERT_FALSE(bad_within.ok());
  EXPECT_EQ(bad_within.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(bad_within.status().message().rfind("retention.within: invalid duration \"7 days\"", 0),
            0u)
      << bad_within.status().message();
}

}  // namespace
}  // namespace pgkeep
