// The daemon's HTTP API from outside, as a client or an attacker uses it:
// keys and roles, bad bodies and routes, a 100 MB body, a backup started by
// hand and followed to its end, and SIGHUP reloads (a bad configuration
// refused and the old one kept serving).
#include "serve_fixture.h"

namespace pgkeep {
namespace {

TEST_F(ServeTest, TheApiStartsABackupByHandAndRefusesWhatItShould) {
  // A schedule that does not fire during the test: only the API starts jobs.
  Prepare("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g", "0 0 1 1 *");
  auto serve = Serve();
  ASSERT_TRUE(WaitFor(30, [&] { return Get("/health", "").first == 200; })) << "no /health";
  auto c = Client();

  // Keys: none, wrong, too low.
  EXPECT_EQ(Get("/api/jobs", "").first, 401);
  auto wrong = Get("/api/jobs", "viewer-key-012345678");
  EXPECT_EQ(wrong.first, 401);
  EXPECT_EQ(wrong.second["error"], "missing or invalid API key");
  auto viewer_post =
      c.Post("/api/backups", Bearer(kViewerKey), R"({"db":"app"})", "application/json");
  ASSERT_TRUE(viewer_post);
  EXPECT_EQ(viewer_post->status, 403);

  // Bad requests get a clear 4xx in JSON.
  auto malformed = c.Post("/api/backups", Bearer(kOperatorKey), "{\"db\": ", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_NE(malformed->body.find("not a JSON object"), std::string::npos);
  auto unknown_db =
      c.Post("/api/backups", Bearer(kOperatorKey), R"({"db":"nope"})", "application/json");
  ASSERT_TRUE(unknown_db);
  EXPECT_EQ(unknown_db->status, 404);
  EXPECT_EQ(Get("/api/unknown").first, 404);
  EXPECT_EQ(Get("/../../etc/passwd").first, 404);
  {
    const std::string huge(100u << 20, 'x');
    auto big = Client().Post("/api/backups", Bearer(kOperatorKey), huge, "application/json");
    ASSERT_TRUE(big) << "no answer to a 100 MB body";
    EXPECT_EQ(big->status, 413);
    EXPECT_NE(big->body.find("larger than 64 KiB"), std::string::npos) << big->body;
  }
  EXPECT_EQ(Get("/health", "").first, 200) << "the daemon stopped serving";
  EXPECT_TRUE(Get("/api/jobs").second["jobs"].empty()) << "a refused request started a job";

  // A backup by hand: queued, run, finished, listed.
  auto started =
      c.Post("/api/backups", Bearer(kOperatorKey), R"({"db":"app"})", "application/json");
  ASSERT_TRUE(started);
  ASSERT_EQ(started->status, 202) << started->body;
  const int64_t job_id = nlohmann::json::parse(started->body)["job_id"];
  nlohmann::json job;
  ASSERT_TRUE(WaitFor(60, [&] {
    job = Get("/api/jobs/" + std::to_string(job_id)).second["job"];
    return job.is_object() && job["result"] != "queued" && job["result"] != "running";
  })) << job.dump();
  EXPECT_EQ(job["result"], "ok") << job.dump();
  EXPECT_EQ(job["trigger"], "api");
  EXPECT_EQ(job["kind"], "logical");
  const std::string backup_id = job["output"]["backup"]["id"];
  ASSERT_TRUE(WaitFor(30, [&] {
    auto b = Get("/api/backups").second;
    return b.is_object() && !b["backups"].empty() && b["backups"].back()["id"] == backup_id;
  })) << "the backup never appeared in /api/backups";

  // SIGHUP with a broken configuration: refused, the old one keeps serving.
  std::ofstream(config_, std::ios::app) << "\n[server.nonsense]\n";
  serve.Kill(SIGHUP);
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Get("/api/jobs").first, 200);
  // SIGHUP with a good one that drops the viewer key: the key stops working.
  WriteConfig("0 0 1 1 *", "", "", "");
  {
    std::string text;
    std::ifstream in(config_);
    text.assign(std::istreambuf_iterator<char>(in), {});
    const std::string viewer =
        "{ name = \"view\", role = \"viewer\", key_env = \"TEST_VIEWER_KEY\" }, ";
    text.erase(text.find(viewer), viewer.size());
    std::ofstream(config_) << text;
  }
  serve.Kill(SIGHUP);
  EXPECT_TRUE(WaitFor(10, [&] { return Get("/api/jobs").first == 401; }))
      << "the reload did not take effect";
  EXPECT_EQ(Get("/api/jobs", kOperatorKey).first, 200);

  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
}

}  // namespace
}  // namespace pgkeep

namespace pgkeep {
namespace {

// With tls_cert and tls_key the API answers HTTPS only, and a certificate
// that cannot be used stops the daemon at start with a clear error.
TEST_F(ServeTest, TheApiServesHttpsWithAConfiguredCertificate) {
  Prepare("CREATE TABLE t (id int)", "0 0 1 1 *");
  const std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
  ProcessResult made =
      RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"});
  ASSERT_EQ(made.exit_code, 0) << made.err;

  WriteConfig("0 0 1 1 *", "",
              "tls_cert = \"" + dir_ + "/missing.pem\"\ntls_key = \"" + key + "\"\n");
  ProcessResult refused = RunProcess({PGKEEP_BINARY, "--config", config_, "serve"}, "", env_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("cannot use the TLS certificate"), std::string::npos) << refused.err;

  WriteConfig("0 0 1 1 *", "", "tls_cert = \"" + cert + "\"\ntls_key = \"" + key + "\"\n");
  auto serve = Serve();
  httplib::SSLClient tls("127.0.0.1", port_);
  tls.enable_server_certificate_verification(false);
  tls.set_connection_timeout(5, 0);
  std::optional<int> status;
  ASSERT_TRUE(WaitFor(30, [&] {
    auto r = tls.Get("/api/whoami", Bearer(kViewerKey));
    if (r) status = r->status;
    return r.operator bool();
  })) << "no HTTPS answer";
  EXPECT_EQ(status, 200);
  auto plain = Client().Get("/health");  // plain HTTP on the TLS port gets nothing useful
  EXPECT_TRUE(!plain || plain->status != 200);
  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
}

TEST_F(ServeTest, TheInternalRetentionEndpointRunsThePoliciesForTheSeedTeamsCallers) {
  env_.push_back("TEST_INTERNAL_KEY=internal-key-0123456789");
  Prepare(
      "CREATE TABLE \"Organization\" (id text PRIMARY KEY, \"messageRetentionDays\" int NOT "
      "NULL);"
      "INSERT INTO \"Organization\" VALUES ('a', 30), ('b', 0);"
      "CREATE TABLE \"Message\" (id serial PRIMARY KEY, \"orgId\" text REFERENCES "
      "\"Organization\", content text, \"timestamp\" timestamptz);"
      "INSERT INTO \"Message\" (\"orgId\", content, \"timestamp\") SELECT o, 'hello', now() - g "
      "* interval '1 day' FROM unnest(ARRAY['a', 'b']) o, generate_series(1, 100) g",
      "0 0 1 1 *", "", "internal_key_env = \"TEST_INTERNAL_KEY\"\n",
      "[[retention_policy]]\nname = \"messages\"\ndatabase = \"app\"\ntable = \"Message\"\n"
      "timestamp_column = \"timestamp\"\ntenant = { table = \"Organization\", key = \"id\", "
      "foreign_key = \"orgId\", days_column = \"messageRetentionDays\" }\nmode = \"delete\"\n");
  auto serve = Serve();
  ASSERT_TRUE(WaitFor(30, [&] { return Get("/health", "").first == 200; })) << "no /health";
  auto c = Client();
  // Without the key, with a wrong one, with an API key: 401, nothing run.
  for (const httplib::Headers& headers :
       {httplib::Headers{}, httplib::Headers{{"x-internal-key", "internal-key-012345678"}},
        Bearer(kOperatorKey)}) {
    auto refused = c.Post("/internal/retention/run", headers, "", "application/json");
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 401) << refused->body;
  }
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM \"Message\"", "app"), "200");

  auto ran = c.Post("/internal/retention/run", {{"x-internal-key", "internal-key-0123456789"}}, "",
                    "application/json");
  ASSERT_TRUE(ran);
  ASSERT_EQ(ran->status, 200) << ran->body;
  auto body = nlohmann::ordered_json::parse(ran->body);
  std::vector<std::string> keys;
  for (const auto& [key, value] : body.items()) keys.push_back(key);
  EXPECT_EQ(keys, (std::vector<std::string>{"ok", "orgsProcessed", "messagesDeleted",
                                            "messagesRedacted", "duration_ms", "timestamp"}));
  EXPECT_EQ(body["ok"], true);
  EXPECT_EQ(body["orgsProcessed"], 1);
  EXPECT_EQ(body["messagesDeleted"], 71);  // 30..100 days old
  EXPECT_EQ(body["messagesRedacted"], 0);
  EXPECT_EQ(body["timestamp"].get<std::string>().size(), 20u) << body.dump();
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM \"Message\"", "app"), "129");
  // Recorded like any job.
  auto jobs = Get("/api/jobs").second["jobs"];
  ASSERT_EQ(jobs.size(), 1u) << jobs.dump();
  EXPECT_EQ(jobs[0]["job"], "internal/retention");
  EXPECT_EQ(jobs[0]["result"], "ok");
  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
}

}  // namespace
}  // namespace pgkeep
