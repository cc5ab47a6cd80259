#include "support/pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/process.h"

namespace pgkeep::testing {

namespace {

constexpr char kHost[] = "127.0.0.1";
constexpr char kSuperuser[] = "postgres";
constexpr char kSettingsFile[] = "pgkeep_test.conf";
// Another process may take the port between our probe and the server's bind;
// a few fresh ports make that race harmless.
constexpr int kStartAttempts = 3;
constexpr char kPgCtlWaitSeconds[] = "60";
// Teardown does not wait as long: SIGKILL follows if the server hangs.
constexpr char kTeardownStopSeconds[] = "10";
// How long teardown waits for a SIGKILLed postmaster and its children.
constexpr auto kTeardownWait = std::chrono::seconds(10);
constexpr auto kPollInterval = std::chrono::milliseconds(20);
// Tools run with a fixed locale so their messages, which tests may match,
// are English everywhere.
const std::vector<std::string> kToolEnv = {"LC_ALL=C"};

struct PgConnDeleter {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

std::string TrimTrailingNewlines(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void ChownToUser(const std::string& path, const std::string& user) {
  passwd entry{};
  passwd* pw = nullptr;
  std::vector<char> strings(16 * 1024);
  getpwnam_r(user.c_str(), &entry, strings.data(), strings.size(), &pw);
  if (pw == nullptr) throw std::runtime_error("unknown OS user '" + user + "'");
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("chown '" + path + "' to '" + user + "': " + std::strerror(errno));
  }
}

bool ProcessAlive(pid_t pid) {
  // A zombie still answers kill(pid, 0) but is as good as gone.
  const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  return stat[paren + 2] != 'Z';
}

// What teardown needs from postmaster.pid: line 1 is the postmaster's pid,
// line 7 its System V shared memory key and id (LOCK_FILE_LINE_SHMEM_KEY in
// PostgreSQL's miscadmin.h).
struct PidFile {
  pid_t pid = 0;
  long shm_key = -1;
  long shm_id = -1;
};

PidFile ReadPidFile(const std::string& datadir) {
  std::istringstream in(ReadFile(datadir + "/postmaster.pid"));
  PidFile pid_file;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (number == 1) pid_file.pid = std::atoi(line.c_str());
    if (number == 7) std::istringstream(line) >> pid_file.shm_key >> pid_file.shm_id;
  }
  return pid_file;
}

// A SIGKILLed postmaster cannot remove its small System V segment; left
// alone, every such teardown would leak one until the machine reboots. The
// key check keeps us from removing a segment that reused the id.
// Returns true once there is nothing left to remove.
bool RemoveOrphanedSegment(const PidFile& pid_file) {
  shmid_ds info{};
  if (pid_file.shm_id < 0 || shmctl(pid_file.shm_id, IPC_STAT, &info) != 0) return true;
  if (info.shm_perm.__key != pid_file.shm_key) return true;
  if (info.shm_nattch != 0) return false;
  shmctl(pid_file.shm_id, IPC_RMID, nullptr);
  return true;
}

}  // namespace

PgCluster::PgCluster(const PgClusterOptions& opts) : opts_(opts) {
  if (geteuid() == 0) os_user_ = kSuperuser;
}

std::unique_ptr<PgCluster> PgCluster::Start(const PgClusterOptions& opts) {
  // The constructor is private so a cluster only exists started; that rules
  // out std::make_unique.
  std::unique_ptr<PgCluster> cluster(new PgCluster(opts));
  // From here on, an exception destroys `cluster`, which stops the server
  // and removes the directory.
  cluster->dir_ = MakeTempDir("pgkeep-pg-");
  if (!cluster->os_user_.empty()) ChownToUser(cluster->dir_, cluster->os_user_);
  cluster->InitDb();
  cluster->StartServerOnFreePort();
  return cluster;
}

PgCluster::~PgCluster() {
  try {
    Shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_cluster: teardown of '%s': %s\n", dir_.c_str(), e.what());
  }
}

std::string PgCluster::host() const { return kHost; }

std::string PgCluster::datadir() const { return dir_ + "/data"; }

std::string PgCluster::LogPath() const { return dir_ + "/log"; }

std::string PgCluster::ConnInfo(const std::string& dbname) const {
  return "host=" + host() + " port=" + std::to_string(port_) + " user=" + kSuperuser +
         " dbname=" + dbname;
}

void PgCluster::InitDb() {
  try {
    RunPgTool("initdb", {"initdb", "--data-checksums", "-U", kSuperuser, "--auth=trust",
                         "--encoding=UTF8", "--locale=C", "-D", datadir()});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string(e.what()) +
                             "\nHINT: the directory must be reachable by the OS user running "
                             "initdb; check $TMPDIR.");
  }
  // A separate included file, so picking another port on a retry can
  // rewrite it instead of piling up lines in postgresql.conf.
  std::ofstream conf(datadir() + "/postgresql.conf", std::ios::app);
  conf << "\ninclude '" << kSettingsFile << "'\n";
  if (!conf.flush()) throw std::runtime_error("appending to '" + datadir() + "/postgresql.conf'");
}

void PgCluster::WriteSettings() const {
  const std::string path = datadir() + "/" + kSettingsFile;
  std::ofstream conf(path, std::ios::trunc);
  conf << "# written by pgkeep's test fixture (tests/support/pg_cluster.cc)\n"
       << "listen_addresses = '" << kHost << "'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = '" << dir_ << "'\n"
       << "wal_level = replica\n"
       << "max_wal_senders = 4\n"
       << "# pgkeep tests check durability: never turn this off for speed.\n"
       << "fsync = on\n";
  for (const std::string& line : opts_.extra_conf) conf << line << "\n";
  if (!conf.flush()) throw std::runtime_error("writing '" + path + "'");
  conf.close();
  // Owned by the server's user like every other file in the data directory,
  // so tools running as that user (backup, restore) can handle it.
  if (!os_user_.empty()) ChownToUser(path, os_user_);
}

void PgCluster::StartServerOnFreePort() {
  for (int attempt = 1;; ++attempt) {
    port_ = PickFreePort();
    WriteSettings();
    const size_t log_size_before = ReadFile(LogPath()).size();
    try {
      StartServer();
      return;
    } catch (const std::runtime_error&) {
      const std::string new_log = ReadFile(LogPath()).substr(log_size_before);
      const bool port_taken = new_log.find("could not bind") != std::string::npos;
      if (!port_taken || attempt == kStartAttempts) throw;
    }
  }
}

void PgCluster::StartServer() {
  RunPgTool("pg_ctl start",
            {"pg_ctl", "-w", "-t", kPgCtlWaitSeconds, "-D", datadir(), "-l", LogPath(), "start"});
  postmaster_pid_ = ReadPidFile(datadir()).pid;
}

void PgCluster::Stop() {
  RunPgTool("pg_ctl stop",
            {"pg_ctl", "-w", "-t", kPgCtlWaitSeconds, "-D", datadir(), "-m", "fast", "stop"});
}

void PgCluster::Shutdown() {
  if (dir_.empty()) return;  // MakeTempDir failed; nothing to clean up
  // postmaster.pid exists while a server runs on this data directory, also
  // one a test started itself; it must be read before pg_ctl removes it.
  const PidFile pid_file = ReadPidFile(datadir());
  if (pid_file.pid > 0) {
    const ProcessResult stop =
        RunProcess({opts_.bin_dir + "/pg_ctl", "-w", "-t", kTeardownStopSeconds, "-D", datadir(),
                    "-m", "immediate", "stop"},
                   "", kToolEnv, os_user_);
    if (stop.exit_code != 0) {
      std::fprintf(stderr, "pg_cluster: %s\n",
                   FailureMessage("pg_ctl stop", stop.exit_code, stop.err).c_str());
    }
    if (IsOurPostmaster(pid_file.pid)) {
      kill(pid_file.pid, SIGKILL);
      // Its children notice the postmaster's death and exit by themselves;
      // the segment can go once the last one has detached.
      const auto deadline = std::chrono::steady_clock::now() + kTeardownWait;
      while (!RemoveOrphanedSegment(pid_file) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(kPollInterval);
      }
    }
  }
  // Backends orphaned by a SIGKILLed postmaster may still be exiting and
  // writing; retry instead of failing on "directory not empty".
  const auto deadline = std::chrono::steady_clock::now() + kTeardownWait;
  while (true) {
    try {
      RemoveTree(dir_);
      return;
    } catch (const std::runtime_error&) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(kPollInterval);
    }
  }
}

bool PgCluster::IsOurPostmaster(pid_t pid) const {
  // Guards against pid reuse: only a process whose command line names this
  // data directory gets killed, never another cluster.
  if (!ProcessAlive(pid)) return false;
  std::istringstream cmdline(ReadFile("/proc/" + std::to_string(pid) + "/cmdline"));
  for (std::string arg; std::getline(cmdline, arg, '\0');) {
    if (arg == datadir()) return true;
  }
  return false;
}

std::string PgCluster::RunPgTool(const std::string& what,
                                 const std::vector<std::string>& args) const {
  std::vector<std::string> argv = args;
  argv[0] = opts_.bin_dir + "/" + args[0];
  const ProcessResult result = RunProcess(argv, "", kToolEnv, os_user_);
  if (result.exit_code != 0) {
    throw std::runtime_error(
        FailureMessage(what, result.exit_code, result.err.empty() ? result.out : result.err));
  }
  return result.out;
}

std::string PgCluster::FailureMessage(const std::string& what, int exit_code,
                                      const std::string& err) const {
  return what + " failed for '" + datadir() + "' (exit code " + std::to_string(exit_code) + "):\n" +
         TrimTrailingNewlines(err) + "\nserver log '" + LogPath() + "' ends with:\n" + LogTail();
}

std::string PgCluster::LogTail(int lines) const {
  const std::string log = TrimTrailingNewlines(ReadFile(LogPath()));
  if (log.empty()) return "(empty or missing)";
  size_t start = log.size();
  for (int i = 0; i < lines && start != std::string::npos && start > 0; ++i) {
    start = log.rfind('\n', start - 1);
  }
  return start == std::string::npos || start == 0 ? log : log.substr(start + 1);
}

namespace {

// Runs sql on a fresh connection and returns the (successful) last result.
PgResultPtr RunSql(const std::string& conninfo, const std::string& sql) {
  std::unique_ptr<PGconn, PgConnDeleter> conn(PQconnectdb(conninfo.c_str()));
  if (conn == nullptr || PQstatus(conn.get()) != CONNECTION_OK) {
    throw std::runtime_error("connecting with '" + conninfo +
                             "': " + TrimTrailingNewlines(PQerrorMessage(conn.get())));
  }
  PgResultPtr result(PQexec(conn.get(), sql.c_str()));
  const ExecStatusType status = PQresultStatus(result.get());
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    const char* message =
        result != nullptr ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn.get());
    throw std::runtime_error("query '" + sql + "' failed: " + TrimTrailingNewlines(message));
  }
  return result;
}

}  // namespace

std::string PgCluster::Query(const std::string& sql, const std::string& db) const {
  const PgResultPtr result = RunSql(ConnInfo(db), sql);
  if (PQntuples(result.get()) < 1 || PQnfields(result.get()) < 1) {
    throw std::runtime_error("query '" + sql + "' returned no rows");
  }
  return PQgetvalue(result.get(), 0, 0);
}

void PgCluster::Exec(const std::string& sql, const std::string& db) const {
  RunSql(ConnInfo(db), sql);
}

}  // namespace pgkeep::testing
