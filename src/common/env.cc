// The real Env: the one place (with common/clock.cc) that calls the
// operating system for files, processes, time and randomness.
#include "common/env.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <mutex>
#include <random>
#include <thread>

extern char** environ;

namespace pgkeep {

Status OsError(const std::string& what, const std::string& path, int err) {
  ErrorCode code = err == ENOSPC || err == EDQUOT ? ErrorCode::kNoSpace : ErrorCode::kIo;
  return Status::Error(code, "cannot " + what + " \"" + path + "\": " + std::strerror(err))
      .WithOsError(err);
}

namespace {

Status LastError(const std::string& what, const std::string& path) {
  return OsError(what, path, errno);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Write(ByteView data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastError("write", path_);
      if (n == 0) return OsError("write", path_, EIO);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Sync() override {
    if (::fsync(fd_) != 0) return LastError("fsync", path_);
    return Status::Ok();
  }
  void StartWriteback() override { ::sync_file_range(fd_, 0, 0, SYNC_FILE_RANGE_WRITE); }
  Status WriteAt(uint64_t offset, ByteView data) override {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(fd_, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return LastError("write", path_);
      if (n == 0) return OsError("write", path_, EIO);
      done += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Close() override {
    if (fd_ < 0) return Status::Ok();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return LastError("close", path_);
    return Status::Ok();
  }

 private:
  int fd_;
  std::string path_;
};

class PosixReadableFile final : public ReadableFile {
 public:
  PosixReadableFile(int fd, std::string path, uint64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixReadableFile() override { ::close(fd_); }
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    for (;;) {
      ssize_t got = ::read(fd_, buf, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return LastError("read", path_);
      return static_cast<size_t>(got);
    }
  }
  Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) override {
    for (;;) {
      ssize_t got = ::pread(fd_, buf, n, static_cast<off_t>(offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return LastError("read", path_);
      return static_cast<size_t>(got);
    }
  }
  uint64_t Size() const override { return size_; }

 private:
  int fd_;
  std::string path_;
  uint64_t size_;
};

FileType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kOther;
}

std::string_view EnvName(std::string_view entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

Result<std::unique_ptr<WritableFile>> PosixEnv::NewWritableFile(const std::string& path,
                                                                OpenMode mode, mode_t perms) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (mode == OpenMode::kTruncate) flags |= O_TRUNC;
  if (mode == OpenMode::kExclusive) flags |= O_EXCL;
  if (mode == OpenMode::kAppend) flags |= O_APPEND;
  if (mode == OpenMode::kUpdate) flags &= ~O_CREAT;
  int fd = ::open(path.c_str(), flags, perms);
  if (fd < 0) return LastError("create", path);
  return std::unique_ptr<WritableFile>(std::make_unique<PosixWritableFile>(fd, path));
}

Result<std::unique_ptr<ReadableFile>> PosixEnv::NewReadableFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastError("open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = LastError("stat", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<ReadableFile>(
      std::make_unique<PosixReadableFile>(fd, path, static_cast<uint64_t>(st.st_size)));
}

Status PosixEnv::RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return LastError("rename", from);
  return Status::Ok();
}

Status PosixEnv::LinkFile(const std::string& from, const std::string& to) {
  if (::link(from.c_str(), to.c_str()) != 0) return LastError("link", to);
  return Status::Ok();
}

Status PosixEnv::RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return LastError("remove", path);
  return Status::Ok();
}

Status PosixEnv::RemoveDir(const std::string& path) {
  if (::rmdir(path.c_str()) != 0) return LastError("remove directory", path);
  return Status::Ok();
}

Status Env::RemoveTree(const std::string& path) {
  auto info = Stat(path, /*follow_symlinks=*/false);
  if (!info.ok()) return info.status().os_error() == ENOENT ? Status::Ok() : info.status();
  if (info->type != FileType::kDirectory) {
    Status s = RemoveFile(path);
    return s.ok() || s.os_error() == ENOENT ? Status::Ok() : s;
  }
  Status first;
  auto names = ListDir(path);
  if (!names.ok()) return names.status();
  for (const auto& name : *names) {
    Status s = RemoveTree(path + "/" + name);
    if (!s.ok() && first.ok()) first = s;
  }
  Status s = RemoveDir(path);
  if (!s.ok() && s.os_error() != ENOENT && first.ok()) first = s;
  return first;
}

namespace {

// Removes `name` in directory `dir_fd` and, if it is a directory, all under
// it, by descriptor: nothing is looked up by a path that could be changed
// into a symlink meanwhile (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW).
Status RemoveAt(int dir_fd, const std::string& name, const std::string& shown) {
  struct stat st;
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status::Ok() : LastError("stat", shown);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return LastError("remove", shown);
    return Status::Ok();
  }
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : LastError("open directory", shown);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    Status s = LastError("open directory", shown);
    ::close(fd);
    return s;
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  Status first;
  for (const auto& n : names) {
    Status s = RemoveAt(::dirfd(dir), n, shown + "/" + n);
    if (!s.ok() && first.ok()) first = s;
  }
  ::closedir(dir);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT && first.ok())
    first = LastError("remove directory", shown);
  return first;
}

}  // namespace

Status PosixEnv::RemoveTree(const std::string& path) {
  std::string clean = path;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  size_t slash = clean.rfind('/');
  std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : clean.substr(0, slash);
  std::string base = slash == std::string::npos ? clean : clean.substr(slash + 1);
  if (base.empty() || base == "." || base == "..")
    return Status::Error(ErrorCode::kInternal, "refusing to remove \"" + path + "\"");
  int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : LastError("open directory", parent);
  Status s = RemoveAt(fd, base, clean);
  ::close(fd);
  return s;
}

Status PosixEnv::CreateDir(const std::string& path, mode_t perms) {
  if (::mkdir(path.c_str(), perms) != 0) return LastError("create directory", path);
  return Status::Ok();
}

Status PosixEnv::CreateSymlink(const std::string& target, const std::string& path) {
  if (::symlink(target.c_str(), path.c_str()) != 0) return LastError("create symlink", path);
  return Status::Ok();
}

namespace {

// Opens directory `path`, applies `sync` (fsync or syncfs) to it and closes it;
// `what` names the step in the error.
Status SyncThroughDirectory(const std::string& path, int (*sync)(int), const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return LastError("open directory", path);
  int rc = sync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) return OsError(what, path, saved);
  return Status::Ok();
}

}  // namespace

Status PosixEnv::SyncDir(const std::string& path) {
  return SyncThroughDirectory(path, ::fsync, "fsync directory");
}

Result<std::vector<std::string>> PosixEnv::ListDir(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (!d) return LastError("list directory", path);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  int saved = errno;
  ::closedir(d);
  if (saved != 0) return OsError("list directory", path, saved);
  return names;
}

Result<FileInfo> PosixEnv::Stat(const std::string& path, bool follow_symlinks) {
  struct stat st;
  int rc = follow_symlinks ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
  if (rc != 0) return LastError("stat", path);
  return FileInfo{TypeOf(st.st_mode),
                  static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtime),
                  st.st_mode,
                  st.st_uid,
                  st.st_gid};
}

Result<std::string> PosixEnv::ReadSymlink(const std::string& path) {
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return LastError("read symlink", path);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<int64_t> PosixEnv::FreeBytes(const std::string& path) {
  struct statvfs vfs;
  if (::statvfs(path.c_str(), &vfs) != 0) return LastError("stat file system of", path);
  return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

Status PosixEnv::SetPermissions(const std::string& path, mode_t mode) {
  if (::chmod(path.c_str(), mode) != 0) return LastError("chmod", path);
  return Status::Ok();
}

Status PosixEnv::SetOwner(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0) return LastError("chown", path);
  return Status::Ok();
}

Status PosixEnv::SetModifiedTime(const std::string& path, int64_t unix_seconds) {
  struct timespec times[2] = {{unix_seconds, 0}, {unix_seconds, 0}};
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) return LastError("set the time of", path);
  return Status::Ok();
}

Status PosixEnv::SyncFileSystem(const std::string& path) {
  return SyncThroughDirectory(path, ::syncfs, "sync the file system of");
}

Result<std::unique_ptr<Subprocess>> PosixEnv::StartProcess(const SubprocessOptions& options) {
  if (options.argv.empty()) return Status::Error(ErrorCode::kInternal, "empty argv");
  int out[2] = {-1, -1}, err[2] = {-1, -1};
  if ((options.capture_stdout && pipe2(out, O_CLOEXEC) != 0) || pipe2(err, O_CLOEXEC) != 0)
    return Status::Error(ErrorCode::kTool,
                         "cannot create a pipe: " + std::string(std::strerror(errno)));
  int in = ::open(options.stdin_file.empty() ? "/dev/null" : options.stdin_file.c_str(),
                  O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    Status s = Status::Error(ErrorCode::kIo,
                             "cannot open \"" + options.stdin_file + "\": " + std::strerror(errno));
    for (int fd : {out[0], out[1], err[0], err[1]})
      if (fd >= 0) ::close(fd);
    return s;
  }
  int devnull = options.capture_stdout ? -1 : ::open("/dev/null", O_WRONLY | O_CLOEXEC);

  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls are allowed.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    bool overridden = false;
    for (const auto& extra : options.extra_env)
      if (EnvName(entry) == EnvName(extra)) overridden = true;
    for (const auto& name : options.drop_env)
      if (EnvName(entry) == name) overridden = true;
    if (!overridden) env_strings.push_back(entry);
  }
  env_strings.insert(env_strings.end(), options.extra_env.begin(), options.extra_env.end());
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = options.argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  pid_t pid = fork();
  if (pid < 0)
    return Status::Error(ErrorCode::kTool, "cannot fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    if (options.stop_with_parent) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) _exit(127);  // pgkeep died before prctl
    }
    if (options.own_process_group) setpgid(0, 0);
    dup2(in, STDIN_FILENO);
    dup2(options.capture_stdout ? out[1] : devnull, STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    const char msg[] = "cannot execute program\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
    _exit(127);
  }
  ::close(in);
  if (devnull >= 0) ::close(devnull);
  if (options.capture_stdout) ::close(out[1]);
  ::close(err[1]);
  if (options.own_process_group) setpgid(pid, pid);  // whichever runs first
  auto adopted = Subprocess::Adopt(pid, out[0], err[0], options.argv[0]);
  adopted->set_process_group(options.own_process_group);
  return adopted;
}

bool PosixEnv::ProcessExists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

pid_t PosixEnv::ProcessId() { return ::getpid(); }

std::string PosixEnv::HostName() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return host;
}

Result<std::string> PosixEnv::ExecutablePath() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return OsError("read the link", "/proc/self/exe", errno);
  return std::string(path, static_cast<size_t>(n));
}

bool PosixEnv::IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::optional<std::string> PosixEnv::GetEnvVar(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Result<int> PosixEnv::FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return OsError("create a socket for", "127.0.0.1", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    return OsError("bind a port on", "127.0.0.1", err);
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

namespace {

std::atomic<int>* interrupt_flag = nullptr;
std::atomic<int>* hangup_flag = nullptr;

void OnInterrupt(int signal_number) {
  if (interrupt_flag) interrupt_flag->store(signal_number);
}

void OnHangup(int) {
  if (hangup_flag) hangup_flag->fetch_add(1);
}

// Installs `handler` for each of `signals`, restarting interrupted calls.
void Install(void (*handler)(int), std::initializer_list<int> signals) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal_number : signals) ::sigaction(signal_number, &action, nullptr);
}

}  // namespace

void PosixEnv::CatchInterrupts(std::atomic<int>* flag) {
  interrupt_flag = flag;
  Install(OnInterrupt, {SIGINT, SIGTERM});
}

void PosixEnv::CatchHangups(std::atomic<int>* flag) {
  hangup_flag = flag;
  Install(OnHangup, {SIGHUP});
}

uid_t PosixEnv::EffectiveUserId() { return ::geteuid(); }

namespace {

// getpwnam_r/getpwuid_r into an account; nullopt when there is none.
template <typename Lookup>
std::optional<UserAccount> FindAccount(Lookup lookup) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (lookup(&entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr)
    return std::nullopt;
  return UserAccount{found->pw_uid, found->pw_gid, found->pw_name};
}

}  // namespace

std::optional<UserAccount> PosixEnv::FindUser(const std::string& name) {
  return FindAccount([&](passwd* e, char* b, size_t n, passwd** r) {
    return ::getpwnam_r(name.c_str(), e, b, n, r);
  });
}

std::optional<UserAccount> PosixEnv::FindUserById(uid_t uid) {
  return FindAccount(
      [&](passwd* e, char* b, size_t n, passwd** r) { return ::getpwuid_r(uid, e, b, n, r); });
}

Result<std::string> PosixEnv::RealPath(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return OsError("resolve", path, errno);
  std::string out(real);
  std::free(real);
  return out;
}

Result<std::string> PosixEnv::CurrentDirectory() {
  char path[PATH_MAX];
  if (::getcwd(path, sizeof path) == nullptr)
    return OsError("read the current directory", ".", errno);
  return std::string(path);
}

int64_t PosixEnv::NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t PosixEnv::MonotonicMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PosixEnv::SleepForMicros(int64_t micros) {
  if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
}

uint64_t PosixEnv::Random64() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  return rng();
}

}  // namespace pgkeep
