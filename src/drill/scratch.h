// drill/scratch.h — what a drill starts, written down before it exists, so
// the drill itself or, after a crash, the next drill removes exactly that and
// nothing else (never anything found by a name pattern).
//
// One ledger file per running drill: <scratch_dir>/.pgkeep-drills/<id>.json,
// written durably before each resource is made (the scratch directory, the
// restored data directory and its server, a scratch database). A ledger
// whose process no longer runs on this host belongs to a drill that died.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/config.h"
#include "postgres/pg_connector.h"

namespace pgkeep {

struct ScratchEntry {
  std::string id;        // the drill's id
  int pid = 0;           // the drill's process
  std::string host;      // and its host
  std::string boot_id;   // and the host's boot (a pid means nothing after a reboot)
  std::string database;  // the configured database drilled
  std::string dir;       // <scratch_dir>/pgkeep-drill-<id>: the copy's files
  // /tmp/pgkeep-drill-<id>: the copy's socket and log (a socket path must
  // stay under 108 bytes, which a deep scratch directory would not).
  std::string run_dir;
  std::string pgdata;  // a restored data directory whose server may run (physical)
  int server_major = 0;
  std::string pg_bin;      // the database's pg_bin, to find pg_ctl
  std::string scratch_db;  // a scratch database (logical)
  std::string conninfo;    // the server holding it (configs hold no passwords)
};

class ScratchLedger {
 public:
  // Writes the ledger of `entry` (pid and host filled in) under `scratch_dir`.
  static Result<ScratchLedger> Create(Env& env, const std::string& scratch_dir, ScratchEntry entry);
  ScratchEntry& entry() { return entry_; }
  // Writes the entry again, durably: call before making what it now names.
  Status Record();
  // Removes the ledger: call once everything it names is gone.
  Status Forget();

 private:
  ScratchLedger(Env& env, std::string path, ScratchEntry entry)
      : env_(&env), path_(std::move(path)), entry_(std::move(entry)) {}
  Env* env_;
  std::string path_;
  ScratchEntry entry_;
};

// Stops the server, drops the scratch database and removes the directory
// an entry names, each if it exists. Returns one line per problem (what is
// left, and why); empty when everything is gone.
std::vector<std::string> TearDownScratch(Env& env, PgConnector& connector,
                                         const ScratchEntry& entry,
                                         const std::vector<std::string>& child_env_drop);

// Tears down what drills that died left under `scratch_dir` (ledgers of
// processes that no longer run on this host, or of an earlier boot) and
// removes their ledgers. A ledger is trusted only as far as it must be: the
// ledger directory and file must be ours (owner, mode 0700, no symlink), the
// paths and database names it may name are derived from its id and
// `scratch_dir`, and connection strings and programs come from `databases`
// (the configuration), never from the file. Returns one line per drill
// cleaned ("removed the leftovers of drill ID") and per problem.
std::vector<std::string> CleanupLeftoverDrills(
    Env& env, PgConnector& connector, const std::string& scratch_dir,
    const std::map<std::string, DatabaseConfig>& databases,
    const std::vector<std::string>& child_env_drop);

// The paths and names a drill `id` may use under `scratch_dir`.
std::string ScratchDirFor(const std::string& scratch_dir, const std::string& id);
std::string RunDirFor(const std::string& id);           // /tmp/pgkeep-drill-<id>
std::string ScratchDatabaseFor(const std::string& id);  // pgkeep_drill_<its 8 hex>

}  // namespace pgkeep
