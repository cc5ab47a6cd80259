#include "restore/physical_restore.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "common/file_io.h"
#include "common/subprocess.h"
#include "postgres/connection.h"
#include "postgres/pg_connector.h"
#include "repo/loader.h"
#include "repo/snapshot_meta.h"
#include "wal/archive_command.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

Status Usage(const std::string& message, const std::string& hint = "") {
  return Status::Error(ErrorCode::kUsage, message, hint);
}

std::string FormatMicrosUtc(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1000000));
  return buf;
}

// Empty or absent: fine. Anything else is refused.
Result<bool> DirectoryIsEmpty(Env& env, const std::string& dir) {
  auto names = env.ListDir(dir);
  if (!names.ok()) {
    int err = names.status().os_error();
    if (err == ENOENT) return true;
    if (err == ENOTDIR) return Usage("\"" + dir + "\" is not a directory");
    return OsError("open directory", dir, err);
  }
  return names->empty();
}

// A postgresql.conf string: quotes doubled, backslashes too (the lexer reads
// escapes in quoted strings, as ALTER SYSTEM knows).
std::string ConfQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

int64_t SnapshotStopMicros(const Snapshot& s) {
  return s.meta.value(kMetaStopMicros, int64_t{s.stop_time} * 1000000);
}

uint64_t SnapshotStopLsn(const Snapshot& s) {
  return ParseLsn(s.meta.value(kMetaStopLsn, "0/0")).value_or(0);
}

// Whose files these will be (root restoring for the postgres user).
struct Owner {
  bool change = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

Owner ChooseOwner(Env& env, const std::string& pgdata) {
  Owner o;
  if (env.EffectiveUserId() != 0) return o;
  auto st = env.Stat(pgdata);
  if (st.ok() && st->uid != 0) {
    o = {true, st->uid, st->gid, ""};
    if (auto account = env.FindUserById(st->uid)) o.name = account->name;
    return o;
  }
  if (auto account = env.FindUser("postgres")) return {true, account->uid, account->gid, "postgres"};
  return o;
}

class Writer {
 public:
  Writer(Env& env, const Owner& owner) : env_(env), owner_(owner) {}

  Status MakeDir(const std::string& path, uint32_t mode) {
    Status made = env_.CreateDir(path, mode & 07777u);
    if (!made.ok() && made.os_error() != EEXIST) return made;
    (void)env_.SetPermissions(path, mode & 07777u);
    return Own(path);
  }
  Status Own(const std::string& path) {
    if (owner_.change) return env_.SetOwner(path, owner_.uid, owner_.gid);
    return Status::Ok();
  }
  Status WriteFile(Loader& loader, const FileEntry& f, const std::string& path) {
    auto file = env_.NewWritableFile(path, OpenMode::kExclusive, 0600);
    if (!file.ok()) return file.status();
    Status s = loader.LoadFile(f, **file);
    // Start writeback now; a syncfs waits for all of it at the end,
    // so no thread sits in fsync while others could be decoding.
    if (s.ok()) (*file)->StartWriteback();
    Status closed = (*file)->Close();
    if (s.ok()) s = closed;
    if (s.ok()) s = env_.SetPermissions(path, f.mode & 07777u);
    if (s.ok() && owner_.change) s = env_.SetOwner(path, owner_.uid, owner_.gid);
    if (s.ok()) (void)env_.SetModifiedTime(path, f.mtime);
    return s;
  }

 private:
  Env& env_;
  const Owner& owner_;
};

// Where a snapshot path goes: tablespace files to their recorded location.
struct PathMap {
  std::string pgdata;
  std::map<std::string, std::string> tablespaces;  // oid -> location

  // Returns the destination; *link_oid set for the pg_tblspc/<oid> entry itself.
  std::string Map(const std::string& path, std::string* link_oid) const {
    if (path.rfind("pg_tblspc/", 0) == 0) {
      std::string rest = path.substr(10);
      std::string oid = rest.substr(0, rest.find('/'));
      auto it = tablespaces.find(oid);
      if (it != tablespaces.end()) {
        if (rest == oid) {
          *link_oid = oid;
          return it->second;
        }
        return it->second + rest.substr(oid.size());
      }
    }
    return pgdata + "/" + path;
  }
};

constexpr char kSettingsMarker[] = "# Added by pgkeep restore";

}  // namespace

std::string WithoutEarlierRecoverySettings(const std::string& text) {
  static const std::regex recovery_key(R"(^\s*(restore_command|recovery_target\w*)\s*=)");
  std::istringstream in(text);
  std::string out, line;
  bool in_pgkeep_block = false;
  while (std::getline(in, line)) {
    if (line.rfind(kSettingsMarker, 0) == 0) in_pgkeep_block = true;
    else if (line.find_first_not_of(" \t") == std::string::npos) in_pgkeep_block = false;
    if (in_pgkeep_block || std::regex_search(line, recovery_key)) continue;
    out += line + "\n";
  }
  return out;
}

namespace {

Status WriteRecoverySettings(Env& env, const PhysicalRestoreOptions& o, const DatabaseConfig& db, const Owner& owner,
                             const PhysicalRestoreResult& result, const std::string& target_line, int64_t now) {
  const Snapshot& backup = result.backup;
  std::string conf = o.pgdata + "/postgresql.auto.conf";
  auto restored = ReadWholeFile(env, conf);
  if (!restored.ok() && restored.status().code() != ErrorCode::kNotFound) return restored.status();
  std::ostringstream text;
  text << WithoutEarlierRecoverySettings(restored.ok() ? std::string(AsString(*restored)) : "");
  text << "\n" << kSettingsMarker << " of backup " << backup.id << " at " << FormatMicrosUtc(now * 1000000)
       << "\nrestore_command = "
       << ConfQuote(PgkeepCommandLine(env, o.config_path, "wal-fetch", db.name, "%f %p")) << "\n";
  if (!target_line.empty()) text << target_line << "\nrecovery_target_action = 'promote'\n";
  // Explicit, never PostgreSQL's default "latest": that follows the highest
  // timeline in the archive, which may be a restored copy's.
  text << "recovery_target_timeline = " << ConfQuote(result.recovery_timeline) << "\n";
  if (!result.archiving) text << "archive_mode = 'off'\n";
  if (o.port > 0) text << "port = " << o.port << "\n";
  std::string signal = o.pgdata + "/recovery.signal";
  PGKEEP_RETURN_IF_ERROR(WriteFileAtomically(env, conf, AsBytes(text.str()), 0600));
  PGKEEP_RETURN_IF_ERROR(WriteFileAtomically(env, signal, {}, 0600));
  for (const std::string& path : {conf, signal})
    if (owner.change) PGKEEP_RETURN_IF_ERROR(env.SetOwner(path, owner.uid, owner.gid));
  return Status::Ok();
}

std::string LogTail(Env& env, const std::string& path, int lines) {
  auto log = ReadWholeFile(env, path);
  std::istringstream in(log.ok() ? std::string(AsString(*log)) : "");
  std::vector<std::string> all;
  for (std::string l; std::getline(in, l);) all.push_back(l);
  std::string out;
  for (size_t i = all.size() > static_cast<size_t>(lines) ? all.size() - lines : 0; i < all.size(); ++i)
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

Status StartAndWait(Env& env, PgConnector& connector, const PhysicalRestoreOptions& o, const DatabaseConfig& db,
                    const Owner& owner, const Snapshot& backup, PhysicalRestoreResult& result) {
  int major = backup.meta.value(kMetaServerVersionNum, 150000) / 10000;
  std::string bin = db.pg_bin;
  std::string versioned = "/usr/lib/postgresql/" + std::to_string(major) + "/bin";
  if (bin.empty() && env.IsExecutable(versioned + "/pg_ctl")) bin = versioned;
  auto pg_ctl = connector.FindTool("pg_ctl", major, bin);
  if (!pg_ctl.ok()) return pg_ctl.status();

  auto made = CreateUniqueDirectory(env, "/tmp/pgkeep-restore-", 0700);
  if (!made.ok()) return OsError("create", "/tmp/pgkeep-restore-*", made.status().os_error());
  std::string run_dir = *made;
  if (owner.change) PGKEEP_RETURN_IF_ERROR(env.SetOwner(run_dir, owner.uid, owner.gid));
  result.server_log = run_dir + "/server.log";
  int port = o.port > 0 ? o.port : std::atoi(backup.meta.value(kMetaPort, "5432").c_str());
  result.port = port;
  result.socket_dir = run_dir;

  std::vector<std::string> argv;
  if (owner.change) {
    const char* runuser = env.IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
    argv = {runuser, "-u", owner.name.empty() ? std::to_string(owner.uid) : owner.name, "--"};
  }
  for (const std::string& a :
       {pg_ctl->path, std::string("-D"), o.pgdata, std::string("-l"), result.server_log, std::string("-W"),
        std::string("-o"), "-c unix_socket_directories=" + run_dir + " -p " + std::to_string(port),
        std::string("start")})
    argv.push_back(a);
  auto proc = connector.RunTool(PgToolCommand{argv, false, o.child_env_drop});
  if (!proc.ok()) return proc.status();
  int code = (*proc)->Wait();
  if (code != 0) {
    // pg_ctl itself only says the server did not start; why is in its log.
    std::string why = (*proc)->ErrorSummary();
    auto log = ReadWholeFile(env, result.server_log);
    std::string from_log = log.ok() ? FirstErrorLines(std::string(AsString(*log))) : "";
    if (!from_log.empty()) why = from_log;
    return Status::Error(ErrorCode::kTool, "pg_ctl start failed (exit " + std::to_string(code) + "): " + why,
                         "full log: " + result.server_log);
  }
  result.started = true;

  auto conninfo = ConninfoWith(db.conninfo, {{"host", run_dir}, {"port", std::to_string(port)},
                                             {"dbname", "postgres"}, {"hostaddr", ""}});
  if (!conninfo.ok()) return conninfo.status();
  int64_t deadline = env.MonotonicMicros() + int64_t{o.start_timeout_seconds} * 1000000;
  int64_t grace = env.MonotonicMicros() + 30 * 1000000;
  while (env.MonotonicMicros() < deadline) {
    env.SleepForMicros(300 * 1000);
    pid_t pid = PostmasterPid(env, o.pgdata);
    if ((pid <= 0 && env.MonotonicMicros() > grace) || (pid > 0 && !env.ProcessExists(pid)))
      return Status::Error(ErrorCode::kPostgres,
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
  return Status::Error(ErrorCode::kPostgres,
                       "recovery did not end within " + std::to_string(o.start_timeout_seconds) + " s",
                       "the server keeps running; see " + result.server_log);
}

}  // namespace

Result<TargetTime> ParseTargetTime(const std::string& text) {
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.(\d{1,6}))?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    return Usage("--target-time \"" + text + "\" is not a time",
                 "write it as \"2026-11-23 14:05:00+00\" (UTC when no zone is given)");
  struct tm tm = {};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return Usage("--target-time \"" + text + "\" is not a valid time");
  struct tm asked = tm;
  time_t t = timegm(&tm);
  struct tm back;
  gmtime_r(&t, &back);
  // timegm normalises "February 31" to March 3: such a date is no date.
  if (back.tm_year != asked.tm_year || back.tm_mon != asked.tm_mon || back.tm_mday != asked.tm_mday ||
      back.tm_hour != asked.tm_hour || back.tm_min != asked.tm_min || back.tm_sec != asked.tm_sec)
    return Usage("--target-time \"" + text + "\" is not a valid time");
  int64_t secs = static_cast<int64_t>(t);
  std::string frac = m[8].matched ? m[8].str() : "";
  while (frac.size() < 6) frac += '0';
  int64_t micros = secs * 1000000 + std::stoll(frac);
  std::string zone = m[9].matched ? m[9].str() : "";
  if (!zone.empty() && zone != "Z" && zone != "UTC") {
    int sign = zone[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : zone.substr(1))
      if (c != ':') digits += c;
    int hours = std::stoi(digits.substr(0, 2)), minutes = digits.size() > 2 ? std::stoi(digits.substr(2)) : 0;
    if (hours > 15 || minutes > 59) return Usage("--target-time \"" + text + "\" has an invalid time zone offset");
    int offset = hours * 3600 + minutes * 60;
    micros -= sign * int64_t{offset} * 1000000;
  }
  return TargetTime{micros, FormatMicrosUtc(micros)};
}

Status CheckPhysicalRestoreRequest(Env& env, const PhysicalRestoreOptions& o) {
  int targets = !o.target_time.empty() + !o.target_lsn.empty() + !o.target_name.empty() + !o.target.empty();
  if (targets > 1)
    return Usage("give at most one of --target-time, --target-lsn, --target-name and --target");
  if (!o.target.empty() && o.target != "latest" && o.target != "immediate")
    return Usage("--target must be \"latest\" or \"immediate\", not \"" + o.target + "\"");
  if (!o.target_time.empty()) {
    auto t = ParseTargetTime(o.target_time);
    if (!t.ok()) return t.status();
  }
  if (o.target_name.size() > 63 || o.target_name.find_first_of("\r\n") != std::string::npos)
    return Usage("--target-name must be one line of at most 63 bytes, as pg_create_restore_point allows");
  if (!o.target_lsn.empty() && !ParseLsn(o.target_lsn))
    return Usage("--target-lsn \"" + o.target_lsn + "\" is not an LSN", "write it as PostgreSQL does: 0/3000028");
  if (o.pgdata.empty()) return Usage("--pgdata DIR is required for a physical restore");
  if (o.pgdata[0] != '/') return Usage("--pgdata must be an absolute path, not \"" + o.pgdata + "\"");
  auto empty = DirectoryIsEmpty(env, o.pgdata);
  if (!empty.ok()) return empty.status();
  if (!*empty)
    return Usage("--pgdata \"" + o.pgdata + "\" is not empty",
                 "restore into a new or empty directory; pgkeep never overwrites a data directory");
  if (o.port < 0 || o.port > 65535) return Usage("--port must be 1..65535");
  if (!o.target_timeline.empty() && o.target_timeline != "latest" &&
      (o.target_timeline.size() > 10 || o.target_timeline.find_first_not_of("0123456789") != std::string::npos ||
       std::stoull(o.target_timeline) == 0 || std::stoull(o.target_timeline) > UINT32_MAX))
    return Usage("--target-timeline must be a timeline number or \"latest\", not \"" + o.target_timeline + "\"");
  if (!o.target_timeline.empty() && o.target == "immediate")
    return Usage("--target immediate ends recovery with the backup: --target-timeline does not apply");
  for (const auto& [oid, dir] : o.tablespace_map)
    if (oid.empty() || dir.empty() || dir[0] != '/' || oid.find_first_not_of("0123456789") != std::string::npos)
      return Usage("--tablespace-map takes OID=/absolute/dir, not \"" + oid + "=" + dir + "\"");
  return Status::Ok();
}

namespace {

uint32_t SnapshotTimeline(const Snapshot& s) {
  auto it = s.meta.find(kMetaTimeline);
  if (it == s.meta.end() || !it->is_number_integer()) return 1;
  int64_t tli = it->get<int64_t>();
  return tli > 0 && tli <= UINT32_MAX ? static_cast<uint32_t>(tli) : 1;
}

std::string ForkText(const TimelineTree& tree, uint32_t tli) {
  auto fork = tree.Fork(tli);
  return fork ? "timeline " + std::to_string(tli) + " forked from timeline " + std::to_string(fork->parent) +
                    " at " + FormatLsn(fork->switch_lsn)
              : "timeline " + std::to_string(tli) + " has no recorded parent";
}

// The backup among `candidates` (commit order) the target asks for.
Result<Snapshot> ChooseByTarget(const std::vector<const Snapshot*>& candidates, const std::string& db,
                                const PhysicalRestoreOptions& o) {
  if (!o.target_name.empty()) return *candidates.front();
  if (o.target_time.empty() && o.target_lsn.empty()) return *candidates.back();
  const Snapshot* best = nullptr;
  for (const Snapshot* s : candidates) {
    bool before = !o.target_time.empty() ? SnapshotStopMicros(*s) <= ParseTargetTime(o.target_time)->micros
                                         : SnapshotStopLsn(*s) <= *ParseLsn(o.target_lsn);
    if (before) best = s;
  }
  if (best) return *best;
  const Snapshot& first = *candidates.front();
  return Status::Error(
      ErrorCode::kNotFound,
      !o.target_time.empty()
          ? "--target-time " + o.target_time + " is before the first backup of database \"" + db +
                "\" became consistent (" + FormatMicrosUtc(SnapshotStopMicros(first)) + ")"
          : "--target-lsn " + o.target_lsn + " is before the first backup of database \"" + db + "\" ends (" +
                first.meta.value(kMetaStopLsn, "") + ")",
      "no backup can recover to that point; pgkeep list --db " + db + " shows what there is");
}

Status CheckGivenBackup(const Snapshot& s, const PhysicalRestoreOptions& o) {
  if (!o.target_time.empty() && ParseTargetTime(o.target_time)->micros < SnapshotStopMicros(s))
    return Usage("--target-time " + o.target_time + " is before backup " + s.id + " became consistent (" +
                     FormatMicrosUtc(SnapshotStopMicros(s)) + ")",
                 "choose an earlier backup, or leave out --backup to pick one automatically");
  if (!o.target_lsn.empty() && *ParseLsn(o.target_lsn) < SnapshotStopLsn(s))
    return Usage("--target-lsn " + o.target_lsn + " is before backup " + s.id + " ends (" +
                 s.meta.value(kMetaStopLsn, "") + ")");
  return Status::Ok();
}

}  // namespace

bool IsInPlaceRestore(Env& env, const std::string& pgdata, const std::string& configured) {
  if (configured.empty()) return false;
  auto canonical = [&env](const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto real = env.RealPath(p);
    return real.ok() ? *real : p;
  };
  return canonical(pgdata) == canonical(configured);
}

Result<RestoreChoice> ChooseBackup(const std::vector<Snapshot>& all, const std::string& db,
                                   const PhysicalRestoreOptions& o, const TimelineTree& tree) {
  std::vector<const Snapshot*> physical;
  for (const auto& s : all)
    if (IsPhysicalKind(s.kind) && SnapshotDatabase(s) == db) physical.push_back(&s);
  const Snapshot* given = nullptr;
  if (!o.backup.empty() && o.backup != "latest") {
    for (const auto& s : all)
      if (s.id == o.backup) given = &s;
    if (!given)
      return Status::Error(ErrorCode::kNotFound, "no backup \"" + o.backup + "\" in the repository",
                           "pgkeep list --db " + db + " shows the backups");
    if (!IsPhysicalKind(given->kind) || SnapshotDatabase(*given) != db)
      return Usage("backup " + given->id + " is not a physical backup of database \"" + db + "\"",
                   "pgkeep list --db " + db + " shows its backups");
    PGKEEP_RETURN_IF_ERROR(CheckGivenBackup(*given, o));
  }
  if (physical.empty())
    return Status::Error(ErrorCode::kNotFound, "no physical backup of database \"" + db + "\" in the repository",
                         "take one with: pgkeep backup --db " + db);

  // The lineage: the one asked for, else the newest backup's timeline (the
  // production database's, whatever copies archived beside it).
  RestoreChoice choice;
  bool follow_latest = o.target_timeline == "latest";
  bool explicit_timeline = !o.target_timeline.empty() && !follow_latest;
  uint32_t tli = SnapshotTimeline(*physical.back());
  if (explicit_timeline) {
    tli = static_cast<uint32_t>(std::stoul(o.target_timeline));
    bool has_backup = std::any_of(physical.begin(), physical.end(),
                                  [&](const Snapshot* s) { return SnapshotTimeline(*s) == tli; });
    if (!tree.Known(tli) && !has_backup)
      return Usage("timeline " + o.target_timeline + " of database \"" + db + "\" is not in the repository",
                   "pgkeep status --db " + db + " shows its timelines");
  }
  auto on_lineage = [&](const Snapshot& s) {
    return follow_latest || tree.Contains(tli, SnapshotTimeline(s), SnapshotStopLsn(s));
  };
  if (given) {
    if (!on_lineage(*given)) {
      if (explicit_timeline)
        return Usage("backup " + given->id + " (timeline " + std::to_string(SnapshotTimeline(*given)) + ", ends " +
                         given->meta.value(kMetaStopLsn, "") + ") is not in the history of timeline " +
                         std::to_string(tli) + " (" + ForkText(tree, tli) + ")",
                     "leave out --backup to pick one on that timeline");
      tli = SnapshotTimeline(*given);
    }
    choice.backup = *given;
  } else {
    std::vector<const Snapshot*> candidates;
    for (const Snapshot* s : physical)
      if (on_lineage(*s)) candidates.push_back(s);
    if (candidates.empty())
      return Status::Error(ErrorCode::kNotFound,
                           "no backup of database \"" + db + "\" lies in the history of timeline " +
                               std::to_string(tli) + " (" + ForkText(tree, tli) + ")",
                           "restore from a backup taken on that timeline's past; pgkeep list --db " + db);
    auto chosen = ChooseByTarget(candidates, db, o);
    if (!chosen.ok()) return chosen.status();
    choice.backup = *chosen;
  }
  if (follow_latest) return choice;  // timeline 0: "latest"
  choice.timeline = tli;
  // Timelines that fork off this lineage after the backup could have been
  // followed: say they were not, and how to.
  uint32_t backup_tli = SnapshotTimeline(choice.backup);
  uint64_t backup_stop = SnapshotStopLsn(choice.backup);
  for (uint32_t other : tree.Timelines()) {
    auto lineage = tree.Lineage(tli);
    bool ancestor = std::any_of(lineage.begin(), lineage.end(), [&](const TimelineSpan& x) { return x.timeline == other; });
    if (ancestor || !tree.Contains(other, backup_tli, backup_stop)) continue;
    choice.notes.push_back(ForkText(tree, other) + " and is not followed; --target-timeline " +
                           std::to_string(other) + " follows it");
  }
  return choice;
}

Result<PhysicalRestoreResult> RunPhysicalRestore(Env& env, Repository& repo, PgConnector& connector,
                                                 const DatabaseConfig& db,
                                                 const PhysicalRestoreOptions& o) {
  PGKEEP_RETURN_IF_ERROR(CheckPhysicalRestoreRequest(env, o));
  auto all = repo.ListSnapshots();
  if (!all.ok()) return all.status();
  auto wal_listing = repo.storage().List(WalPrefix(db.name));
  if (!wal_listing.ok()) return wal_listing.status();
  auto timelines = ReadTimelineReport(repo, db.name, *wal_listing);
  if (!timelines.ok()) return timelines.status();
  auto chosen = ChooseBackup(all->snapshots, db.name, o, timelines->tree);
  if (!chosen.ok()) return chosen.status();
  PhysicalRestoreResult result;
  result.backup = chosen->backup;
  result.notes = chosen->notes;
  for (const auto& d : timelines->damaged) result.notes.push_back("skipped damaged " + d);
  result.recovery_timeline = chosen->timeline == 0 ? "latest" : std::to_string(chosen->timeline);
  result.archiving = o.archive_mode == PhysicalRestoreOptions::ArchiveMode::kPreserve ||
                     (o.archive_mode == PhysicalRestoreOptions::ArchiveMode::kAuto && IsInPlaceRestore(env, o.pgdata, db.pgdata));

  std::string target_line;
  if (!o.target_time.empty())
    target_line = "recovery_target_time = " + ConfQuote(ParseTargetTime(o.target_time)->text);
  else if (!o.target_lsn.empty())
    target_line = "recovery_target_lsn = " + ConfQuote(o.target_lsn);
  else if (!o.target_name.empty())
    target_line = "recovery_target_name = " + ConfQuote(o.target_name);
  else if (o.target == "immediate")
    target_line = "recovery_target = 'immediate'";
  result.recovery_target = target_line.empty() ? "end of archived WAL (latest)" : target_line;

  Loader manifest_loader(repo);
  auto files = manifest_loader.ReadManifest(result.backup);
  if (!files.ok()) return files.status();

  Owner owner = ChooseOwner(env, o.pgdata);
  PathMap map{o.pgdata, {}};
  for (const auto& t : result.backup.meta.value(kMetaTablespaces, nlohmann::json::array()))
    map.tablespaces[t.value("oid", "")] = t.value("location", "");
  for (const auto& [oid, dir] : o.tablespace_map) {
    if (!map.tablespaces.count(oid))
      return Usage("--tablespace-map " + oid + "=" + dir + ": backup " + result.backup.id +
                       " has no tablespace " + oid,
                   map.tablespaces.empty() ? "it has no tablespaces" : "pgkeep info " + result.backup.id + " lists them");
    map.tablespaces[oid] = dir;
  }
  for (const auto& [oid, location] : map.tablespaces) {
    auto empty = DirectoryIsEmpty(env, location);
    if (!empty.ok()) return empty.status();
    if (!*empty)
      return Usage("tablespace " + oid + " location \"" + location + "\" is not empty",
                   "restore it elsewhere with --tablespace-map " + oid + "=DIR, or empty that directory");
  }

  Writer writer(env, owner);
  PGKEEP_RETURN_IF_ERROR(writer.MakeDir(o.pgdata, 0700));
  std::vector<const FileEntry*> regular;
  for (const auto& f : *files) {
    std::string link_oid;
    std::string dest = map.Map(f.path, &link_oid);
    if (f.mode & S_IFDIR) {
      PGKEEP_RETURN_IF_ERROR(writer.MakeDir(dest, f.mode));
      if (!link_oid.empty()) {
        // A streamed backup may list a tablespace before pg_tblspc itself.
        PGKEEP_RETURN_IF_ERROR(writer.MakeDir(o.pgdata + "/pg_tblspc", 0700));
        std::string link = o.pgdata + "/" + f.path;
        PGKEEP_RETURN_IF_ERROR(env.CreateSymlink(dest, link));
        PGKEEP_RETURN_IF_ERROR(writer.Own(link));
      }
    } else if (f.path != "tablespace_map" || map.tablespaces.empty()) {
      regular.push_back(&f);
    }
  }
  // Biggest first, so the threads finish together.
  std::stable_sort(regular.begin(), regular.end(),
                   [](const FileEntry* a, const FileEntry* b) { return a->size > b->size; });
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status error;
  auto work = [&] {
    Loader loader(repo, 1);
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= regular.size()) return;
      std::string unused;
      Status s = writer.WriteFile(loader, *regular[k], map.Map(regular[k]->path, &unused));
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (error.ok()) error = s;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, o.threads); ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  PGKEEP_RETURN_IF_ERROR(error);
  for (const auto& f : *files) {
    if (!(f.mode & S_IFDIR)) {
      ++result.files;
      result.bytes += f.size;
    }
  }
  for (const auto& f : *files) {
    std::string unused;
    if (f.mode & S_IFDIR) PGKEEP_RETURN_IF_ERROR(env.SyncDir(map.Map(f.path, &unused)));
  }
  PGKEEP_RETURN_IF_ERROR(env.SyncDir(o.pgdata));
  PGKEEP_RETURN_IF_ERROR(env.SyncFileSystem(o.pgdata));
  for (const auto& [oid, location] : map.tablespaces) PGKEEP_RETURN_IF_ERROR(env.SyncFileSystem(location));
  PGKEEP_RETURN_IF_ERROR(
      WriteRecoverySettings(env, o, db, owner, result, target_line, repo.clock().NowSeconds()));
  if (o.start) PGKEEP_RETURN_IF_ERROR(StartAndWait(env, connector, o, db, owner, result.backup, result));
  return result;
}

}  // namespace pgkeep
