// cli/commands.h — one function per command; each lives in cmd_<name>.cc.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"
#include "restore/logical_restore.h"

namespace pgkeep {

CommandOutput RunInit(const CommandContext& ctx);

struct StoreArgs {
  std::vector<std::string> paths;  // files or directories; "-" is standard input
  std::string stdin_name = "stdin";
  std::string label;
  bool allow_empty = false;  // accept an empty standard input
};
CommandOutput RunStore(const CommandContext& ctx, const StoreArgs& args);

struct LoadArgs {
  std::string snapshot;  // id or "latest"
  std::vector<std::string> files;  // empty: all
  std::string to_dir;              // or...
  bool to_stdout = false;
};
CommandOutput RunLoad(const CommandContext& ctx, const LoadArgs& args);

struct BackupArgs {
  std::string db;
  std::string type;  // empty: by the database's method
  std::string label;
};
CommandOutput RunBackup(const CommandContext& ctx, const BackupArgs& args);

struct RestoreArgs {
  std::string db;
  LogicalRestoreOptions options;
};
CommandOutput RunRestore(const CommandContext& ctx, const RestoreArgs& args);
CommandOutput RunExport(const CommandContext& ctx, const std::string& id, const std::string& file);

// The [database.NAME] section, or a usage error listing the configured ones.
const DatabaseConfig& DatabaseOrThrow(const Config& config, const std::string& name);

CommandOutput RunList(const CommandContext& ctx, const std::string& db);
CommandOutput RunInfo(const CommandContext& ctx, const std::string& snapshot);
CommandOutput RunVerify(const CommandContext& ctx, bool read_data);

}  // namespace pgkeep
