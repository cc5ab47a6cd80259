// BackupDatabase: the kind chosen from the request and the method, and the
// pin written with the backup.
#include "backup/backup.h"

#include <gtest/gtest.h>

#include "repo/pins.h"
#include "support/fake_pg.h"
#include "support/memory_repo.h"

namespace pgkeep {
namespace {

using testing::FakePgConnector;
using testing::FakeToolRun;
using testing::Rows;

DatabaseConfig Db(const std::string& method) {
  DatabaseConfig db;
  db.name = "app";
  db.conninfo = "host=db1 dbname=app";
  db.method = method;
  return db;
}

TEST(ResolveBackupTypeTest, TheMethodDecidesWhatFits) {
  struct Case {
    const char* method;
    const char* requested;
    const char* type;  // nullptr: refused
  };
  for (const Case& c : std::vector<Case>{{"physical", "", "full"},
                                         {"physical", "full", "full"},
                                         {"physical", "incr", "incr"},
                                         {"physical", "logical", nullptr},
                                         {"logical", "", "logical"},
                                         {"logical", "logical", "logical"},
                                         {"logical", "full", nullptr},
                                         {"logical", "incr", nullptr}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.requested);
    auto t = ResolveBackupType(Db(c.method), c.requested);
    if (c.type) {
      ASSERT_TRUE(t.ok()) << t.status().ToString();
      EXPECT_EQ(*t, c.type);
    } else {
      ASSERT_FALSE(t.ok());
      EXPECT_EQ(t.status().code(), ErrorCode::kUsage);
    }
  }
  auto refused = ResolveBackupType(Db("logical"), "full");
  EXPECT_EQ(refused.status().message(),
            "--type full does not apply to database \"app\", which has method = \"logical\"");
  EXPECT_EQ(refused.status().hint(), "use --type logical, or leave --type out");
}

TEST(BackupDatabaseTest, PinsTheBackupWhenAskedAndReportsTheSteps) {
  testing::MemoryRepo mem;
  FakePgConnector pg;
  pg.ExpectConnect("host=db1 dbname=app")
      .ExpectExec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
      .ExpectQuery("SELECT pg_export_snapshot(), current_database(), version()",
                   Rows({{"00000003-1", "app", "PostgreSQL 15.4"}}))
      .ExpectTool(FakeToolRun{"pg_dump", {}, "PGDMP"})
      .ExpectQuery("\nSELECT n.nspname, c.relname...", Rows({}))
      .ExpectExec("COMMIT");
  BackupOptions o;
  o.pin = true;
  o.note = "before deploy";
  o.store.threads = 1;
  std::vector<std::string> steps;
  auto r = BackupDatabase(mem.env(), mem.repo(), pg, Db("logical"), o,
                          [&](const std::string& s) { steps.push_back(s); });
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->pinned);
  EXPECT_EQ(steps,
            (std::vector<std::string>{
                "backing up database \"app\" (logical)", "dumping database \"app\" with pg_dump",
                "counting rows in the dump's snapshot", "committing backup " + r->snapshot.id,
                "pinning backup " + r->snapshot.id}));
  auto pins = ReadPins(mem.repo());
  ASSERT_TRUE(pins.ok());
  ASSERT_EQ(pins->count(r->snapshot.id), 1u);
  const Pin& pin = pins->at(r->snapshot.id);
  EXPECT_EQ(pin.note, "before deploy");
  EXPECT_FALSE(pin.until);
  EXPECT_EQ(pin.created, mem.clock().NowSeconds());
}

TEST(BackupDatabaseTest, AKindThatDoesNotFitIsRefusedBeforeConnecting) {
  testing::MemoryRepo mem;
  FakePgConnector pg;  // nothing expected: nothing may be asked
  BackupOptions o;
  o.type = "incr";
  auto r = BackupDatabase(mem.env(), mem.repo(), pg, Db("logical"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
}

}  // namespace
}  // namespace pgkeep
