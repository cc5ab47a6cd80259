// End-to-end tests of the pgkeep binary: what a user types, sees and gets.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "codec/crypto.h"
#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

using testing::ProcessResult;
using testing::RunProcess;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-cli-");
    WriteConfig("");
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  void WriteConfig(const std::string& extra_repository_lines) {
    std::ofstream(dir_ + "/pgkeep.toml") << "[repository]\npath = \"" << dir_ << "/repo\"\n"
                                         << extra_repository_lines;
  }
  std::vector<std::string> Env(const std::string& password = "s3cret-pass") const {
    return {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=" + password};
  }
  ProcessResult Pgkeep(std::vector<std::string> args, const std::string& input = "",
                       const std::vector<std::string>& env = {}) {
    args.insert(args.begin(), PGKEEP_BINARY);
    return RunProcess(args, input, env.empty() ? Env() : env);
  }
  // Every file under the repository with its content hash.
  std::map<std::string, std::string> Tree() {
    std::map<std::string, std::string> out;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/repo")) {
      if (!e.is_regular_file()) continue;
      std::ifstream f(e.path(), std::ios::binary);
      std::string content((std::istreambuf_iterator<char>(f)), {});
      out[e.path().string()] = HexEncode(Sha256(AsBytes(content)));
    }
    return out;
  }
  std::string WriteFile(const std::string& name, const Bytes& data) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(data.data()),
               static_cast<std::streamsize>(data.size()));
    return path;
  }

  std::string dir_;
};

TEST_F(CliTest, HelpListsOnlyWorkingCommands) {
  ProcessResult r = Pgkeep({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"init",      "store",  "load",   "list",  "info",  "verify",   "backup",
                          "restore",   "export", "expire", "pin",   "unpin", "status",   "wal-push",
                          "wal-fetch", "check",  "drill",  "serve", "copy",  "retention"})
    EXPECT_NE(r.out.find(std::string("\n  ") + cmd + " "), std::string::npos) << cmd << "\n"
                                                                              << r.out;
  // Not built yet: --help must not offer them.
  for (const char* absent : {"indexes", "report"})
    EXPECT_EQ(r.out.find(std::string("\n  ") + absent + " "), std::string::npos) << absent;
  ProcessResult bad = Pgkeep({"frobnicate"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("HINT: see \"pgkeep --help\""), std::string::npos) << bad.err;
}

TEST_F(CliTest, InitStoreListInfoLoadVerifyWithJson) {
  ProcessResult init = Pgkeep({"--output", "json", "init"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  auto j = nlohmann::json::parse(init.out);
  EXPECT_EQ(j["repository"]["encryption"], "aes-256-gcm");
  EXPECT_EQ(init.out.find("s3cret-pass"), std::string::npos);

  Bytes data = testing::MakeText(3 << 20, 5);
  std::string path = WriteFile("input.txt", data);
  ProcessResult store = Pgkeep({"--output", "json", "store", "--label", "first", path});
  ASSERT_EQ(store.exit_code, 0) << store.err;
  auto snap = nlohmann::json::parse(store.out)["snapshot"];
  std::string id = snap["id"];
  EXPECT_EQ(snap["stats"]["bytes"], data.size());
  EXPECT_EQ(snap["label"], "first");

  ProcessResult list = Pgkeep({"--output", "json", "list"});
  ASSERT_EQ(list.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(list.out)["snapshots"][0]["id"], id);
  ProcessResult info = Pgkeep({"info", "latest"});
  EXPECT_EQ(info.exit_code, 0);
  EXPECT_NE(info.out.find(id), std::string::npos);

  ProcessResult load = Pgkeep({"load", id, "--stdout"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_TRUE(load.out == std::string(AsString(data)));
  ProcessResult verify = Pgkeep({"--output", "json", "verify", "--read-data"});
  ASSERT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_EQ(nlohmann::json::parse(verify.out)["ok"], true);

  auto sample = nlohmann::json::parse(
      Pgkeep({"--output", "json", "verify", "--read-data", "--subset", "50"}).out);
  EXPECT_EQ(sample["ok"], true);
  EXPECT_LE(sample["packs_read"].get<int>(), sample["packs"].get<int>());
  EXPECT_EQ(Pgkeep({"verify", "--subset", "50"}).exit_code, 2) << "--subset needs --read-data";

  ProcessResult again = Pgkeep({"--output", "json", "init"});
  EXPECT_EQ(again.exit_code, 5);
  EXPECT_EQ(nlohmann::json::parse(again.out)["error"]["code"], "repo_exists");
}

// A client that wants encryption (the default) must not write plaintext into
// a repository initialised with encryption = "none", nor the reverse.
TEST_F(CliTest, EncryptionMismatchIsRefusedBeforeAnythingIsWritten) {
  WriteConfig("encryption = \"none\"\n");
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  WriteConfig("");  // encryption defaults to aes-256-gcm
  auto before = Tree();
  std::string path = WriteFile("secret.txt", Bytes{'s', 'e', 'c', 'r', 'e', 't'});
  ProcessResult r = Pgkeep({"store", path});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("pgkeep: error: repository \"" + dir_ + "/repo\" is not encrypted"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("HINT: set encryption = \"none\""), std::string::npos) << r.err;
  EXPECT_EQ(Tree(), before);

  testing::RemoveTree(dir_ + "/repo");
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  WriteConfig("encryption = \"none\"\n");
  before = Tree();
  ProcessResult reverse = Pgkeep({"store", path});
  EXPECT_EQ(reverse.exit_code, 3) << reverse.err;
  EXPECT_NE(reverse.err.find("is encrypted, but the configuration says encryption = \"none\""),
            std::string::npos)
      << reverse.err;
  EXPECT_EQ(Tree(), before);
}

// Arguments and names need not be UTF-8; JSON output must not abort on them.
TEST_F(CliTest, InvalidUtf8NeverAbortsJsonOutput) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  ProcessResult info = Pgkeep({"--output", "json", "info", "\xff\xfe"});
  EXPECT_EQ(info.exit_code, 12) << info.err;
  auto j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["code"], "not_found");

  // Labels are checked before any work.
  std::string path = WriteFile("f.txt", Bytes{'h', 'i'});
  auto before = Tree();
  ProcessResult label = Pgkeep({"--output", "json", "store", "--label", "caf\xe9", path});
  EXPECT_EQ(label.exit_code, 2) << label.err;
  EXPECT_NE(label.err.find("--label is not valid UTF-8"), std::string::npos) << label.err;
  EXPECT_EQ(Tree(), before);

  // A file whose name is not UTF-8 is stored, listed and loaded back exactly.
  std::filesystem::create_directory(dir_ + "/in");
  std::string odd = dir_ + "/in/caf\xe9-\xff.txt";
  std::ofstream(odd) << "bytes, not text";
  ProcessResult store = Pgkeep({"--output", "json", "store", dir_ + "/in"});
  ASSERT_EQ(store.exit_code, 0) << store.err;
  std::string id = nlohmann::json::parse(store.out)["snapshot"]["id"];
  ProcessResult shown = Pgkeep({"--output", "json", "info", id});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_FALSE(nlohmann::json::parse(shown.out, nullptr, false).is_discarded()) << shown.out;
  std::filesystem::create_directory(dir_ + "/out");
  ProcessResult load = Pgkeep({"load", id, "--to", dir_ + "/out"});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  bool found = false;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/out"))
    found = found || e.path().filename().string() == "caf\xe9-\xff.txt";
  EXPECT_TRUE(found);
}

TEST_F(CliTest, WrongPasswordIsExit7AndChangesNothing) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  std::string path = WriteFile("a", testing::MakeText(1 << 20, 1));
  ASSERT_EQ(Pgkeep({"store", path}).exit_code, 0);
  auto before = Tree();
  for (auto args : std::vector<std::vector<std::string>>{{"store", path}, {"list"}, {"verify"}}) {
    ProcessResult r = Pgkeep(args, "", Env("not-the-password"));
    EXPECT_EQ(r.exit_code, 7) << args[0];
    EXPECT_EQ(r.err, "pgkeep: error: wrong password for repository \"" + dir_ +
                         "/repo\"\nHINT: check PGKEEP_REPO_PASSWORD (or the file in "
                         "repository.password_file)\n");
  }
  EXPECT_EQ(Tree(), before);
  ProcessResult unset =
      RunProcess({PGKEEP_BINARY, "list"}, "", {"PGKEEP_CONFIG=" + dir_ + "/pgkeep.toml"});
  EXPECT_EQ(unset.exit_code, 7) << unset.err;
  EXPECT_NE(unset.err.find("PGKEEP_REPO_PASSWORD"), std::string::npos) << unset.err;
}

TEST_F(CliTest, ConfigAndRepositoryErrorsAreOneLineWithExitCodes) {
  ProcessResult missing = Pgkeep({"list"});
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_EQ(missing.err,
            "pgkeep: error: no repository at \"" + dir_ +
                "/repo\"\nHINT: run \"pgkeep init\" to create one, or check repository.path\n");
  WriteConfig("compresion_level = 3\n");
  ProcessResult typo = Pgkeep({"list"});
  EXPECT_EQ(typo.exit_code, 3);
  EXPECT_NE(typo.err.find("pgkeep.toml:3: unknown key \"repository.compresion_level\""),
            std::string::npos)
      << typo.err;
  EXPECT_NE(typo.err.find("HINT: did you mean \"compression_level\"?"), std::string::npos)
      << typo.err;
  ProcessResult nofile = RunProcess({PGKEEP_BINARY, "--config", dir_ + "/nope.toml", "list"});
  EXPECT_EQ(nofile.exit_code, 3);
  EXPECT_NE(nofile.err.find("nope.toml"), std::string::npos);
}

TEST_F(CliTest, FlippedByteFailsVerifyAndOtherFilesStillLoad) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  std::filesystem::create_directories(dir_ + "/in");
  for (int i = 0; i < 3; ++i)
    WriteFile("in/f" + std::to_string(i), testing::MakeText(2 << 20, 100 + i));
  ASSERT_EQ(Pgkeep({"store", dir_ + "/in"}).exit_code, 0);
  // Flip a byte in the middle of the (only) pack.
  std::string pack;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/repo/data"))
    if (e.is_regular_file()) pack = e.path().string();
  ASSERT_FALSE(pack.empty());
  auto size = std::filesystem::file_size(pack);
  {
    std::fstream f(pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.put('\x7f');
  }
  ProcessResult verify = Pgkeep({"verify", "--read-data"});
  EXPECT_EQ(verify.exit_code, 1);
  std::string rel = pack.substr(dir_.size() + 6);
  EXPECT_NE(verify.err.find("error: pack \"" + rel + "\" at offset"), std::string::npos)
      << verify.err;
  EXPECT_NE(verify.err.find("damaged chunk(s); it cannot be restored"), std::string::npos);
  ProcessResult load = Pgkeep({"--output", "json", "load", "latest", "--to", dir_ + "/out"});
  EXPECT_EQ(load.exit_code, 11);
  auto j = nlohmann::json::parse(load.out);
  EXPECT_EQ(j["loaded"].size(), 2u) << load.out;
  EXPECT_EQ(j["failed"].size(), 1u) << load.out;
}

TEST_F(CliTest, LatestIsTheLastStoredEvenWithinOneSecond) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  for (int i = 1; i <= 8; ++i) {
    std::string v = "version " + std::to_string(i) + "\n";
    ASSERT_EQ(Pgkeep({"store", "--name", "n.txt", "-"}, v).exit_code, 0);
    ProcessResult latest = Pgkeep({"load", "latest", "--stdout"});
    ASSERT_EQ(latest.exit_code, 0);
    EXPECT_EQ(latest.out, v);
  }
}

TEST_F(CliTest, EmptyStdinAndUnsafeNamesAreRefused) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  ProcessResult empty = Pgkeep({"store", "-"}, "");
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_EQ(empty.err,
            "pgkeep: error: standard input was empty; nothing was stored\nHINT: check the command "
            "feeding pgkeep; pass --allow-empty to store an empty stream\n");
  EXPECT_TRUE(nlohmann::json::parse(Pgkeep({"--output", "json", "list"}).out)["snapshots"].empty())
      << "a refused store leaves no snapshot";
  EXPECT_EQ(Pgkeep({"store", "--allow-empty", "-"}, "").exit_code, 0);
  ProcessResult evil = Pgkeep({"store", "--name", "../evil.dump", "-"}, "x");
  EXPECT_EQ(evil.exit_code, 2);
  EXPECT_NE(evil.err.find("--name \"../evil.dump\" is not a usable file name"), std::string::npos)
      << evil.err;
}

// Streams 2 GiB through pgkeep in both directions without touching disk for
// the input or output, comparing SHA-256 digests.
TEST_F(CliTest, StreamedTwoGibRoundTripIsBitExact) {
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  const uint64_t kSize = uint64_t{2} << 30;
  std::string in_fifo = dir_ + "/in.fifo", out_fifo = dir_ + "/out.fifo";
  ASSERT_EQ(mkfifo(in_fifo.c_str(), 0600), 0);
  ASSERT_EQ(mkfifo(out_fifo.c_str(), 0600), 0);

  int writer = ::open(in_fifo.c_str(), O_RDWR);  // O_RDWR: does not wait for a reader
  ASSERT_GE(writer, 0);
  auto store = testing::ChildProcess::Spawn({PGKEEP_BINARY, "store", "--name", "big", "-"}, Env(),
                                            in_fifo, "/dev/null");
  EVP_MD_CTX* in_hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(in_hash, EVP_sha256(), nullptr);
  testing::TextSource source(kSize, 99);
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    size_t n = *source.Read(buf.data(), buf.size());
    if (n == 0) break;
    EVP_DigestUpdate(in_hash, buf.data(), n);
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(writer, buf.data() + done, n - done);
      ASSERT_GT(w, 0);
      done += static_cast<size_t>(w);
    }
  }
  ::close(writer);
  ASSERT_EQ(store.Wait(), 0);

  int reader = ::open(out_fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto load = testing::ChildProcess::Spawn({PGKEEP_BINARY, "load", "latest", "--stdout"}, Env(), "",
                                           out_fifo);
  fcntl(reader, F_SETFL, 0);
  EVP_MD_CTX* out_hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(out_hash, EVP_sha256(), nullptr);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(reader, buf.data(), buf.size());
    if (n == 0) break;
    ASSERT_GT(n, 0);
    EVP_DigestUpdate(out_hash, buf.data(), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ::close(reader);
  EXPECT_EQ(load.Wait(), 0);
  EXPECT_EQ(total, kSize);
  Digest a, b;
  EVP_DigestFinal_ex(in_hash, a.data(), nullptr);
  EVP_DigestFinal_ex(out_hash, b.data(), nullptr);
  EVP_MD_CTX_free(in_hash);
  EVP_MD_CTX_free(out_hash);
  EXPECT_EQ(HexEncode(a), HexEncode(b));
}

// kill -9 at random moments while storing: the repository always verifies,
// every visible snapshot restores, and no temporary file outlives the next
// command.
TEST_F(CliTest, KillDashNineWhileStoringNeverBreaksTheRepository) {
  WriteConfig("pack_size_mib = 1\n");
  ASSERT_EQ(Pgkeep({"init"}).exit_code, 0);
  const int kTrials = 20;
  std::vector<std::string> inputs;
  for (int i = 0; i < kTrials; ++i)
    inputs.push_back(WriteFile("input" + std::to_string(i), testing::MakeText(32 << 20, 1000 + i)));

  // A typical store is timed once the repository's key is cached (the first
  // command derives it, which would stretch the window past later stores).
  ASSERT_EQ(Pgkeep({"store", WriteFile("warm", testing::MakeText(1 << 20, 999))}).exit_code, 0);
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(Pgkeep({"store", inputs[0]}).exit_code, 0);
  auto full_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  std::mt19937 rng(12345);
  int killed = 0;
  for (int i = 1; i < kTrials; ++i) {
    SCOPED_TRACE(i);
    auto child =
        testing::ChildProcess::Spawn({PGKEEP_BINARY, "store", inputs[i]}, Env(), "", "/dev/null");
    // Within the first three quarters of a typical store: most kills land mid-write.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (full_ms * 3 / 4 + 1)));
    child.Kill(SIGKILL);
    if (child.Wait() == 128 + SIGKILL) ++killed;
    ProcessResult verify = Pgkeep({"--output", "json", "verify", "--read-data"});
    ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_ + "/repo"))
      EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "leftover " << e.path();
  }
  EXPECT_GE(killed, kTrials / 2) << "most trials must really interrupt a store";
  // Every snapshot that became visible restores bit-exactly.
  auto list = nlohmann::json::parse(Pgkeep({"--output", "json", "list"}).out);
  for (const auto& s : list["snapshots"]) {
    std::string id = s["id"];
    auto info = nlohmann::json::parse(Pgkeep({"--output", "json", "info", id}).out);
    std::string path = "/" + info["files"][0]["path"].get<std::string>();
    std::ifstream f(path, std::ios::binary);
    std::string expected((std::istreambuf_iterator<char>(f)), {});
    ProcessResult load = Pgkeep({"load", id, "--stdout"});
    ASSERT_EQ(load.exit_code, 0) << load.err;
    EXPECT_TRUE(load.out == expected) << id;
  }
}

}  // namespace
}  // namespace pgkeep
