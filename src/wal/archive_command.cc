#include "wal/archive_command.h"

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

std::string PgkeepCommandLine(Env& env, const std::string& config_path, const std::string& verb,
                              const std::string& db_name, const std::string& args) {
  auto exe = env.ExecutablePath();
  std::string binary = exe.ok() ? *exe : "pgkeep";
  auto real = env.RealPath(config_path);
  std::string config = real.ok() ? *real : config_path;
  return ShellWord(binary) + " --config " + ShellWord(config) + " " + verb + " --db " +
         ShellWord(db_name) + " " + args;
}

}  // namespace pgkeep
