// AddDumpDataOffsets on real pg_dump 15 output: a dump streamed through a
// pipe, once patched, is byte for byte the dump pg_dump writes to a file of
// the same database (apart from the creation time), and pg_restore -j2
// restores it; files it does not understand are left untouched.
#include "restore/dump_offsets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DumpOffsetsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = testing::PgCluster::Start().release();
    cluster_->Exec("CREATE DATABASE src");
    cluster_->Exec(
        "CREATE TABLE a (id int PRIMARY KEY, t text); "
        "INSERT INTO a SELECT g, repeat(md5(g::text), 10) FROM generate_series(1, 20000) g; "
        "CREATE TABLE b (id int); INSERT INTO b SELECT generate_series(1, 5000); "
        "CREATE TABLE empty (id int); "
        "SELECT lo_from_bytea(0, 'a large object'::bytea)",
        "src");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-offsets-"); }
  void TearDown() override { testing::RemoveTree(dir_); }

  // pg_dump -Fc -Z0 of "src": into a pipe (as a backup streams it) or a file.
  std::string Dump(const std::string& name, bool pipe) {
    std::string path = dir_ + "/" + name;
    std::string dump =
        std::string(kBin) + "/pg_dump -Fc -Z0 -d '" + cluster_->ConnInfo("src") + "'";
    auto r = testing::RunProcess(
        {"bash", "-c", pipe ? dump + " | cat > " + path : dump + " -f " + path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return path;
  }
  Result<int> Patch(const std::string& path) {
    auto in = env_.NewReadableFile(path);
    if (!in.ok()) return in.status();
    auto out = env_.NewWritableFile(path, OpenMode::kUpdate, 0600);
    if (!out.ok()) return out.status();
    auto added = AddDumpDataOffsets(**in, **out);
    (void)(*out)->Close();
    return added;
  }

  static testing::PgCluster* cluster_;
  PosixEnv env_;
  std::string dir_;
};

testing::PgCluster* DumpOffsetsTest::cluster_ = nullptr;

TEST_F(DumpOffsetsTest, APatchedStreamedDumpIsTheDumpPgDumpWritesToAFile) {
  std::string piped = Dump("piped.dump", true);
  std::string seekable = Dump("file.dump", false);
  ASSERT_NE(ReadFile(piped), ReadFile(seekable)) << "pg_dump left the offsets unset in the pipe";
  auto added = Patch(piped);
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(*added, 4);  // a, b, empty (its data block is empty) and the large objects
  std::string p = ReadFile(piped), f = ReadFile(seekable);
  ASSERT_EQ(p.size(), f.size());
  // Bytes 16..50 hold the creation time (7 integers of 5 bytes), which differs.
  for (size_t i = 16; i < 51; ++i) p[i] = f[i] = 0;
  EXPECT_TRUE(p == f) << "the patched dump differs from pg_dump's own";
  // Once set, nothing more to do, and the file stays as it is.
  std::string before = ReadFile(piped);
  auto again = Patch(piped);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
  EXPECT_EQ(ReadFile(piped), before);

  cluster_->Exec("CREATE DATABASE dst");
  auto restored = testing::RunProcess({std::string(kBin) + "/pg_restore", "-j2", "--exit-on-error",
                                       "-d", cluster_->ConnInfo("dst"), piped});
  EXPECT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM a", "dst"), "20000");
}

TEST_F(DumpOffsetsTest, FilesItDoesNotUnderstandAreLeftAsTheyAre) {
  std::string piped = Dump("piped.dump", true);
  std::string whole = ReadFile(piped);
  struct Case {
    const char* name;
    std::string bytes;
  };
  std::string compressed = whole;
  compressed[11 + 4] = 1;  // compression level 1 (low byte of the integer after the sign)
  for (const Case& c :
       {Case{"not a dump", std::string("hello world")},
        Case{"truncated in the data", whole.substr(0, whole.size() - 7)},
        Case{"trailing bytes", whole + "x"}, Case{"compressed", compressed},
        Case{"version 1.99", whole.substr(0, 6) + std::string(1, '\x63') + whole.substr(7)}}) {
    std::string path = dir_ + "/case.dump";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << c.bytes;
    auto added = Patch(path);
    ASSERT_TRUE(added.ok()) << c.name;
    EXPECT_EQ(*added, 0) << c.name;
    EXPECT_EQ(ReadFile(path), c.bytes) << c.name;
  }
}

}  // namespace
}  // namespace pgkeep
