// The dashboard in Debian's chromium against a running daemon with real
// data: web/tests/dashboard.test.mjs (playwright-core) logs in, checks what
// the page shows, presses "Run backup now", sees the job finish, and saves
// screenshots (desktop and phone) under <build>/screenshots. The data
// retention panel shows the policy: its period, mode and how long its
// erased rows live in backups.
#include <filesystem>

#include "serve_fixture.h"

namespace pgkeep {
namespace {

TEST_F(ServeTest, TheDashboardShowsTheDataAndRunsABackupInARealBrowser) {
  Prepare(
      "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 5000) g; CREATE TABLE msgs (id "
      "int PRIMARY KEY, body text, at timestamptz NOT NULL)",
      "0 0 1 1 *", "rto = \"1h\"\nrpo = \"1d\"\nretention = { daily = 7, min_keep = 2 }\n", "",
      "[[retention_policy]]\nname = \"msgs\"\ndatabase = \"app\"\ntable = \"msgs\"\n"
      "timestamp_column = \"at\"\ndays = 30\nmode = \"delete\"\nschedule = \"\"\n");
  ProcessResult backup = RunProcess(
      {PGKEEP_BINARY, "--config", config_, "--output", "json", "backup", "--db", "app"}, "", env_);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  const std::string backup_id = nlohmann::json::parse(backup.out)["backup"]["id"];

  auto serve = Serve();
  ASSERT_TRUE(WaitFor(60, [&] {
    auto b = Get("/api/backups");
    return b.first == 200 && !b.second["backups"].empty();
  })) << "the daemon never listed the backup";

  // Served without a key, from the binary, with a strict content policy.
  auto page = Client().Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<title>pgkeep</title>"), std::string::npos);
  EXPECT_NE(page->get_header_value("Content-Security-Policy").find("default-src 'self'"),
            std::string::npos);
  auto chart_library = Client().Get("/vendor/uPlot.iife.min.js");
  ASSERT_TRUE(chart_library);
  EXPECT_EQ(chart_library->status, 200);
  EXPECT_GT(chart_library->body.size(), 10000u);

  const std::string shots = std::string(PGKEEP_BUILD_DIR) + "/screenshots";
  std::filesystem::create_directories(shots);
  ProcessResult browser = RunProcess(
      {"node", std::string(PGKEEP_SOURCE_DIR) + "/web/tests/dashboard.test.mjs",
       "http://127.0.0.1:" + std::to_string(port_) + "/", kOperatorKey, "app", backup_id, shots});
  EXPECT_EQ(browser.exit_code, 0) << browser.out << browser.err;
  EXPECT_TRUE(std::filesystem::exists(shots + "/dashboard-desktop.png"));
  EXPECT_TRUE(std::filesystem::exists(shots + "/dashboard-phone.png"));

  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
}

}  // namespace
}  // namespace pgkeep
