#include "wal/wal_timeline.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "storage/memory_storage.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {
namespace {

// Segment `segno` on timeline `tli`, archived at 2000 + segno (a distinct,
// recognisable time per segment).
ArchivedSegment Seg(uint32_t tli, uint64_t segno) {
  return {WalSegmentName(tli, segno), tli, segno, int64_t(2000 + segno), 16u << 20};
}

// Segments first..last on `tli`, except those in `missing`.
std::vector<ArchivedSegment> Segs(uint32_t tli, uint64_t first, uint64_t last,
                                  std::initializer_list<uint64_t> missing = {}) {
  std::vector<ArchivedSegment> out;
  for (uint64_t n = first; n <= last; ++n)
    if (std::find(missing.begin(), missing.end(), n) == missing.end()) out.push_back(Seg(tli, n));
  return out;
}

std::vector<ArchivedSegment> Concat(std::vector<ArchivedSegment> a,
                                    const std::vector<ArchivedSegment>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

WalBackupPoint Backup(const std::string& id, uint32_t tli, uint64_t start, uint64_t stop,
                      int64_t stop_time) {
  return {id, tli, start, stop, stop_time};
}

void ExpectGap(const WalGap& g, uint32_t tli, uint64_t first, uint64_t last) {
  EXPECT_EQ(g.timeline, tli);
  EXPECT_EQ(g.first_missing, WalSegmentName(tli, first));
  EXPECT_EQ(g.last_missing, WalSegmentName(tli, last));
  EXPECT_EQ(g.count, last - first + 1);
}

TEST(AnalyzeWalTest, NothingArchivedNothingBackedUp) {
  WalAnalysis a = AnalyzeWal({}, {});
  EXPECT_EQ(a.segments, 0u);
  EXPECT_EQ(a.last_segment, "");
  EXPECT_EQ(a.last_archived_time, 0);
  EXPECT_TRUE(a.gaps.empty());
  EXPECT_FALSE(a.window.has_value());
}

TEST(AnalyzeWalTest, OneBackupWithItsWalArchived) {
  WalAnalysis a = AnalyzeWal(Segs(1, 5, 9), {Backup("b1", 1, 5, 5, 1000)});
  EXPECT_EQ(a.segments, 5u);
  EXPECT_EQ(a.last_segment, WalSegmentName(1, 9));
  EXPECT_EQ(a.last_archived_time, 2009);
  EXPECT_TRUE(a.gaps.empty());
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "b1");
  EXPECT_EQ(a.window->earliest, 1000);
  EXPECT_EQ(a.window->latest, 2009);
  EXPECT_EQ(a.window->last_segment, WalSegmentName(1, 9));
}

TEST(AnalyzeWalTest, SegmentOrderDoesNotMatter) {
  auto segments = Segs(1, 5, 9);
  std::reverse(segments.begin(), segments.end());
  WalAnalysis a = AnalyzeWal(segments, {Backup("b1", 1, 5, 5, 1000)});
  EXPECT_EQ(a.last_segment, WalSegmentName(1, 9));
  EXPECT_EQ(a.last_archived_time, 2009);
  EXPECT_TRUE(a.gaps.empty());
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->latest, 2009);
}

TEST(AnalyzeWalTest, UnbrokenRunReachesBackToTheOldestBackup) {
  WalAnalysis a =
      AnalyzeWal(Segs(1, 3, 12), {Backup("A", 1, 3, 3, 100), Backup("B", 1, 8, 8, 500)});
  EXPECT_EQ(a.segments, 10u);
  EXPECT_TRUE(a.gaps.empty());
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "A");
  EXPECT_EQ(a.window->earliest, 100);
  EXPECT_EQ(a.window->latest, 2012);
  EXPECT_EQ(a.window->last_segment, WalSegmentName(1, 12));
}

TEST(AnalyzeWalTest, GapBetweenBackupsMovesEarliestToTheNewerOne) {
  WalAnalysis a =
      AnalyzeWal(Segs(1, 3, 12, {6}), {Backup("A", 1, 3, 3, 100), Backup("B", 1, 8, 8, 500)});
  EXPECT_EQ(a.segments, 9u);
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 6, 6);
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "B");
  EXPECT_EQ(a.window->earliest, 500);
  EXPECT_EQ(a.window->latest, 2012);
  EXPECT_EQ(a.window->last_segment, WalSegmentName(1, 12));
}

TEST(AnalyzeWalTest, ConsecutiveMissingSegmentsAreOneGap) {
  WalAnalysis a =
      AnalyzeWal(Segs(1, 3, 12, {6, 7}), {Backup("A", 1, 3, 3, 100), Backup("B", 1, 8, 8, 500)});
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 6, 7);
  EXPECT_EQ(a.gaps[0].first_missing, "000000010000000000000006");
  EXPECT_EQ(a.gaps[0].last_missing, "000000010000000000000007");
  EXPECT_EQ(a.gaps[0].count, 2u);
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "B");
  EXPECT_EQ(a.window->earliest, 500);
}

TEST(AnalyzeWalTest, SeparateHolesAreSeparateGaps) {
  WalAnalysis a = AnalyzeWal(Segs(1, 3, 12, {4, 9, 10}), {Backup("A", 1, 3, 3, 100)});
  ASSERT_EQ(a.gaps.size(), 2u);
  ExpectGap(a.gaps[0], 1, 4, 4);
  ExpectGap(a.gaps[1], 1, 9, 10);
}

TEST(AnalyzeWalTest, HolesBeforeTheOldestBackupAreNotGaps) {
  // 1 and 2 archived, 3 and 4 never were; the only backup starts at 5.
  WalAnalysis a = AnalyzeWal(Concat(Segs(1, 1, 2), Segs(1, 5, 7)), {Backup("b", 1, 5, 5, 1000)});
  EXPECT_EQ(a.segments, 5u);
  EXPECT_TRUE(a.gaps.empty());
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "b");
  EXPECT_EQ(a.window->earliest, 1000);
  EXPECT_EQ(a.window->latest, 2007);
}

TEST(AnalyzeWalTest, WithoutBackupsGapsCountFromTheFirstArchivedSegment) {
  WalAnalysis a = AnalyzeWal(Segs(1, 3, 8, {5}), {});
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 5, 5);
  EXPECT_FALSE(a.window.has_value());
}

TEST(AnalyzeWalTest, BackupMissingItsStopSegmentHasAGapAndNoWindow) {
  WalAnalysis a = AnalyzeWal(Segs(1, 5, 5), {Backup("b", 1, 5, 6, 1000)});
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 6, 6);
  EXPECT_FALSE(a.window.has_value());
}

TEST(AnalyzeWalTest, BackupWithNothingArchivedIsAllGap) {
  WalAnalysis a = AnalyzeWal({}, {Backup("b", 1, 5, 7, 1000)});
  EXPECT_EQ(a.segments, 0u);
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 5, 7);
  EXPECT_FALSE(a.window.has_value());
}

TEST(AnalyzeWalTest, NewestBackupStartSegmentMissingMeansNoWindow) {
  WalAnalysis a = AnalyzeWal(Segs(1, 6, 9), {Backup("b", 1, 5, 5, 1000)});
  ASSERT_EQ(a.gaps.size(), 1u);
  ExpectGap(a.gaps[0], 1, 5, 5);
  EXPECT_FALSE(a.window.has_value());
}

TEST(AnalyzeWalTest, WindowFollowsTheNewestBackupsTimeline) {
  // tl1 3..5, promotion, tl2 6..8; a backup on each timeline.
  WalAnalysis a = AnalyzeWal(Concat(Segs(1, 3, 5), Segs(2, 6, 8)),
                             {Backup("old", 1, 3, 3, 100), Backup("new", 2, 7, 7, 900)});
  EXPECT_EQ(a.segments, 6u);
  EXPECT_EQ(a.last_segment, WalSegmentName(2, 8));
  EXPECT_EQ(a.last_archived_time, 2008);
  EXPECT_TRUE(a.gaps.empty());
  ASSERT_TRUE(a.window.has_value());
  // The tl1 backup's start (3) is below the tl2 run (6..8), but on another
  // timeline: it does not extend the window.
  EXPECT_EQ(a.window->from_backup, "new");
  EXPECT_EQ(a.window->earliest, 900);
  EXPECT_EQ(a.window->latest, 2008);
  EXPECT_EQ(a.window->last_segment, WalSegmentName(2, 8));
}

TEST(AnalyzeWalTest, GapsAreReportedPerTimeline) {
  WalAnalysis a = AnalyzeWal(Concat(Segs(1, 3, 6, {4}), Segs(2, 6, 10, {9})),
                             {Backup("old", 1, 3, 3, 100), Backup("new", 2, 7, 7, 900)});
  ASSERT_EQ(a.gaps.size(), 2u);
  ExpectGap(a.gaps[0], 1, 4, 4);
  ExpectGap(a.gaps[1], 2, 9, 9);
  // The window ends where tl2's run from the newest backup breaks.
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "new");
  EXPECT_EQ(a.window->earliest, 900);
  EXPECT_EQ(a.window->latest, 2008);
  EXPECT_EQ(a.window->last_segment, WalSegmentName(2, 8));
}

// Snapshot of `kind` for `db` with the given WAL metadata.
Snapshot MakeSnapshot(const std::string& id, const std::string& kind, const std::string& db,
                      const std::string& start_wal, const std::string& stop_wal,
                      int64_t stop_micros) {
  Snapshot s;
  s.id = id;
  s.kind = kind;
  s.meta = {{"database", db},
            {"start_wal", start_wal},
            {"stop_wal", stop_wal},
            {"stop_micros", stop_micros}};
  return s;
}

TEST(WalBackupPointsTest, ReadsPhysicalBackupsOfTheDatabase) {
  std::vector<Snapshot> snapshots = {
      MakeSnapshot("s1", "full", "main", "000000010000000000000003", "000000010000000000000004",
                   123456789),
      MakeSnapshot("s2", "logical", "main", "000000010000000000000005", "000000010000000000000005",
                   200000000),
      MakeSnapshot("s3", "full", "other", "000000010000000000000006", "000000010000000000000006",
                   300000000),
      MakeSnapshot("s4", "incr", "main", "000000020000000100000002", "000000020000000100000003",
                   400999999),
  };
  auto points = WalBackupPoints(snapshots, "main");
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[0].id, "s1");
  EXPECT_EQ(points[0].timeline, 1u);
  EXPECT_EQ(points[0].start_segment, 3u);
  EXPECT_EQ(points[0].stop_segment, 4u);
  EXPECT_EQ(points[0].stop_time, 124) << "rounded up: the window starts when recovery can stop";
  EXPECT_EQ(points[1].id, "s4");
  EXPECT_EQ(points[1].timeline, 2u);
  EXPECT_EQ(points[1].start_segment, 258u);
  EXPECT_EQ(points[1].stop_segment, 259u);
  EXPECT_EQ(points[1].stop_time, 401);
}

TEST(WalBackupPointsTest, SkipsSnapshotsWithoutAUsableStartSegment) {
  Snapshot missing = MakeSnapshot("s1", "full", "main", "", "000000010000000000000004", 1000000);
  missing.meta.erase("start_wal");
  std::vector<Snapshot> snapshots = {
      missing,
      MakeSnapshot("s2", "full", "main", "garbage", "000000010000000000000004", 1000000),
      MakeSnapshot("s3", "full", "main", "00000001000000000000000a", "000000010000000000000004",
                   1000000),
      MakeSnapshot("s4", "full", "main", "00000002.history", "000000010000000000000004", 1000000),
      MakeSnapshot("s5", "full", "main", "000000010000000000000003", "000000010000000000000004",
                   5000000),
  };
  auto points = WalBackupPoints(snapshots, "main");
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].id, "s5");
  EXPECT_EQ(points[0].stop_time, 5);
}

TEST(WalBackupPointsTest, FilesSnapshotsAreNotBackups) {
  std::vector<Snapshot> snapshots = {
      MakeSnapshot("s1", "files", "main", "000000010000000000000003", "000000010000000000000004",
                   1000000),
  };
  EXPECT_TRUE(WalBackupPoints(snapshots, "main").empty());
}

// A repository's WAL area for databases "main" and "main2" (a name that
// shares main's prefix as a string).
class WalObjectsTest : public ::testing::Test {
 protected:
  void Put(const std::string& db, const std::string& file) {
    ASSERT_TRUE(storage_.Put(WalObjectName(db, file), AsBytes("wal " + file)).ok());
  }

  void SetUp() override {
    for (const char* f : {
             "000000010000000000000002",
             "000000010000000000000003",
             "000000010000000000000003.00000028.backup",
             "000000010000000000000004",
             "000000010000000000000004.partial",
             "000000010000000000000005",
             "000000010000000000000005.00000060.backup",
             "000000010000000000000006",
             "000000010000000000000007",
             "00000002.history",
             "000000020000000000000006",
             "000000020000000000000007",
             "000000020000000000000008",
         })
      Put("main", f);
    ASSERT_TRUE(storage_.Put(WalPrefix("main") + "cluster", AsBytes("identity")).ok());
    Put("main2", "000000010000000000000001");
    Put("main2", "000000010000000000000004");
    Put("main2", "00000002.history");
  }

  std::vector<std::string> Obsolete(uint32_t tli, uint64_t start) {
    auto r = ObsoleteWalObjects(storage_, "main", Backup("kept", tli, start, start, 0));
    EXPECT_TRUE(r.ok()) << r.status().message();
    std::vector<std::string> names;
    if (r.ok())
      for (const auto& o : *r) names.push_back(o.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  static std::vector<std::string> Objects(const std::string& db, std::vector<std::string> files) {
    for (auto& f : files) f = WalObjectName(db, f);
    std::sort(files.begin(), files.end());
    return files;
  }

  MemoryStorage storage_;
};

TEST_F(WalObjectsTest, ListsOnlySegmentsOfTheDatabase) {
  auto r = ListArchivedSegments(storage_, "main");
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  for (const auto& s : *r) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "000000010000000000000002",
                       "000000010000000000000003",
                       "000000010000000000000004",
                       "000000010000000000000005",
                       "000000010000000000000006",
                       "000000010000000000000007",
                       "000000020000000000000006",
                       "000000020000000000000007",
                       "000000020000000000000008",
                   }));
  for (const auto& s : *r) {
    SCOPED_TRACE(s.name);
    EXPECT_EQ(s.name, WalSegmentName(s.timeline, s.segment_no));
    EXPECT_EQ(s.stored_bytes, ("wal " + s.name).size());
  }
}

TEST_F(WalObjectsTest, ListingAnUnknownDatabaseFindsNothing) {
  auto r = ListArchivedSegments(storage_, "nothere");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->empty());
}

TEST_F(WalObjectsTest, ObsoleteAreTheFilesBeforeTheKeptStartOnItsTimeline) {
  EXPECT_EQ(Obsolete(1, 5), Objects("main", {
                                                "000000010000000000000002",
                                                "000000010000000000000003",
                                                "000000010000000000000003.00000028.backup",
                                                "000000010000000000000004",
                                                "000000010000000000000004.partial",
                                            }));
}

TEST_F(WalObjectsTest, OlderTimelinesBeforeTheKeptStartAreObsoleteToo) {
  EXPECT_EQ(Obsolete(2, 7), Objects("main", {
                                                "000000010000000000000002",
                                                "000000010000000000000003",
                                                "000000010000000000000003.00000028.backup",
                                                "000000010000000000000004",
                                                "000000010000000000000004.partial",
                                                "000000010000000000000005",
                                                "000000010000000000000005.00000060.backup",
                                                "000000010000000000000006",
                                                "000000020000000000000006",
                                            }));
}

TEST_F(WalObjectsTest, NothingIsObsoleteBeforeTheFirstArchivedSegment) {
  EXPECT_EQ(Obsolete(1, 2), std::vector<std::string>{});
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST(AnalyzeWalEdgeTest, SegmentZeroIsNoGap) {
  EXPECT_TRUE(AnalyzeWal(Segs(1, 0, 2), {}).gaps.empty());
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST(AnalyzeWalEdgeTest, BackupsEndingInTheSameSecondFollowCommitOrder) {
  // A and B end in the same second; a gap between them leaves only B.
  auto segments = Segs(1, 3, 4);
  auto later = Segs(1, 6, 8);
  segments.insert(segments.end(), later.begin(), later.end());
  WalAnalysis a = AnalyzeWal(segments, {Backup("A", 1, 3, 3, 500), Backup("B", 1, 7, 7, 500)});
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "B");
  ASSERT_EQ(a.gaps.size(), 1u);
  EXPECT_EQ(a.gaps[0].first_missing, WalSegmentName(1, 5));
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

TEST(AnalyzeWalEdgeTest, SameSecondBackupsWithoutAGapStartTheWindowAtTheOlder) {
  WalAnalysis a = AnalyzeWal(Segs(1, 3, 8), {Backup("A", 1, 3, 3, 500), Backup("B", 1, 7, 7, 500)});
  ASSERT_TRUE(a.window.has_value());
  EXPECT_EQ(a.window->from_backup, "A");
}

}  // namespace
}  // namespace pgkeep
