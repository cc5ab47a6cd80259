#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>
#include <vector>

#include "common/file_io.h"
#include "common/subprocess.h"
#include "postgres/connection.h"
#include "postgres/pg_tools.h"
#include "restore/physical_restore_steps.h"

namespace pgkeep {

namespace {

std::string LogTail(const std::string& path, int lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i)
    out += (out.empty() ? "" : " | ") + all[i];
  return out;
}

pid_t PostmasterPid(const std::string& pgdata) {
  std::ifstream in(pgdata + "/postmaster.pid");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

}  // namespace

namespace restore_internal {

Status StartAndWait(const PhysicalRestoreOptions& o, const DatabaseConfig& db, const Owner& owner,
                    const Snapshot& backup, PhysicalRestoreResult& result) {
  int major = backup.meta.value(kMetaServerVersionNum, 150000) / 10000;
  std::string bin = db.pg_bin;
  std::string versioned = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  if (bin.empty() && ::access((versioned + "/pg_ctl").c_str(), X_OK) == 0) bin = versioned;
  auto pg_ctl = FindPgTool("pg_ctl", major, bin);
  if (!pg_ctl.ok()) return pg_ctl.status();

  char tmpl[] = "/tmp/pgkeep-restore-XXXXXX";
  if (!::mkdtemp(tmpl)) return ErrnoError("create", "/tmp/pgkeep-restore-*");
  std::string run_dir = tmpl;
  if (owner.change && ::chown(run_dir.c_str(), owner.uid, owner.gid) != 0) return ErrnoError("chown", run_dir);
  result.server_log = run_dir + "/server.log";
  int port = o.port > 0 ? o.port : std::atoi(backup.meta.value(kMetaPort, "5432").c_str());
  result.port = port;
  result.socket_dir = run_dir;

  std::vector<std::string> argv;
  if (owner.change) {
    const char* runuser = ::access("/usr/sbin/runuser", X_OK) == 0 ? "/usr/sbin/runuser" : "/sbin/runuser";
    argv = {runuser, "-u", owner.name.empty() ? std::to_string(owner.uid) : owner.name, "--"};
  }
  for (const std::string& a :
       {pg_ctl->path, std::string("-D"), o.pgdata, std::string("-l"), result.server_log, std::string("-W"),
        std::string("-o"), "-c unix_socket_directories=" + run_dir + " -p " + std::to_string(port),
        std::string("start")})
    argv.push_back(a);
  SubprocessOptions process{argv, {}, false, ""};
  process.drop_env = o.child_env_drop;
  auto proc = Subprocess::Start(process);
  if (!proc.ok()) return proc.status();
  int code = (*proc)->Wait();
  if (code != 0) {
    // pg_ctl itself only says the server did not start; why is in its log.
    std::string why = (*proc)->ErrorSummary();
    auto log = ReadWholeFile(result.server_log);
    std::string from_log = log.ok() ? FirstErrorLines(std::string(AsString(*log))) : "";
    if (!from_log.empty()) why = from_log;
    return Status::Error(ErrorCode::kTool, "pg_ctl start failed (exit " + std::to_string(code) + "): " + why,
                         "full log: " + result.server_log);
  }
  result.started = true;

  auto conninfo = ConninfoWith(db.conninfo, {{"host", run_dir}, {"port", std::to_string(port)},
                                             {"dbname", "postgres"}, {"hostaddr", ""}});
  if (!conninfo.ok()) return conninfo.status();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.start_timeout_seconds);
  auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    pid_t pid = PostmasterPid(o.pgdata);
    if ((pid <= 0 && std::chrono::steady_clock::now() > grace) || (pid > 0 && ::kill(pid, 0) != 0))
      return Status::Error(ErrorCode::kPostgres,
                           "the restored server stopped during recovery: " + LogTail(result.server_log, 3),
                           "full log: " + result.server_log);
    if (pid <= 0) continue;
    auto conn = ConnectPostgres(*conninfo, "the restored server", 2);
    if (!conn.ok()) continue;  // still starting, or not accepting connections during recovery
    auto r = (*conn)->Query(
        "SELECT pg_is_in_recovery()::text, pg_last_wal_replay_lsn()::text, "
        "pg_last_xact_replay_timestamp()::text");
    if (!r.ok()) continue;
    const auto& v = r->rows.at(0).values;
    if (v[0].value_or("true") == "true") continue;
    result.reached_lsn = v[1].value_or("");
    result.reached_time = v[2].value_or("");
    return Status::Ok();
  }
  return Status::Error(ErrorCode::kPostgres,
                       "recovery did not end within " + std::to_string(o.start_timeout_seconds) + " s",
                       "the server keeps running; see " + result.server_log);
}

}  // namespace restore_internal

}  // namespace pgkeep
