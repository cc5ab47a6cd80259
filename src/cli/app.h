// cli/app.h — command-line parsing and dispatch; main() only wires the real
// clock and storage drivers into RunCli.
#pragma once

#include "cli/command.h"

namespace pgkeep {

// Runs one pgkeep invocation; returns the process exit code (docs/exit-codes.md).
int RunCli(int argc, char** argv, CommandContext ctx);

// The storage driver for a repository config: a directory, or an S3 bucket
// with its credentials read from their variables or files (cli/open_storage.cc).
Result<std::unique_ptr<Storage>> OpenConfiguredStorage(Env& env, const RepositoryConfig& config);

}  // namespace pgkeep
