#include "storage/posix_storage.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <optional>
#include <random>

namespace pgkeep {

namespace {

constexpr const char* kTempMarker = ".tmp.";
// Leftovers whose owner cannot be checked (another host sharing the file
// system) are removed once this old; no Put takes that long.
constexpr int64_t kTempMaxAgeSeconds = 24 * 3600;

std::string ErrnoText() { return std::strerror(errno); }

Status IoError(const std::string& what, const std::string& path) {
  ErrorCode code = (errno == ENOSPC || errno == EDQUOT) ? ErrorCode::kNoSpace : ErrorCode::kIo;
  std::string hint = code == ErrorCode::kNoSpace ? "free space on the repository file system" : "";
  return Status::Error(code, "cannot " + what + " \"" + path + "\": " + ErrnoText(), hint);
}

std::string HostTag() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  uint32_t h = 2166136261u;  // FNV-1a: short, stable across builds
  for (const char* p = host; *p; ++p) h = (h ^ static_cast<uint8_t>(*p)) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

Status SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open directory", dir);
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  errno = saved;
  if (rc != 0) return IoError("fsync directory", dir);
  return Status::Ok();
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

PosixStorage::PosixStorage(std::string root, WriteFn write_fn)
    : root_(std::move(root)), write_(std::move(write_fn)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (!write_) write_ = [](int fd, const void* buf, size_t n) { return ::write(fd, buf, n); };
  temp_tag_ = std::string(kTempMarker) + HostTag() + "." + std::to_string(::getpid()) + ".";
}

Status PosixStorage::EnsureDirectory(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return Status::Ok();
  if (dir.size() > root_.size()) PGKEEP_RETURN_IF_ERROR(EnsureDirectory(ParentOf(dir)));
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) return IoError("create directory", dir);
  // The new directory entry itself must survive a crash.
  return SyncDirectory(ParentOf(dir));
}

Status PosixStorage::Put(const std::string& name, ByteView data) {
  return Write(name, data, Publish::kReplace);
}

Status PosixStorage::PutIfAbsent(const std::string& name, ByteView data) {
  return Write(name, data, Publish::kIfAbsent);
}

Status PosixStorage::Write(const std::string& name, ByteView data, Publish publish) {
  std::string path = PathOf(name);
  std::string dir = ParentOf(path);
  PGKEEP_RETURN_IF_ERROR(EnsureDirectory(dir));
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::string temp = path + temp_tag_ + std::to_string(rng() % 1000000000);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return IoError("create", temp);
  auto fail = [&](const char* what) {
    Status s = IoError(what, temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return s;
  };
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write_(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write");
    }
    if (n == 0) {
      errno = EIO;
      return fail("write");
    }
    done += static_cast<size_t>(n);  // a short write just continues
  }
  if (::fsync(fd) != 0) return fail("fsync");
  if (::close(fd) != 0) {
    Status s = IoError("close", temp);
    ::unlink(temp.c_str());
    return s;
  }
  if (publish == Publish::kReplace) {
    if (::rename(temp.c_str(), path.c_str()) != 0) {
      Status s = IoError("rename", temp);
      ::unlink(temp.c_str());
      return s;
    }
    return SyncDirectory(dir);
  }
  // link(2) fails when the name exists, atomically: of two writers racing for
  // one name exactly one wins, and the loser never replaces the winner's object
  // (rename would, silently).
  int rc = ::link(temp.c_str(), path.c_str());
  int saved = errno;
  ::unlink(temp.c_str());
  if (rc != 0) {
    if (saved == EEXIST)
      return Status::Error(ErrorCode::kConflict, "object \"" + path + "\" already exists");
    errno = saved;
    return IoError("link", path);
  }
  return SyncDirectory(dir);
}

namespace {
// Reads `length` bytes at `offset` of `path`, or the whole file when no
// offset is given (then running short means the file shrank while read) and
// it is at most `max_size` bytes (else `too_large`).
template <typename TooLarge>
Result<Bytes> ReadObject(const std::string& path, std::optional<uint64_t> offset, uint64_t length,
                         uint64_t max_size, TooLarge&& too_large) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return Status::Error(ErrorCode::kNotFound, "object \"" + path + "\" does not exist");
    return IoError("open", path);
  }
  struct stat st;
  if (!offset && ::fstat(fd, &st) != 0) {
    Status s = IoError("stat", path);
    ::close(fd);
    return s;
  }
  uint64_t start = offset.value_or(0);
  if (!offset) length = static_cast<uint64_t>(st.st_size);
  if (!offset && length > max_size) {
    ::close(fd);
    return too_large(length);
  }
  Bytes out(length);
  size_t done = 0;
  while (done < length) {
    ssize_t n = ::pread(fd, out.data() + done, length - done, static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n < 0 ? IoError("read", path)
                 : offset ? Status::Error(ErrorCode::kCorrupt, "object \"" + path + "\" is shorter than offset " +
                                                                  std::to_string(start + length))
                          : Status::Error(ErrorCode::kIo, "object \"" + path + "\" shrank while read");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}
}  // namespace

namespace {
constexpr uint64_t kNoLimit = ~uint64_t{0};
Status NeverTooLarge(uint64_t) { return Status::Ok(); }
}  // namespace

Result<Bytes> PosixStorage::Get(const std::string& name) {
  return ReadObject(PathOf(name), std::nullopt, 0, kNoLimit, NeverTooLarge);
}

Result<Bytes> PosixStorage::GetAtMost(const std::string& name, uint64_t max_size) {
  return ReadObject(PathOf(name), std::nullopt, 0, max_size,
                    [&](uint64_t size) { return TooLarge(name, size, max_size); });
}

Result<Bytes> PosixStorage::GetRange(const std::string& name, uint64_t offset, uint64_t length) {
  return ReadObject(PathOf(name), offset, length, kNoLimit, NeverTooLarge);
}

namespace {
// Calls visit(relative_name, full_path, stat) for every regular file under dir.
template <typename Visit>
Status Walk(const std::string& root, const std::string& rel, Visit&& visit) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    if (errno == ENOENT) return Status::Ok();
    return IoError("list directory", dir);
  }
  Status status;
  while (struct dirent* e = ::readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    std::string child_rel = rel.empty() ? entry : rel + "/" + entry;
    std::string full = root + "/" + child_rel;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) continue;  // removed meanwhile
    if (S_ISDIR(st.st_mode)) {
      status = Walk(root, child_rel, visit);
      if (!status.ok()) break;
    } else if (S_ISREG(st.st_mode)) {
      visit(child_rel, full, st);
    }
  }
  ::closedir(d);
  return status;
}
}  // namespace

Result<std::vector<ObjectInfo>> PosixStorage::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string dir = prefix;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  PGKEEP_RETURN_IF_ERROR(Walk(root_, dir, [&](const std::string& rel, const std::string&,
                                              const struct stat& st) {
    if (rel.find(kTempMarker) != std::string::npos) return;
    out.push_back({rel, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
  }));
  return out;
}

Status PosixStorage::Delete(const std::string& name) {
  std::string path = PathOf(name);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return IoError("remove", path);
  }
  return SyncDirectory(ParentOf(path));
}

Result<bool> PosixStorage::Exists(const std::string& name) {
  struct stat st;
  if (::stat(PathOf(name).c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return IoError("stat", PathOf(name));
}

Result<int> PosixStorage::CleanupTemporary() {
  std::string my_host = HostTag();
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::vector<std::string> doomed;
  PGKEEP_RETURN_IF_ERROR(Walk(root_, "", [&](const std::string&, const std::string& full,
                                             const struct stat& st) {
    size_t at = full.rfind(kTempMarker);
    if (at == std::string::npos) return;
    // Layout after the marker: <host>.<pid>.<random>
    std::string rest = full.substr(at + std::strlen(kTempMarker));
    size_t dot1 = rest.find('.');
    size_t dot2 = dot1 == std::string::npos ? dot1 : rest.find('.', dot1 + 1);
    if (dot2 == std::string::npos) return;
    std::string host = rest.substr(0, dot1);
    pid_t pid = static_cast<pid_t>(std::atol(rest.substr(dot1 + 1, dot2 - dot1 - 1).c_str()));
    bool owner_dead = host == my_host && pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
    bool too_old = now - static_cast<int64_t>(st.st_mtime) > kTempMaxAgeSeconds;
    if (owner_dead || too_old) doomed.push_back(full);
  }));
  int removed = 0;
  for (const auto& path : doomed)
    if (::unlink(path.c_str()) == 0) ++removed;
  return removed;
}

int64_t PosixStorage::FreeBytes() {
  struct statvfs vfs;
  if (::statvfs(root_.c_str(), &vfs) != 0) return -1;
  return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

}  // namespace pgkeep
