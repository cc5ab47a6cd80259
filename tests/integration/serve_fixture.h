// The fixture of the `pgkeep serve` tests: a PostgreSQL 15 cluster with
// database "app", a repository, a configuration with the API on a free
// loopback port and two keys (viewer, operator), and the daemon started as
// a child process.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "state/state_store.h"
#include "support/pg_cluster.h"
#include "support/process.h"

namespace pgkeep {

using testing::PgCluster;
using testing::ProcessResult;
using testing::RunProcess;

inline constexpr char kViewerKey[] = "viewer-key-0123456789";
inline constexpr char kOperatorKey[] = "operator-key-0123456789";

class ServeTest : public ::testing::Test {
 protected:
  // `database_extra` goes into [database.app], `server_extra` into
  // [server], `tail` after both (for [[alert]] tables).
  void Prepare(const std::string& table_sql, const std::string& schedule = "* * * * *",
               const std::string& database_extra = "", const std::string& server_extra = "",
               const std::string& tail = "") {
    cluster_ = PgCluster::Start();
    cluster_->Exec("CREATE DATABASE app");
    cluster_->Exec(table_sql, "app");
    dir_ = testing::MakeTempDir("pgkeep-serve-");
    config_ = dir_ + "/pgkeep.toml";
    port_ = testing::PickFreePort();
    WriteConfig(schedule, database_extra, server_extra, tail);
    ASSERT_EQ(RunProcess({PGKEEP_BINARY, "--config", config_, "init"}, "", env_).exit_code, 0);
  }
  void WriteConfig(const std::string& schedule, const std::string& database_extra = "",
                   const std::string& server_extra = "", const std::string& tail = "") {
    std::ofstream(config_) << "[repository]\npath = \"" << dir_ << "/repo\"\n\n[database.app]\n"
                           << "conninfo = \"" << cluster_->ConnInfo("app") << "\"\n"
                           << "method = \"logical\"\nschedule = { logical = \"" << schedule
                           << "\" }\n"
                           << database_extra << "\n[server]\nstate = \"" << dir_
                           << "/state.db\"\nlisten = \"127.0.0.1:" << port_ << "\"\n"
                           << "api_keys = [ { name = \"view\", role = \"viewer\", key_env = "
                              "\"TEST_VIEWER_KEY\" }, { name = \"ops\", role = \"operator\", "
                              "key_env = \"TEST_OPERATOR_KEY\" } ]\n"
                           << server_extra << "\n"
                           << tail;
  }
  void TearDown() override {
    if (!dir_.empty()) testing::RemoveTree(dir_);
  }
  testing::ChildProcess Serve(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {PGKEEP_BINARY, "--config", config_, "serve"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return testing::ChildProcess::Spawn(argv, env_, "", "/dev/null");
  }
  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(30, 0);
    return c;
  }
  static httplib::Headers Bearer(const std::string& key) {
    return {{"Authorization", "Bearer " + key}};
  }
  // GET `path` as `key`; the status and the parsed body (null when none).
  std::pair<int, nlohmann::json> Get(const std::string& path, const std::string& key = kViewerKey) {
    auto c = Client();
    auto r = c.Get(path, Bearer(key));
    if (!r) return {0, nullptr};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  // Polls `done` every 250 ms for at most `seconds`.
  static bool WaitFor(int seconds, const std::function<bool()>& done) {
    for (int i = 0; i < seconds * 4; ++i) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return done();
  }

  std::unique_ptr<PgCluster> cluster_;
  std::string dir_;
  std::string config_;
  int port_ = 0;
  std::vector<std::string> env_ = {"PGKEEP_REPO_PASSWORD=pw",
                                   std::string("TEST_VIEWER_KEY=") + kViewerKey,
                                   std::string("TEST_OPERATOR_KEY=") + kOperatorKey};
};

}  // namespace pgkeep
