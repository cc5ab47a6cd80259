#include "backup/page_checksum.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <vector>

namespace pgkeep {
namespace {

using Page = std::vector<uint8_t>;

template <typename T>
void PutNative(Page& page, size_t offset, T v) {
  std::memcpy(page.data() + offset, &v, sizeof v);
}

// A deterministic page with a plausible header: pd_lsn 0/(0x01A2B3C0 + seed),
// pd_lower 28, pd_upper 8000, pd_special 8192, layout version 4, and a byte
// pattern everywhere else.
Page PatternPage(uint32_t seed) {
  Page page(kPageSize);
  for (size_t i = 0; i < kPageSize; ++i) {
    page[i] = static_cast<uint8_t>((i * 131 + seed * 7) ^ (i >> 5) ^ seed);
  }
  PutNative<uint32_t>(page, 0, 0);
  PutNative<uint32_t>(page, 4, 0x01A2B3C0 + seed);
  PutNative<uint16_t>(page, 8, 0);  // pd_checksum
  PutNative<uint16_t>(page, 10, 0);
  PutNative<uint16_t>(page, 12, 28);
  PutNative<uint16_t>(page, 14, 8000);
  PutNative<uint16_t>(page, 16, 8192);
  PutNative<uint16_t>(page, 18, 8192 | 4);
  PutNative<uint32_t>(page, 20, 0);
  return page;
}

TEST(PageChecksumTest, MatchesValuesPostgresAccepts) {
  // Pages are checksummed as native-endian words; these values are for
  // little-endian machines. They were checked by writing the pages into a
  // relation file of a stopped PostgreSQL 15 cluster (block 131073 as block 1
  // of segment file .1) and running pg_checksums --check: it reported these
  // same values as "calculated checksum" and, once stored, no failures.
  if constexpr (std::endian::native != std::endian::little) GTEST_SKIP();
  EXPECT_EQ(PageChecksum(PatternPage(1).data(), 0), 0x8272);
  EXPECT_EQ(PageChecksum(PatternPage(2).data(), 131073), 0x6D0E);
  EXPECT_EQ(PageChecksum(Page(kPageSize, 0xFF).data(), 7), 0x0E23);
}

TEST(PageChecksumTest, EveryByteCounts) {
  Page page = PatternPage(3);
  uint16_t base = PageChecksum(page.data(), 0);
  for (size_t offset : {size_t{0}, size_t{7}, size_t{10}, size_t{4095}, kPageSize - 1}) {
    Page changed = page;
    changed[offset] ^= 0x01;
    EXPECT_NE(PageChecksum(changed.data(), 0), base) << "byte " << offset;
  }
}

TEST(PageChecksumTest, BlockNumberCounts) {
  Page page = PatternPage(4);
  EXPECT_NE(PageChecksum(page.data(), 0), PageChecksum(page.data(), 1));
  EXPECT_NE(PageChecksum(page.data(), 1), PageChecksum(page.data(), kBlocksPerSegment + 1));
}

TEST(PageChecksumTest, StoredChecksumIsIgnored) {
  Page page = PatternPage(5);
  uint16_t expected = PageChecksum(page.data(), 9);
  PutNative<uint16_t>(page, 8, expected);
  EXPECT_EQ(PageStoredChecksum(page.data()), expected);
  EXPECT_EQ(PageChecksum(page.data(), 9), expected);
  PutNative<uint16_t>(page, 8, 0xBEEF);
  EXPECT_EQ(PageChecksum(page.data(), 9), expected);
}

TEST(PageHeaderTest, ReadsFields) {
  Page page = PatternPage(0);
  PutNative<uint32_t>(page, 0, 0x12);        // xlogid
  PutNative<uint32_t>(page, 4, 0x345678AB);  // xrecoff
  EXPECT_EQ(PageLsn(page.data()), 0x12345678ABull);
  EXPECT_FALSE(PageIsNew(page.data()));
  EXPECT_FALSE(PageIsAllZero(page.data()));

  PutNative<uint16_t>(page, 14, 0);  // pd_upper
  EXPECT_TRUE(PageIsNew(page.data()));

  Page zero(kPageSize, 0);
  EXPECT_TRUE(PageIsNew(zero.data()));
  EXPECT_TRUE(PageIsAllZero(zero.data()));
  zero[kPageSize - 1] = 1;
  EXPECT_FALSE(PageIsAllZero(zero.data()));
}

TEST(IsChecksummedRelationFileTest, AcceptsRelationFiles) {
  struct Case {
    const char* path;
    uint32_t segment;
  };
  const Case cases[] = {
      {"base/5/16384", 0},
      {"base/5/16384.2", 2},
      {"base/1/1259_fsm", 0},
      {"base/1/1259_vm", 0},
      {"base/16384/16390_init", 0},
      {"base/5/16384_fsm.1", 1},
      {"global/1262", 0},
      {"global/1262_vm", 0},
      {"global/1213.7", 7},
      {"pg_tblspc/16400/PG_15_202209061/5/16401", 0},
      {"pg_tblspc/16400/PG_15_202209061/5/16401_vm.3", 3},
      {"base/5/16384.32767", 32767},
  };
  for (const Case& c : cases) {
    uint32_t segment = 99;
    EXPECT_TRUE(IsChecksummedRelationFile(c.path, &segment)) << c.path;
    EXPECT_EQ(segment, c.segment) << c.path;
  }
}

TEST(IsChecksummedRelationFileTest, RejectsEverythingElse) {
  const char* cases[] = {
      "global/pg_control",
      "global/pg_filenode.map",
      "global/pg_internal.init",
      "base/5/pg_filenode.map",
      "base/5/pg_internal.init",
      "base/5/PG_VERSION",
      "global/config_exec_params",
      "base/5/t3_16384",  // temporary relation
      "base/5/t3_16384_fsm",
      "base/5/t3_16384.1",
      "base/5/pgsql_tmp/pgsql_tmp123.0",
      "base/5",  // the database directory itself
      "base/5/",
      "base/x/16384",
      "base/5/16384_foo",  // unknown fork
      "base/5/16384.",     // empty segment
      "base/5/16384.x",
      "base/5/16384.1.2",
      "base/5/16384.32768",  // block numbers would overflow 32 bits
      "base/5/16384.99999999999999999999",
      "base/5/_vm",
      "base/5/.1",
      "16384",
      "global/5/1262",
      "pg_wal/000000010000000000000001",
      "pg_xact/0000",
      "pg_tblspc/16400/PG_15_202209061/5",
      "pg_tblspc/16400/PG_15_202209061/5/pgsql_tmp",
      "pg_tblspc/16400/15_202209061/5/16401",
      "pg_tblspc/16400/PG_15_202209061/5/16401/1",
      "./base/5/16384",
      "/base/5/16384",
      "",
  };
  for (const char* path : cases) {
    uint32_t segment = 0;
    EXPECT_FALSE(IsChecksummedRelationFile(path, &segment)) << path;
  }
}

}  // namespace
}  // namespace pgkeep
