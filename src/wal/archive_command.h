// wal/archive_command.h — the pgkeep command line PostgreSQL runs to hand
// WAL over (archive_command: wal-push) or ask for it back (restore_command:
// wal-fetch). backup and check suggest it; restore writes it into the
// restored cluster's configuration.
//
// Thread safety: keeps no state.
#pragma once

#include <string>

#include "common/env.h"

namespace pgkeep {

// The archive_command (and restore_command) pgkeep suggests: this binary with
// `config_path`, both absolute.
std::string PgkeepCommandLine(Env& env, const std::string& config_path, const std::string& verb,
                              const std::string& db_name, const std::string& args);

}  // namespace pgkeep
