// The metrics a scrape sees, from a view and job counts: names, labels,
// values, escaping; promtool checks the format in the integration test.
#include "server/metrics.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsTest, BackupsWalHealthJobsAndDrillsAreExported) {
  DaemonSnapshot s;
  s.started = 1000;
  s.refreshed = 2000;
  s.status = nlohmann::json::parse(R"({
    "ok": true, "healthy": false,
    "databases": [{"name": "main", "healthy": false, "backups": 3, "max_backup_age_seconds": 129600,
                   "wal": {"last_archived_age_seconds": 42, "gaps": [],
                           "pitr_window": {"earliest": "2026-12-01T00:00:00Z", "latest": "2026-12-06T10:00:00Z"}},
                   "last_drill": {"id": "D1", "passed": true, "finished": "2026-12-05T04:00:00Z",
                                  "rto_seconds": 12.5, "rpo_seconds": 30}}],
    "repository": {"stored_bytes": 5000, "snapshots": 3, "free_bytes": 99999}})");
  s.backups = nlohmann::json::parse(R"([
    {"id": "A", "kind": "full", "start_unix": 100, "stop_unix": 160, "meta": {"database": "main"},
     "stats": {"bytes": 10, "stored_bytes": 5}},
    {"id": "B", "kind": "full", "start_unix": 200, "stop_unix": 290, "meta": {"database": "main"},
     "stats": {"bytes": 20, "stored_bytes": 7}},
    {"id": "C", "kind": "incr", "start_unix": 300, "stop_unix": 310, "meta": {"database": "main"},
     "stats": {"bytes": 30, "stored_bytes": 1}}])");
  DatabaseHealth h;
  h.database = "main";
  h.status = "healthy";
  h.latency_ms = 2.5;
  h.connections = 7;
  h.max_connections = 100;
  s.health["main"] = h;
  DatabaseHealth down;
  down.status = "error";
  s.health["other\"db"] = down;
  RunCounts runs = {{{"full", "ok"}, 4},
                    {{"full", "failed"}, 1},
                    {{"expire", "ok"}, 2},
                    {{"incr", "running"}, 1}};
  const std::string text = "\n" + RenderMetrics(s, runs);

  EXPECT_TRUE(Has(text, "# TYPE pgkeep_backup_last_success_timestamp_seconds gauge"));
  EXPECT_TRUE(Has(
      text, "pgkeep_backup_last_success_timestamp_seconds{database=\"main\",kind=\"full\"} 290"));
  EXPECT_TRUE(Has(text, "pgkeep_backup_last_duration_seconds{database=\"main\",kind=\"full\"} 90"));
  EXPECT_TRUE(Has(text, "pgkeep_backup_last_size_bytes{database=\"main\",kind=\"incr\"} 30"));
  EXPECT_TRUE(Has(text, "pgkeep_wal_archive_lag_seconds{database=\"main\"} 42"));
  EXPECT_TRUE(
      Has(text, "pgkeep_pitr_window_start_timestamp_seconds{database=\"main\"} 1796083200"));
  EXPECT_TRUE(Has(text, "pgkeep_database_up{database=\"main\"} 1"));
  EXPECT_TRUE(Has(text, "pgkeep_database_up{database=\"other\\\"db\"} 0"));
  EXPECT_TRUE(Has(text, "pgkeep_database_latency_seconds{database=\"main\"} 0.0025"));
  EXPECT_TRUE(Has(text, "pgkeep_repository_free_bytes 99999"));
  EXPECT_TRUE(Has(text, "# TYPE pgkeep_job_runs_total counter"));
  EXPECT_TRUE(Has(text, "pgkeep_job_runs_total{kind=\"full\",result=\"ok\"} 4"));
  EXPECT_TRUE(Has(text, "pgkeep_job_failures_total{kind=\"full\"} 1"));
  EXPECT_TRUE(Has(text, "pgkeep_job_failures_total{kind=\"expire\"} 0"));
  EXPECT_TRUE(Has(text, "pgkeep_jobs_running 1"));
  EXPECT_TRUE(Has(text, "pgkeep_drill_last_rto_seconds{database=\"main\"} 12.5"));
  EXPECT_TRUE(Has(text, "pgkeep_healthy 0"));
  EXPECT_EQ(text.find("running\"}"), std::string::npos);  // running runs are not finished runs
}

TEST(MetricsTest, BeforeTheFirstRefreshOnlyTheDaemonIsDescribed) {
  DaemonSnapshot s;
  s.started = 1000;
  const std::string text = "\n" + RenderMetrics(s, {});
  EXPECT_TRUE(Has(text, "pgkeep_daemon_start_time_seconds 1000"));
  EXPECT_TRUE(Has(text, "pgkeep_status_refresh_timestamp_seconds 0"));
  EXPECT_EQ(text.find("pgkeep_healthy "), std::string::npos);
}

TEST(MetricsTest, IsoTimesParse) {
  EXPECT_EQ(ParseIsoSeconds("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseIsoSeconds("2026-12-01T00:00:00Z"), 1796083200);
  EXPECT_EQ(ParseIsoSeconds("2026-02-30T00:00:00Z"), -1);
  EXPECT_EQ(ParseIsoSeconds("2026-12-01 00:00:00"), -1);
  EXPECT_EQ(ParseIsoSeconds(""), -1);
}

}  // namespace
}  // namespace pgkeep
