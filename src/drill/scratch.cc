#include "drill/scratch.h"

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "config/config.h"
#include "postgres/connection.h"
#include "restore/physical_restore.h"

namespace pgkeep {

namespace {

constexpr char kLedgerDir[] = ".pgkeep-drills";
constexpr uint64_t kMaxLedgerSize = 64 << 10;

std::string LedgerDir(const std::string& scratch_dir) { return scratch_dir + "/" + kLedgerDir; }

nlohmann::json ToJson(const ScratchEntry& e) {
  return {{"id", e.id},
          {"pid", e.pid},
          {"host", e.host},
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
  Status made = CreateDirectories(env, dir, 0700);
  if (!made.ok()) return made;
  entry.pid = static_cast<int>(env.ProcessId());
  entry.host = env.HostName();
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

std::vector<std::string> CleanupLeftoverDrills(Env& env, PgConnector& connector,
                                               const std::string& scratch_dir,
                                               const std::vector<std::string>& child_env_drop) {
  std::vector<std::string> out;
  std::string dir = LedgerDir(scratch_dir);
  auto names = env.ListDir(dir);
  if (!names.ok()) return out;  // no ledger directory: no drill ever ran here
  const std::string host = env.HostName();
  for (const auto& name : *names) {
    if (name.size() < 6 || name.substr(name.size() - 5) != ".json") continue;
    std::string path = dir + "/" + name;
    auto text = ReadWholeFile(env, path, kMaxLedgerSize);
    if (!text.ok()) continue;
    auto entry = FromJson(nlohmann::json::parse(AsString(*text), nullptr, false));
    if (!entry) {
      out.push_back("ledger " + path + " is unreadable; left in place");
      continue;
    }
    if (entry->host != host) continue;            // another host's drill
    if (env.ProcessExists(entry->pid)) continue;  // still running
    std::vector<std::string> problems = TearDownScratch(env, connector, *entry, child_env_drop);
    if (problems.empty()) {
      (void)env.RemoveFile(path);
      out.push_back("removed the leftovers of drill " + entry->id + " (its process " +
                    std::to_string(entry->pid) + " is gone)");
    }
    for (auto& p : problems) out.push_back("drill " + entry->id + ": " + p);
  }
  return out;
}

}  // namespace pgkeep
