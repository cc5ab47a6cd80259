// VerifyRepository: one report for the objects and the WAL, and requests
// refused before anything is read.
#include "monitor/verify.h"

#include <gtest/gtest.h>

#include "support/memory_repo.h"
#include "wal/wal_archive.h"

namespace pgkeep {
namespace {

TEST(VerifyRequestTest, RefusesWhatDoesNotFit) {
  EXPECT_TRUE(CheckVerifyRequest({}).ok());
  EXPECT_TRUE(CheckVerifyRequest({.read_data = true, .subset_percent = 5}).ok());
  EXPECT_EQ(CheckVerifyRequest({.subset_percent = 5}).message(), "--subset needs --read-data");
  EXPECT_EQ(CheckVerifyRequest({.read_data = true, .subset_percent = 5, .repair = true}).message(),
            "--repair reads every pack; --subset does not apply");
}

TEST(VerifyRepositoryTest, AHealthyRepositoryAndTheStepsTaken) {
  testing::MemoryRepo mem;
  mem.StoreSnapshot("files", "files", std::string(100000, 'x'));
  mem.Reopen();
  std::vector<std::string> steps;
  VerifyOptions o;
  o.read_data = true;
  o.progress = [&steps](const std::string& s) { steps.push_back(s); };
  auto r = VerifyRepository(mem.env(), mem.repo(), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->ok()) << ::testing::PrintToString(r->repository.errors);
  EXPECT_EQ(r->repository.snapshots, 1u);
  EXPECT_GT(r->repository.bytes_read, 0u);
  EXPECT_FALSE(r->rebuilt);
  EXPECT_EQ(steps, (std::vector<std::string>{"checking objects", "checking WAL"}));
}

TEST(VerifyRepositoryTest, AWalGapMakesTheRepositoryFail) {
  testing::MemoryRepo mem;
  mem.StoreSnapshot("main", "full", "base",
                    {{kMetaStartWal, "000000010000000000000002"},
                     {kMetaStopWal, "000000010000000000000002"},
                     {kMetaTimeline, 1}});
  ASSERT_TRUE(
      mem.storage().Put(WalObjectName("main", "000000010000000000000002"), AsBytes("w")).ok());
  ASSERT_TRUE(
      mem.storage().Put(WalObjectName("main", "000000010000000000000004"), AsBytes("w")).ok());
  mem.Reopen();
  auto r = VerifyRepository(mem.env(), mem.repo(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->ok());
  EXPECT_EQ(r->wal.segments, 2u);
  ASSERT_EQ(r->repository.errors.size(), 1u);
  EXPECT_EQ(
      r->repository.errors[0],
      "WAL gap in database \"main\", timeline 1: 000000010000000000000003 (1 segment(s)) missing; "
      "recovery cannot pass it");
}

}  // namespace
}  // namespace pgkeep
