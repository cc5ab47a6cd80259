// cli/commands.h — one function per command; each lives in cmd_<name>.cc.
#pragma once

#include <string>
#include <vector>

#include "cli/command.h"

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

CommandOutput RunList(const CommandContext& ctx);
CommandOutput RunInfo(const CommandContext& ctx, const std::string& snapshot);
CommandOutput RunVerify(const CommandContext& ctx, bool read_data);

}  // namespace pgkeep
