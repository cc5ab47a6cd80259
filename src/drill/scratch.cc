#include "drill/scratch.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "config/config.h"
#include "postgres/connection.h"
#include "repo/snapshot.h"
#include "restore/physical_restore.h"

namespace pgkeep {

namespace {

constexpr char kLedgerDir[] = ".pgkeep-drills";
constexpr uint64_t kMaxLedgerSize = 64 << 10;

std::string LedgerDir(const std::string& scratch_dir) { return scratch_dir + "/" + kLedgerDir; }

std::string BootId(Env& env) {
  auto text = ReadWholeFile(env, "/proc/sys/kernel/random/boot_id", 128);
  if (!text.ok()) return "";
  std::string id(AsString(*text));
  while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
  return id;
}

// Ours: not a symlink, owned by our user, nobody else may write (or, for the
// directory, even enter) it.
Status CheckOurs(Env& env, const std::string& path, FileType type, mode_t forbidden) {
  auto info = env.Stat(path, /*follow_symlinks=*/false);
  if (!info.ok()) return info.status();
  if (info->type != type || info->uid != env.EffectiveUserId() || (info->mode & forbidden) != 0)
    return Status::Error(
        ErrorCode::kConfig,
        "\"" + path + "\" is not a drill ledger of this user (owner, mode or type)",
        "remove it, or point --scratch-dir elsewhere");
  return Status::Ok();
}

nlohmann::json ToJson(const ScratchEntry& e) {
  return {{"id", e.id},
          {"pid", e.pid},
          {"host", e.host},
          {"boot_id", e.boot_id},
          {"database", e.database},
          {"dir", e.dir},
          {"run_dir", e.run_dir},
          {"pgdata", e.pgdata},
          {"server_major", e.server_major},
          {"pg_bin", e.pg_bin},
          {"scratch_db", e.scratch_db},
          {"conninfo", e.conninfo}};
}

std::optional<ScratchEntry> FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  try {
    ScratchEntry e;
    e.id = j.at("id").get<std::string>();
    e.pid = j.at("pid").get<int>();
    e.host = j.at("host").get<std::string>();
    e.boot_id = j.value("boot_id", "");
    e.database = j.value("database", "");
    e.dir = j.value("dir", "");
    e.run_dir = j.value("run_dir", "");
    e.pgdata = j.value("pgdata", "");
    e.server_major = j.value("server_major", 0);
    e.pg_bin = j.value("pg_bin", "");
    e.scratch_db = j.value("scratch_db", "");
    e.conninfo = j.value("conninfo", "");
    return e;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

Result<ScratchLedger> ScratchLedger::Create(Env& env, const std::string& scratch_dir,
                                            ScratchEntry entry) {
  std::string dir = LedgerDir(scratch_dir);
  Status made = env.CreateDir(dir, 0700);
  if (!made.ok() && made.os_error() != EEXIST) return made;
  PGKEEP_RETURN_IF_ERROR(CheckOurs(env, dir, FileType::kDirectory, 077));
  entry.pid = static_cast<int>(env.ProcessId());
  entry.host = env.HostName();
  entry.boot_id = BootId(env);
  std::string path = dir + "/" + entry.id + ".json";
  ScratchLedger ledger(env, std::move(path), std::move(entry));
  PGKEEP_RETURN_IF_ERROR(ledger.Record());
  return ledger;
}

Status ScratchLedger::Record() {
  std::string text = ToJson(entry_).dump() + "\n";
  return WriteFileAtomically(*env_, path_, AsBytes(text), 0600);
}

Status ScratchLedger::Forget() {
  Status s = env_->RemoveFile(path_);
  if (!s.ok() && s.os_error() != ENOENT) return s;
  return SyncParentDirectory(*env_, path_);
}

std::vector<std::string> TearDownScratch(Env& env, PgConnector& connector, const ScratchEntry& e,
                                         const std::vector<std::string>& child_env_drop) {
  std::vector<std::string> problems;
  if (!e.pgdata.empty()) {
    DatabaseConfig db;
    db.pg_bin = e.pg_bin;
    Status s = StopRestoredServer(env, connector, db, e.pgdata, e.server_major, child_env_drop);
    if (!s.ok())
      problems.push_back("the scratch server on " + e.pgdata + " may still run: " + s.message());
  }
  if (!e.scratch_db.empty()) {
    Status s;
    auto admin_info = ConninfoWithDbname(e.conninfo, "postgres");
    if (!admin_info.ok()) {
      s = admin_info.status();
    } else {
      auto admin =
          connector.Connect(*admin_info, "the server of scratch database \"" + e.scratch_db + "\"");
      s = admin.ok() ? (*admin)->Exec("DROP DATABASE IF EXISTS " + QuoteIdent(e.scratch_db) +
                                      " WITH (FORCE)")
                     : admin.status();
    }
    if (!s.ok())
      problems.push_back("scratch database \"" + e.scratch_db + "\" is left: " + s.message());
  }
  for (const std::string& dir : {e.dir, e.run_dir}) {
    if (dir.empty()) continue;
    Status s = RemoveTree(env, dir);
    if (!s.ok()) problems.push_back("scratch directory " + dir + " is left: " + s.message());
  }
  return problems;
}

std::string ScratchDirFor(const std::string& scratch_dir, const std::string& id) {
  return scratch_dir + "/pgkeep-drill-" + id;
}
std::string RunDirFor(const std::string& id) { return "/tmp/pgkeep-drill-" + id; }
std::string ScratchDatabaseFor(const std::string& id) {
  return "pgkeep_drill_" + id.substr(id.size() - 8);
}

std::vector<std::string> CleanupLeftoverDrills(
    Env& env, PgConnector& connector, const std::string& scratch_dir,
    const std::map<std::string, DatabaseConfig>& databases,
    const std::vector<std::string>& child_env_drop) {
  std::vector<std::string> out;
  std::string dir = LedgerDir(scratch_dir);
  auto names = env.ListDir(dir);
  if (!names.ok()) return out;  // no ledger directory: no drill ever ran here
  if (Status ours = CheckOurs(env, dir, FileType::kDirectory, 077); !ours.ok())
    return {ours.message() + "; its ledgers are not used"};
  const std::string host = env.HostName();
  const std::string boot = BootId(env);
  for (const auto& name : *names) {
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    const std::string id = name.substr(0, name.size() - 5);
    const std::string path = dir + "/" + name;
    if (!IsValidSnapshotId(id) || !CheckOurs(env, path, FileType::kRegular, 022).ok()) {
      out.push_back("ledger " + path + " is not one pgkeep wrote; left in place");
      continue;
    }
    auto text = ReadWholeFile(env, path, kMaxLedgerSize);
    if (!text.ok()) continue;
    auto entry = FromJson(nlohmann::json::parse(AsString(*text), nullptr, false));
    if (!entry || entry->id != id) {
      out.push_back("ledger " + path + " is unreadable; left in place");
      continue;
    }
    if (entry->host != host) continue;  // another host's drill (a shared scratch directory)
    bool same_boot = !boot.empty() && entry->boot_id == boot;
    if (same_boot && env.ProcessExists(entry->pid)) continue;  // still running
    // Only what a drill with this id may have made, whatever the file says.
    ScratchEntry clean;
    clean.id = id;
    clean.database = entry->database;
    bool odd = false;
    auto take = [&](const std::string& named, const std::string& expected, std::string& into) {
      if (named.empty()) return;
      if (named == expected)
        into = expected;
      else
        odd = true;
    };
    take(entry->dir, ScratchDirFor(scratch_dir, id), clean.dir);
    take(entry->run_dir, RunDirFor(id), clean.run_dir);
    take(entry->pgdata, ScratchDirFor(scratch_dir, id) + "/pgdata", clean.pgdata);
    take(entry->scratch_db, ScratchDatabaseFor(id), clean.scratch_db);
    auto db = databases.find(entry->database);
    if (odd || ((!clean.scratch_db.empty() || !clean.pgdata.empty()) && db == databases.end())) {
      out.push_back("ledger " + path + " names what drill " + id +
                    " cannot have made; left in place");
      continue;
    }
    if (db != databases.end()) {
      clean.conninfo = db->second.conninfo;
      clean.pg_bin = db->second.pg_bin;
    }
    clean.server_major = std::clamp(entry->server_major, 9, 99);
    // After a reboot no server of that drill runs, and its postmaster.pid
    // names a process that is someone else's now: never signal it.
    if (!same_boot) clean.pgdata.clear();
    std::vector<std::string> problems = TearDownScratch(env, connector, clean, child_env_drop);
    if (problems.empty()) {
      (void)env.RemoveFile(path);
      out.push_back("removed the leftovers of drill " + id + " (its process " +
                    std::to_string(entry->pid) +
                    (same_boot ? " is gone)" : " ran before a reboot)"));
    }
    for (auto& p : problems) out.push_back("drill " + id + ": " + p);
  }
  return out;
}

}  // namespace pgkeep
