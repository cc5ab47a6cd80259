#include "wal/wal_archive.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/posix_storage.h"
#include "support/process.h"
#include "wal/timeline_history.h"
#include "wal/wal_names.h"

namespace pgkeep {
namespace {

// A 16 MiB segment with a long page header naming `sysid`, filled with `fill`.
Bytes Segment(uint64_t sysid, char fill) {
  Bytes data(kWalSegmentSize);
  std::memset(data.data(), fill, data.size());
  uint16_t info = 0x0002;
  uint32_t seg_size = kWalSegmentSize;
  std::memcpy(data.data() + 2, &info, sizeof info);
  std::memcpy(data.data() + 24, &sysid, sizeof sysid);
  std::memcpy(data.data() + 32, &seg_size, sizeof seg_size);
  return data;
}

class WalArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-wal-archive-");
    storage_ = std::make_unique<PosixStorage>(env_, dir_ + "/repo");
    InitOptions init;
    init.encrypted = false;
    repo_ = std::move(*Repository::Init(*storage_, clock_, init, std::nullopt));
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::string WriteFile(const std::string& sub, const std::string& name, ByteView data) {
    std::filesystem::create_directories(dir_ + "/" + sub);
    std::string path = dir_ + "/" + sub + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()), data.size());
    return path;
  }

  std::string dir_;
  ManualClock clock_;
  PosixEnv env_;
  std::unique_ptr<PosixStorage> storage_;
  std::unique_ptr<Repository> repo_;
};

// Two servers archiving one name at once (a restored copy beside its
// original): never may both succeed, nor the later silently replace the first.
TEST_F(WalArchiveTest, RacingPushesOfDifferentContentNeverBothSucceed) {
  for (int round = 0; round < 6; ++round) {
    std::string name = WalSegmentName(1, 10 + round);
    std::string a = WriteFile("a", name, Segment(42, 'a'));
    std::string b = WriteFile("b", name, Segment(42, 'b'));
    Result<WalPushResult> ra = Status::Ok(), rb = Status::Ok();
    std::thread ta([&] { ra = PushWalFile(env_, *repo_, "main", a, 1); });
    std::thread tb([&] { rb = PushWalFile(env_, *repo_, "main", b, 1); });
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << (ra.ok() ? "" : ra.status().ToString())
                                << (rb.ok() ? "" : rb.status().ToString());
    const Status& lost = ra.ok() ? rb.status() : ra.status();
    EXPECT_EQ(lost.code(), ErrorCode::kConflict);
    EXPECT_NE(lost.message().find("already archived for database \"main\" with different content"),
              std::string::npos);
    std::string fetched = dir_ + "/fetched-" + name;
    ASSERT_TRUE(FetchWalFile(env_, *repo_, "main", name, fetched).ok());
    std::ifstream in(fetched, std::ios::binary);
    in.seekg(100);
    EXPECT_EQ(in.get(), ra.ok() ? 'a' : 'b');
  }
}

TEST_F(WalArchiveTest, RacingPushesOfTheSameContentBothSucceed) {
  std::string name = WalSegmentName(1, 3);
  std::string a = WriteFile("a", name, Segment(42, 'x'));
  std::string b = WriteFile("b", name, Segment(42, 'x'));
  Result<WalPushResult> ra = Status::Ok(), rb = Status::Ok();
  std::thread ta([&] { ra = PushWalFile(env_, *repo_, "main", a, 1); });
  std::thread tb([&] { rb = PushWalFile(env_, *repo_, "main", b, 1); });
  ta.join();
  tb.join();
  ASSERT_TRUE(ra.ok()) << ra.status().ToString();
  ASSERT_TRUE(rb.ok()) << rb.status().ToString();
  EXPECT_NE(ra->already_archived, rb->already_archived);
}

TEST_F(WalArchiveTest, TimelineReportDrawsTheTreeAndFindsTwoWriters) {
  // Timeline 1 throughout; timeline 2 forked from it at 0/5000000 (a copy)
  // and archived beside it; timeline 1 kept archiving long after.
  for (int seg = 1; seg <= 8; ++seg)
    ASSERT_TRUE(PushWalFile(env_, *repo_, "main",
                            WriteFile("p", WalSegmentName(1, seg), Segment(42, 'p')), 1)
                    .ok());
  ASSERT_TRUE(PushWalFile(env_, *repo_, "main",
                          WriteFile("c", "00000002.history",
                                    AsBytes("1\t0/5000000\tbefore 2026-12-05 10:00:00+00\n")),
                          1)
                  .ok());
  for (int seg = 5; seg <= 6; ++seg)
    ASSERT_TRUE(PushWalFile(env_, *repo_, "main",
                            WriteFile("c", WalSegmentName(2, seg), Segment(42, 'c')), 1)
                    .ok());
  ASSERT_TRUE(
      PushWalFile(env_, *repo_, "main", WriteFile("c", "00000003.history", AsBytes("garbage\n")), 1)
          .ok());
  auto listing = storage_->List(WalPrefix("main"));
  ASSERT_TRUE(listing.ok());
  // Archive times: timeline 1's segments 1..8 at 1000+seg*100, the copy's
  // history at 1450, its segments at 1500 and 1600.
  for (auto& o : *listing) {
    std::string base = o.name.substr(o.name.rfind('/') + 1);
    uint32_t tli = 0;
    uint64_t segno = 0;
    if (base == "00000002.history")
      o.modified = 1450;
    else if (base == "00000003.history")
      o.modified = 1460;
    else if (ParseWalSegmentName(base, &tli, &segno))
      o.modified = 1000 + int64_t(segno) * 100;
  }
  auto report = ReadTimelineReport(*repo_, "main", *listing);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_EQ(report->timelines.size(), 2u);  // the damaged history names no timeline
  ASSERT_EQ(report->damaged.size(), 1u);
  EXPECT_NE(report->damaged[0].find("wal/main/00000003.history"), std::string::npos);
  EXPECT_EQ(report->timelines[1].fork->parent, 1u);
  EXPECT_EQ(report->timelines[1].first_archived, 1450);
  EXPECT_EQ(report->timelines[1].segments, 2u);
  ASSERT_EQ(report->concurrent.size(), 1u);
  EXPECT_EQ(report->concurrent[0].older, 1u);
  EXPECT_EQ(report->concurrent[0].newer, 2u);
  EXPECT_EQ(report->concurrent[0].older_last_archived, 1800);
  EXPECT_EQ(ActiveConcurrent(*report, 1900).size(), 1u);
  EXPECT_TRUE(ActiveConcurrent(*report, 1800 + kConcurrentActiveSeconds).empty());  // long over
  EXPECT_EQ(FormatTimelineTree(*report, ""),
            "timeline 1: first archived " + FormatIsoTime(1100) + ", 8 segment(s), newest " +
                WalSegmentName(1, 8) + " at " + FormatIsoTime(1800) +
                "\n   └─ timeline 2 from 1 at 0/5000000: first archived " + FormatIsoTime(1450) +
                ", 2 segment(s), newest " + WalSegmentName(2, 6) + " at " + FormatIsoTime(1600) +
                "\n");
}

TEST_F(WalArchiveTest, ASwitchoverIsNotTwoWriters) {
  // The old primary's last segment arrives a few seconds after the new
  // timeline's history file: within the grace, not a second writer.
  for (int seg = 1; seg <= 3; ++seg)
    ASSERT_TRUE(PushWalFile(env_, *repo_, "main",
                            WriteFile("p", WalSegmentName(1, seg), Segment(42, 'p')), 1)
                    .ok());
  ASSERT_TRUE(PushWalFile(env_, *repo_, "main",
                          WriteFile("p", "00000002.history",
                                    AsBytes("1\t0/3000000\tno recovery target specified\n")),
                          1)
                  .ok());
  ASSERT_TRUE(
      PushWalFile(env_, *repo_, "main", WriteFile("p", WalSegmentName(2, 3), Segment(42, 'q')), 1)
          .ok());
  auto listing = storage_->List(WalPrefix("main"));
  ASSERT_TRUE(listing.ok());
  for (auto& o : *listing) {
    std::string base = o.name.substr(o.name.rfind('/') + 1);
    o.modified = base == "00000002.history"     ? 5000
                 : base == WalSegmentName(1, 3) ? 5010
                 : base == WalSegmentName(2, 3) ? 5100
                                                : 4000;
  }
  auto report = ReadTimelineReport(*repo_, "main", *listing);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->concurrent.empty());
}

}  // namespace
}  // namespace pgkeep
