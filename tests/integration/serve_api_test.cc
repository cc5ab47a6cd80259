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
