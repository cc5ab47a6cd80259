// The drill report: JSON round trip, HTML that escapes what it shows and
// loads nothing, and the repository round trip (sealed, listed newest first,
// never replaced).
#include "drill/drill_report.h"

#include <gtest/gtest.h>

#include "support/memory_repo.h"

namespace pgkeep {
namespace {

DrillResult Sample(const std::string& id, bool passed) {
  DrillResult r;
  r.id = id;
  r.database = "main";
  r.method = "physical";
  r.backup = "20261201T000000Z-00000001";
  r.host = "db1";
  r.started = 1796500000;
  r.finished = 1796500100;
  r.passed = passed;
  if (!passed) r.failures = {"check \"orders\" failed: returned 0, not >= 1"};
  r.phases = {{"prepare", 0.5, false}, {"restore", 40.25, true}, {"recovery", 3, true}};
  r.rto = {3600, 43.25, true, true, "restore, recovery and checks"};
  r.rpo = {std::nullopt, 12, false, false, "the newest archived WAL was stored at ..."};
  r.recovery_target = "recovery_target_name = 'pgkeep-drill-x'";
  r.reached = "LSN 0/5000090";
  DrillCheck c;
  c.name = "orders <script>alert(1)</script>";
  c.user = true;
  c.result = passed ? DrillCheck::Result::kPass : DrillCheck::Result::kFail;
  c.saw = "returned 0 & \"nothing\"";
  r.checks = {c};
  r.tables = {{"public.orders", 1000, 1000, 65536}, {"public.items", -1, std::nullopt, 8192}};
  r.notes = {"a note"};
  return r;
}

TEST(DrillReportTest, JsonRoundTripKeepsEveryField) {
  DrillResult r = Sample("20261206T000000Z-0000000a", false);
  auto back = DrillFromJson(nlohmann::json::parse(DrillToJson(r).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(DrillToJson(*back), DrillToJson(r));
  EXPECT_EQ(back->rto.target_seconds, 3600);
  EXPECT_EQ(back->rpo.target_seconds, std::nullopt);
  EXPECT_EQ(back->tables[1].rows, -1);
  EXPECT_EQ(back->tables[1].expected, std::nullopt);

  nlohmann::json broken = DrillToJson(r);
  broken["checks"][0]["result"] = "maybe";
  EXPECT_EQ(DrillFromJson(broken).status().code(), ErrorCode::kCorrupt);
  broken = DrillToJson(r);
  broken.erase("rto");
  EXPECT_EQ(DrillFromJson(broken).status().code(), ErrorCode::kCorrupt);
  broken = DrillToJson(r);
  broken["version"] = 2;
  EXPECT_EQ(DrillFromJson(broken).status().code(), ErrorCode::kCorrupt);
}

TEST(DrillReportTest, HtmlEscapesWhatItShowsAndLoadsNothing) {
  std::string html = RenderDrillHtml(Sample("20261206T000000Z-0000000a", false));
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("orders &lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("returned 0 &amp; &quot;nothing&quot;"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_NE(html.find("FAILED"), std::string::npos);
}

TEST(DrillReportTest, TextNamesTheVerdictTargetsAndFailures) {
  std::string text = RenderDrillText(Sample("20261206T000000Z-0000000a", false));
  EXPECT_EQ(
      text.rfind("drill 20261206T000000Z-0000000a of database \"main\" (physical): FAILED\n", 0),
      0u)
      << text;
  EXPECT_NE(text.find("  RTO:      43 s (target 3600 s)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  RPO:      12 s (no target): "), std::string::npos) << text;
  EXPECT_NE(text.find("  failure: check \"orders\" failed: returned 0, not >= 1\n"),
            std::string::npos)
      << text;
}

TEST(DrillReportTest, StoredReportsAreSealedListedNewestFirstAndNeverReplaced) {
  testing::MemoryRepo mem;
  ASSERT_TRUE(StoreDrillReport(mem.repo(), Sample("20261206T000000Z-0000000a", true)).ok());
  ASSERT_TRUE(StoreDrillReport(mem.repo(), Sample("20261207T000000Z-0000000b", false)).ok());
  DrillResult other = Sample("20261208T000000Z-0000000c", true);
  other.database = "app";
  ASSERT_TRUE(StoreDrillReport(mem.repo(), other).ok());
  EXPECT_EQ(StoreDrillReport(mem.repo(), Sample("20261206T000000Z-0000000a", false)).code(),
            ErrorCode::kConflict);

  auto main = DrillHistory(mem.repo(), "main", 0);
  ASSERT_TRUE(main.ok());
  ASSERT_EQ(main->size(), 2u);
  EXPECT_EQ((*main)[0].id, "20261207T000000Z-0000000b");
  EXPECT_EQ((*main)[1].passed, true);  // the first one was not replaced
  auto all = DrillHistory(mem.repo(), "", 1);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].database, "app");

  // A report moved under another name fails to open (its name is sealed in).
  auto bytes = mem.storage().Get("drills/main/20261206T000000Z-0000000a");
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(mem.storage().Put("drills/app/20261206T000000Z-0000000a", *bytes).ok());
  EXPECT_FALSE(ReadDrillReport(mem.repo(), "app", "20261206T000000Z-0000000a").ok());
}

TEST(DrillReportTest, AReportOfTensOfThousandsOfTablesIsStoredWithTheFailedAndTheLargest) {
  testing::MemoryRepo mem;
  DrillResult r = Sample("20261209T000000Z-0000000d", false);
  r.tables.clear();
  for (int i = 0; i < 60000; ++i)
    r.tables.push_back({"tenant_" + std::to_string(i) + ".messages_with_a_long_table_name", i, i,
                        int64_t{i} * 8192});
  r.tables[17].rows = 3;  // a count that differs
  ASSERT_TRUE(StoreDrillReport(mem.repo(), r).ok());
  auto back = ReadDrillReport(mem.repo(), "main", r.id);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_FALSE(back->tables.empty());
  EXPECT_LT(back->tables.size(), r.tables.size());
  EXPECT_EQ(back->tables[0].table, "tenant_17.messages_with_a_long_table_name");
  EXPECT_EQ(back->tables[1].table, "tenant_59999.messages_with_a_long_table_name");
  EXPECT_NE(back->notes.back().find(" of the 60000 tables read are listed here"),
            std::string::npos);
}

}  // namespace
}  // namespace pgkeep
