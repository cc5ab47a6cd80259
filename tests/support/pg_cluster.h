// tests/support/pg_cluster.h — a throwaway PostgreSQL 15 cluster for tests.
//
// Each PgCluster owns a fresh temporary directory holding the data directory
// ("data/"), the server log ("log") and the Unix socket. The server listens
// on 127.0.0.1 only, on a port picked free at start, so clusters can run side
// by side and never collide with a cluster installed on the machine. Its
// settings are written to data/pgkeep_test.conf, included from
// postgresql.conf.
//
// Run as root (as in CI containers), initdb, pg_ctl and therefore the server
// run as OS user "postgres", because the server refuses to run as root; run
// as anyone else, they run as that user.
//
// Failures throw std::runtime_error: a test cannot continue without its
// database. Messages from failed commands include the command's stderr and
// the tail of the server log, so a failing CI run explains itself.
//
// Thread safety: Query, Exec, ConnInfo and LogTail may be called from several
// threads at once (each query opens its own connection); Stop and the
// destructor must not race with anything.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace pgkeep::testing {

struct PgClusterOptions {
  // postgresql.conf lines ("name = value") applied after the fixture's own
  // settings, so they override them.
  std::vector<std::string> extra_conf;
  // Where initdb and pg_ctl live.
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
};

class PgCluster {
 public:
  // Creates, configures and starts a cluster: initdb with data checksums,
  // UTF8 and the C locale (so server messages and sorting do not depend on
  // the machine), trust authentication for user "postgres"; wal_level =
  // replica, max_wal_senders = 4, fsync left on. Returns once the server
  // accepts connections. Throws std::runtime_error on any failure, having
  // stopped the server and removed the directory.
  static std::unique_ptr<PgCluster> Start(const PgClusterOptions& opts = {});

  // Always stops the server (pg_ctl -m immediate; if the postmaster named in
  // this cluster's postmaster.pid is still alive, SIGKILL and removal of its
  // orphaned System V segment) and removes the directory. Never throws;
  // problems are printed to stderr.
  ~PgCluster();

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  int port() const { return port_; }
  std::string host() const;
  // Absolute path of the data directory.
  std::string datadir() const;
  // Postmaster process id of the last successful start; stays set after Stop
  // so a test can check the process is gone.
  pid_t postmaster_pid() const { return postmaster_pid_; }

  // "host=127.0.0.1 port=N user=postgres dbname=<dbname>".
  std::string ConnInfo(const std::string& dbname = "postgres") const;

  // Runs sql (several statements allowed; the last result counts) and
  // returns the first column of the first row as text; SQL NULL becomes "".
  // Throws std::runtime_error with the server's message if the statement
  // fails, and if it returns no row or no column.
  std::string Query(const std::string& sql, const std::string& db = "postgres") const;
  // Runs sql for its effect; throws like Query, but any result is accepted.
  void Exec(const std::string& sql, const std::string& db = "postgres") const;

  // Stops the server cleanly (pg_ctl -m fast) and waits for it; the data
  // directory stays until destruction. Throws if pg_ctl fails.
  void Stop();
  // Starts it again after Stop, on the same port.
  void Resume() { StartServer(); }

  // The last `lines` lines of the server log, for failure messages.
  std::string LogTail(int lines = 40) const;

 private:
  explicit PgCluster(const PgClusterOptions& opts);
  void InitDb();
  void StartServerOnFreePort();
  void StartServer();
  void WriteSettings() const;
  void Shutdown();
  std::string RunPgTool(const std::string& what, const std::vector<std::string>& args) const;
  std::string FailureMessage(const std::string& what, int exit_code, const std::string& err) const;
  bool IsOurPostmaster(pid_t pid) const;
  std::string LogPath() const;

  PgClusterOptions opts_;
  std::string dir_;      // the temporary root; owned, removed on destruction
  std::string os_user_;  // user to run tools as; empty for "ourselves"
  int port_ = 0;
  pid_t postmaster_pid_ = 0;
};

}  // namespace pgkeep::testing
