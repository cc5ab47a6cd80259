// pin and unpin as library calls, at chosen times (manual clock).
#include "repo/pins.h"

#include <gtest/gtest.h>

#include "support/memory_repo.h"

namespace pgkeep {
namespace {

TEST(PinsTest, PinUntilADateLaterThanNow) {
  testing::MemoryRepo mem;  // 2026-11-23T00:00:00Z
  Snapshot s = mem.StoreSnapshot("files", "files", "data");
  auto past = PinSnapshot(mem.repo(), {s.id, "2026-11-23", "deploy"});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(past.status().message(), "--until 2026-11-23 is in the past");
  auto bad = PinSnapshot(mem.repo(), {s.id, "next tuesday", ""});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "\"next tuesday\" is not a date");

  mem.AdvanceSeconds(60);
  auto pinned = PinSnapshot(mem.repo(), {"latest", "2026-11-24T06:00:00Z", "deploy"});
  ASSERT_TRUE(pinned.ok()) << pinned.status().ToString();
  EXPECT_EQ(pinned->snapshot, s.id);
  EXPECT_EQ(pinned->until, 1795392000 + 30 * 3600);
  EXPECT_EQ(pinned->created, 1795392000 + 60);
  auto pins = ReadPins(mem.repo());
  ASSERT_TRUE(pins.ok());
  ASSERT_EQ(pins->count(s.id), 1u);
  EXPECT_EQ(pins->at(s.id).note, "deploy");
}

TEST(PinsTest, UnpinNeedsAPinNotASnapshot) {
  testing::MemoryRepo mem;
  Snapshot s = mem.StoreSnapshot("files", "files", "data");
  Status none = UnpinSnapshot(mem.repo(), s.id);
  EXPECT_EQ(none.code(), ErrorCode::kNotFound);
  EXPECT_EQ(none.message(), "backup \"" + s.id + "\" is not pinned");
  ASSERT_TRUE(WritePin(mem.repo(), Pin{"20200101T000000Z-deadbeef", std::nullopt, "", 0}).ok());
  EXPECT_TRUE(UnpinSnapshot(mem.repo(), "20200101T000000Z-deadbeef").ok())
      << "its snapshot is long gone";
  EXPECT_TRUE(ReadPins(mem.repo())->empty());
}

TEST(PinsTest, PinningAMissingSnapshotFails) {
  testing::MemoryRepo mem;
  auto r = PinSnapshot(mem.repo(), {"20200101T000000Z-deadbeef", "", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace pgkeep
