#include "support/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

extern char** environ;

namespace pgkeep::testing {

namespace {

constexpr size_t kReadChunk = 64 * 1024;
// The exit code a shell uses for "could not execute"; only seen if reporting
// the failure through the error pipe itself failed.
constexpr int kExecFailedExit = 127;

[[noreturn]] void ThrowErrno(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

// Owns one file descriptor, so every early exit (exception) closes it.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    return *this;
  }
  ~Fd() { Close(); }
  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read;
  Fd write;
};

// Close-on-exec so that a pipe end never leaks into an unrelated child (for
// example a postmaster started by another test thread), which would keep the
// pipe open and make our reader wait forever for EOF.
Pipe MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) ThrowErrno("creating a pipe");
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// Everything the child needs, computed before fork: in the child of a
// possibly multi-threaded process only async-signal-safe calls are allowed,
// so no allocation and no getpwnam/initgroups (they read /etc files) there.
struct ExecPlan {
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

void SetEnv(std::vector<std::string>& env, const std::string& entry) {
  const std::string key = entry.substr(0, entry.find('=') + 1);
  for (std::string& existing : env) {
    if (existing.compare(0, key.size(), key) == 0) {
      existing = entry;
      return;
    }
  }
  env.push_back(entry);
}

ExecPlan MakePlan(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env,
                  const std::string& run_as_user) {
  if (argv.empty()) throw std::runtime_error("cannot run a process: empty argv");
  ExecPlan plan;
  plan.argv_storage = argv;
  for (char** e = environ; *e != nullptr; ++e) plan.env_storage.emplace_back(*e);
  if (!run_as_user.empty()) {
    // The _r variant: tests may start processes from several threads.
    passwd entry{};
    passwd* pw = nullptr;
    std::vector<char> strings(16 * 1024);
    getpwnam_r(run_as_user.c_str(), &entry, strings.data(), strings.size(), &pw);
    if (pw == nullptr) throw std::runtime_error("unknown user '" + run_as_user + "'");
    plan.switch_user = true;
    plan.uid = pw->pw_uid;
    plan.gid = pw->pw_gid;
    int count = 32;
    plan.groups.resize(count);
    while (getgrouplist(pw->pw_name, pw->pw_gid, plan.groups.data(), &count) < 0) {
      plan.groups.resize(count);
    }
    plan.groups.resize(count);
    // Tools such as psql look at HOME; root's home would be unreadable.
    SetEnv(plan.env_storage, std::string("HOME=") + pw->pw_dir);
    SetEnv(plan.env_storage, "USER=" + run_as_user);
    SetEnv(plan.env_storage, "LOGNAME=" + run_as_user);
  }
  for (const std::string& entry : extra_env) SetEnv(plan.env_storage, entry);
  for (std::string& s : plan.argv_storage) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  for (std::string& s : plan.env_storage) plan.envp.push_back(s.data());
  plan.envp.push_back(nullptr);
  return plan;
}

// What the child reports through the error pipe when it cannot exec.
enum class Stage : int { kRedirect, kSwitchUser, kChdir, kExec };
constexpr const char* kStageNames[] = {"redirecting stdio", "switching user", "changing to '/'",
                                       "executing"};
struct ChildFailure {
  Stage stage;
  int err;
};

[[noreturn]] void ChildFail(int error_fd, Stage stage) {
  const ChildFailure failure{stage, errno};
  // Nothing useful can be done if this write fails; the parent then sees
  // exit code kExecFailedExit.
  [[maybe_unused]] ssize_t n = write(error_fd, &failure, sizeof(failure));
  _exit(kExecFailedExit);
}

// Runs in the child after fork; async-signal-safe calls only.
[[noreturn]] void ExecChild(const ExecPlan& plan, int (&stdio)[3], int error_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);  // a blocked mask survives exec
  // Lift the fds above 2 first, so one of them sitting at 0..2 is not
  // overwritten before it is duplicated into place.
  for (int& fd : stdio) {
    if (fd >= 0 && (fd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) ChildFail(error_fd, Stage::kRedirect);
  }
  for (int target = 0; target < 3; ++target) {
    if (stdio[target] >= 0 && dup2(stdio[target], target) < 0)
      ChildFail(error_fd, Stage::kRedirect);
  }
  // Best effort (needs Linux 5.11): fds the test opened without O_CLOEXEC
  // must not live on in a daemon such as the postmaster.
  close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (plan.switch_user) {
    if (setgroups(plan.groups.size(), plan.groups.data()) != 0 || setgid(plan.gid) != 0 ||
        setuid(plan.uid) != 0) {
      ChildFail(error_fd, Stage::kSwitchUser);
    }
    if (chdir("/") != 0) ChildFail(error_fd, Stage::kChdir);
  }
  execvpe(plan.argv[0], plan.argv.data(), plan.envp.data());
  ChildFail(error_fd, Stage::kExec);
}

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int WaitForExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) ThrowErrno("waiting for process " + std::to_string(pid));
  }
  return DecodeWaitStatus(status);
}

// Starts the plan with the given fds as the child's stdin/stdout/stderr (-1:
// inherit ours). Returns only once exec succeeded, so a bad program name is
// an exception here rather than a puzzling exit code later.
pid_t ForkExec(const ExecPlan& plan, int stdin_fd, int stdout_fd, int stderr_fd) {
  Pipe error_pipe = MakePipe();
  int stdio[3] = {stdin_fd, stdout_fd, stderr_fd};
  const pid_t pid = fork();
  if (pid < 0) ThrowErrno("fork");
  if (pid == 0) ExecChild(plan, stdio, error_pipe.write.get());
  error_pipe.write.Close();
  ChildFailure failure{};
  ssize_t n;
  while ((n = read(error_pipe.read.get(), &failure, sizeof(failure))) < 0 && errno == EINTR) {
  }
  if (n <= 0) return pid;  // EOF: exec closed the pipe, the program runs
  WaitForExit(pid);
  throw std::runtime_error(std::string(kStageNames[static_cast<int>(failure.stage)]) + " for '" +
                           plan.argv_storage[0] + "': " + std::strerror(failure.err));
}

// write() that reports a closed reader as EPIPE instead of killing the whole
// test binary with SIGPIPE, without changing the process-wide disposition.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set, old_set, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  const ssize_t n = write(fd, data, size);
  const int saved_errno = errno;
  if (n < 0 && saved_errno == EPIPE && !was_pending) {
    const timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);  // swallow the SIGPIPE we caused
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved_errno;
  return n;
}

// Feeds stdin_data and drains stdout/stderr until both reach EOF. All three
// in one poll loop: a child blocked writing a full stdout pipe would never
// read the rest of its stdin, and vice versa.
void PumpPipes(Fd& in, Fd& out, Fd& err, const std::string& stdin_data, ProcessResult& result) {
  size_t written = 0;
  if (stdin_data.empty()) in.Close();
  if (in.get() >= 0 && fcntl(in.get(), F_SETFL, O_NONBLOCK) != 0) ThrowErrno("fcntl");
  char buf[kReadChunk];
  while (in.get() >= 0 || out.get() >= 0 || err.get() >= 0) {
    // A closed Fd has get() == -1, which poll ignores.
    pollfd fds[3] = {{in.get(), POLLOUT, 0}, {out.get(), POLLIN, 0}, {err.get(), POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      ThrowErrno("poll");
    }
    if (fds[0].revents != 0) {
      const ssize_t n =
          WriteWithoutSigpipe(in.get(), stdin_data.data() + written, stdin_data.size() - written);
      if (n > 0) written += n;
      // The child may exit without reading all input; that is its business.
      if (written == stdin_data.size() || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        in.Close();
      }
    }
    Fd* readers[2] = {&out, &err};
    std::string* sinks[2] = {&result.out, &result.err};
    for (int i = 0; i < 2; ++i) {
      if (fds[i + 1].revents == 0) continue;
      const ssize_t n = read(readers[i]->get(), buf, sizeof(buf));
      if (n > 0) {
        sinks[i]->append(buf, n);
      } else if (n == 0 || errno != EINTR) {
        readers[i]->Close();
      }
    }
  }
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& stdin_data,
                         const std::vector<std::string>& extra_env,
                         const std::string& run_as_user) {
  const ExecPlan plan = MakePlan(argv, extra_env, run_as_user);
  Pipe in = MakePipe();
  Pipe out = MakePipe();
  Pipe err = MakePipe();
  const pid_t pid = ForkExec(plan, in.read.get(), out.write.get(), err.write.get());
  // Our copies of the child's ends must go, or we would never see EOF.
  in.read.Close();
  out.write.Close();
  err.write.Close();
  ProcessResult result{-1, "", ""};
  try {
    PumpPipes(in.write, out.read, err.read, stdin_data, result);
  } catch (...) {
    kill(pid, SIGKILL);
    WaitForExit(pid);
    throw;
  }
  result.exit_code = WaitForExit(pid);
  return result;
}

ChildProcess ChildProcess::Spawn(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 const std::string& stdin_path, const std::string& stdout_path) {
  const ExecPlan plan = MakePlan(argv, extra_env, "");
  const std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path;
  Fd in(open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) ThrowErrno("opening '" + in_path + "'");
  Fd out;
  if (!stdout_path.empty()) {
    out = Fd(open(stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (out.get() < 0) ThrowErrno("opening '" + stdout_path + "'");
  }
  return ChildProcess(ForkExec(plan, in.get(), out.get(), -1));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), reaped_(other.reaped_), exit_code_(other.exit_code_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Reset();
    pid_ = std::exchange(other.pid_, -1);
    reaped_ = other.reaped_;
    exit_code_ = other.exit_code_;
  }
  return *this;
}

ChildProcess::~ChildProcess() { Reset(); }

void ChildProcess::Reset() noexcept {
  if (pid_ > 0 && !reaped_) {
    kill(pid_, SIGKILL);
    int status;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  pid_ = -1;
  reaped_ = false;
}

void ChildProcess::Kill(int sig) {
  // After reaping, the pid may already belong to an unrelated process.
  if (pid_ > 0 && !reaped_) kill(pid_, sig);
}

int ChildProcess::Wait() {
  if (pid_ <= 0) throw std::runtime_error("waiting for a moved-from ChildProcess");
  if (!reaped_) {
    exit_code_ = WaitForExit(pid_);
    reaped_ = true;
  }
  return exit_code_;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* tmpdir = getenv("TMPDIR");
  std::string path = (tmpdir != nullptr && *tmpdir != '\0') ? tmpdir : "/tmp";
  path += "/" + prefix + "XXXXXX";
  if (mkdtemp(path.data()) == nullptr) ThrowErrno("creating temporary directory '" + path + "'");
  return path;
}

void RemoveTree(const std::string& path) {
  const std::filesystem::path normal = std::filesystem::path(path).lexically_normal();
  if (path.empty() || normal == "/" || normal == "//") {
    throw std::runtime_error("refusing to remove '" + path + "'");
  }
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) throw std::runtime_error("removing '" + path + "': " + ec.message());
}

std::string OsUser() { return geteuid() == 0 ? "postgres" : ""; }

void ChownToOsUser(const std::string& path) {
  if (OsUser().empty()) return;
  passwd* pw = getpwnam("postgres");
  if (pw == nullptr) throw std::runtime_error("there is no \"postgres\" user");
  auto give = [&](const std::string& p) {
    if (lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("chown " + p + ": " + std::strerror(errno));
  };
  if (std::filesystem::is_directory(path))
    for (const auto& e : std::filesystem::recursive_directory_iterator(path)) give(e.path());
  give(path);
}

// Binds port 0 on the loopback address and returns the port the kernel chose.
int PickFreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  socklen_t len = sizeof(addr);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!ok)
    throw std::runtime_error(std::string("picking a free port: ") + std::strerror(saved_errno));
  return ntohs(addr.sin_port);
}

}  // namespace pgkeep::testing
