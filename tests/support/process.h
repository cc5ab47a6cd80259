// tests/support/process.h — running child processes from tests.
//
// Test-only code: failures to *set up* a process (fork, pipe, exec, a missing
// user) throw std::runtime_error, because a test cannot go on without the
// process; a process that runs and fails is reported through its exit code.
// None of these functions touch global state such as signal dispositions, so
// they are safe to use from several test threads at once.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace pgkeep::testing {

struct ProcessResult {
  // WEXITSTATUS for a normal exit, 128 + signal number if killed by a signal
  // (the shell convention, so a message like "exit 137" means SIGKILL).
  int exit_code;
  std::string out;
  std::string err;
};

// Runs argv[0] (looked up in PATH) to completion and returns what it wrote.
//
// stdin_data is fed to the child's stdin, which is then closed; stdout and
// stderr are read concurrently with that write, so neither a large input nor a
// large output can deadlock. The child's environment is ours plus extra_env
// ("KEY=VALUE", overriding a variable of the same name).
//
// run_as_user: if not empty the child drops to that user (supplementary
// groups, gid, uid — needs root), sets HOME/USER/LOGNAME to match and starts
// in "/", because the user may not be allowed into our working directory; so
// paths in argv must then be absolute.
//
// Throws std::runtime_error if the process cannot be started (including an
// exec failure such as "no such file"); never throws for a non-zero exit.
ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data = "",
                         const std::vector<std::string>& extra_env = {},
                         const std::string& run_as_user = "");

// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick).
int PickFreePort();

// A background process owned by the test. Not copyable; moving transfers the
// duty to reap it. The destructor SIGKILLs and reaps a process not yet waited
// for, so a failing test never leaves a child behind.
class ChildProcess {
 public:
  // Starts argv in the background. stdin comes from stdin_path, or /dev/null
  // if empty (a test must never read the terminal); stdout goes to
  // stdout_path (created or truncated), or to our own stdout if empty; stderr
  // is always ours, so it shows in the test log. Throws std::runtime_error if
  // a file cannot be opened or the program cannot be executed.
  static ChildProcess Spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& extra_env = {},
                            const std::string& stdin_path = "",
                            const std::string& stdout_path = "");

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  // -1 after the process was moved from.
  pid_t pid() const { return pid_; }
  // Sends sig; does nothing once the process has been reaped.
  void Kill(int sig);
  // Blocks until the process ends and returns its exit code (same convention
  // as ProcessResult::exit_code). Calling it again returns the same code.
  int Wait();

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  void Reset() noexcept;

  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
};

// The OS user a test's PostgreSQL and pgkeep run as: "postgres" under root
// (the server refuses root), else "" (ourselves).
std::string OsUser();
// Gives `path` (recursively) to OsUser(); nothing when that is ourselves.
// Throws std::runtime_error on failure.
void ChownToOsUser(const std::string& path);

// Creates a fresh private (0700) directory "<$TMPDIR or /tmp>/<prefix>XXXXXX"
// and returns its path. The caller owns it; remove it with RemoveTree.
std::string MakeTempDir(const std::string& prefix);

// Removes path and everything below it without following symlinks; a missing
// path is not an error. Throws std::runtime_error on failure, and refuses ""
// and "/" outright because a bug there would be catastrophic.
void RemoveTree(const std::string& path);

}  // namespace pgkeep::testing
