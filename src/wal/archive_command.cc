#include "wal/archive_command.h"

#include <unistd.h>

#include <climits>
#include <cstdlib>

namespace pgkeep {
namespace {

// One shell word for PostgreSQL's archive/restore command: single-quoted
// unless plainly safe, and '%' doubled (PostgreSQL substitutes %p, %f).
std::string ShellWord(const std::string& word) {
  std::string escaped;
  for (char c : word) escaped += c == '%' ? std::string("%%") : std::string(1, c);
  if (escaped.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./-=%") ==
      std::string::npos)
    return escaped;
  std::string out = "'";
  for (char c : escaped) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string PgkeepCommandLine(const std::string& config_path, const std::string& verb,
                              const std::string& db_name, const std::string& args) {
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  std::string binary = n > 0 ? std::string(exe, static_cast<size_t>(n)) : "pgkeep";
  std::string config = config_path;
  if (char* abs = ::realpath(config_path.c_str(), nullptr)) {
    config = abs;
    std::free(abs);
  }
  return ShellWord(binary) + " --config " + ShellWord(config) + " " + verb + " --db " +
         ShellWord(db_name) + " " + args;
}

}  // namespace pgkeep
