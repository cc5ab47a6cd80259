#include "policy/forget_log.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "repo/layout.h"
#include "storage/memory_storage.h"

namespace pgkeep {
namespace {

ForgetEntry Entry(int64_t at) {
  ForgetEntry e;
  e.policy = "messages";
  e.schema = "public";
  e.table = "Message";
  e.key = {"orgId", "id"};
  e.timestamp_column = "timestamp";
  e.action = "redact";
  e.redact = {{"content", "[redacted]"}, {"title", "\"quoted\" \\ text"}};
  e.at = at;
  e.rows = {{"org-1", "41", "1788000000.250000"}, {"org \"2\"", "42", "1788000060"}};
  return e;
}

TEST(ForgetLogTest, AnEntryReadsBackAsItWasWritten) {
  ForgetEntry e = Entry(1'800'000'000);
  auto back = DecodeForgetEntry(EncodeForgetEntry(e), "entry");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->policy, e.policy);
  EXPECT_EQ(back->schema, e.schema);
  EXPECT_EQ(back->table, e.table);
  EXPECT_EQ(back->key, e.key);
  EXPECT_EQ(back->timestamp_column, e.timestamp_column);
  EXPECT_EQ(back->action, e.action);
  EXPECT_EQ(back->redact, e.redact);
  EXPECT_EQ(back->at, e.at);
  EXPECT_EQ(back->rows, e.rows);
}

TEST(ForgetLogTest, EntriesThatBreakTheFormatOrItsBoundsAreRefused) {
  const std::string good = EncodeForgetEntry(Entry(1'800'000'000));
  auto with = [&](const std::string& from, const std::string& to) {
    std::string text = good;
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return text.replace(at, from.size(), to);
  };
  const std::string long_name(64, 'x');
  for (const std::string& bad : {
           std::string("not json"),
           std::string("[1, 2]"),
           with("\"version\":1", "\"version\":2"),
           with("\"action\":\"redact\"", "\"action\":\"drop table\""),
           with("\"table\":\"Message\"", "\"table\":\"" + long_name + "\""),
           with("\"table\":\"Message\"", "\"table\":\"\""),
           with("[\"org-1\",\"41\",\"1788000000.250000\"]",
                "[\"org-1\",\"41\"]"),  // no timestamp
           with("[\"org-1\",\"41\",", "[\"org-1\",41,"),
           with("\"timestamp_column\":\"timestamp\",", ""),
           with("\"version\":1", "\"version\":\"1\""),
           with("\"key\":[\"orgId\",\"id\"]", "\"key\":\"id\""),
           with("\"key\":[\"orgId\",\"id\"]", "\"key\":[]"),
           with("\"redact\":{\"content\":\"[redacted]\",\"title\":\"\\\"quoted\\\" \\\\ text\"}",
                "\"redact\":{}"),
           with("\"at\":1800000000", "\"at\":\"yesterday\""),
       }) {
    auto decoded = DecodeForgetEntry(bad, "forget/main/x");
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kCorrupt) << bad;
    EXPECT_EQ(decoded.status().message().rfind("forget/main/x is not a valid entry: ", 0), 0u)
        << decoded.status().message();
  }
}

TEST(ForgetLogTest, EntriesAreListedByTheTimeTheyWereWritten) {
  MemoryStorage storage;
  ManualClock clock;
  InitOptions init;
  init.scrypt = ScryptParams{1 << 10, 8, 1};
  auto repo = Repository::Init(storage, clock, init, "password");
  ASSERT_TRUE(repo.ok()) << repo.status().message();
  const int64_t t0 = 1'800'000'000;
  for (int64_t at : {t0, t0 + 10, t0 + 10, t0 + 3600}) {
    auto written = AppendForgetEntry(**repo, "main", Entry(at));
    ASSERT_TRUE(written.ok()) << written.status().message();
    EXPECT_EQ(*written, 1);
  }
  ASSERT_TRUE(AppendForgetEntry(**repo, "other", Entry(t0)).ok());
  auto all = ForgetEntriesSince(**repo, "main", 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 4u);
  auto since = ForgetEntriesSince(**repo, "main", t0 + 10);
  ASSERT_TRUE(since.ok());
  ASSERT_EQ(since->size(), 3u);
  // Sealed under its name: an entry read back is the one written, and a
  // name in the format, known to verify.
  auto bytes = (*repo)->ReadForgetEntry("main", since->back());
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  auto entry = DecodeForgetEntry(std::string(AsString(*bytes)), "entry");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->at, t0 + 3600);
  EXPECT_TRUE(IsKnownObjectName(ForgetEntryObjectName("main", since->back())));
  // A batch too big for one entry is written as several.
  ForgetEntry big = Entry(t0 + 7200);
  big.rows.assign(250001, {"org-1", "41", "1788000000"});
  auto parts = AppendForgetEntry(**repo, "main", big);
  ASSERT_TRUE(parts.ok()) << parts.status().message();
  EXPECT_EQ(*parts, 3);
  auto after = ForgetEntriesSince(**repo, "main", t0 + 7200);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), 3u);
  // Another entry's bytes under this name do not open.
  auto other = ForgetEntriesSince(**repo, "other", 0);
  ASSERT_TRUE(other.ok() && other->size() == 1);
  auto moved = storage.Get(ForgetEntryObjectName("other", other->front()));
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(storage.Put(ForgetEntryObjectName("main", other->front()), *moved).ok());
  EXPECT_FALSE((*repo)->ReadForgetEntry("main", other->front()).ok());
}

}  // namespace
}  // namespace pgkeep
