// A real S3-protocol server for tests: tests/s3/server.js (s3rver behind a
// SigV4 check, with fault hooks), started on a free loopback port in a
// temporary directory, stopped and removed with the fixture.
#pragma once

#include <httplib.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/process.h"

namespace pgkeep::testing {

inline constexpr char kS3AccessKey[] = "pgkeep-test";
inline constexpr char kS3SecretKey[] = "pgkeep-test-secret";
inline constexpr char kS3Region[] = "us-east-1";

struct S3ServerOptions {
  bool conditional_writes = true;  // honour If-None-Match: * (as AWS since 2024)
  std::vector<std::string> buckets = {"pgkeep", "offsite"};
};

class S3Server {
 public:
  explicit S3Server(const S3ServerOptions& options = {})
      : dir_(MakeTempDir("pgkeep-s3-")), port_(PickFreePort()) {
    std::vector<std::string> argv = {
        "node",         std::string(PGKEEP_SOURCE_DIR) + "/tests/s3/server.js",
        "--dir",        dir_ + "/data",
        "--port",       std::to_string(port_),
        "--region",     kS3Region,
        "--access-key", kS3AccessKey,
        "--secret-key", kS3SecretKey};
    for (const std::string& b : options.buckets) argv.insert(argv.end(), {"--bucket", b});
    if (options.conditional_writes) argv.push_back("--conditional-writes");
    child_ =
        std::make_unique<ChildProcess>(ChildProcess::Spawn(argv, {}, "", dir_ + "/server.out"));
    for (int i = 0; i < 300; ++i) {
      std::ifstream out(dir_ + "/server.out");
      std::string line;
      if (std::getline(out, line) && line.rfind("listening on", 0) == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("the S3 test server did not start (node tests/s3/server.js)");
  }
  ~S3Server() {
    child_->Kill(SIGTERM);
    child_->Wait();
    RemoveTree(dir_);
  }
  S3Server(const S3Server&) = delete;
  S3Server& operator=(const S3Server&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

  // The [repository.s3] / s3 = {...} lines for `bucket` and `prefix`, with
  // the credentials in files under `secrets_dir` (readable by the user
  // pgkeep runs as).
  std::string ConfigLines(const std::string& bucket, const std::string& prefix,
                          const std::string& secrets_dir, const std::string& extra = "") const {
    std::ofstream(secrets_dir + "/s3-access") << kS3AccessKey << "\n";
    std::ofstream(secrets_dir + "/s3-secret") << kS3SecretKey << "\n";
    std::filesystem::permissions(
        secrets_dir + "/s3-access",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::filesystem::permissions(
        secrets_dir + "/s3-secret",
        std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return "endpoint = \"" + endpoint() + "\"\nbucket = \"" + bucket + "\"\nprefix = \"" + prefix +
           "\"\nregion = \"" + kS3Region + "\"\naccess_key_file = \"" + secrets_dir +
           "/s3-access\"\nsecret_key_file = \"" + secrets_dir + "/s3-secret\"\n" + extra;
  }

  // Replaces the server's fault list (see tests/s3/server.js).
  void SetFaults(const nlohmann::json& faults) {
    Control("POST", "/__pgkeep/faults", faults.dump());
  }
  nlohmann::json Stats() { return nlohmann::json::parse(Control("GET", "/__pgkeep/stats", "")); }
  void ResetStats() { Control("DELETE", "/__pgkeep/stats", ""); }
  int UnfinishedUploads(const std::string& bucket) {
    return nlohmann::json::parse(
               Control("GET", "/__pgkeep/uploads?bucket=" + bucket, ""))["uploads"]
        .get<int>();
  }
  void Archive(const std::string& bucket, const std::string& key) {
    Control("POST", "/__pgkeep/archive?bucket=" + bucket + "&key=" + key, "");
  }

 private:
  std::string Control(const std::string& method, const std::string& path, const std::string& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    httplib::Result r = method == "POST"     ? c.Post(path, body, "application/json")
                        : method == "DELETE" ? c.Delete(path)
                                             : c.Get(path);
    if (!r || r->status != 200)
      throw std::runtime_error("S3 test server control " + method + " " + path + " failed");
    return r->body;
  }

  std::string dir_;
  int port_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace pgkeep::testing
