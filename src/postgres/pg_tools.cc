#include "postgres/pg_tools.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace pgkeep {

namespace {

// "--version" answers at once; a program that hangs is not a usable pg_dump.
constexpr int kVersionTimeoutSeconds = 10;
// The answer is one line; anything past this is ignored.
constexpr size_t kMaxOutput = 64 * 1024;

Status ToolError(std::string message, std::string hint = {}) {
  return Status::Error(ErrorCode::kTool, std::move(message), std::move(hint));
}

std::string InstallHint(int server_major) {
  return "install postgresql-client-" + std::to_string(server_major) +
         " (Debian) or set pg_bin in [database.NAME]";
}

std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool IsExecutable(const std::string& path) {
  return Exists(path) && ::access(path.c_str(), X_OK) == 0;
}

// Waits for the child, killing it first if `kill_it`; returns the shell-style
// exit code (128 + signal when killed).
int Reap(pid_t pid, bool kill_it) {
  if (kill_it) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

// Runs "<path> --version" without a shell; returns stdout and stderr merged
// (stderr explains a failure, e.g. a missing shared library).
Result<std::string> RunVersion(const std::string& path) {
  const std::string command = "\"" + path + " --version\"";
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return ToolError("cannot run " + command + ": " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 2);
  std::string arg0 = path;
  std::string arg1 = "--version";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, path.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return ToolError("cannot run " + command + ": " + std::strerror(rc));
  }

  std::string output;
  bool timed_out = false;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(kVersionTimeoutSeconds);
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      timed_out = ready == 0;
      break;
    }
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child closed its output
    if (output.size() < kMaxOutput) output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  const int exit_code = Reap(pid, timed_out);
  if (timed_out) {
    return ToolError(command + " did not finish within " + std::to_string(kVersionTimeoutSeconds) +
                     " seconds");
  }
  if (exit_code != 0) {
    return ToolError(command + " failed (exit code " + std::to_string(exit_code) +
                     "): " + FirstLine(output));
  }
  return output;
}

// Version directories under `root` ("15", "9.6"), newest first.
std::vector<std::string> VersionedBinDirs(const std::string& root) {
  std::vector<std::pair<std::pair<int, int>, std::string>> found;
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return {};
  while (const dirent* e = ::readdir(dir)) {
    const std::string name = e->d_name;
    char* end = nullptr;
    const long major = std::strtol(name.c_str(), &end, 10);
    long minor = 0;
    if (end != name.c_str() && *end == '.') minor = std::strtol(end + 1, &end, 10);
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])) || *end != '\0') {
      continue;
    }
    found.push_back(
        {{static_cast<int>(major), static_cast<int>(minor)}, root + "/" + name + "/bin"});
  }
  ::closedir(dir);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> dirs;
  for (auto& f : found) dirs.push_back(std::move(f.second));
  return dirs;
}

// The first existing executable `name` in the search order; "" if none.
std::string Locate(const std::string& name, const PgToolSearchPaths& where) {
  for (const std::string& dir : VersionedBinDirs(where.versioned_root)) {
    if (IsExecutable(dir + "/" + name)) return dir + "/" + name;
  }
  size_t start = 0;
  while (start <= where.path_env.size()) {
    size_t colon = where.path_env.find(':', start);
    if (colon == std::string::npos) colon = where.path_env.size();
    const std::string dir = where.path_env.substr(start, colon - start);
    // An empty entry means the current directory: never run a pg_dump from there.
    if (!dir.empty() && IsExecutable(dir + "/" + name)) return dir + "/" + name;
    start = colon + 1;
  }
  return "";
}

std::string WhyTooOld(const std::string& name) {
  if (name == "pg_dump" || name == "pg_dumpall") return "it cannot dump it";
  if (name == "pg_restore") return "it cannot restore dumps for it";
  return "it may not work with it";
}

}  // namespace

std::optional<int> ParsePgToolMajorVersion(const std::string& version_output) {
  static constexpr std::string_view kMarker = "(PostgreSQL) ";
  const size_t at = version_output.find(kMarker);
  if (at == std::string::npos) return std::nullopt;
  size_t i = at + kMarker.size();
  int major = 0;
  size_t digits = 0;
  for (; i < version_output.size() && std::isdigit(static_cast<unsigned char>(version_output[i]));
       ++i, ++digits) {
    if (digits >= 6) return std::nullopt;
    major = major * 10 + (version_output[i] - '0');
  }
  if (digits == 0) return std::nullopt;
  return major;
}

Result<PgTool> FindPgToolIn(const std::string& name, int server_major,
                            const PgToolSearchPaths& where) {
  const std::string hint = InstallHint(server_major);
  std::string path;
  if (!where.bin_dir.empty()) {
    path = where.bin_dir + "/" + name;
    if (!Exists(path)) return ToolError(name + " not found in \"" + where.bin_dir + "\"", hint);
    if (!IsExecutable(path)) return ToolError("\"" + path + "\" is not executable", hint);
  } else {
    path = Locate(name, where);
    if (path.empty()) {
      return ToolError(name + " not found (searched " + where.versioned_root + "/*/bin and PATH)",
                       hint);
    }
  }

  Result<std::string> output = RunVersion(path);
  if (!output.ok()) return output.status();
  const std::string line = FirstLine(*output);
  const std::optional<int> major = ParsePgToolMajorVersion(line);
  if (!major) {
    return ToolError("cannot tell the version of \"" + path + "\" from its output \"" + line + "\"",
                     "it should print e.g. \"" + name + " (PostgreSQL) " +
                         std::to_string(server_major) + ".0\"; check that it is " + name);
  }
  if (*major < server_major) {
    return ToolError(name + " " + std::to_string(*major) + " at \"" + path +
                         "\" is older than the server (" + std::to_string(server_major) + "); " +
                         WhyTooOld(name),
                     hint);
  }
  return PgTool{path, *major, line};
}

Result<PgTool> FindPgTool(const std::string& name, int server_major, const std::string& bin_dir) {
  PgToolSearchPaths where;
  where.bin_dir = bin_dir;
  const char* path_env = std::getenv("PATH");
  where.path_env = path_env ? path_env : "/usr/bin:/bin";
  return FindPgToolIn(name, server_major, where);
}

}  // namespace pgkeep
