// cli/commands.h — one function per command; each lives in cmd_<name>.cc and
// is reached through the table in cli/command_table.cc.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"
#include "drill/drill.h"
#include "restore/logical_restore.h"
#include "restore/physical_restore.h"

namespace pgkeep {

CommandOutput RunInit(const CommandContext& ctx);

struct StoreArgs {
  std::vector<std::string> paths;  // files or directories; "-" is standard input
  std::string stdin_name = "stdin";
  std::string label;
  bool allow_empty = false;  // accept an empty standard input
  std::string db;            // file the snapshot under this database's retention
};
CommandOutput RunStore(const CommandContext& ctx, const StoreArgs& args);

struct LoadArgs {
  std::string snapshot;            // id or "latest"
  std::vector<std::string> files;  // empty: all
  std::string to_dir;              // or...
  bool to_stdout = false;
};
CommandOutput RunLoad(const CommandContext& ctx, const LoadArgs& args);

struct BackupArgs {
  std::string db;
  std::string type;  // empty: by the database's method
  std::string label;
  bool pin = false;  // pin it right away (the pre-deploy case)
  std::string note;
};
CommandOutput RunBackup(const CommandContext& ctx, const BackupArgs& args);

struct RestoreArgs {
  std::string db;
  LogicalRestoreOptions options;
  // Physical restores (--pgdata); backup and jobs come from `options`.
  PhysicalRestoreOptions physical;
  bool jobs_given = false;  // --jobs on the command line (else each kind's default)
  bool no_reapply_erasures = false;
};
CommandOutput RunRestore(const CommandContext& ctx, const RestoreArgs& args);
CommandOutput RunExport(const CommandContext& ctx, const std::string& id, const std::string& file,
                        const std::string& db);

struct DrillArgs {
  std::string db;  // empty: every configured database, in turn
  DrillOptions options;
  std::string html;  // also write the report as one HTML file here
  bool history = false;
  size_t limit = 20;  // with history
};
CommandOutput RunDrillCommand(const CommandContext& ctx, const DrillArgs& args);

CommandOutput RunStatus(const CommandContext& ctx, const std::string& db);
CommandOutput RunExpireCommand(const CommandContext& ctx, bool dry_run);

struct PinArgs {
  std::string snapshot;
  std::string until;  // date; empty: until unpinned
  std::string note;
  bool unpin = false;
};
CommandOutput RunPin(const CommandContext& ctx, const PinArgs& args);

struct CopyArgs {
  std::string to;      // [[copy]] name
  std::string db;      // empty: every database
  std::string backup;  // empty: every backup; "latest" or an id
};
CommandOutput RunCopy(const CommandContext& ctx, const CopyArgs& args);

struct RetentionArgs {
  std::string action;  // "run" | "report"
  std::string policy;  // empty: every [[retention_policy]]
  bool dry_run = false;
};
CommandOutput RunRetention(const CommandContext& ctx, const RetentionArgs& args);

CommandOutput RunWalPush(const CommandContext& ctx, const std::string& db, const std::string& path);
CommandOutput RunWalFetch(const CommandContext& ctx, const std::string& db, const std::string& name,
                          const std::string& dest);
CommandOutput RunCheck(const CommandContext& ctx, const std::string& db, int timeout_seconds);

struct ServeArgs {
  int job_timeout_seconds = 6 * 3600;
  int stop_grace_seconds = 60;
};
CommandOutput RunServe(const CommandContext& ctx, const ServeArgs& args);

CommandOutput RunList(const CommandContext& ctx, const std::string& db);
CommandOutput RunInfo(const CommandContext& ctx, const std::string& snapshot);
// With `repair`: rebuilds the index from the packs first (repo/index_rebuild.h),
// under the exclusive lock, then verifies.
CommandOutput RunVerify(const CommandContext& ctx, bool read_data, int subset_percent, bool repair);

}  // namespace pgkeep
