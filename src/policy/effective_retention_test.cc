#include "policy/effective_retention.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

constexpr int64_t kNow = 1'800'000'000;

std::vector<PolicyTenant> ChatTenants() {
  return {{"org-delete", 90, "delete", "2026-12-07 03:15:00+00"},
          {"org-forever", 0, "keep", ""},
          {"org-redact", 7, "redact", ""}};
}

TEST(EffectiveRetentionTest, TheLongestRuleSetsTheHorizon) {
  RetentionConfig rules;
  EXPECT_FALSE(HorizonOf(rules, "repository").days.has_value());  // no rule: nothing expires
  rules.daily = 14;
  rules.weekly = 8;
  EXPECT_EQ(HorizonOf(rules, "repository").days, 56);
  EXPECT_EQ(HorizonOf(rules, "repository").basis, "weekly = 8");
  rules.within = "90d";
  EXPECT_EQ(HorizonOf(rules, "repository").days, 90);
  rules.yearly = 7;
  EXPECT_EQ(HorizonOf(rules, "repository").days, 7 * 366);
  EXPECT_EQ(HorizonOf(rules, "repository").basis, "yearly = 7");
}

TEST(EffectiveRetentionTest, AHardDeleteOutlivedByBackupsIsAContradiction) {
  RetentionPolicyConfig policy;
  policy.name = "messages";
  policy.database = "primary";
  policy.table = "Message";
  DatabaseConfig db;
  db.retention.daily = 30;
  BackupsNow now;
  now.oldest_id = "20261107T030000Z-1c2d3e4f";
  now.oldest_time = kNow - 30 * 86400;

  // Backups kept 30 days: shorter than the 90-day delete; no contradiction.
  PolicyRetention short_kept = EffectiveRetention(policy, db, {}, ChatTenants(), now, kNow);
  EXPECT_FALSE(short_kept.contradiction);
  ASSERT_EQ(short_kept.tenants.size(), 3u);
  EXPECT_EQ(short_kept.tenants[0].in_backups_days, 30);
  EXPECT_EQ(short_kept.oldest_backup_age_days, 30);
  EXPECT_EQ(short_kept.tenants[0].finding,
            "rows deleted after 90 days stay in backups up to 30 days after, by repository "
            "(daily = 30)");
  EXPECT_FALSE(short_kept.tenants[1].in_backups_days.has_value());  // kept forever: not erased
  EXPECT_EQ(short_kept.tenants[1].finding, "kept forever: nothing is erased");

  // A copy that keeps yearly backups for 7 years contradicts the delete.
  CopyConfig cold;
  cold.name = "cold";
  cold.retention = RetentionConfig{};
  cold.retention->yearly = 7;
  PolicyRetention with_copy = EffectiveRetention(policy, db, {cold}, ChatTenants(), now, kNow);
  EXPECT_TRUE(with_copy.contradiction);
  EXPECT_TRUE(with_copy.tenants[0].contradiction);
  EXPECT_NE(with_copy.tenants[0].finding.find("by copy cold (yearly = 7)"), std::string::npos)
      << with_copy.tenants[0].finding;
  EXPECT_NE(with_copy.tenants[0].finding.find("CONTRADICTION: deleted after 90 days"),
            std::string::npos);
  EXPECT_FALSE(with_copy.tenants[2].contradiction);  // redacting keeps no promise to delete

  // A backup pinned for another 400 days keeps them that long.
  now.pinned = 1;
  now.pinned_until = kNow + 400 * 86400;
  PolicyRetention pinned_400 = EffectiveRetention(policy, db, {}, ChatTenants(), now, kNow);
  EXPECT_EQ(pinned_400.tenants[0].in_backups_days, 400);
  EXPECT_TRUE(pinned_400.contradiction);
  // The oldest backup kept is a fact the rules may understate (backups
  // rarer than daily): it counts too.
  BackupsNow old = {"20250101T000000Z-00000000", kNow - 200 * 86400, 0, false, 0, 0};
  PolicyRetention aged = EffectiveRetention(policy, db, {}, ChatTenants(), old, kNow);
  EXPECT_EQ(aged.tenants[0].in_backups_days, 200);
  EXPECT_NE(aged.tenants[0].finding.find("by the oldest backup kept now"), std::string::npos)
      << aged.tenants[0].finding;

  // A backup pinned until unpinned keeps erased rows with no limit.
  now.pinned = 1;
  now.pinned_forever = true;
  PolicyRetention pinned = EffectiveRetention(policy, db, {}, ChatTenants(), now, kNow);
  EXPECT_TRUE(pinned.contradiction);
  EXPECT_FALSE(pinned.tenants[0].in_backups_days.has_value());
  EXPECT_NE(pinned.tenants[0].finding.find("with no limit"), std::string::npos);

  nlohmann::json j = PolicyRetentionToJson(pinned);
  EXPECT_EQ(j["tenants"][0]["in_backups_days"], nullptr);
  EXPECT_EQ(j["tenants"][0]["last_run"], "2026-12-07 03:15:00+00");
  EXPECT_EQ(j["tenants"][1]["last_run"], nullptr);
  EXPECT_EQ(j["contradiction"], true);
  EXPECT_EQ(j["horizons"][0]["days"], 30);
  // status shows only the tenants in contradiction, and a count.
  const std::string brief = PolicyRetentionText(pinned, "", false);
  EXPECT_NE(brief.find("tenant org-delete: "), std::string::npos) << brief;
  EXPECT_EQ(brief.find("tenant org-redact: "), std::string::npos) << brief;
  EXPECT_NE(brief.find("3 tenant(s): 1 delete 1 keep 1 redact, 1 contradiction(s)"),
            std::string::npos)
      << brief;
}

}  // namespace
}  // namespace pgkeep
