// Step 5 of a physical restore: PostgreSQL started on the restored directory,
// and recovery awaited.
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <vector>

#include "common/file_io.h"
#include "postgres/connection.h"
#include "repo/snapshot_meta.h"
#include "restore/physical_restore_steps.h"

namespace pgkeep {

namespace {

std::string LogTail(Env& env, const std::string& path, int lines) {
  auto log = ReadWholeFile(env, path);
  std::istringstream in(log.ok() ? std::string(AsString(*log)) : "");
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size();
       ++i)
    out += (out.empty() ? "" : " | ") + all[i];
  return out;
}

pid_t PostmasterPid(Env& env, const std::string& pgdata) {
  auto text = ReadWholeFile(env, pgdata + "/postmaster.pid");
  std::istringstream in(text.ok() ? std::string(AsString(*text)) : "");
  long pid = 0;
  in >> pid;
  return static_cast<pid_t>(pid);
}

}  // namespace

namespace physical_restore_internal {

namespace {

// A port free when it was chosen can be taken before the server binds it:
// the log line that says so (from byte `from` on), else "".
std::string PortTakenLine(Env& env, const std::string& log, uint64_t from) {
  auto text = ReadWholeFile(env, log);
  if (!text.ok() || text->size() <= from) return "";
  std::string fresh(AsString(ByteView(*text).subspan(from)));
  size_t at = fresh.find("could not bind");
  if (at == std::string::npos) at = fresh.find("Address already in use");
  if (at == std::string::npos) return "";
  size_t start = fresh.rfind('\n', at);
  start = start == std::string::npos ? 0 : start + 1;
  size_t end = fresh.find('\n', at);
  return fresh.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// One start on `port` and the wait for recovery to end; the server log is
// read from `log_from` on (earlier attempts' lines are not this one's).
Status StartOnceAndWait(Env& env, PgConnector& connector, const PhysicalRestoreOptions& o,
                        const DatabaseConfig& db, const Owner& owner, const Snapshot& backup,
                        int port, uint64_t log_from, PhysicalRestoreResult& result) {
  int major = backup.meta.value(kMetaServerVersionNum, 150000) / 10000;
  std::string bin = db.pg_bin;
  std::string versioned = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  if (bin.empty() && env.IsExecutable(versioned + "/pg_ctl")) bin = versioned;
  auto pg_ctl = connector.FindTool("pg_ctl", major, bin);
  if (!pg_ctl.ok()) return pg_ctl.status();

  std::string run_dir = !result.socket_dir.empty() ? result.socket_dir : o.run_dir;
  if (run_dir.empty()) {
    auto made = CreateUniqueDirectory(env, "/tmp/pgkeep-restore-", 0700);
    if (!made.ok()) return OsError("create", "/tmp/pgkeep-restore-*", made.status().os_error());
    run_dir = *made;
  }
  if (owner.change) PGKEEP_RETURN_IF_ERROR(env.SetOwner(run_dir, owner.uid, owner.gid));
  result.server_log = run_dir + "/server.log";
  result.port = port;
  result.socket_dir = run_dir;

  std::vector<std::string> argv;
  if (owner.change) {
    const char* runuser =
        env.IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
    argv = {runuser, "-u", owner.name.empty() ? std::to_string(owner.uid) : owner.name, "--"};
  }
  std::string server_options =
      "-c unix_socket_directories=" + run_dir + " -p " + std::to_string(port);
  for (const auto& [name, value] : o.server_settings) server_options += " -c " + name + "=" + value;
  for (const std::string& a :
       {pg_ctl->path, std::string("-D"), o.pgdata, std::string("-l"), result.server_log,
        std::string("-W"), std::string("-o"), server_options, std::string("start")})
    argv.push_back(a);
  ReportStep(o.progress, "starting PostgreSQL on port " + std::to_string(port));
  auto proc = connector.RunTool(PgToolCommand{argv, false, o.child_env_drop});
  if (!proc.ok()) return proc.status();
  int code = (*proc)->Wait();
  if (code != 0) {
    // pg_ctl itself only says the server did not start; why is in its log.
    std::string why = (*proc)->ErrorSummary();
    auto log = ReadWholeFile(env, result.server_log);
    std::string from_log = log.ok() ? FirstErrorLines(std::string(AsString(*log))) : "";
    if (!from_log.empty()) why = from_log;
    return Status::Error(ErrorCode::kTool,
                         "pg_ctl start failed (exit " + std::to_string(code) + "): " + why,
                         "full log: " + result.server_log);
  }
  result.started = true;

  auto conninfo = ConninfoWith(db.conninfo, {{"host", run_dir},
                                             {"port", std::to_string(port)},
                                             {"dbname", "postgres"},
                                             {"hostaddr", ""}});
  if (!conninfo.ok()) return conninfo.status();
  int64_t deadline = env.MonotonicMicros() + int64_t{o.start_timeout_seconds} * 1000000;
  int64_t grace = env.MonotonicMicros() + 30 * 1000000;
  ReportStep(o.progress, "waiting for recovery to end");
  // Polled often at first (a small recovery ends within a second and a
  // drill's RTO counts every wasted poll), then every 100 ms.
  int64_t pause = 5 * 1000;
  while (env.MonotonicMicros() < deadline) {
    env.SleepForMicros(pause);
    pause = std::min<int64_t>(pause * 2, 100 * 1000);
    if (o.cancel && o.cancel->load() != 0)
      return Status::Error(ErrorCode::kInterrupted, "interrupted while waiting for recovery");
    pid_t pid = PostmasterPid(env, o.pgdata);
    if (pid <= 0)
      if (std::string taken = PortTakenLine(env, result.server_log, log_from); !taken.empty())
        return Status::Error(
            ErrorCode::kPostgres,
            "the restored server could not listen on port " + std::to_string(port) + ": " + taken,
            "choose another --port; full log: " + result.server_log);
    if ((pid <= 0 && env.MonotonicMicros() > grace) || (pid > 0 && !env.ProcessExists(pid)))
      return Status::Error(
          ErrorCode::kPostgres,
          "the restored server stopped during recovery: " + LogTail(env, result.server_log, 3),
          "full log: " + result.server_log);
    if (pid <= 0) continue;
    auto conn = connector.Connect(*conninfo, "the restored server", 2);
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
  return Status::Error(
      ErrorCode::kPostgres,
      "recovery did not end within " + std::to_string(o.start_timeout_seconds) + " s",
      "the server keeps running; see " + result.server_log);
}

}  // namespace

Status StartAndWait(Env& env, PgConnector& connector, const PhysicalRestoreOptions& o,
                    const DatabaseConfig& db, const Owner& owner, const Snapshot& backup,
                    PhysicalRestoreResult& result) {
  int port = o.port > 0 ? o.port : std::atoi(backup.meta.value(kMetaPort, "5432").c_str());
  for (int attempt = 1;; ++attempt) {
    uint64_t log_size = 0;
    if (!result.server_log.empty())
      if (auto st = env.Stat(result.server_log); st.ok()) log_size = st->size;
    Status s = StartOnceAndWait(env, connector, o, db, owner, backup, port, log_size, result);
    if (s.ok() || !o.retry_taken_port || attempt == 3 ||
        PortTakenLine(env, result.server_log, log_size).empty())
      return s;
    auto next = env.FreeLoopbackPort();
    if (!next.ok()) return s;
    ReportStep(o.progress,
               "port " + std::to_string(port) + " was taken; trying " + std::to_string(*next));
    result.notes.push_back("port " + std::to_string(port) +
                           " was taken before the server bound it; started on port " +
                           std::to_string(*next));
    port = *next;
  }
}

}  // namespace physical_restore_internal

using namespace physical_restore_internal;

Status StopRestoredServer(Env& env, PgConnector& connector, const DatabaseConfig& db,
                          const std::string& pgdata, int server_major,
                          const std::vector<std::string>& child_env_drop) {
  pid_t pid = PostmasterPid(env, pgdata);
  if (pid <= 0 || !env.ProcessExists(pid)) return Status::Ok();
  // A postmaster works in its data directory: a pid that now belongs to
  // another process (the server died, the pid was reused) is never signalled.
  auto cwd = env.RealPath("/proc/" + std::to_string(pid) + "/cwd");
  auto dir = env.RealPath(pgdata);
  if (!cwd.ok() || !dir.ok() || *cwd != *dir) return Status::Ok();
  std::string bin = db.pg_bin;
  std::string versioned = "/usr/lib/postgresql/" + std::to_string(server_major) + "/bin";
  if (bin.empty() && env.IsExecutable(versioned + "/pg_ctl")) bin = versioned;
  auto pg_ctl = connector.FindTool("pg_ctl", server_major, bin);
  if (!pg_ctl.ok()) return pg_ctl.status();
  Owner owner = ChooseOwner(env, pgdata);
  std::string why;
  for (const char* mode : {"fast", "immediate"}) {
    std::vector<std::string> argv;
    if (owner.change) {
      const char* runuser =
          env.IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
      argv = {runuser, "-u", owner.name.empty() ? std::to_string(owner.uid) : owner.name, "--"};
    }
    for (const std::string& a :
         {pg_ctl->path, std::string("-D"), pgdata, std::string("-m"), std::string(mode),
          std::string("-w"), std::string("-t"), std::string("60"), std::string("stop")})
      argv.push_back(a);
    auto proc = connector.RunTool(PgToolCommand{argv, false, child_env_drop});
    if (!proc.ok()) return proc.status();
    int code = (*proc)->Wait();
    if (code == 0) return Status::Ok();
    why = (*proc)->ErrorSummary();
  }
  return Status::Error(ErrorCode::kTool, "pg_ctl stop failed for \"" + pgdata + "\": " + why);
}

}  // namespace pgkeep
