// cli/command_table.h — every pgkeep command in one table: its name, its
// one-line description, the arguments it takes and the function it calls.
//
// A command only parses, calls an operation and renders its result
// (CommandOutput); RunCli (cli/app.cc) looks the parsed one up here and
// prints what it returns. Adding a command is adding a row.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "cli/command.h"

namespace pgkeep {

// Runs a command whose arguments were parsed.
using CommandRunner = std::function<CommandOutput(const CommandContext&)>;

struct CommandSpec {
  const char* name;
  const char* description;
  // Adds the command's arguments to `sub`; returns what runs it once they
  // are parsed (the arguments live in the runner).
  std::function<CommandRunner(CLI::App& sub)> define;
  // wal-fetch is PostgreSQL's restore_command: a failure other than absence
  // must stop recovery, which only an exit status above 125 does.
  bool failure_stops_recovery = false;
};

// In the order `pgkeep --help` lists them.
const std::vector<CommandSpec>& CommandTable();

}  // namespace pgkeep
