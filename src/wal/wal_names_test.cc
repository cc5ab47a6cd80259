#include "wal/wal_names.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

TEST(LsnTest, ParseAndFormatRoundTrip) {
  struct Case {
    const char* text;
    uint64_t lsn;
  };
  const Case cases[] = {
      {"0/0", 0},
      {"0/3000028", 0x3000028},
      {"16/B374D848", 0x16B374D848},
      {"FFFFFFFF/FFFFFFFF", 0xFFFFFFFFFFFFFFFF},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto lsn = ParseLsn(c.text);
    ASSERT_TRUE(lsn.has_value());
    EXPECT_EQ(*lsn, c.lsn);
    EXPECT_EQ(FormatLsn(c.lsn), c.text);
  }
}

TEST(LsnTest, AcceptsLowercaseHexAsPostgreSqlDoes) {
  EXPECT_EQ(ParseLsn("16/b374d848"), std::optional<uint64_t>(0x16B374D848));
}

TEST(LsnTest, RejectsMalformedText) {
  for (const char* text :
       {"", "0", "/1", "1/", "G/1", "123456789/0", "0/123456789", "0/1/2", " 0/1", "-1/0"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(ParseLsn(text), std::nullopt);
  }
}

TEST(WalFileNameTest, ClassifiesArchivableNames) {
  struct Case {
    const char* name;
    WalFileKind kind;
  };
  const Case cases[] = {
      {"000000010000000000000003", WalFileKind::kSegment},
      {"0000000A00000001000000FF", WalFileKind::kSegment},
      {"00000002.history", WalFileKind::kHistory},
      {"000000010000000000000002.00000028.backup", WalFileKind::kBackupHistory},
      {"000000010000000000000003.partial", WalFileKind::kPartial},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto kind = ClassifyWalFileName(c.name);
    ASSERT_TRUE(kind.has_value());
    EXPECT_EQ(*kind, c.kind);
  }
}

TEST(WalFileNameTest, RejectsEverythingElse) {
  for (const char* name : {
           "00000001000000000000000a",   // lowercase hex
           "00000001000000000000000",    // 23 characters
           "0000000100000000000000030",  // 25 characters
           "foo",
           "",
           "00000002.history.tmp",
           "0000000a.history",
           "000000010000000000000003.ready",
           "000000010000000000000003.done",
           "000000010000000000000002.0000002.backup",  // 7 hex digits of offset
           "000000010000000000000002.0000002G.backup",
           "000000010000000000000002.00000028.backup.x",
           "000000010000000000000003.partial.tmp",
       }) {
    SCOPED_TRACE(name);
    EXPECT_EQ(ClassifyWalFileName(name), std::nullopt);
  }
}

TEST(WalSegmentNameTest, FormatsTimelineAndSegmentNumber) {
  EXPECT_EQ(WalSegmentName(1, 0), "000000010000000000000000");
  EXPECT_EQ(WalSegmentName(1, 3), "000000010000000000000003");
  EXPECT_EQ(WalSegmentName(1, 255), "0000000100000000000000FF");
  EXPECT_EQ(WalSegmentName(1, 256), "000000010000000100000000");
  EXPECT_EQ(WalSegmentName(0xFFFFFFFF, 257), "FFFFFFFF0000000100000001");
}

TEST(WalSegmentNameTest, NamesTheSegmentHoldingAnLsn) {
  EXPECT_EQ(WalSegmentNameForLsn(1, 0x3000028), "000000010000000000000003");
  EXPECT_EQ(WalSegmentNameForLsn(1, 0x3000000), "000000010000000000000003");
  EXPECT_EQ(WalSegmentNameForLsn(1, 0x2FFFFFF), "000000010000000000000002");
  EXPECT_EQ(WalSegmentNameForLsn(2, 0x1FF000000), "0000000200000001000000FF");
  EXPECT_EQ(WalSegmentNameForLsn(2, 0x200000000), "000000020000000200000000");
}

TEST(WalSegmentNameTest, ParseIsTheInverseOfFormat) {
  const std::pair<uint32_t, uint64_t> cases[] = {{1, 0},   {1, 3},     {1, 255},
                                                 {1, 256}, {2, 0x1FF}, {0xFFFFFFFF, 12345}};
  for (const auto& [timeline, segment] : cases) {
    std::string name = WalSegmentName(timeline, segment);
    SCOPED_TRACE(name);
    uint32_t got_timeline = 0;
    uint64_t got_segment = 0;
    ASSERT_TRUE(ParseWalSegmentName(name, &got_timeline, &got_segment));
    EXPECT_EQ(got_timeline, timeline);
    EXPECT_EQ(got_segment, segment);
  }
}

TEST(WalSegmentNameTest, ParseReadsTheSegmentPartOfOtherWalFileNames) {
  uint32_t timeline = 0;
  uint64_t segment = 0;
  ASSERT_TRUE(ParseWalSegmentName("000000030000000100000002.partial", &timeline, &segment));
  EXPECT_EQ(timeline, 3u);
  EXPECT_EQ(segment, 258u);
  ASSERT_TRUE(ParseWalSegmentName("000000010000000000000002.00000028.backup", &timeline, &segment));
  EXPECT_EQ(timeline, 1u);
  EXPECT_EQ(segment, 2u);
}

TEST(WalSegmentNameTest, ParseRejectsNonSegmentNames) {
  for (const char* name : {
           "000000010000000000000100",  // segment part >= 0x100 with 16 MiB segments
           "0000000100000000FFFFFFFF",
           "00000001000000000000000a",
           "00000001000000000000000",
           "00000002.history",
           "",
       }) {
    SCOPED_TRACE(name);
    uint32_t timeline = 7;
    uint64_t segment = 7;
    EXPECT_FALSE(ParseWalSegmentName(name, &timeline, &segment));
    EXPECT_EQ(timeline, 7u);  // untouched on failure
    EXPECT_EQ(segment, 7u);
  }
}

}  // namespace
}  // namespace pgkeep
