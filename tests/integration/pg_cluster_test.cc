// Tests of the integration-test support code itself: the process runner and
// the throwaway PostgreSQL cluster. If these fail, every other integration
// test's result is meaningless, so they check what the other tests rely on.
#include "support/pg_cluster.h"

#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/process.h"

namespace pgkeep::testing {
namespace {

namespace fs = std::filesystem;

constexpr size_t kTenMiB = 10 * 1024 * 1024;

// True if a TCP connection to addr:port (numeric IPv4 or IPv6) succeeds.
bool TcpConnects(const std::string& addr, int port) {
  addrinfo hints{};
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* info = nullptr;
  if (getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &info) != 0) return false;
  const int fd = socket(info->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const bool connected = fd >= 0 && connect(fd, info->ai_addr, info->ai_addrlen) == 0;
  if (fd >= 0) close(fd);
  freeaddrinfo(info);
  return connected;
}

// Every address of this machine's interfaces except 127.0.0.1, plus other
// loopback addresses the kernel would answer on if the server bound to them.
std::vector<std::string> AddressesOtherThanLoopback() {
  std::vector<std::string> result = {"127.0.0.2", "::1"};
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return result;
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr) continue;
    const int family = ifa->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    char host[NI_MAXHOST];
    const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    if (getnameinfo(ifa->ifa_addr, len, host, sizeof(host), nullptr, 0, NI_NUMERICHOST) != 0) {
      continue;
    }
    if (std::string(host) != "127.0.0.1") result.emplace_back(host);
  }
  freeifaddrs(list);
  return result;
}

bool ProcessExited(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return true;
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// The postmaster removes postmaster.pid, which pg_ctl waits for, a moment
// before it exits; give it that moment.
bool ProcessGone(pid_t pid) {
  for (int i = 0; i < 250 && !ProcessExited(pid); ++i) usleep(20 * 1000);
  return ProcessExited(pid);
}

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// ---- RunProcess ------------------------------------------------------------

TEST(RunProcessTest, ReportsExitCode) {
  EXPECT_EQ(RunProcess({"true"}).exit_code, 0);
  EXPECT_EQ(RunProcess({"sh", "-c", "exit 3"}).exit_code, 3);
}

TEST(RunProcessTest, ReportsDeathBySignalAs128PlusSignal) {
  EXPECT_EQ(RunProcess({"sh", "-c", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
}

TEST(RunProcessTest, CapturesStdoutAndStderrSeparately) {
  const ProcessResult r = RunProcess({"sh", "-c", "echo to-out; echo to-err >&2; exit 1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST(RunProcessTest, LargeStdoutAndStderrDoNotDeadlock) {
  // stderr is filled first: a runner that drained only stdout would hang.
  const ProcessResult r =
      RunProcess({"sh", "-c", "head -c 10485760 /dev/zero >&2; head -c 10485760 /dev/zero"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), kTenMiB);
  EXPECT_EQ(r.err.size(), kTenMiB);
}

TEST(RunProcessTest, PassesStdin) {
  EXPECT_EQ(RunProcess({"cat"}, "hello\nworld\n").out, "hello\nworld\n");
}

TEST(RunProcessTest, LargeStdinIsWrittenWhileOutputIsRead) {
  std::string input(kTenMiB, 'x');
  input[12345] = 'y';
  const ProcessResult r = RunProcess({"cat"}, input);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.out == input);  // not EXPECT_EQ: a failure would print 20 MiB
}

TEST(RunProcessTest, ChildThatIgnoresStdinDoesNotKillUsWithSigpipe) {
  EXPECT_EQ(RunProcess({"true"}, std::string(kTenMiB, 'x')).exit_code, 0);
}

TEST(RunProcessTest, ExtraEnvironmentAddsAndOverrides) {
  const ProcessResult r = RunProcess({"sh", "-c", "echo \"$PGKEEP_TEST_VAR:$HOME\""}, "",
                                     {"PGKEEP_TEST_VAR=42", "HOME=/nowhere"});
  EXPECT_EQ(r.out, "42:/nowhere\n");
}

TEST(RunProcessTest, MissingProgramThrowsNamingIt) {
  try {
    RunProcess({"/nonexistent/pgkeep-no-such-program"});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'/nonexistent/pgkeep-no-such-program'"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos) << e.what();
  }
}

TEST(RunProcessTest, RunsAsAnotherUser) {
  if (geteuid() != 0) GTEST_SKIP() << "switching users needs root";
  const ProcessResult r = RunProcess({"sh", "-c", "id -un; pwd; echo $HOME"}, "", {}, "postgres");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "postgres\n/\n/var/lib/postgresql\n");
}

// ---- ChildProcess ----------------------------------------------------------

TEST(ChildProcessTest, KillAndWaitReportTheSignal) {
  ChildProcess child = ChildProcess::Spawn({"sleep", "60"});
  ASSERT_GT(child.pid(), 0);
  child.Kill(SIGTERM);
  EXPECT_EQ(child.Wait(), 128 + SIGTERM);
  EXPECT_EQ(child.Wait(), 128 + SIGTERM);  // a second Wait returns the same code
}

TEST(ChildProcessTest, RedirectsStdinAndStdoutToFiles) {
  const std::string dir = MakeTempDir("pgkeep-test-");
  std::ofstream(dir + "/in") << "line one\nline two\n";
  ChildProcess child = ChildProcess::Spawn({"cat"}, {}, dir + "/in", dir + "/out");
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_EQ(ReadWholeFile(dir + "/out"), "line one\nline two\n");
  RemoveTree(dir);
}

TEST(ChildProcessTest, PassesExtraEnvironment) {
  const std::string dir = MakeTempDir("pgkeep-test-");
  ChildProcess child = ChildProcess::Spawn({"sh", "-c", "echo $PGKEEP_TEST_VAR"},
                                           {"PGKEEP_TEST_VAR=7"}, "", dir + "/out");
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_EQ(ReadWholeFile(dir + "/out"), "7\n");
  RemoveTree(dir);
}

TEST(ChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid = 0;
  {
    ChildProcess child = ChildProcess::Spawn({"sleep", "60"});
    pid = child.pid();
  }
  // Reaped, so not even a zombie is left.
  EXPECT_EQ(kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST(ChildProcessTest, MoveTransfersOwnership) {
  ChildProcess first = ChildProcess::Spawn({"sh", "-c", "exit 5"});
  const pid_t pid = first.pid();
  ChildProcess second = std::move(first);
  EXPECT_EQ(first.pid(), -1);  // NOLINT(bugprone-use-after-move): checking the contract
  EXPECT_EQ(second.pid(), pid);
  EXPECT_EQ(second.Wait(), 5);
}

// ---- MakeTempDir / RemoveTree ----------------------------------------------

TEST(TempDirTest, CreatesPrivateDirectoryAndRemovesTree) {
  const std::string dir = MakeTempDir("pgkeep-test-");
  EXPECT_NE(fs::path(dir).filename().string().find("pgkeep-test-"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  fs::create_directories(dir + "/a/b");
  std::ofstream(dir + "/a/b/file") << "x";
  RemoveTree(dir);
  EXPECT_FALSE(fs::exists(dir));
  RemoveTree(dir);  // already gone: not an error
}

TEST(TempDirTest, RemoveTreeRefusesRoot) {
  EXPECT_THROW(RemoveTree("/"), std::runtime_error);
  EXPECT_THROW(RemoveTree("/tmp/.."), std::runtime_error);
  EXPECT_THROW(RemoveTree(""), std::runtime_error);
}

// ---- PgCluster -------------------------------------------------------------

// initdb takes seconds, so the read-only checks share one cluster.
class PgClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = PgCluster::Start(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  static std::unique_ptr<PgCluster> cluster_;
};
std::unique_ptr<PgCluster> PgClusterTest::cluster_;

TEST_F(PgClusterTest, HasChecksumsReplicaWalAndFsync) {
  EXPECT_EQ(cluster_->Query("SHOW data_checksums"), "on");
  EXPECT_EQ(cluster_->Query("SHOW wal_level"), "replica");
  EXPECT_EQ(cluster_->Query("SHOW max_wal_senders"), "4");
  EXPECT_EQ(cluster_->Query("SHOW fsync"), "on");
  EXPECT_EQ(cluster_->Query("SELECT current_setting('server_version_num')::int / 10000"), "15");
  EXPECT_EQ(cluster_->Query("SHOW data_directory"), cluster_->datadir());
}

TEST_F(PgClusterTest, ListensOnlyOnLoopback) {
  EXPECT_EQ(cluster_->Query("SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(cluster_->Query("SHOW port"), std::to_string(cluster_->port()));
  EXPECT_EQ(cluster_->host(), "127.0.0.1");
  EXPECT_TRUE(TcpConnects("127.0.0.1", cluster_->port()));
  for (const std::string& addr : AddressesOtherThanLoopback()) {
    EXPECT_FALSE(TcpConnects(addr, cluster_->port())) << "server answers on " << addr;
  }
}

TEST_F(PgClusterTest, ConnInfoNamesTheDatabase) {
  EXPECT_EQ(cluster_->ConnInfo("db1"), "host=127.0.0.1 port=" + std::to_string(cluster_->port()) +
                                           " user=postgres dbname=db1");
}

TEST_F(PgClusterTest, WritesAndReadsBackATable) {
  cluster_->Exec("CREATE DATABASE fixture_db");
  cluster_->Exec("CREATE TABLE t (id int, name text); INSERT INTO t VALUES (1, 'one'), (2, 'two')",
                 "fixture_db");
  EXPECT_EQ(cluster_->Query("SELECT name FROM t WHERE id = 2", "fixture_db"), "two");
  EXPECT_EQ(cluster_->Query("SELECT count(*) FROM t", "fixture_db"), "2");
  EXPECT_EQ(cluster_->Query("SELECT NULL"), "");
}

TEST_F(PgClusterTest, QueryErrorsCarryTheServerMessage) {
  try {
    cluster_->Query("SELECT * FROM no_such_table");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("relation \"no_such_table\" does not exist"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(cluster_->Query("SELECT 1 WHERE false"), std::runtime_error);
  EXPECT_THROW(cluster_->Exec("SELEC 1"), std::runtime_error);
}

TEST(PgClusterLifecycleTest, TwoClustersRunSideBySide) {
  const std::unique_ptr<PgCluster> a = PgCluster::Start();
  const std::unique_ptr<PgCluster> b = PgCluster::Start();
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(a->datadir(), b->datadir());
  const std::string kSysId = "SELECT system_identifier FROM pg_control_system()";
  EXPECT_NE(a->Query(kSysId), b->Query(kSysId));
  a->Exec("CREATE TABLE only_in_a ()");
  EXPECT_EQ(a->Query("SELECT to_regclass('only_in_a') IS NOT NULL"), "t");
  EXPECT_EQ(b->Query("SELECT to_regclass('only_in_a') IS NOT NULL"), "f");
}

TEST(PgClusterLifecycleTest, DestructionStopsServerAndRemovesDirectory) {
  std::unique_ptr<PgCluster> cluster = PgCluster::Start();
  const std::string dir = fs::path(cluster->datadir()).parent_path().string();
  const int port = cluster->port();
  const pid_t pid = cluster->postmaster_pid();
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(fs::exists(dir + "/data/PG_VERSION"));
  ASSERT_TRUE(TcpConnects("127.0.0.1", port));
  cluster.reset();
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(TcpConnects("127.0.0.1", port));
  EXPECT_TRUE(ProcessGone(pid));
}

TEST(PgClusterLifecycleTest, StopShutsDownCleanly) {
  std::unique_ptr<PgCluster> cluster = PgCluster::Start();
  const pid_t pid = cluster->postmaster_pid();
  cluster->Stop();
  EXPECT_FALSE(TcpConnects("127.0.0.1", cluster->port()));
  EXPECT_TRUE(ProcessGone(pid));
  EXPECT_THROW(cluster->Query("SELECT 1"), std::runtime_error);
  // A clean (fast) shutdown is what lets a later restore test trust the
  // control file.
  EXPECT_NE(cluster->LogTail().find("database system is shut down"), std::string::npos)
      << cluster->LogTail();
}

TEST(PgClusterLifecycleTest, ExtraSettingsApply) {
  const std::unique_ptr<PgCluster> cluster =
      PgCluster::Start({.extra_conf = {"work_mem = '7MB'", "max_wal_senders = 6"}});
  EXPECT_EQ(cluster->Query("SHOW work_mem"), "7MB");
  EXPECT_EQ(cluster->Query("SHOW max_wal_senders"), "6");  // extra lines win
}

TEST(PgClusterLifecycleTest, FailedStartExplainsAndCleansUp) {
  try {
    PgCluster::Start({.extra_conf = {"pgkeep_no_such_setting = 1"}});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("pg_ctl start failed"), std::string::npos) << message;
    // The cause is only in the server log, so the log tail must be there.
    EXPECT_NE(message.find("unrecognized configuration parameter \"pgkeep_no_such_setting\""),
              std::string::npos)
        << message;
    const size_t start = message.find("failed for '") + std::strlen("failed for '");
    const std::string datadir = message.substr(start, message.find('\'', start) - start);
    ASSERT_TRUE(datadir.ends_with("/data")) << message;
    EXPECT_FALSE(fs::exists(fs::path(datadir).parent_path()));
  }
}

}  // namespace
}  // namespace pgkeep::testing
