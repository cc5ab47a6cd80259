#include "backup/data_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <stdexcept>
#include <utility>

#include "support/process.h"

namespace pgkeep {
namespace {

TEST(ExcludedFromBackupTest, FollowsWhatBaseBackupLeavesOut) {
  struct Case {
    const char* path;
    bool excluded;
  };
  const Case cases[] = {
      {"postmaster.pid", true},
      {"postmaster.opts", true},
      {"postgresql.auto.conf.tmp", true},
      {"current_logfiles", true},
      {"backup_label", true},
      {"backup_label.old", true},
      {"tablespace_map", true},
      {"backup_manifest", true},
      {"recovery.signal", true},
      {"standby.signal", true},
      // Top-level names only: the same name deeper down is somebody's data.
      {"base/1/postmaster.pid", false},
      {"base/1/backup_label", false},
      {"global/standby.signal", false},
      // pg_internal.init and pgsql_tmp* anywhere.
      {"pg_internal.init", true},
      {"global/pg_internal.init", true},
      {"base/16384/pg_internal.init", true},
      {"pgsql_tmp", true},
      {"pgsql_tmp123", true},
      {"base/pgsql_tmp", true},
      {"pg_tblspc/16400/PG_15_202209061/pgsql_tmp", true},
      {"base/16384/pgsql_tmp4711.0", true},
      // Kept.
      {"PG_VERSION", false},
      {"global/pg_control", false},
      {"base/1/123", false},
      {"postgresql.auto.conf", false},
      {"postgresql.conf", false},
      {"pg_wal", false},
      {"pg_stat_tmp", false},
      {"pg_internal.init.bak", false},
      {"base/1/my_pgsql_tmp", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    EXPECT_EQ(ExcludedFromBackup(c.path), c.excluded);
  }
}

TEST(ContentsExcludedFromBackupTest, EmptiesTransientDirectoriesAtTopLevelOnly) {
  struct Case {
    const char* path;
    bool contents_excluded;
  };
  const Case cases[] = {
      {"pg_wal", true},       {"pg_xlog", true},
      {"pg_dynshmem", true},  {"pg_notify", true},
      {"pg_replslot", true},  {"pg_serial", true},
      {"pg_snapshots", true}, {"pg_stat_tmp", true},
      {"pg_subtrans", true},  {"base", false},
      {"global", false},      {"pg_tblspc", false},
      {"pg_xact", false},     {"pg_stat", false},
      {"base/pg_wal", false}, {"pg_wal/archive_status", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.path);
    EXPECT_EQ(ContentsExcludedFromBackup(c.path), c.contents_excluded);
  }
}

void MakeDir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0) throw std::runtime_error("mkdir " + path);
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out || ::chmod(path.c_str(), mode) != 0) throw std::runtime_error("write " + path);
}

class ListDataDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("pgkeep-datadir-");
    pgdata_ = root_ + "/data";
    tablespace_ = root_ + "/ts";
  }
  void TearDown() override { testing::RemoveTree(root_); }

  // A small data directory with one tablespace and something of everything
  // a backup must leave out.
  void BuildCluster() {
    MakeDir(pgdata_);
    WriteFile(pgdata_ + "/PG_VERSION", "15\n");
    WriteFile(pgdata_ + "/postmaster.pid", "4242\n");
    WriteFile(pgdata_ + "/backup_label", "START WAL LOCATION: 0/2000028\n");
    WriteFile(pgdata_ + "/standby.signal", "");
    MakeDir(pgdata_ + "/base");
    MakeDir(pgdata_ + "/base/1");
    WriteFile(pgdata_ + "/base/1/123", std::string(8192, 'x'), 0640);
    WriteFile(pgdata_ + "/base/1/pg_internal.init", "cache");
    MakeDir(pgdata_ + "/base/pgsql_tmp");
    WriteFile(pgdata_ + "/base/pgsql_tmp/x", "spill");
    MakeDir(pgdata_ + "/global");
    WriteFile(pgdata_ + "/global/pg_control", std::string(8192, 'c'));
    WriteFile(pgdata_ + "/global/pg_internal.init", "cache");
    MakeDir(pgdata_ + "/pg_wal");
    WriteFile(pgdata_ + "/pg_wal/000000010000000000000001", std::string(4096, 'w'));
    MakeDir(pgdata_ + "/pg_wal/archive_status");
    WriteFile(pgdata_ + "/pg_wal/archive_status/000000010000000000000001.ready", "");
    MakeDir(pgdata_ + "/pg_stat_tmp");
    WriteFile(pgdata_ + "/pg_stat_tmp/global.stat", "stats");
    if (::mkfifo((pgdata_ + "/a_fifo").c_str(), 0600) != 0) throw std::runtime_error("mkfifo");
    MakeDir(pgdata_ + "/pg_tblspc");
    MakeDir(tablespace_);
    MakeDir(tablespace_ + "/PG_15_x");
    MakeDir(tablespace_ + "/PG_15_x/5");
    WriteFile(tablespace_ + "/PG_15_x/5/16401", std::string(100, 't'));
    if (::symlink(tablespace_.c_str(), (pgdata_ + "/pg_tblspc/16400").c_str()) != 0)
      throw std::runtime_error("symlink");
  }

  std::string root_;
  PosixEnv env_;
  std::string pgdata_;
  std::string tablespace_;
};

TEST_F(ListDataDirectoryTest, ListsWhatABackupTakes) {
  BuildCluster();
  std::vector<Tablespace> tablespaces;
  auto entries = ListDataDirectory(env_, pgdata_, &tablespaces);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();

  std::vector<std::pair<std::string, bool>> got;  // path, is_dir
  for (const auto& e : *entries) got.emplace_back(e.path, e.is_dir);
  std::sort(got.begin(), got.end());
  const std::vector<std::pair<std::string, bool>> want = {
      {"PG_VERSION", false},
      {"base", true},
      {"base/1", true},
      {"base/1/123", false},
      {"global", true},
      {"global/pg_control", false},
      {"pg_stat_tmp", true},
      {"pg_tblspc", true},
      {"pg_tblspc/16400", true},
      {"pg_tblspc/16400/PG_15_x", true},
      {"pg_tblspc/16400/PG_15_x/5", true},
      {"pg_tblspc/16400/PG_15_x/5/16401", false},
      {"pg_wal", true},
  };
  EXPECT_EQ(got, want);

  ASSERT_EQ(tablespaces.size(), 1u);
  EXPECT_EQ(tablespaces[0].oid, "16400");
  EXPECT_EQ(tablespaces[0].location, tablespace_);
}

TEST_F(ListDataDirectoryTest, ParentsComeBeforeChildren) {
  BuildCluster();
  std::vector<Tablespace> tablespaces;
  auto entries = ListDataDirectory(env_, pgdata_, &tablespaces);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  std::set<std::string> seen_dirs;
  for (const auto& e : *entries) {
    auto slash = e.path.rfind('/');
    if (slash != std::string::npos) {
      EXPECT_TRUE(seen_dirs.count(e.path.substr(0, slash))) << e.path;
    }
    if (e.is_dir) seen_dirs.insert(e.path);
  }
}

TEST_F(ListDataDirectoryTest, RecordsWhereToReadAndFileAttributes) {
  BuildCluster();
  std::vector<Tablespace> tablespaces;
  auto entries = ListDataDirectory(env_, pgdata_, &tablespaces);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  auto find = [&](const std::string& path) -> const DataDirEntry* {
    for (const auto& e : *entries)
      if (e.path == path) return &e;
    return nullptr;
  };

  const DataDirEntry* relation = find("base/1/123");
  ASSERT_NE(relation, nullptr);
  EXPECT_EQ(relation->abs_path, pgdata_ + "/base/1/123");
  EXPECT_EQ(relation->size, 8192u);
  EXPECT_EQ(relation->mode, 0640u);
  struct stat st;
  ASSERT_EQ(::stat(relation->abs_path.c_str(), &st), 0);
  EXPECT_EQ(relation->mtime, st.st_mtime);

  const DataDirEntry* in_tablespace = find("pg_tblspc/16400/PG_15_x/5/16401");
  ASSERT_NE(in_tablespace, nullptr);
  EXPECT_EQ(in_tablespace->size, 100u);
  EXPECT_EQ(in_tablespace->mode, 0600u);
  // Read through the link, so the file is the tablespace's.
  EXPECT_EQ(in_tablespace->abs_path, pgdata_ + "/pg_tblspc/16400/PG_15_x/5/16401");

  const DataDirEntry* wal = find("pg_wal");
  ASSERT_NE(wal, nullptr);
  EXPECT_TRUE(wal->is_dir);
  EXPECT_EQ(wal->mode, 0700u);
  EXPECT_EQ(wal->size, 0u);
}

TEST_F(ListDataDirectoryTest, WithoutTablespacesReportsNone) {
  MakeDir(pgdata_);
  WriteFile(pgdata_ + "/PG_VERSION", "15\n");
  MakeDir(pgdata_ + "/pg_tblspc");
  std::vector<Tablespace> tablespaces;
  auto entries = ListDataDirectory(env_, pgdata_, &tablespaces);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].path, "PG_VERSION");
  EXPECT_EQ((*entries)[1].path, "pg_tblspc");
  EXPECT_TRUE(tablespaces.empty());
}

TEST_F(ListDataDirectoryTest, RefusesWhatIsNotADataDirectory) {
  MakeDir(pgdata_);
  WriteFile(pgdata_ + "/postgresql.conf", "");
  WriteFile(root_ + "/plain-file", "");
  for (const std::string& path : {pgdata_, root_ + "/missing", root_ + "/plain-file"}) {
    SCOPED_TRACE(path);
    std::vector<Tablespace> tablespaces;
    auto entries = ListDataDirectory(env_, path, &tablespaces);
    ASSERT_FALSE(entries.ok());
    EXPECT_EQ(entries.status().code(), ErrorCode::kConfig);
    EXPECT_EQ(entries.status().message(),
              "pgdata \"" + path + "\" is not a readable PostgreSQL data directory");
  }
}

}  // namespace
}  // namespace pgkeep
