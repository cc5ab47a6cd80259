// AlertTracker: one alert and one recovery per channel for one outage,
// nothing while nothing changes, flapping rate-limited, failed sends
// retried, and a restart (states from the state database) neither repeats
// nor forgets an alert.
#include "notify/alert_tracker.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

std::vector<AlertCondition> Down(bool down) {
  return {{"database/main/health", "main", down, down ? "cannot reach the database" : "healthy"}};
}

TEST(AlertTrackerTest, OneAlertAndOneRecoveryPerChannel) {
  AlertTracker t({}, 60);
  const std::vector<std::string> channels = {"webhook #1", "slack #2"};
  EXPECT_TRUE(t.Evaluate(channels, Down(false), 100).empty());  // well from the start: silent
  auto due = t.Evaluate(channels, Down(true), 200);
  ASSERT_EQ(due.size(), 2u);
  for (const auto& d : due) {
    EXPECT_TRUE(d.event.firing);
    EXPECT_EQ(d.event.reason, "cannot reach the database");
    t.Delivered(d);
  }
  // Still down: nothing more, however often it is checked.
  for (int64_t now = 210; now < 1000; now += 10)
    EXPECT_TRUE(t.Evaluate(channels, Down(true), now).empty());
  auto recovered = t.Evaluate(channels, Down(false), 1000);
  ASSERT_EQ(recovered.size(), 2u);
  EXPECT_FALSE(recovered[0].event.firing);
  EXPECT_EQ(recovered[0].event.since, 200);
  for (const auto& d : recovered) t.Delivered(d);
  EXPECT_TRUE(t.Evaluate(channels, Down(false), 1100).empty());
  EXPECT_TRUE(t.Open().empty());
}

TEST(AlertTrackerTest, FlappingIsRateLimitedAndEndsOnTheLatestState) {
  AlertTracker t({}, 300);
  auto first = t.Evaluate({"webhook #1"}, Down(true), 1000);
  ASSERT_EQ(first.size(), 1u);
  t.Delivered(first[0]);
  // Up and down again within the interval: nothing sent.
  EXPECT_TRUE(t.Evaluate({"webhook #1"}, Down(false), 1010).empty());
  EXPECT_TRUE(t.Evaluate({"webhook #1"}, Down(true), 1020).empty());
  EXPECT_TRUE(t.Evaluate({"webhook #1"}, Down(false), 1200).empty());
  // The interval has passed and it is up: the recovery goes out.
  auto later = t.Evaluate({"webhook #1"}, Down(false), 1300);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_FALSE(later[0].event.firing);
}

TEST(AlertTrackerTest, AFailedSendIsRetriedAfterTheInterval) {
  AlertTracker t({}, 60);
  auto due = t.Evaluate({"email #1"}, Down(true), 100);
  ASSERT_EQ(due.size(), 1u);
  t.Failed(due[0], 100);
  EXPECT_TRUE(t.Evaluate({"email #1"}, Down(true), 130).empty());
  auto again = t.Evaluate({"email #1"}, Down(true), 161);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(again[0].event.firing);
}

TEST(AlertTrackerTest, ARestartRemembersWhatWasSent) {
  AlertTracker before({}, 60);
  auto due = before.Evaluate({"webhook #1"}, Down(true), 100);
  ASSERT_EQ(due.size(), 1u);
  AlertState saved = before.Delivered(due[0]);
  EXPECT_EQ(saved.key, "webhook #1|database/main/health");

  AlertTracker after({{saved.key, saved}}, 60);
  EXPECT_TRUE(after.Evaluate({"webhook #1"}, Down(true), 500).empty());  // not repeated
  ASSERT_EQ(after.Open().size(), 1u);
  EXPECT_EQ(after.Open()[0].key, "database/main/health");
  EXPECT_EQ(after.Evaluate({"webhook #1"}, Down(false), 600).size(), 1u);  // not forgotten
}

}  // namespace
}  // namespace pgkeep
