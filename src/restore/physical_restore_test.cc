#include "restore/physical_restore.h"

#include <gtest/gtest.h>

#include <fstream>

#include "backup/physical_backup.h"
#include "repo/snapshot.h"
#include "support/process.h"

namespace pgkeep {
namespace {

// 2026-11-23 14:05:00 UTC.
constexpr int64_t k1405 = 1795442700LL * 1000000;
constexpr int64_t kHour = 3600LL * 1000000;

TEST(ParseTargetTimeTest, AcceptsThePostgreSqlForms) {
  struct Case {
    const char* text;
    int64_t micros;
    const char* pg_text;
  };
  const Case cases[] = {
      {"2026-11-23 14:05:00", k1405, "2026-11-23 14:05:00.000000+00"},  // UTC without a zone
      {"2026-11-23T14:05:00Z", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 14:05:00 UTC", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 14:05:00+00", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 16:05:00+02", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 16:05:00+02:00", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 19:35:00+05:30", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 19:35:00+0530", k1405, "2026-11-23 14:05:00.000000+00"},
      {"2026-11-23 09:05:00.5-05", k1405 + 500000, "2026-11-23 14:05:00.500000+00"},
      {"2026-11-23 14:05:00.000001", k1405 + 1, "2026-11-23 14:05:00.000001+00"},
      {"2026-11-23 14:05:00.123456Z", k1405 + 123456, "2026-11-23 14:05:00.123456+00"},
      {"2026-11-24 00:30:00+10:25", k1405, "2026-11-23 14:05:00.000000+00"},
      {"1970-01-01 00:00:00", 0, "1970-01-01 00:00:00.000000+00"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto t = ParseTargetTime(c.text);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(t->micros, c.micros);
    EXPECT_EQ(t->text, c.pg_text);
  }
}

TEST(ParseTargetTimeTest, RejectsWhatIsNotATime) {
  for (const char* text : {
           "yesterday",
           "",
           "2026-11-23",
           "2026-11-23 14:05",
           "14:05:00",
           "2026-13-01 00:00:00",
           "2026-11-00 00:00:00",
           "2026-11-32 00:00:00",
           "2026-11-23 14:60:00",
           "2026-11-23 14:05:00.1234567",
           "2026-11-23 14:05:00 CET",
           "2026-11-23 14:05:00+2",
           "26-11-23 14:05:00",
           "2026-00-10 00:00:00",     // month zero
           "2026-02-31 00:00:00",     // no such day (timegm would make it March 3)
           "2026-11-23 14:05:00+99",  // offsets end at +15:59
           "2026-11-23 14:05:00+05:99",
       }) {
    SCOPED_TRACE(text);
    auto t = ParseTargetTime(text);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), ErrorCode::kUsage);
    EXPECT_NE(t.status().message().find("--target-time \"" + std::string(text) + "\""),
              std::string::npos)
        << t.status().message();
  }
}

TEST(ParseTargetTimeTest, TellsHowToWriteIt) {
  auto t = ParseTargetTime("yesterday");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().ToString(),
            "--target-time \"yesterday\" is not a time\n"
            "HINT: write it as \"2026-11-23 14:05:00+00\" (UTC when no zone is given)");
}

Snapshot Backup(const std::string& id, const std::string& kind, const std::string& db,
                int64_t stop_micros, const std::string& stop_lsn) {
  Snapshot s;
  s.id = id;
  s.kind = kind;
  s.stop_time = stop_micros / 1000000;
  s.meta = {{kMetaDatabase, db}, {kMetaStopMicros, stop_micros}, {kMetaStopLsn, stop_lsn}};
  return s;
}

// In commit order: main's backups at 13:05, 14:05 and 15:05, with a logical
// backup of main and a physical backup of another database in between.
class ChooseBackupTest : public ::testing::Test {
 protected:
  const std::vector<Snapshot> all_ = {
      Backup("20261123T130000Z-0000000a", "full", "main", k1405 - kHour, "0/3000100"),
      Backup("20261123T132500Z-0000000b", "logical", "main", k1405 - kHour / 2, "0/3800000"),
      Backup("20261123T133500Z-0000000c", "full", "other", k1405 - kHour / 3, "0/3900000"),
      Backup("20261123T140000Z-0000000d", "incr", "main", k1405, "0/5000000"),
      Backup("20261123T150000Z-0000000e", "full", "main", k1405 + kHour, "0/7000000"),
  };
  const std::string kA = "20261123T130000Z-0000000a";
  const std::string kLogical = "20261123T132500Z-0000000b";
  const std::string kOther = "20261123T133500Z-0000000c";
  const std::string kB = "20261123T140000Z-0000000d";
  const std::string kC = "20261123T150000Z-0000000e";
  TimelineTree tree_;  // one timeline

  std::string Chosen(const PhysicalRestoreOptions& options, const std::string& db = "main") {
    auto s = ChooseBackup(all_, db, options, tree_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? s->backup.id : "error";
  }
};

TEST_F(ChooseBackupTest, ByTimePicksTheNewestConsistentBeforeTheTarget) {
  struct Case {
    const char* target_time;
    std::string want;
  };
  const Case cases[] = {
      // exactly when A became consistent
      {"2026-11-23 13:05:00", kA},
      // the logical and the other database's backups do not count
      {"2026-11-23 14:04:59.999999", kA},
      {"2026-11-23 13:45:00", kA},
      {"2026-11-23 14:05:00", kB},
      {"2026-11-23 16:05:00+02", kB},
      {"2026-11-23 15:04:59", kB},
      {"2026-11-23 15:05:00", kC},
      {"2027-01-01 00:00:00", kC},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target_time);
    PhysicalRestoreOptions o;
    o.target_time = c.target_time;
    EXPECT_EQ(Chosen(o), c.want);
  }
}

TEST_F(ChooseBackupTest, ByTimeBeforeEveryBackupIsNotFound) {
  PhysicalRestoreOptions o;
  o.target_time = "2026-11-23 13:04:59";
  auto s = ChooseBackup(all_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(
      s.status().message(),
      "--target-time 2026-11-23 13:04:59 is before the first backup of database \"main\" became "
      "consistent (2026-11-23 13:05:00.000000+00)");
  EXPECT_EQ(s.status().hint(),
            "no backup can recover to that point; pgkeep list --db main shows what there is");
}

TEST_F(ChooseBackupTest, ByLsnPicksTheNewestEndingBeforeTheTarget) {
  struct Case {
    const char* target_lsn;
    std::string want;
  };
  const Case cases[] = {
      {"0/3000100", kA}, {"0/3900000", kA}, {"0/4FFFFFF", kA}, {"0/5000000", kB},
      {"0/6FFFFFF", kB}, {"0/7000000", kC}, {"1/0", kC},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.target_lsn);
    PhysicalRestoreOptions o;
    o.target_lsn = c.target_lsn;
    EXPECT_EQ(Chosen(o), c.want);
  }
}

TEST_F(ChooseBackupTest, ByLsnBeforeEveryBackupIsNotFound) {
  PhysicalRestoreOptions o;
  o.target_lsn = "0/30000FF";
  auto s = ChooseBackup(all_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(
      s.status().message(),
      "--target-lsn 0/30000FF is before the first backup of database \"main\" ends (0/3000100)");
}

TEST_F(ChooseBackupTest, RestorePointNameTakesTheOldest) {
  PhysicalRestoreOptions o;
  o.target_name = "before_migration";
  EXPECT_EQ(Chosen(o), kA);
}

TEST_F(ChooseBackupTest, WithoutTargetTakesTheNewest) {
  PhysicalRestoreOptions o;
  EXPECT_EQ(Chosen(o), kC);
  o.backup = "latest";
  EXPECT_EQ(Chosen(o), kC);
  o.target = "immediate";
  EXPECT_EQ(Chosen(o), kC);
  EXPECT_EQ(Chosen(PhysicalRestoreOptions{}, "other"), kOther);
}

TEST_F(ChooseBackupTest, LatestWithATargetStillChoosesByTarget) {
  PhysicalRestoreOptions o;
  o.backup = "latest";
  o.target_time = "2026-11-23 14:30:00";
  EXPECT_EQ(Chosen(o), kB);
}

TEST_F(ChooseBackupTest, FallsBackToStopTimeWithoutStopMicros) {
  std::vector<Snapshot> all = all_;
  for (auto& s : all) s.meta.erase(kMetaStopMicros);  // stop_time is whole seconds
  PhysicalRestoreOptions o;
  o.target_time = "2026-11-23 14:05:00";
  auto s = ChooseBackup(all, "main", o, tree_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->backup.id, kB);
  o.target_time = "2026-11-23 14:04:59";
  s = ChooseBackup(all, "main", o, tree_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->backup.id, kA);
}

TEST_F(ChooseBackupTest, NoPhysicalBackupOfTheDatabase) {
  std::vector<Snapshot> only_logical = {all_[1]};
  auto s = ChooseBackup(only_logical, "main", PhysicalRestoreOptions{}, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.status().message(), "no physical backup of database \"main\" in the repository");
  EXPECT_EQ(s.status().hint(), "take one with: pgkeep backup --db main");

  auto none = ChooseBackup(all_, "nobody", PhysicalRestoreOptions{}, tree_);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kNotFound);
}

TEST_F(ChooseBackupTest, ExplicitBackupIsTakenAsGiven) {
  PhysicalRestoreOptions o;
  o.backup = kA;
  EXPECT_EQ(Chosen(o), kA);
  o.backup = kB;
  o.target_time = "2026-11-23 14:05:00";  // exactly its stop: fine
  EXPECT_EQ(Chosen(o), kB);
  o.target_time = "2026-11-23 15:30:00";  // a newer backup exists, but B was asked for
  EXPECT_EQ(Chosen(o), kB);
  o.target_time.clear();
  o.target_lsn = "0/5000000";
  EXPECT_EQ(Chosen(o), kB);
}

TEST_F(ChooseBackupTest, ExplicitUnknownBackupIsNotFound) {
  PhysicalRestoreOptions o;
  o.backup = "20261123T160000Z-deadbeef";
  auto s = ChooseBackup(all_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.status().message(), "no backup \"20261123T160000Z-deadbeef\" in the repository");
}

TEST_F(ChooseBackupTest, ExplicitBackupMustBeAPhysicalBackupOfTheDatabase) {
  for (const std::string& id : {kLogical, kOther}) {
    SCOPED_TRACE(id);
    PhysicalRestoreOptions o;
    o.backup = id;
    auto s = ChooseBackup(all_, "main", o, tree_);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), ErrorCode::kUsage);
    EXPECT_EQ(s.status().message(),
              "backup " + id + " is not a physical backup of database \"main\"");
    EXPECT_EQ(s.status().hint(), "pgkeep list --db main shows its backups");
  }
}

TEST_F(ChooseBackupTest, ExplicitBackupAfterTheTargetIsRefused) {
  PhysicalRestoreOptions o;
  o.backup = kC;
  o.target_time = "2026-11-23 14:05:00";
  auto s = ChooseBackup(all_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(s.status().message(), "--target-time 2026-11-23 14:05:00 is before backup " + kC +
                                      " became consistent (2026-11-23 15:05:00.000000+00)");

  o.target_time.clear();
  o.target_lsn = "0/6FFFFFF";
  s = ChooseBackup(all_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(s.status().message(),
            "--target-lsn 0/6FFFFFF is before backup " + kC + " ends (0/7000000)");
}

// A restored copy of main, made to 14:30 from B, archived as timeline 2 (it
// forked from timeline 1 at 0/6000000) and was even backed up once (D), while
// main went on: C on timeline 1 after the fork.
class TimelineChoiceTest : public ChooseBackupTest {
 protected:
  void SetUp() override {
    all_tl_ = all_;
    Snapshot d = Backup(kD, "full", "main", k1405 + kHour / 2, "0/6800000");
    d.meta[kMetaTimeline] = 2;
    // In commit order D came before C (main's backup at 15:05 is the newest).
    all_tl_.insert(all_tl_.end() - 1, d);
    tree_.Add(2, {{1, 0x6000000, "before 2026-11-23 14:30:00+00"}});
  }
  std::string ChosenTl(const PhysicalRestoreOptions& o, uint32_t* timeline = nullptr) {
    auto s = ChooseBackup(all_tl_, "main", o, tree_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (timeline && s.ok()) *timeline = s->timeline;
    return s.ok() ? s->backup.id : "error";
  }
  const std::string kD = "20261123T143000Z-0000000f";
  std::vector<Snapshot> all_tl_;
};

TEST_F(TimelineChoiceTest, DefaultFollowsTheNewestBackupsTimelineNeverTheHighest) {
  uint32_t tli = 99;
  EXPECT_EQ(ChosenTl({}, &tli), kC);
  EXPECT_EQ(tli, 1u);
  PhysicalRestoreOptions o;
  o.target_time = "2026-11-23 14:50:00";  // after D: still main's B, on timeline 1
  EXPECT_EQ(ChosenTl(o, &tli), kB);
  EXPECT_EQ(tli, 1u);
  o.target_time.clear();
  o.target_lsn = "0/6900000";  // after the fork, on main's timeline
  EXPECT_EQ(ChosenTl(o, &tli), kB);
  EXPECT_EQ(tli, 1u);
  o.target_lsn.clear();
  o.target_name = "before_migration";
  EXPECT_EQ(ChosenTl(o, &tli), kA);
  EXPECT_EQ(tli, 1u);
}

TEST_F(TimelineChoiceTest, NotesTheTimelineNotFollowed) {
  PhysicalRestoreOptions o;
  o.backup = kB;  // timeline 2 forks after B ends
  auto s = ChooseBackup(all_tl_, "main", o, tree_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->notes.size(), 1u);
  EXPECT_EQ(s->notes[0],
            "timeline 2 forked from timeline 1 at 0/6000000 and is not followed; --target-timeline "
            "2 follows it");
  o.backup = kC;  // after the fork: timeline 2 is not reachable from C
  s = ChooseBackup(all_tl_, "main", o, tree_);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->notes.empty());
}

TEST_F(TimelineChoiceTest, ExplicitTimelineTakesBackupsOnItsHistoryOnly) {
  PhysicalRestoreOptions o;
  o.target_timeline = "2";
  uint32_t tli = 0;
  EXPECT_EQ(ChosenTl(o, &tli), kD);  // C is past the fork: not on 2's history
  EXPECT_EQ(tli, 2u);
  o.target_time = "2026-11-23 14:20:00";
  EXPECT_EQ(ChosenTl(o, &tli), kB);  // before the fork: timeline 1's B replays into 2
  o.target_time.clear();
  o.backup = kC;
  auto s = ChooseBackup(all_tl_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(
      s.status().message(),
      "backup " + kC +
          " (timeline 1, ends 0/7000000) is not in the history of timeline 2 (timeline 2 forked "
          "from timeline 1 at 0/6000000)");
  o.backup.clear();
  o.target_timeline = "7";
  s = ChooseBackup(all_tl_, "main", o, tree_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), "timeline 7 of database \"main\" is not in the repository");
}

TEST_F(TimelineChoiceTest, AGivenBackupOffTheDefaultLineageFollowsItsOwnTimeline) {
  PhysicalRestoreOptions o;
  o.backup = kD;
  uint32_t tli = 0;
  EXPECT_EQ(ChosenTl(o, &tli), kD);
  EXPECT_EQ(tli, 2u);
  o.target_timeline = "latest";
  EXPECT_EQ(ChosenTl(o, &tli), kD);
  EXPECT_EQ(tli, 0u);
}

TEST(TimelineTreeTest, LineageAndContainment) {
  TimelineTree tree;
  tree.Add(2, {{1, 0x5000000, ""}});
  tree.Add(3, {{1, 0x5000000, ""}, {2, 0x9000000, ""}});
  EXPECT_TRUE(tree.Contains(3, 1, 0x4000000));
  EXPECT_TRUE(tree.Contains(3, 1, 0x5000000));  // consistent at the switch: fine
  EXPECT_FALSE(tree.Contains(3, 1, 0x5000001));
  EXPECT_TRUE(tree.Contains(3, 2, 0x8000000));
  EXPECT_FALSE(tree.Contains(3, 2, 0x9000001));
  EXPECT_TRUE(tree.Contains(3, 3, 0xA000000));
  EXPECT_FALSE(tree.Contains(2, 3, 0xA000000));
  EXPECT_TRUE(tree.Contains(1, 1, 0xFFFFFFFF));
  EXPECT_FALSE(tree.Contains(1, 2, 0x6000000));
  EXPECT_EQ(tree.Fork(3)->parent, 2u);
  EXPECT_FALSE(tree.Fork(1));
}

TEST(TimelineHistoryTest, ParsesWhatPostgresWritesAndRefusesTheRest) {
  auto h = ParseTimelineHistory(
      "1\t0/5000098\tbefore 2026-12-05 13:00:00.1+00\n\n# comment\n2\t0/9000000\tno recovery "
      "target specified\n",
      3);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].parent, 1u);
  EXPECT_EQ((*h)[0].switch_lsn, 0x5000098u);
  EXPECT_EQ((*h)[0].reason, "before 2026-12-05 13:00:00.1+00");
  EXPECT_EQ((*h)[1].reason, "no recovery target specified");
  for (const char* bad : {"1 garbage\n", "3\t0/1\tx\n", "2\t0/1\tx\n1\t0/2\ty\n",
                          "1\t0/9\tx\n2\t0/8\ty\n", "0\t0/1\tx\n", "99999999999\t0/1\tx\n"}) {
    SCOPED_TRACE(bad);
    auto r = ParseTimelineHistory(bad, 3);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kCorrupt);
  }
}

class CheckPhysicalRestoreRequestTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-restore-check-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  PhysicalRestoreOptions Valid() const {
    PhysicalRestoreOptions o;
    o.pgdata = dir_ + "/new-data";
    return o;
  }

  PosixEnv env_;
  std::string dir_;
};

TEST_F(CheckPhysicalRestoreRequestTest, AcceptsAnAbsentOrEmptyDirectory) {
  PhysicalRestoreOptions o = Valid();
  Status s = CheckPhysicalRestoreRequest(env_, o);
  EXPECT_TRUE(s.ok()) << s.ToString();
  o.pgdata = dir_;  // exists, empty
  s = CheckPhysicalRestoreRequest(env_, o);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(CheckPhysicalRestoreRequestTest, AcceptsOneTargetOfEachKind) {
  for (auto set : std::vector<void (*)(PhysicalRestoreOptions&)>{
           [](PhysicalRestoreOptions& o) { o.target_time = "2026-11-23 14:05:00+01"; },
           [](PhysicalRestoreOptions& o) { o.target_lsn = "0/3000028"; },
           [](PhysicalRestoreOptions& o) { o.target_name = "before_migration"; },
           [](PhysicalRestoreOptions& o) { o.target = "latest"; },
           [](PhysicalRestoreOptions& o) { o.target = "immediate"; },
       }) {
    PhysicalRestoreOptions o = Valid();
    set(o);
    Status s = CheckPhysicalRestoreRequest(env_, o);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
}

TEST_F(CheckPhysicalRestoreRequestTest, RefusesBadRequests) {
  std::ofstream(dir_ + "/PG_VERSION") << "15\n";
  struct Case {
    const char* what;
    void (*set)(PhysicalRestoreOptions&, const std::string& dir);
    std::string message;
  };
  const std::string two_targets =
      "give at most one of --target-time, --target-lsn, --target-name and --target";
  const Case cases[] = {
      {"time and lsn",
       [](PhysicalRestoreOptions& o, const std::string&) {
         o.target_time = "2026-11-23 14:05:00";
         o.target_lsn = "0/3000028";
       },
       two_targets},
      {"name and immediate",
       [](PhysicalRestoreOptions& o, const std::string&) {
         o.target_name = "x";
         o.target = "immediate";
       },
       two_targets},
      {"bad target", [](PhysicalRestoreOptions& o, const std::string&) { o.target = "earliest"; },
       "--target must be \"latest\" or \"immediate\", not \"earliest\""},
      {"bad time",
       [](PhysicalRestoreOptions& o, const std::string&) { o.target_time = "yesterday"; },
       "--target-time \"yesterday\" is not a time"},
      {"bad lsn", [](PhysicalRestoreOptions& o, const std::string&) { o.target_lsn = "0/XYZ"; },
       "--target-lsn \"0/XYZ\" is not an LSN"},
      {"no pgdata", [](PhysicalRestoreOptions& o, const std::string&) { o.pgdata = ""; },
       "--pgdata DIR is required for a physical restore"},
      {"relative pgdata", [](PhysicalRestoreOptions& o, const std::string&) { o.pgdata = "data"; },
       "--pgdata must be an absolute path, not \"data\""},
      {"non-empty pgdata",
       [](PhysicalRestoreOptions& o, const std::string& dir) { o.pgdata = dir; }, ""},
      {"port too big", [](PhysicalRestoreOptions& o, const std::string&) { o.port = 65536; },
       "--port must be 1..65535"},
      {"negative port", [](PhysicalRestoreOptions& o, const std::string&) { o.port = -1; },
       "--port must be 1..65535"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    PhysicalRestoreOptions o = Valid();
    c.set(o, dir_);
    Status s = CheckPhysicalRestoreRequest(env_, o);
    EXPECT_EQ(s.code(), ErrorCode::kUsage);
    std::string want = c.message.empty() ? "--pgdata \"" + dir_ + "\" is not empty" : c.message;
    EXPECT_EQ(s.message(), want);
  }
}

TEST_F(CheckPhysicalRestoreRequestTest, NonEmptyDirectoryHintSaysWhy) {
  std::ofstream(dir_ + "/postgresql.conf") << "";
  PhysicalRestoreOptions o = Valid();
  o.pgdata = dir_;
  Status s = CheckPhysicalRestoreRequest(env_, o);
  EXPECT_EQ(s.code(), ErrorCode::kUsage);
  EXPECT_EQ(s.hint(),
            "restore into a new or empty directory; pgkeep never overwrites a data directory");
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST(RecoverySettingsTest, EarlierRestoresLeaveNothingBehind) {
  const std::string conf =
      "# Do not edit this file manually!\n"
      "work_mem = '64MB'\n"
      "\n"
      "# Added by pgkeep restore of backup 20261101T020000Z-aaaaaaaa at 2026-11-01 "
      "03:00:00.000000+00\n"
      "restore_command = '/usr/bin/pgkeep --config /etc/pgkeep.toml wal-fetch --db main %f %p'\n"
      "recovery_target_time = '2026-11-01 02:30:00.000000+00'\n"
      "recovery_target_action = 'promote'\n"
      "archive_mode = 'off'\n"
      "port = 5440\n"
      "\n"
      "recovery_target_name = 'set by hand'\n"
      "  restore_command = 'cp /mnt/%f %p'\n"
      "shared_buffers = '1GB'\n";
  EXPECT_EQ(WithoutEarlierRecoverySettings(conf),
            "# Do not edit this file manually!\n"
            "work_mem = '64MB'\n"
            "\n"
            "\n"
            "shared_buffers = '1GB'\n");
}

}  // namespace
}  // namespace pgkeep
