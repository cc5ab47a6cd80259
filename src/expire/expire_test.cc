// expire with a manual clock: which backups are kept and deleted at given
// times, pins that lapse, dry runs, and what garbage collection frees.
#include "expire/expire.h"

#include <gtest/gtest.h>

#include <map>

#include "repo/pins.h"
#include "repo/snapshot.h"
#include "support/memory_repo.h"

namespace pgkeep {
namespace {

constexpr int64_t kDay = 86400;

DatabaseConfig Db(RetentionConfig retention) {
  DatabaseConfig db;
  db.name = "files";
  db.method = "logical";
  db.retention = retention;
  return db;
}

class ExpireTest : public ::testing::Test {
 protected:
  void Configure(RetentionConfig retention) { config_.databases["files"] = Db(retention); }
  // One backup a day at the current time, then a day passes; returns their ids.
  std::vector<std::string> DailyBackups(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(mem_.StoreSnapshot("files", "logical",
                                       "day " + std::to_string(ids.size()) + " " +
                                           std::string(5000, static_cast<char>('a' + i)))
                        .id);
      mem_.AdvanceSeconds(kDay);
    }
    return ids;
  }
  ExpireReport Expire(bool dry_run = false) {
    mem_.Reopen();
    ExpireOptions options;
    options.dry_run = dry_run;
    auto r = RunExpire(mem_.repo(), config_, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ExpireReport{};
  }
  static std::vector<std::string> Deleted(const ExpireReport& r) {
    std::vector<std::string> ids;
    for (const auto& d : r.decisions)
      if (!d.keep) ids.push_back(d.id);
    return ids;
  }

  testing::MemoryRepo mem_;
  Config config_;
};

TEST_F(ExpireTest, WithinKeepsWhatIsYoungEnoughAtTheTimeOfTheRun) {
  Configure(RetentionConfig{.within = "2d", .min_keep = 1});
  std::vector<std::string> ids = DailyBackups(3);  // taken 3, 2 and 1 days ago
  mem_.AdvanceSeconds(-kDay / 2);                  // now 2.5, 1.5 and 0.5 days ago
  ExpireReport r = Expire();
  EXPECT_EQ(r.time, mem_.clock().NowSeconds());
  EXPECT_EQ(Deleted(r), std::vector<std::string>{ids[0]});
  EXPECT_EQ(r.expired, 1u);
  EXPECT_EQ(mem_.SnapshotIds(), (std::vector<std::string>{ids[1], ids[2]}));
  EXPECT_GT(r.gc.bytes_freed, 0u) << "what only the expired backup used is freed";

  // Nothing changes until time passes; exactly 2 days old is outside "2d".
  EXPECT_TRUE(Deleted(Expire()).empty());
  mem_.AdvanceSeconds(kDay / 2 - 1);
  EXPECT_TRUE(Deleted(Expire()).empty());
  mem_.AdvanceSeconds(1);
  EXPECT_EQ(Deleted(Expire()), std::vector<std::string>{ids[1]});
  // min_keep holds the last one however old it gets.
  mem_.AdvanceSeconds(365 * kDay);
  EXPECT_TRUE(Deleted(Expire()).empty());
  EXPECT_EQ(mem_.SnapshotIds(), std::vector<std::string>{ids[2]});
}

TEST_F(ExpireTest, LastKeepsTheNewestWhateverTheTime) {
  Configure(RetentionConfig{.last = 2, .min_keep = 1});
  std::vector<std::string> ids = DailyBackups(5);
  EXPECT_EQ(Deleted(Expire()), (std::vector<std::string>{ids[0], ids[1], ids[2]}));
  mem_.AdvanceSeconds(100 * kDay);
  EXPECT_TRUE(Deleted(Expire()).empty());
  EXPECT_EQ(mem_.SnapshotIds(), (std::vector<std::string>{ids[3], ids[4]}));
}

TEST_F(ExpireTest, APinHoldsUntilItsDateThenRetentionDecides) {
  Configure(RetentionConfig{.last = 1, .min_keep = 1});
  std::vector<std::string> ids = DailyBackups(3);
  int64_t until = mem_.clock().NowSeconds() + 2 * kDay;
  ASSERT_TRUE(
      WritePin(mem_.repo(), Pin{ids[0], until, "before deploy", mem_.clock().NowSeconds()}).ok());
  EXPECT_EQ(Deleted(Expire()), std::vector<std::string>{ids[1]});
  mem_.AdvanceSeconds(2 * kDay - 1);
  EXPECT_TRUE(Deleted(Expire()).empty()) << "one second before the pin lapses";
  mem_.AdvanceSeconds(1);
  EXPECT_EQ(Deleted(Expire()), std::vector<std::string>{ids[0]});
  auto pins = ReadPins(mem_.repo());
  ASSERT_TRUE(pins.ok());
  EXPECT_TRUE(pins->empty()) << "the pin of an expired backup goes with it";
}

TEST_F(ExpireTest, ADryRunDecidesButDeletesNothing) {
  Configure(RetentionConfig{.last = 1, .min_keep = 1});
  std::vector<std::string> ids = DailyBackups(3);
  ExpireReport r = Expire(true);
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(Deleted(r), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(mem_.SnapshotIds(), ids);
}

TEST_F(ExpireTest, SnapshotsOfNoConfiguredDatabaseAreKept) {
  Configure(RetentionConfig{.last = 1, .min_keep = 1});
  std::string plain = mem_.StoreSnapshot("", "files", "plain store").id;
  std::string gone = mem_.StoreSnapshot("dropped", "logical", "old database").id;
  std::vector<std::string> ids = DailyBackups(2);
  ExpireReport r = Expire();
  EXPECT_EQ(Deleted(r), std::vector<std::string>{ids[0]});
  std::map<std::string, std::vector<std::string>> reasons;
  for (const auto& d : r.decisions) reasons[d.id] = d.reasons;
  EXPECT_EQ(reasons[plain], std::vector<std::string>{"not a database backup"});
  EXPECT_EQ(reasons[gone], std::vector<std::string>{"database not in the configuration"});
}

TEST_F(ExpireTest, ReportsItsSteps) {
  Configure(RetentionConfig{.last = 1, .min_keep = 1});
  DailyBackups(2);
  mem_.Reopen();
  std::vector<std::string> steps;
  ExpireOptions options;
  options.progress = [&steps](const std::string& step) { steps.push_back(step); };
  ASSERT_TRUE(RunExpire(mem_.repo(), config_, options).ok());
  EXPECT_EQ(steps, (std::vector<std::string>{"applying retention", "collecting garbage"}));
}

TEST_F(ExpireTest, TheLastRunIsRecordedForStatus) {
  Configure(RetentionConfig{.last = 1, .min_keep = 1});
  DailyBackups(2);
  auto before = ReadLastExpire(mem_.repo());
  ASSERT_TRUE(before.ok());
  EXPECT_FALSE(*before);
  int64_t at = mem_.clock().NowSeconds();
  Expire();
  auto after = ReadLastExpire(mem_.repo());
  ASSERT_TRUE(after.ok());
  ASSERT_TRUE(*after);
  EXPECT_EQ((**after)["time"], at);
}

// The forget log of a database keeps what a restore of a kept backup needs
// (entries from an hour before the oldest kept backup's start on) and loses
// the rest; a dry run only counts.
TEST_F(ExpireTest, TheForgetLogIsKeptFromAnHourBeforeTheOldestKeptBackup) {
  Configure(RetentionConfig{.daily = 2, .min_keep = 1});
  const int64_t t0 = mem_.clock().NowSeconds();
  std::vector<std::string> ids = DailyBackups(4);  // at t0, t0 + 1 day, ...
  auto write = [&](int64_t at) {
    const std::string id = NewSnapshotId(at);
    EXPECT_TRUE(mem_.repo().WriteForgetEntry("files", id, AsBytes("{}")).ok());
    return id;
  };
  write(t0 - 7200);                                      // before every backup
  write(t0 + kDay - 7200);                               // 2 h before the 2nd
  const std::string near = write(t0 + 2 * kDay - 1800);  // 30 min before the 3rd
  const std::string late = write(t0 + 3 * kDay + 3600);
  ASSERT_TRUE(mem_.repo().WriteForgetEntry("other", NewSnapshotId(t0 - 7200), AsBytes("{}")).ok());

  ExpireReport dry = Expire(true);
  EXPECT_EQ(dry.forget_entries_removed, 2u);
  EXPECT_EQ(mem_.repo().ListForgetEntries("files")->size(), 4u);

  ExpireReport r = Expire();
  EXPECT_EQ(Deleted(r), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(r.forget_entries_removed, 2u);
  EXPECT_EQ(*mem_.repo().ListForgetEntries("files"), (std::vector<std::string>{near, late}));
  // A database not configured keeps its log.
  EXPECT_EQ(mem_.repo().ListForgetEntries("other")->size(), 1u);
}

}  // namespace
}  // namespace pgkeep
