// DumpStager on real pg_dump 15 output: a dump streamed through a pipe and
// staged, fed in pieces of every size, has its data positions set and its
// per-row blocks joined, and pg_restore -j2 restores exactly the same rows;
// files it does not understand are copied byte for byte.
// (Chunks: pg_dump's length-prefixed pieces of a table's data block.)
#include "restore/dump_staging.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "postgres/pg_connector.h"
#include "restore/table_load.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

constexpr char kBin[] = "/usr/lib/postgresql/15/bin";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class DumpStagingTest : public ::testing::Test {
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
  void SetUp() override { dir_ = testing::MakeTempDir("pgkeep-staging-"); }
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
  // Stages `bytes` into `path`, handing them over `piece` bytes at a time.
  Result<DumpStaging> Stage(const std::string& bytes, const std::string& path, size_t piece) {
    auto out = env_.NewWritableFile(path, OpenMode::kTruncate, 0600);
    if (!out.ok()) return out.status();
    DumpStager stager(**out);
    for (size_t at = 0; at < bytes.size(); at += piece) {
      Status s = stager.Write(AsBytes(std::string_view(bytes).substr(at, piece)));
      if (!s.ok()) return s;
    }
    auto staged = stager.Finish();
    (void)(*out)->Close();
    return staged;
  }
  std::string Restore(const std::string& path, const std::string& db) {
    cluster_->Exec("DROP DATABASE IF EXISTS " + db);
    cluster_->Exec("CREATE DATABASE " + db);
    auto restored = testing::RunProcess({std::string(kBin) + "/pg_restore", "-j2",
                                         "--exit-on-error", "-d", cluster_->ConnInfo(db), path});
    EXPECT_EQ(restored.exit_code, 0) << restored.err;
    return cluster_->Query(
        "SELECT (SELECT count(*) FROM a) || ' ' || (SELECT md5(string_agg(t, '' ORDER BY id)) "
        "FROM a) || ' ' || (SELECT count(*) FROM b) || ' ' || "
        "(SELECT string_agg(convert_from(lo_get(oid), 'UTF8'), ',') FROM pg_largeobject_metadata)",
        db);
  }

  static testing::PgCluster* cluster_;
  PosixEnv env_;
  std::string dir_;
};

testing::PgCluster* DumpStagingTest::cluster_ = nullptr;

TEST_F(DumpStagingTest, AStagedStreamedDumpRestoresInParallelWithLargerBlocks) {
  std::string piped = ReadFile(Dump("piped.dump", true));
  std::string expected = Restore(Dump("file.dump", false), "from_file");
  ASSERT_EQ(expected.substr(0, 6), "20000 ");
  // Pieces of one byte split every integer; large ones hold whole blocks.
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, size_t{1} << 20}) {
    SCOPED_TRACE("pieces of " + std::to_string(piece));
    std::string staged = dir_ + "/staged.dump";
    auto r = Stage(piped, staged, piece);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(r->rewritten);
    EXPECT_EQ(r->offsets_added, 4);  // a, b, empty (its data block is empty), the large objects
    // One chunk per row (25000 rows) and the large object's became a few.
    EXPECT_GT(r->chunks_read, 25000u);
    EXPECT_LT(r->chunks_written, 50u);  // 6.6 MB of table a in 256 KiB chunks
    std::string bytes = ReadFile(staged);
    EXPECT_LT(bytes.size(), piped.size());
    EXPECT_EQ(Restore(staged, "staged"), expected);
  }
  // A staged dump has its positions: staged again, it is copied as it is.
  std::string staged = dir_ + "/staged.dump";
  ASSERT_TRUE(Stage(piped, staged, 65536).ok());
  std::string once = ReadFile(staged);
  auto again = Stage(once, dir_ + "/again.dump", 65536);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->rewritten);
  EXPECT_EQ(again->offsets_added, 0);
  EXPECT_EQ(ReadFile(dir_ + "/again.dump"), once);
}

TEST_F(DumpStagingTest, FilesItDoesNotUnderstandAreCopiedAsTheyAre) {
  std::string whole = ReadFile(Dump("piped.dump", true));
  std::string compressed = whole;
  compressed[11 + 4] = 1;  // compression level 1 (low byte of the integer after the sign)
  struct Case {
    const char* name;
    std::string bytes;
  };
  for (const Case& c :
       {Case{"empty", std::string()}, Case{"not a dump", std::string("hello world")},
        Case{"a few bytes", std::string("PGD")}, Case{"compressed", compressed},
        Case{"version 1.99", whole.substr(0, 6) + std::string(1, '\x63') + whole.substr(7)},
        Case{"only a header", whole.substr(0, 40)}}) {
    std::string path = dir_ + "/case.dump";
    auto staged = Stage(c.bytes, path, 1000);
    ASSERT_TRUE(staged.ok()) << c.name << ": " << staged.status().ToString();
    EXPECT_FALSE(staged->rewritten) << c.name;
    EXPECT_EQ(staged->offsets_added, 0) << c.name;
    EXPECT_EQ(ReadFile(path), c.bytes) << c.name;
  }
}

TEST_F(DumpStagingTest, DataThatDoesNotParseIsReportedNotGuessed) {
  std::string whole = ReadFile(Dump("piped.dump", true));
  struct Case {
    const char* name;
    std::string bytes;
    const char* says;
  };
  for (const Case& c :
       {Case{"truncated in the data", whole.substr(0, whole.size() - 7), "ends inside"},
        Case{"trailing bytes", whole + "x", "unknown block type"},
        Case{"a block of an unknown entry", whole + std::string("\x01\x00\x99\x99\x00\x00", 6),
             "unknown entry"}}) {
    std::string path = dir_ + "/case.dump";
    auto out = env_.NewWritableFile(path, OpenMode::kTruncate, 0600);
    ASSERT_TRUE(out.ok());
    DumpStager stager(**out);
    Status written = stager.Write(AsBytes(c.bytes));
    Status s = written.ok() ? stager.Finish().status() : written;
    EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << c.name << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.says), std::string::npos) << c.name << ": " << s.message();
    EXPECT_TRUE(stager.malformed()) << c.name;
  }
}

// The staging names each table's data; LoadTableInParts loads one of them
// over several connections, cut at row boundaries, with exactly its rows.
TEST_F(DumpStagingTest, ATableLoadedInPartsHoldsExactlyItsRows) {
  std::string staged = dir_ + "/staged.dump";
  auto r = Stage(ReadFile(Dump("piped.dump", true)), staged, 65536);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->session_sql.find("client_encoding"), std::string::npos) << r->session_sql;
  EXPECT_GE(r->toc_order.size(), 6u);
  const StagedTableData* a = nullptr;
  for (const StagedTableData& t : r->table_data)
    if (t.table == "a") a = &t;
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->schema, "public");
  EXPECT_EQ(a->copy_statement.rfind("COPY public.a (id, t) FROM stdin;", 0), 0u)
      << a->copy_statement;
  EXPECT_GT(a->bytes, 6000000u);
  const std::string source =
      cluster_->Query("SELECT md5(string_agg(t, '' ORDER BY id)) FROM a", "src");
  LibpqConnector connector(env_);
  for (int parts : {1, 2, 3, 7}) {
    SCOPED_TRACE(std::to_string(parts) + " parts");
    cluster_->Exec("DROP DATABASE IF EXISTS parts");
    cluster_->Exec("CREATE DATABASE parts");
    auto schema =
        testing::RunProcess({std::string(kBin) + "/pg_restore", "--section=pre-data",
                             "--exit-on-error", "-d", cluster_->ConnInfo("parts"), staged});
    ASSERT_EQ(schema.exit_code, 0) << schema.err;
    auto loaded = LoadTableInParts(env_, connector, cluster_->ConnInfo("parts"), "parts", staged,
                                   *a, r->int_size, r->session_sql, parts, nullptr);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->parts, parts);
    EXPECT_EQ(loaded->rows, 20000);
    EXPECT_EQ(cluster_->Query("SELECT count(*) FROM a", "parts"), "20000");
    EXPECT_EQ(cluster_->Query("SELECT md5(string_agg(t, '' ORDER BY id)) FROM a", "parts"), source);
  }
  // A chunk length that points past the file is damage, not a guess.
  StagedTableData broken = *a;
  broken.offset += 3;
  auto bad = LoadTableInParts(env_, connector, cluster_->ConnInfo("parts"), "parts", staged, broken,
                              r->int_size, r->session_sql, 2, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kCorrupt) << bad.status().ToString();
}

}  // namespace
}  // namespace pgkeep
