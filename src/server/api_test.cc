// The API's routes without a socket: keys and roles, JSON errors for every
// bad request, jobs queued through the submit hook, reads of the view.
#include "server/api.h"

#include <gtest/gtest.h>

#include "support/process.h"

namespace pgkeep {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-api-");
    auto store = StateStore::Open(dir_ + "/state.db");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    state_ = std::move(*store);
    auto parsed = ParseConfig(R"(
[repository]
path = "/tmp/unused"
encryption = "none"
[database.main]
conninfo = "host=127.0.0.1 dbname=app"
method = "physical"
[database.data]
conninfo = "host=127.0.0.1 dbname=data"
method = "logical"
)",
                              "test.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    settings_ = std::make_shared<const ApiSettings>(
        ApiSettings{*parsed, ApiAuth({{"view", ApiRole::kViewer, "viewer-secret"},
                                      {"ops", ApiRole::kOperator, "operator-secret"}})});
    ApiDeps deps;
    deps.settings = [this] { return settings_; };
    deps.view = &view_;
    deps.state = state_.get();
    deps.submit = [this](const ManualJob& job) -> Result<int64_t> {
      submitted_.push_back(job);
      return static_cast<int64_t>(41 + submitted_.size());
    };
    deps.metrics = [] { return std::string("pgkeep_up 1\n"); };
    router_ = std::make_unique<ApiRouter>(deps);
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  ApiResponse Call(const std::string& method, const std::string& path, const std::string& key = "",
                   const std::string& body = "", std::map<std::string, std::string> query = {}) {
    ApiRequest r;
    r.method = method;
    r.path = path;
    r.query = std::move(query);
    r.authorization = key.empty() ? "" : "Bearer " + key;
    r.body = body;
    return router_->Handle(r);
  }
  static nlohmann::json Body(const ApiResponse& r) { return nlohmann::json::parse(r.body); }

  std::string dir_;
  std::unique_ptr<StateStore> state_;
  std::shared_ptr<const ApiSettings> settings_;
  DaemonView view_{1000};
  std::vector<ManualJob> submitted_;
  std::unique_ptr<ApiRouter> router_;
};

TEST_F(ApiTest, HealthNeedsNoKeyAndSaysNothingPrivate) {
  ApiResponse r = Call("GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Body(r)["ok"], true);
  EXPECT_EQ(r.body.find("main"), std::string::npos);
}

TEST_F(ApiTest, MissingWrongAndMalformedKeysGetOne401) {
  for (const std::string& key : {std::string(), std::string("nope"), std::string("viewer-secre"),
                                 std::string("viewer-secret ")}) {
    ApiResponse r = Call("GET", "/api/jobs", key);
    EXPECT_EQ(r.status, 401) << key;
    EXPECT_EQ(Body(r)["error"], "missing or invalid API key");
    EXPECT_EQ(r.body.find("viewer-secret"), std::string::npos);
  }
  ApiRequest basic;
  basic.method = "GET";
  basic.path = "/metrics";
  basic.authorization = "Basic dmlld2VyLXNlY3JldA==";
  EXPECT_EQ(router_->Handle(basic).status, 401);
}

TEST_F(ApiTest, RolesDecideWhoMayStartJobs) {
  ApiResponse viewer = Call("POST", "/api/backups", "viewer-secret", R"({"db":"main"})");
  EXPECT_EQ(viewer.status, 403);
  EXPECT_NE(Body(viewer)["error"].get<std::string>().find("viewer"), std::string::npos);
  EXPECT_TRUE(submitted_.empty());

  ApiResponse ops =
      Call("POST", "/api/backups", "operator-secret", R"({"db":"main","type":"incr"})");
  EXPECT_EQ(ops.status, 202);
  EXPECT_EQ(Body(ops)["job_id"], 42);
  ASSERT_EQ(submitted_.size(), 1u);
  EXPECT_EQ(submitted_[0].kind, "incr");
  EXPECT_EQ(submitted_[0].database, "main");
  EXPECT_EQ(submitted_[0].caller, "ops");

  EXPECT_EQ(Call("POST", "/api/backups", "operator-secret", R"({"db":"data"})").status, 202);
  EXPECT_EQ(submitted_.back().kind, "logical");
  EXPECT_EQ(Call("POST", "/api/drills", "operator-secret", R"({"db":"data"})").status, 202);
  EXPECT_EQ(submitted_.back().kind, "drill");
  EXPECT_EQ(Call("GET", "/metrics", "viewer-secret").status, 200);
}

TEST_F(ApiTest, BadBodiesAndRoutesGetClear4xx) {
  struct Case {
    std::string method, path, body;
    int status;
    std::string says;
  } cases[] = {
      {"POST", "/api/backups", "{not json", 400, "not a JSON object"},
      {"POST", "/api/backups", "[1,2]", 400, "not a JSON object"},
      {"POST", "/api/backups", "{}", 400, "no \"db\""},
      {"POST", "/api/backups", R"({"db":5})", 400, "must be a string"},
      {"POST", "/api/backups", R"({"db":"main","when":"now"})", 400, "unknown field \"when\""},
      {"POST", "/api/backups", R"({"db":"nope"})", 404, "unknown database \"nope\""},
      {"POST", "/api/backups", R"({"db":"main","type":"logical"})", 400, "does not fit"},
      {"POST", "/api/backups", R"({"db":"data","type":"full"})", 400, "does not fit"},
      {"POST", "/api/drills", R"({"db":"main","type":"full"})", 400, "unknown field \"type\""},
      {"GET", "/api/nothing", "", 404, "no such route"},
      {"GET", "/api/jobs/abc", "", 404, "no such job"},
      {"GET", "/api/jobs/999", "", 404, "no such job: 999"},
      {"DELETE", "/api/backups", "", 405, "not allowed"},
      {"POST", "/api/status", "{}", 405, "not allowed"},
  };
  for (const Case& c : cases) {
    ApiResponse r = Call(c.method, c.path, "operator-secret", c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body;
    EXPECT_NE(Body(r)["error"].get<std::string>().find(c.says), std::string::npos) << r.body;
  }
  EXPECT_TRUE(submitted_.empty());
  ApiResponse limit = Call("GET", "/api/jobs", "viewer-secret", "", {{"limit", "0"}});
  EXPECT_EQ(limit.status, 400);
  EXPECT_EQ(Call("GET", "/api/jobs", "viewer-secret", "", {{"limit", "10x"}}).status, 400);
  EXPECT_EQ(Call("GET", "/api/backups", "viewer-secret", "", {{"db", "nope"}}).status, 404);
}

TEST_F(ApiTest, StatusWaitsForTheFirstRefreshThenServesTheView) {
  EXPECT_EQ(Call("GET", "/api/status", "viewer-secret").status, 503);
  view_.Update([](DaemonSnapshot& s) {
    s.refreshed = 2000;
    s.status = {{"ok", true}, {"healthy", true}, {"databases", nlohmann::json::array()}};
    s.backups = nlohmann::json::array({{{"id", "B1"}, {"meta", {{"database", "main"}}}},
                                       {{"id", "B2"}, {"meta", {{"database", "data"}}}}});
  });
  ApiResponse status = Call("GET", "/api/status", "viewer-secret");
  EXPECT_EQ(status.status, 200);
  EXPECT_EQ(Body(status)["healthy"], true);
  ApiResponse all = Call("GET", "/api/backups", "viewer-secret");
  EXPECT_EQ(Body(all)["backups"].size(), 2u);
  ApiResponse one = Call("GET", "/api/backups", "viewer-secret", "", {{"db", "data"}});
  ASSERT_EQ(Body(one)["backups"].size(), 1u);
  EXPECT_EQ(Body(one)["backups"][0]["id"], "B2");
}

TEST_F(ApiTest, JobsComeFromTheStateDatabase) {
  JobRun run;
  run.job = "backup/main/full";
  run.kind = "full";
  run.database = "main";
  run.trigger = "schedule";
  run.started = 1500;
  auto id = state_->RunStarted(run);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(state_->RunFinished(*id, 1560, "ok", 0, "", {{"backup", "B1"}}).ok());
  ApiResponse list = Call("GET", "/api/jobs", "viewer-secret");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(Body(list)["jobs"].size(), 1u);
  EXPECT_EQ(Body(list)["jobs"][0]["result"], "ok");
  EXPECT_EQ(Body(list)["jobs"][0]["seconds"], 60);
  ApiResponse one = Call("GET", "/api/jobs/" + std::to_string(*id), "viewer-secret");
  EXPECT_EQ(Body(one)["job"]["output"]["backup"], "B1");
}

TEST_F(ApiTest, WithoutKeysTheApiIsClosed) {
  settings_ = std::make_shared<const ApiSettings>(ApiSettings{settings_->config, ApiAuth({})});
  ApiResponse r = Call("GET", "/api/status", "anything");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(Body(r)["hint"].get<std::string>().find("api_keys"), std::string::npos);
  EXPECT_EQ(Call("GET", "/health").status, 200);
}

TEST_F(ApiTest, TheInternalRetentionRunTakesOnlyTheInternalKeyAndAnswersTheSeedShape) {
  auto call = [&](const std::string& internal_key, const std::string& bearer = "") {
    ApiRequest r;
    r.method = "POST";
    r.path = "/internal/retention/run";
    r.internal_key = internal_key;
    r.authorization = bearer.empty() ? "" : "Bearer " + bearer;
    return router_->Handle(r);
  };
  // Without an internal key configured, the endpoint is off.
  EXPECT_EQ(call("anything").status, 404);

  ApiAuth auth({{"ops", ApiRole::kOperator, "operator-secret"}});
  auth.set_internal_key("internal-secret");
  settings_ = std::make_shared<const ApiSettings>(ApiSettings{settings_->config, auth});
  int runs = 0;
  ApiDeps deps;
  deps.settings = [this] { return settings_; };
  deps.view = &view_;
  deps.state = state_.get();
  deps.now = [] { return int64_t{1796601600}; };  // 2026-12-07T00:00:00Z
  deps.run_retention = [&]() -> Result<nlohmann::json> {
    ++runs;
    return nlohmann::json{{"ok", true},
                          {"tenants_processed", 2},
                          {"redacted", 393},
                          {"deleted", 310},
                          {"policies", {{{"duration_ms", 412}}, {{"duration_ms", 8}}}}};
  };
  router_ = std::make_unique<ApiRouter>(deps);

  // 401 without the key, with a wrong one, and with an API key instead.
  for (const auto& [internal, bearer] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"internal-secre", ""}, {"internal-secret ", ""}, {"", "operator-secret"}}) {
    ApiResponse r = call(internal, bearer);
    EXPECT_EQ(r.status, 401) << internal << bearer;
    EXPECT_EQ(r.body.find("internal-secret"), std::string::npos);
  }
  EXPECT_EQ(runs, 0);
  ApiResponse ok = call("internal-secret");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(ok.body,
            "{\"ok\":true,\"orgsProcessed\":2,\"messagesDeleted\":310,\"messagesRedacted\":393,"
            "\"duration_ms\":420,\"timestamp\":\"2026-12-07T00:00:00Z\"}");
  // A run already going is a 409.
  deps.run_retention = []() -> Result<nlohmann::json> {
    return Status::Error(ErrorCode::kLocked, "retention policy \"messages\" is already running");
  };
  router_ = std::make_unique<ApiRouter>(deps);
  EXPECT_EQ(call("internal-secret").status, 409);
}

}  // namespace
}  // namespace pgkeep
