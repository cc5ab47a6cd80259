// A physical backup taken from a scripted server (tests/support/fake_pg.h)
// restored into a new directory: the files come back byte for byte, with the
// recovery settings, and the server is not asked for anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "backup/physical_backup.h"
#include "restore/physical_restore.h"
#include "support/fake_pg.h"
#include "support/memory_repo.h"
#include "support/process.h"
#include "wal/wal_archive.h"

namespace pgkeep {
namespace {

using testing::FakeArchive;
using testing::FakeBaseBackup;
using testing::FakePgConnector;
using testing::Rows;
using testing::TarBuilder;

constexpr char kConninfo[] = "host=db1 dbname=app";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PhysicalRoundTripTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-physical-round-trip-");
    db_.name = "main";
    db_.conninfo = kConninfo;
    db_.method = "physical";
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  Snapshot TakeBackup() {
    FakePgConnector pg;
    FakeBaseBackup b;
    b.archives.push_back(FakeArchive{{"base.tar", ""},
                                     TarBuilder()
                                         .File("PG_VERSION", "15\n")
                                         .Directory("base")
                                         .Directory("base/5")
                                         .File("base/5/16384", std::string(3 * 8192, 'r'))
                                         .File("backup_label", "START TIMELINE: 1\n")
                                         .Finish()});
    pg.ExpectConnect(kConninfo)
        .ExpectQuery("SELECT current_setting('wal_level'), ...",
                     Rows({{"replica", "on", "pgkeep wal-push --db main %p"}}))
        .ExpectQuery(
            "SELECT system_identifier::text, ...",
            Rows({{"7000000000000000001", "off", "5432", "PostgreSQL 15.4", "16MB", "8192"}}))
        .ExpectBaseBackup(b);
    EXPECT_TRUE(
        mem_.storage().Put(WalObjectName("main", "000000010000000000000002"), AsBytes("wal")).ok());
    PhysicalBackupOptions o;
    o.store.threads = 1;
    auto r = RunPhysicalBackup(mem_.env(), mem_.repo(), pg, db_, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->snapshot : Snapshot{};
  }

  std::string dir_;
  DatabaseConfig db_;
  testing::MemoryRepo mem_;
};

TEST_F(PhysicalRoundTripTest, WhatWasStreamedComesBackWithRecoverySettings) {
  Snapshot backup = TakeBackup();
  mem_.AdvanceSeconds(60);
  mem_.Reopen();
  FakePgConnector nothing;  // without --start, no server is involved
  PhysicalRestoreOptions o;
  o.pgdata = dir_ + "/restored";
  o.target = "immediate";
  o.threads = 2;
  o.config_path = "/etc/pgkeep/pgkeep.toml";
  auto r = RunPhysicalRestore(mem_.env(), mem_.repo(), nothing, db_, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->backup.id, backup.id);
  EXPECT_EQ(r->recovery_target, "recovery_target = 'immediate'");
  EXPECT_EQ(r->recovery_timeline, "1");
  EXPECT_FALSE(r->archiving) << "a copy elsewhere does not archive";
  EXPECT_FALSE(r->started);
  EXPECT_EQ(ReadFile(o.pgdata + "/PG_VERSION"), "15\n");
  EXPECT_EQ(ReadFile(o.pgdata + "/base/5/16384"), std::string(3 * 8192, 'r'));
  EXPECT_EQ(ReadFile(o.pgdata + "/backup_label"), "START TIMELINE: 1\n");
  EXPECT_TRUE(std::filesystem::exists(o.pgdata + "/recovery.signal"));
  std::string conf = ReadFile(o.pgdata + "/postgresql.auto.conf");
  EXPECT_NE(conf.find("recovery_target = 'immediate'"), std::string::npos) << conf;
  EXPECT_NE(conf.find("wal-fetch --db main"), std::string::npos) << conf;
  EXPECT_NE(conf.find("archive_mode = 'off'"), std::string::npos) << conf;
}

TEST_F(PhysicalRoundTripTest, ARequestWithTwoTargetsIsRefusedBeforeAnythingIsRead) {
  FakePgConnector nothing;
  PhysicalRestoreOptions o;
  o.pgdata = dir_ + "/restored";
  o.target_lsn = "0/3000000";
  o.target_name = "before-deploy";
  auto r = RunPhysicalRestore(mem_.env(), mem_.repo(), nothing, db_, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_FALSE(std::filesystem::exists(o.pgdata));
}

}  // namespace
}  // namespace pgkeep
