// postgres/pg_tools.h — locating PostgreSQL's client programs.
//
// pg_dump can dump servers of its own major version and older ones, never
// newer ones; pg_restore and psql likewise should be at least the server's
// version. FindPgTool picks a program of a suitable version and says exactly
// what is missing when there is none.
//
// Thread safety: the functions keep no state; each FindPgTool call runs the
// candidate program once ("<path> --version") as a child process.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace pgkeep {

struct PgTool {
  std::string path;          // absolute, or as found in $PATH
  int major_version = 0;     // 15 for 15.18; 9 for 9.6.24
  std::string version_text;  // first line of "--version": "pg_dump (PostgreSQL) 15.18 (Debian ...)"
};

// Where FindPgTool looks; the defaults are the real system places.
struct PgToolSearchPaths {
  // If not empty, the only place searched (pg_bin of [database.NAME]).
  std::string bin_dir;
  // Debian/Ubuntu layout: <versioned_root>/<N>/bin for each installed N.
  std::string versioned_root = "/usr/lib/postgresql";
  // ':'-separated, like $PATH; empty entries (the current directory) are skipped.
  std::string path_env;
};

// Finds `name` (pg_dump, pg_restore, pg_dumpall, psql) whose major version is
// at least `server_major`. Searches only `bin_dir` if it is set; otherwise
// /usr/lib/postgresql/<N>/bin, newest N first (a newer client handles older
// servers), and then $PATH. The first program found is the answer, so an old
// one there is reported rather than silently skipped.
//
// Fails with ErrorCode::kTool if no program is found, it cannot be run, its
// version output cannot be parsed, or it is older than the server; the hint
// names the Debian package to install.
Result<PgTool> FindPgTool(const std::string& name, int server_major,
                          const std::string& bin_dir = "");
// The same with explicit search places (FindPgTool passes $PATH); for tests.
Result<PgTool> FindPgToolIn(const std::string& name, int server_major,
                            const PgToolSearchPaths& where);

// The major version in a "--version" line: "psql (PostgreSQL) 16.2" -> 16,
// "pg_dump (PostgreSQL) 17devel" -> 17; std::nullopt if there is none.
std::optional<int> ParsePgToolMajorVersion(const std::string& version_output);

}  // namespace pgkeep
