// The repository in an S3-compatible bucket, against a real S3-protocol
// server (tests/s3/server.js: s3rver behind a SigV4 check) on loopback: the
// storage driver's contract, signing, faults, and pgkeep's commands end to
// end (logical and physical backups, WAL, PITR, verify, expire) as a user
// runs them.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/env.h"
#include "integration/s3_fixture.h"
#include "storage/curl_http_client.h"
#include "storage/s3_storage.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {
namespace {

using testing::ChownToOsUser;
using testing::OsUser;
using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;
using testing::S3Server;

std::unique_ptr<S3Storage> OpenBucket(Env& env, const S3Server& server,
                                      const std::string& secret = testing::kS3SecretKey,
                                      int retry_seconds = 20) {
  CurlHttpOptions http;
  http.base_url = server.endpoint();
  http.region = testing::kS3Region;
  http.credentials = {testing::kS3AccessKey, secret, ""};
  S3StorageOptions options;
  options.endpoint = server.endpoint();
  options.bucket = "pgkeep";
  options.bucket_path = "/pgkeep";
  options.prefix = "unit/";
  options.region = testing::kS3Region;
  options.credential_source = "$TEST_S3_KEY";
  options.part_size = 5 << 20;
  options.retry_seconds = retry_seconds;
  return std::make_unique<S3Storage>(env, std::make_unique<CurlHttpClient>(http), options);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The first value a query returns on a server on this host's `port`, or
// the connection's error.
std::string QueryAt(int port, const std::string& sql) {
  const std::string conninfo =
      "host=127.0.0.1 user=postgres dbname=postgres port=" + std::to_string(port);
  PGconn* c = PQconnectdb(conninfo.c_str());
  std::string out = PQerrorMessage(c);
  if (PQstatus(c) == CONNECTION_OK) {
    PGresult* r = PQexec(c, sql.c_str());
    out = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0)
                                                                   : PQerrorMessage(c);
    PQclear(r);
  }
  PQfinish(c);
  return out;
}

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes b(size);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& byte : b) {
    x = x * 1664525u + 1013904223u;
    byte = static_cast<uint8_t>(x >> 24);
  }
  return b;
}

class S3ContractTest : public ::testing::TestWithParam<bool> {};

// Every promise of storage/storage.h, on a server with and without
// conditional writes (the second exercises the claims).
TEST_P(S3ContractTest, TheStorageContractHolds) {
  S3Server server({.conditional_writes = GetParam()});
  PosixEnv env;
  auto s3 = OpenBucket(env, server);
  const Bytes small = Pattern(1000, 1);
  ASSERT_TRUE(s3->Put("data/aa/one", small).ok());
  EXPECT_EQ(s3->Get("data/aa/one").value(), small);
  EXPECT_TRUE(s3->Exists("data/aa/one").value());
  EXPECT_FALSE(s3->Exists("data/aa/none").value());
  EXPECT_EQ(s3->Get("data/aa/none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s3->GetRange("data/aa/one", 10, 20).value(),
            Bytes(small.begin() + 10, small.begin() + 30));
  EXPECT_EQ(s3->GetRange("data/aa/one", 990, 20).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s3->GetAtMost("data/aa/one", 1000).value(), small);
  EXPECT_EQ(s3->GetAtMost("data/aa/one", 999).status().code(), ErrorCode::kRepoFormat);

  // Over the part size: a multipart upload, parts in parallel.
  const Bytes big = Pattern((12 << 20) + 123, 2);
  ASSERT_TRUE(s3->Put("data/bb/big", big).ok());
  EXPECT_EQ(s3->Get("data/bb/big").value(), big);
  EXPECT_EQ(s3->GetRange("data/bb/big", (5 << 20) - 3, 10).value(),
            Bytes(big.begin() + (5 << 20) - 3, big.begin() + (5 << 20) + 7));
  EXPECT_EQ(server.UnfinishedUploads("pgkeep"), 0);

  ASSERT_TRUE(s3->Put("wal/x/1", small).ok());
  auto listed = s3->List("data/");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  std::vector<std::string> names;
  for (const ObjectInfo& o : *listed) names.push_back(o.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"data/aa/one", "data/bb/big"}));
  EXPECT_EQ((*listed)[0].name == "data/aa/one" ? (*listed)[0].size : (*listed)[1].size, 1000u);
  EXPECT_GT((*listed)[0].modified, 1700000000);

  // Put-if-absent: the first wins, the second leaves it untouched.
  ASSERT_TRUE(s3->PutIfAbsent("wal/x/2", small).ok());
  EXPECT_EQ(s3->PutIfAbsent("wal/x/2", Pattern(10, 3)).code(), ErrorCode::kConflict);
  EXPECT_EQ(s3->Get("wal/x/2").value(), small);
  // Of racing writers of different content, never more than one succeeds,
  // and what is stored is the content of one that did.
  std::atomic<int> won{0};
  std::vector<std::thread> writers;
  for (uint8_t w = 0; w < 6; ++w) {
    writers.emplace_back([&, w] {
      auto mine = OpenBucket(env, server);
      if (mine->PutIfAbsent("wal/x/race", Pattern(100, 10 + w)).ok()) ++won;
    });
  }
  for (auto& t : writers) t.join();
  EXPECT_LE(won.load(), 1);
  if (GetParam()) {
    EXPECT_EQ(won.load(), 1);  // a conditional write always has one winner
  }

  ASSERT_TRUE(s3->Delete("data/aa/one").ok());
  ASSERT_TRUE(s3->Delete("data/aa/one").ok());  // deleting what is gone succeeds
  EXPECT_FALSE(s3->Exists("data/aa/one").value());
  // Claims are not objects of the repository.
  auto everything = s3->List("");
  ASSERT_TRUE(everything.ok());
  for (const ObjectInfo& o : *everything) EXPECT_NE(o.name.rfind("claims/", 0), 0u) << o.name;
}

INSTANTIATE_TEST_SUITE_P(ConditionalWritesOrClaims, S3ContractTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Conditional" : "Claims"; });

// libcurl's SigV4 against AWS's published examples (GET Object with a
// range, and ListObjects), captured by a local server the request is
// routed to: the same signatures, to the character.
TEST(S3SigningTest, MatchesAwsPublishedExamples) {
  httplib::Server capture;
  std::mutex mu;
  std::vector<std::string> seen;
  capture.Get(".*", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mu);
    seen.push_back(req.get_header_value("Authorization"));
    res.status = 200;
  });
  capture.set_keep_alive_max_count(1);  // answer, then close: stop() need not wait
  const int port = capture.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { capture.listen_after_bind(); });
  for (int i = 0; i < 200 && !capture.is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  CurlHttpOptions options;
  options.base_url = "http://examplebucket.s3.amazonaws.com";
  options.region = "us-east-1";
  options.credentials = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  options.connect_to = "examplebucket.s3.amazonaws.com:80:127.0.0.1:" + std::to_string(port);
  CurlHttpClient client(options);
  const std::string empty_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  HttpRequest get{"GET",
                  "/test.txt",
                  {{"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", empty_hash},
                   {"x-amz-date", "20130524T000000Z"}},
                  {}};
  ASSERT_TRUE(client.Send(get).ok());
  HttpRequest list{"GET",
                   "/?max-keys=2&prefix=J",
                   {{"x-amz-content-sha256", empty_hash}, {"x-amz-date", "20130524T000000Z"}},
                   {}};
  ASSERT_TRUE(client.Send(list).ok());
  capture.stop();
  serving.join();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  EXPECT_EQ(seen[1],
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
            "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST(S3FaultTest, TheServerChecksSignaturesAndAWrongSecretIsAClearAuthError) {
  S3Server server;
  PosixEnv env;
  auto wrong = OpenBucket(env, server, "not-the-secret");
  Status put = wrong->Put("data/x", Pattern(10, 1));
  EXPECT_EQ(put.code(), ErrorCode::kAuth);
  EXPECT_NE(put.message().find("SignatureDoesNotMatch"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("$TEST_S3_KEY"), std::string::npos) << put.message();
  EXPECT_EQ(put.message().find("not-the-secret"), std::string::npos);
  EXPECT_FALSE(OpenBucket(env, server)->Exists("data/x").value());
}

TEST(S3FaultTest, SlowDownAndDroppedConnectionsMidUploadAreRetried) {
  S3Server server;
  PosixEnv env;
  auto s3 = OpenBucket(env, server);
  server.SetFaults(nlohmann::json::array(
      {{{"method", "PUT"}, {"match", "partNumber=2"}, {"action", "reset-mid-body"}, {"count", 1}},
       {{"method", "PUT"},
        {"action", "status"},
        {"status", 503},
        {"code", "SlowDown"},
        {"count", 2}},
       {{"method", "GET"}, {"action", "reset"}, {"count", 1}}}));
  const Bytes big = Pattern((11 << 20) + 5, 4);
  Status put = s3->Put("data/cc/big", big);
  ASSERT_TRUE(put.ok()) << put.message();
  EXPECT_EQ(s3->Get("data/cc/big").value(), big);
  EXPECT_EQ(server.Stats()["faults_used"], 4);
  EXPECT_EQ(server.UnfinishedUploads("pgkeep"), 0);
}

// pgkeep's commands with the repository in the bucket.
class S3CommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::MakeTempDir("pgkeep-s3cmd-"));
    std::filesystem::copy_file(PGKEEP_BINARY, *dir_ + "/pgkeep");
    std::ofstream(*dir_ + "/password") << "correct horse battery staple\n";
    chmod((*dir_ + "/password").c_str(), 0600);
    server_ = new S3Server();
    ChownToOsUser(*dir_);
    testing::PgClusterOptions opts;
    opts.extra_conf = {"archive_mode = on", "archive_command = '" + *dir_ + "/pgkeep --config " +
                                                *dir_ + "/physical.toml wal-push --db main %p'"};
    cluster_ = PgCluster::Start(opts).release();
    cluster_->Exec("CREATE DATABASE app");
    cluster_->Exec(
        "CREATE TABLE notes (id int PRIMARY KEY, body text);"
        "INSERT INTO notes SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
        "app");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    delete server_;
    testing::RemoveTree(*dir_);
    delete dir_;
  }

  // A configuration named `name` whose repository is prefix `name`/ of the bucket.
  std::string Configure(const std::string& name, const std::string& database,
                        const std::string& s3_extra = "") {
    const std::string path = *dir_ + "/" + name + ".toml";
    std::ofstream(path) << "[repository]\ntype = \"s3\"\npassword_file = \"" << *dir_
                        << "/password\"\npack_size_mib = 16\n\n[repository.s3]\n"
                        << server_->ConfigLines("pgkeep", name + "/", *dir_, s3_extra) << "\n"
                        << database;
    ChownToOsUser(*dir_);
    return path;
  }
  ProcessResult Pgkeep(const std::string& config, std::vector<std::string> args) {
    args.insert(args.begin(), {*dir_ + "/pgkeep", "--config", config});
    return RunProcess(args, "", {}, OsUser());
  }
  nlohmann::json Json(const std::string& config, std::vector<std::string> args,
                      int expected_exit = 0) {
    args.insert(args.begin(), {"--output", "json"});
    ProcessResult r = Pgkeep(config, args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return nlohmann::json::parse(r.out.empty() ? "{}" : r.out, nullptr, false);
  }
  void Init(const std::string& config) {
    ProcessResult init = Pgkeep(config, {"init"});
    ASSERT_EQ(init.exit_code, 0) << init.out << init.err;
  }
  std::string Logical(const std::string& extra = "") {
    return "[database.app]\nconninfo = \"" + cluster_->ConnInfo("app") +
           "\"\nmethod = \"logical\"\nretention = { last = 1, min_keep = 1 }\n" + extra;
  }

  static std::string* dir_;
  static S3Server* server_;
  static PgCluster* cluster_;
};
std::string* S3CommandTest::dir_ = nullptr;
S3Server* S3CommandTest::server_ = nullptr;
PgCluster* S3CommandTest::cluster_ = nullptr;

TEST_F(S3CommandTest, LogicalBackupRestoreVerifyAndExpire) {
  const std::string config = Configure("logical", Logical());
  ASSERT_NO_FATAL_FAILURE(Init(config));
  auto first = Json(config, {"backup", "--db", "app"});
  cluster_->Exec("INSERT INTO notes VALUES (20001, 'later')", "app");
  auto second = Json(config, {"backup", "--db", "app"});
  EXPECT_EQ(Json(config, {"list"})["snapshots"].size(), 2u);

  auto restore = Json(config, {"restore", "--db", "app", "--into-database", "app_from_s3"});
  EXPECT_EQ(restore["ok"], true);
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM notes", "app_from_s3"), "20001");
  auto verify = Json(config, {"verify", "--read-data"});
  EXPECT_EQ(verify["ok"], true) << verify.dump();

  auto expire = Json(config, {"expire"});
  EXPECT_EQ(Json(config, {"list"})["snapshots"].size(), 1u);
  EXPECT_EQ(Json(config, {"verify", "--read-data"})["ok"], true);
  cluster_->Exec("DROP DATABASE app_from_s3");
}

// Off-site copies: one in a second bucket, one in a directory, each with
// its own retention; restored and drilled from, reported by status.
TEST_F(S3CommandTest, CopiesToABucketAndADirectoryRestoreDrillAndExpireOnTheirOwn) {
  const std::string local = *dir_ + "/local-copy";
  std::ofstream(*dir_ + "/offsite-access") << testing::kS3AccessKey << "\n";
  std::ofstream(*dir_ + "/offsite-secret") << testing::kS3SecretKey << "\n";
  std::ofstream(*dir_ + "/local-password") << "the copy's own password\n";
  for (const char* f : {"/offsite-access", "/offsite-secret", "/local-password"})
    chmod((*dir_ + f).c_str(), 0600);
  const std::string copies =
      "\n[[copy]]\nname = \"offsite\"\ntype = \"s3\"\ns3 = { endpoint = \"" + server_->endpoint() +
      "\", bucket = \"offsite\", prefix = \"acme/\", region = \"us-east-1\", access_key_file = \"" +
      *dir_ + "/offsite-access\", secret_key_file = \"" + *dir_ +
      "/offsite-secret\", storage_class = \"STANDARD_IA\" }\nretention = { last = 1, min_keep = 1 "
      "}\nmax_copy_age = \"8d\"\n\n[[copy]]\nname = \"local\"\ntype = \"posix\"\npath = \"" +
      local + "\"\npassword_file = \"" + *dir_ +
      "/local-password\"\nretention = { last = 3, min_keep = 1 }\n";
  const std::string config =
      Configure("copied", Logical("drill_scratch = \"database\"\n") + copies);
  ASSERT_NO_FATAL_FAILURE(Init(config));
  // Before any copy: the off-site copy is missing, and status says so.
  ASSERT_EQ(Pgkeep(config, {"backup", "--db", "app"}).exit_code, 0);
  auto before = Json(config, {"status"}, 1);
  EXPECT_NE(before.dump().find("copy target \\\"offsite\\\" holds no backup of it"),
            std::string::npos)
      << before.dump();
  for (int i = 0; i < 2; ++i) {
    cluster_->Exec("INSERT INTO notes VALUES (" + std::to_string(30000 + i) + ", 'more')", "app");
    ASSERT_EQ(Pgkeep(config, {"backup", "--db", "app"}).exit_code, 0);
  }

  // The off-site copy keeps one backup (last = 1): only that one is sent.
  auto first = Json(config, {"copy", "--to", "offsite"});
  EXPECT_EQ(first["initialized"], true);
  EXPECT_EQ(first["copied"].size(), 1u) << first.dump();
  EXPECT_EQ(first["skipped_by_retention"].size(), 2u) << first.dump();
  EXPECT_GT(first["packs_copied"].get<int>(), 0);
  auto again = Json(config, {"copy", "--to", "offsite"});
  EXPECT_EQ(again["copied"].size(), 0u);
  EXPECT_EQ(again["present"].size(), 1u);
  EXPECT_EQ(again["bytes_copied"], 0);
  auto latest = Json(config, {"copy", "--to", "local", "--backup", "latest"});
  EXPECT_EQ(latest["copied"].size(), 1u);
  EXPECT_EQ(Json(config, {"copy", "--to", "local"})["copied"].size(), 2u);
  // The local copy has its own password: its one key file is sealed under
  // it, so the main repository's password does not open it.
  std::vector<std::string> key_files;
  for (const auto& e : std::filesystem::directory_iterator(local + "/keys"))
    key_files.push_back(e.path());
  ASSERT_EQ(key_files.size(), 1u);
  const std::string as_main = *dir_ + "/local-as-main.toml";
  std::ofstream(as_main) << "[repository]\npath = \"" << local << "\"\npassword_file = \"" << *dir_
                         << "/password\"\n\n"
                         << Logical();
  ChownToOsUser(*dir_);
  ProcessResult locked = Pgkeep(as_main, {"list"});
  EXPECT_EQ(locked.exit_code, 7) << locked.out << locked.err;
  EXPECT_NE(locked.err.find("wrong password"), std::string::npos) << locked.err;

  auto status = Json(config, {"status"});
  ASSERT_EQ(status["databases"][0]["copies"].size(), 2u) << status.dump();
  EXPECT_EQ(status["databases"][0]["copies"][0]["target"], "offsite");
  EXPECT_EQ(status["databases"][0]["copies"][0]["newest_backup"],
            Json(config, {"list"})["snapshots"][2]["id"]);

  // Restore and drill from each copy; each copy keeps its own retention.
  auto restored = Json(config, {"restore", "--from", "offsite", "--db", "app", "--into-database",
                                "app_from_offsite"});
  EXPECT_EQ(restored["ok"], true);
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM notes", "app_from_offsite"),
            cluster_->Query("SELECT count(*) FROM notes", "app"));
  cluster_->Exec("DROP DATABASE app_from_offsite");
  auto drill = Json(config, {"drill", "--from", "local", "--db", "app"});
  EXPECT_EQ(drill["ok"], true) << drill.dump();
  EXPECT_EQ(Json(config, {"drill", "--from", "local", "--history"})["drills"].size(), 1u);

  Json(config, {"expire", "--from", "offsite"});
  Json(config, {"expire", "--from", "local"});
  EXPECT_EQ(Json(config, {"list", "--from", "offsite"})["snapshots"].size(), 1u);
  EXPECT_EQ(Json(config, {"list", "--from", "local"})["snapshots"].size(), 3u);
  EXPECT_EQ(Json(config, {"list"})["snapshots"].size(), 3u);  // the source is untouched
  // Nor after the copy's expire: what its retention drops is not sent again.
  auto after_expire = Json(config, {"copy", "--to", "offsite"});
  EXPECT_EQ(after_expire["copied"].size(), 0u) << after_expire.dump();
  EXPECT_EQ(after_expire["skipped_by_retention"].size(), 2u) << after_expire.dump();
  EXPECT_EQ(after_expire["bytes_copied"], 0) << after_expire.dump();
  EXPECT_EQ(Json(config, {"verify", "--from", "offsite", "--read-data"})["ok"], true);
  EXPECT_EQ(Json(config, {"verify", "--from", "local", "--read-data"})["ok"], true);
  // A copy whose password changed since is refused before anything is sent.
  std::ofstream(*dir_ + "/local-password") << "another password\n";
  ProcessResult changed = Pgkeep(config, {"copy", "--to", "local"});
  EXPECT_EQ(changed.exit_code, 7) << changed.out << changed.err;
  EXPECT_NE(changed.err.find("wrong password"), std::string::npos) << changed.err;

  // A target holding another repository is refused, and nothing is written to it.
  const std::string other = Configure("other", Logical());
  ASSERT_NO_FATAL_FAILURE(Init(other));
  std::ofstream(config, std::ios::app)
      << "\n[[copy]]\nname = \"wrong\"\ntype = \"s3\"\ns3 = { endpoint = \"" << server_->endpoint()
      << "\", bucket = \"pgkeep\", prefix = \"other/\", region = \"us-east-1\", access_key_file = "
         "\""
      << *dir_ << "/offsite-access\", secret_key_file = \"" << *dir_ << "/offsite-secret\" }\n";
  ProcessResult wrong = Pgkeep(config, {"copy", "--to", "wrong"});
  EXPECT_EQ(wrong.exit_code, 15) << wrong.out << wrong.err;
  EXPECT_NE(wrong.err.find("holds another repository"), std::string::npos) << wrong.err;
  EXPECT_EQ(Json(other, {"list"})["snapshots"].size(), 0u);
}

TEST_F(S3CommandTest, ArchivedPacksAndWrongCredentialsFailClearly) {
  const std::string config = Configure("cold", Logical());
  ASSERT_NO_FATAL_FAILURE(Init(config));
  ASSERT_EQ(Pgkeep(config, {"backup", "--db", "app"}).exit_code, 0);

  // A lifecycle rule moved a pack to Glacier: refused, and the hint says what works.
  // (s3rver keeps object K of bucket B in file <dir>/data/B/K._S3rver_object.)
  const std::string root = server_->dir() + "/data/pgkeep/";
  const std::string suffix = "._S3rver_object";
  std::string key;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root + "cold/data")) {
    const std::string path = entry.path().string();
    if (path.size() > suffix.size() && path.substr(path.size() - suffix.size()) == suffix)
      key = path.substr(root.size(), path.size() - root.size() - suffix.size());
  }
  ASSERT_FALSE(key.empty());
  server_->Archive("pgkeep", key);
  ProcessResult verify = Pgkeep(config, {"verify"});
  EXPECT_EQ(verify.exit_code, 6) << verify.out << verify.err;
  EXPECT_NE(verify.err.find("storage class GLACIER"), std::string::npos) << verify.err;
  EXPECT_NE(verify.err.find("HINT:"), std::string::npos) << verify.err;

  // A persistent 403: exit 7, naming where the key came from, never the secret.
  server_->SetFaults(nlohmann::json::array(
      {{{"action", "status"}, {"status", 403}, {"code", "AccessDenied"}, {"count", 1000}}}));
  ProcessResult denied = Pgkeep(config, {"list"});
  server_->SetFaults(nlohmann::json::array());
  EXPECT_EQ(denied.exit_code, 7) << denied.out << denied.err;
  EXPECT_NE(denied.err.find("refused for the access key from file"), std::string::npos)
      << denied.err;
  EXPECT_EQ(denied.err.find(testing::kS3SecretKey), std::string::npos);
}

TEST_F(S3CommandTest, KillDashNineDuringAMultipartUploadLeavesNothingAfterExpire) {
  const std::string config = Configure("killed", Logical(), "part_size_mib = 5\n");
  ASSERT_NO_FATAL_FAILURE(Init(config));
  cluster_->Exec(
      "CREATE TABLE IF NOT EXISTS noise (id int, r text);"
      "TRUNCATE noise;"
      "INSERT INTO noise SELECT g, md5(random()::text) || md5(random()::text) "
      "FROM generate_series(1, 400000) g",
      "app");
  // The second part of the first pack is held long enough to kill the writer.
  server_->ResetStats();
  server_->SetFaults(nlohmann::json::array(
      {{{"method", "PUT"}, {"match", "partNumber=2"}, {"action", "delay"}, {"ms", 20000}}}));
  // Started by the test itself, so that after SIGKILL it is reaped at once
  // and its lock is seen as a dead writer's.
  testing::ChildProcess backup = testing::ChildProcess::Spawn(
      {*dir_ + "/pgkeep", "--config", config, "backup", "--db", "app"}, {}, "", "/dev/null");
  bool held = false;
  for (int i = 0; i < 600 && !held; ++i) {
    held = server_->Stats()["faults_used"].get<int>() >= 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(held) << "the backup never reached a second part";
  backup.Kill(SIGKILL);
  backup.Wait();
  server_->SetFaults(nlohmann::json::array());
  EXPECT_GE(server_->UnfinishedUploads("pgkeep"), 1);

  EXPECT_EQ(Json(config, {"list"})["snapshots"].size(), 0u);
  EXPECT_EQ(Json(config, {"verify"})["ok"], true);
  Json(config, {"expire"});
  EXPECT_EQ(server_->UnfinishedUploads("pgkeep"), 0);
  cluster_->Exec("DROP TABLE noise", "app");
}

TEST_F(S3CommandTest, PhysicalBackupWalArchiveAndPointInTimeRestore) {
  const std::string config = Configure(
      "physical", "[database.main]\nconninfo = \"" + cluster_->ConnInfo() +
                      "\"\nmethod = \"physical\"\npgdata = \"" + cluster_->datadir() + "\"\n");
  ASSERT_NO_FATAL_FAILURE(Init(config));
  // Archiving failed until the configuration existed; those failures are history.
  cluster_->Query("SELECT pg_stat_reset_shared('archiver')::text");
  ProcessResult check = Pgkeep(config, {"check", "--db", "main"});
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  cluster_->Exec("CREATE TABLE pitr (id int PRIMARY KEY)");
  cluster_->Exec("INSERT INTO pitr SELECT generate_series(1, 1000)");
  auto backup = Json(config, {"backup", "--db", "main", "--type", "full"});
  ASSERT_EQ(backup["backup"]["kind"], "full");
  cluster_->Exec("INSERT INTO pitr SELECT generate_series(1001, 1100)");
  const std::string t1 = cluster_->Query("SELECT clock_timestamp()::text");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  cluster_->Exec("INSERT INTO pitr SELECT generate_series(1101, 1150)");
  ASSERT_EQ(Pgkeep(config, {"check", "--db", "main"}).exit_code, 0);  // all of it archived

  const std::string restored = *dir_ + "/restored";
  const int port = testing::PickFreePort();
  ProcessResult restore =
      Pgkeep(config, {"restore", "--db", "main", "--pgdata", restored, "--start", "--port",
                      std::to_string(port), "--no-archive", "--target-time", t1});
  ASSERT_EQ(restore.exit_code, 0) << restore.out << restore.err;
  EXPECT_EQ(QueryAt(port, "SELECT count(*) FROM pitr"), "1100");
  RunProcess({"/usr/lib/postgresql/15/bin/pg_ctl", "-D", restored, "-m", "immediate", "stop"}, "",
             {}, OsUser());
  EXPECT_EQ(Json(config, {"verify", "--read-data"})["ok"], true);

  // A drill of the backup in the bucket passes.
  const std::string scratch = *dir_ + "/scratch";
  std::filesystem::create_directories(scratch);
  ChownToOsUser(scratch);
  auto drill = Json(config, {"drill", "--db", "main", "--scratch-dir", scratch});
  EXPECT_EQ(drill["ok"], true) << drill.dump();

  // Copied to a directory, with its WAL: point-in-time recovery from the copy,
  // whose restore_command reads the copy.
  std::ofstream(config, std::ios::app)
      << "\n[[copy]]\nname = \"dr\"\ntype = \"posix\"\npath = \"" << *dir_ << "/dr-copy\"\n";
  ChownToOsUser(config);
  auto copied = Json(config, {"copy", "--to", "dr"});
  EXPECT_EQ(copied["copied"].size(), 1u);
  EXPECT_GT(copied["wal_copied"].get<int>(), 0);
  const std::string from_copy = *dir_ + "/restored-from-copy";
  const int port2 = testing::PickFreePort();
  ProcessResult again =
      Pgkeep(config, {"restore", "--from", "dr", "--db", "main", "--pgdata", from_copy, "--start",
                      "--port", std::to_string(port2), "--no-archive", "--target-time", t1});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(ReadAll(from_copy + "/postgresql.auto.conf").find("--from dr"), std::string::npos);
  EXPECT_EQ(QueryAt(port2, "SELECT count(*) FROM pitr"), "1100");
  RunProcess({"/usr/lib/postgresql/15/bin/pg_ctl", "-D", from_copy, "-m", "immediate", "stop"}, "",
             {}, OsUser());
}

}  // namespace
}  // namespace pgkeep
