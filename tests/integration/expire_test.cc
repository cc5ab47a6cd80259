// Retention, garbage collection, pins and status through the pgkeep binary.
// Snapshots are made with `store --db`, which files them under a configured
// database's retention exactly like its backups.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

using testing::ProcessResult;
using testing::RunProcess;

class ExpireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-expire-");
    Configure("retention = { last = 2, min_keep = 1 }\n");
    ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  void Configure(const std::string& database_lines, const std::string& repo = "repo") {
    std::ofstream(dir_ + "/pgkeep.toml")
        << "[repository]\npath = \"" << dir_ << "/" << repo << "\"\npack_size_mib = 1\n\n"
        << "[database.files]\nconninfo = \"host=127.0.0.1 dbname=unused\"\nmethod = \"logical\"\n"
        << database_lines;
  }
  ProcessResult Pgkeep(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), PGKEEP_BINARY);
    return RunProcess(args, input,
                      {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"});
  }
  nlohmann::json Json(std::vector<std::string> args, int expected_exit = 0,
                      const std::string& input = "") {
    args.insert(args.begin(), {"--output", "json"});
    ProcessResult r = Pgkeep(args, input);
    EXPECT_EQ(r.exit_code, expected_exit) << r.out << r.err;
    return nlohmann::json::parse(r.out.empty() ? "{}" : r.out);
  }
  // Stores `data` as one snapshot of database "files"; returns its id.
  std::string Store(const std::string& data, const std::string& label) {
    auto j = Json({"store", "--db", "files", "--label", label, "--name", "data", "-"}, 0, data);
    return j["snapshot"]["id"];
  }
  std::string Load(const std::string& id) {
    ProcessResult r = Pgkeep({"load", id, "--stdout"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }
  std::vector<std::string> Ids() {
    std::vector<std::string> ids;
    nlohmann::json list = Json({"list"});
    for (const auto& s : list["snapshots"]) ids.push_back(s["id"]);
    return ids;
  }
  uint64_t RepoBytes(const std::string& repo = "repo") {
    uint64_t n = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/" + repo))
      if (e.is_regular_file()) n += e.file_size();
    return n;
  }
  std::string dir_;
};

std::string Text(size_t mib, uint64_t seed) {
  Bytes b = testing::MakeText(mib << 20, seed);
  return std::string(AsString(b));
}

TEST_F(ExpireTest, RulesDecideDryRunChangesNothingAndGarbageIsCollected) {
  std::vector<std::string> data, ids;
  for (int i = 0; i < 5; ++i) {
    data.push_back(Text(3, 10 + i));
    ids.push_back(Store(data.back(), "day" + std::to_string(i)));
  }
  uint64_t before = RepoBytes();
  auto dry = Json({"expire", "--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["expired"], 3);
  EXPECT_GT(dry["gc"]["bytes_freed"].get<uint64_t>(), 0u);
  EXPECT_EQ(RepoBytes(), before) << "a dry run changes nothing";
  EXPECT_EQ(Ids().size(), 5u);
  auto backups = dry["backups"];
  EXPECT_EQ(backups[4]["reasons"], nlohmann::json({"last 1", "min_keep"}));
  EXPECT_EQ(backups[3]["reasons"], nlohmann::json({"last 2"}));
  EXPECT_EQ(backups[0]["reasons"], nlohmann::json({"matches no rule"}));
  EXPECT_EQ(backups[0]["keep"], false);

  auto real = Json({"expire"});
  EXPECT_EQ(real["expired"], 3);
  EXPECT_EQ(Ids(), (std::vector<std::string>{ids[3], ids[4]}));
  EXPECT_LT(RepoBytes() * 2, before) << "three of five unique snapshots' data was freed";
  EXPECT_EQ(Pgkeep({"verify", "--read-data"}).exit_code, 0);
  EXPECT_TRUE(Load(ids[3]) == data[3]);
  EXPECT_TRUE(Load(ids[4]) == data[4]);
  // Nothing left to do: a second expire frees nothing and changes nothing.
  auto again = Json({"expire"});
  EXPECT_EQ(again["expired"], 0);
  EXPECT_EQ(again["gc"]["bytes_freed"], 0);
}

TEST_F(ExpireTest, PinnedBackupsSurviveUntilUnpinned) {
  std::string first = Store(Text(1, 1), "pre-deploy");
  for (int i = 0; i < 3; ++i) Store(Text(1, 2 + i), "daily");
  auto pinned = Json({"pin", first, "--note", "before deploy 42"});
  EXPECT_EQ(pinned["pinned"], true);
  auto e1 = Json({"expire"});
  EXPECT_EQ(e1["expired"], 1);
  EXPECT_EQ(e1["backups"][0]["reasons"], nlohmann::json({"pinned"}));
  EXPECT_EQ(Ids().size(), 3u);
  ProcessResult past = Pgkeep({"pin", first, "--until", "2001-01-01"});
  EXPECT_EQ(past.exit_code, 2);
  EXPECT_NE(past.err.find("--until 2001-01-01 is in the past"), std::string::npos) << past.err;
  EXPECT_EQ(Pgkeep({"unpin", first}).exit_code, 0);
  EXPECT_EQ(Json({"expire"})["expired"], 1);
  EXPECT_EQ(Ids().size(), 2u);
  EXPECT_EQ(Pgkeep({"verify", "--read-data"}).exit_code, 0);
}

TEST_F(ExpireTest, ExpireWaitsForARunningStoreAndLosesNothing) {
  // A store holding its shared lock while it reads a slow pipe.
  std::string fifo = dir_ + "/in.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  for (int i = 0; i < 3; ++i) Store(Text(1, 40 + i), "old");
  int writer = ::open(fifo.c_str(), O_RDWR);
  auto store = testing::ChildProcess::Spawn(
      {PGKEEP_BINARY, "store", "--db", "files", "--label", "concurrent", "--name", "data", "-"},
      {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"}, fifo, "/dev/null");
  std::string payload = Text(2, 77);
  ASSERT_EQ(::write(writer, payload.data(), 1 << 20), 1 << 20);  // half now: the store is mid-way
  // Wait (bounded) until the store holds its lock.
  for (int i = 0; i < 200 && std::filesystem::is_empty(dir_ + "/repo/locks"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(std::filesystem::is_empty(dir_ + "/repo/locks")) << "the store never took its lock";
  ProcessResult refused = Pgkeep({"expire"});
  EXPECT_EQ(refused.exit_code, 8) << refused.err;
  EXPECT_NE(refused.err.find("is locked shared by \"store\""), std::string::npos) << refused.err;
  // With --lock-wait the expire waits for the store instead.
  auto waiting = testing::ChildProcess::Spawn(
      {PGKEEP_BINARY, "--lock-wait", "60", "expire"},
      {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"}, "", "/dev/null");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(::write(writer, payload.data() + (1 << 20), payload.size() - (1 << 20)),
            static_cast<ssize_t>(payload.size() - (1 << 20)));
  ::close(writer);
  EXPECT_EQ(store.Wait(), 0);
  EXPECT_EQ(waiting.Wait(), 0);
  auto list = Json({"list"})["snapshots"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["label"], "concurrent");
  EXPECT_TRUE(Load(list[1]["id"]) == payload);
  EXPECT_EQ(Pgkeep({"verify", "--read-data"}).exit_code, 0);
}

// kill -9 at random moments during expire: the repository always verifies
// and every snapshot still listed restores bit-exactly.
TEST_F(ExpireTest, KillDashNineDuringExpireNeverBreaksTheRepository) {
  std::map<std::string, std::string> content;  // label -> data
  for (int i = 0; i < 12; ++i) {
    std::string d = Text(2, 200 + i) + Text(1, 7);  // unique part + a shared tail
    std::string label = "s" + std::to_string(i);
    Store(d, label);
    content[label] = d;
  }
  const int kTrials = 20;
  std::mt19937 rng(777);
  // Time one full expire on a copy to aim the kills.
  std::filesystem::copy(dir_ + "/repo", dir_ + "/timing", std::filesystem::copy_options::recursive);
  Configure("retention = { last = 3, min_keep = 1 }\n", "timing");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Pgkeep({"expire"}).exit_code, 0);
  auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  int interrupted = 0;
  for (int t = 0; t < kTrials; ++t) {
    SCOPED_TRACE(t);
    std::string trial = "trial" + std::to_string(t);
    std::filesystem::copy(dir_ + "/repo", dir_ + "/" + trial,
                          std::filesystem::copy_options::recursive);
    Configure("retention = { last = 3, min_keep = 1 }\n", trial);
    auto child = testing::ChildProcess::Spawn(
        {PGKEEP_BINARY, "expire"},
        {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=pw"}, "", "/dev/null");
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (full_ms + 1)));
    child.Kill(SIGKILL);
    if (child.Wait() == 128 + SIGKILL) ++interrupted;
    ProcessResult verify = Pgkeep({"verify", "--read-data"});
    ASSERT_EQ(verify.exit_code, 0) << verify.err;
    nlohmann::json list = Json({"list"});
    for (const auto& s : list["snapshots"])
      EXPECT_TRUE(Load(s["id"]) == content[s["label"]]) << s["label"];
    // A later expire finishes the job.
    ASSERT_EQ(Pgkeep({"expire"}).exit_code, 0);
    EXPECT_EQ(Json({"list"})["snapshots"].size(), 3u);
    EXPECT_EQ(Pgkeep({"verify", "--read-data"}).exit_code, 0);
    testing::RemoveTree(dir_ + "/" + trial);
  }
  EXPECT_GE(interrupted, kTrials / 2) << "most kills must land while expire runs";
}

TEST_F(ExpireTest, StatusTracksAgeAndSizeAnomalies) {
  Configure("max_backup_age = \"1h\"\nmax_size_drop_percent = 40\n");
  auto none = Json({"status"}, 1);
  EXPECT_EQ(none["healthy"], false);
  EXPECT_EQ(none["reasons"], nlohmann::json({"database \"files\": has no backup yet"}));
  for (int i = 0; i < 3; ++i) Store(Text(1, 60 + i), "normal");
  auto good = Json({"status"});
  EXPECT_EQ(good["healthy"], true);
  EXPECT_EQ(good["databases"][0]["backups"], 3);
  EXPECT_EQ(good["databases"][0]["size_anomaly"]["suspicious"], false);
  Store(Text(1, 70).substr(0, 300000), "suspiciously small");
  auto small = Json({"status"}, 1);
  ASSERT_EQ(small["reasons"].size(), 1u);
  EXPECT_NE(small["reasons"][0].get<std::string>().find("% smaller than the median"),
            std::string::npos)
      << small.dump();
  Store(Text(1, 71), "normal again");
  EXPECT_EQ(Json({"status"})["healthy"], true);
  // A backup turning stale is checked with a manual clock in src/monitor/status_test.cc.
}

}  // namespace
}  // namespace pgkeep
