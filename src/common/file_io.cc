#include "common/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/stream.h"

namespace pgkeep {

Status ErrnoError(const std::string& what, const std::string& path) {
  int e = errno;
  return Status::Error(e == ENOSPC || e == EDQUOT ? ErrorCode::kNoSpace : ErrorCode::kIo,
                       "cannot " + what + " \"" + path + "\": " + std::strerror(e));
}

Result<Bytes> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::Error(ErrorCode::kNotFound, "file \"" + path + "\" does not exist");
    return ErrnoError("open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = ErrnoError("stat", path);
    ::close(fd);
    return s;
  }
  Bytes data(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n == 0 ? Status::Error(ErrorCode::kIo, "\"" + path + "\" shrank while being read")
                        : ErrnoError("read", path);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return data;
}

Status SyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory", path);
  int rc = ::fsync(fd);
  Status s = rc == 0 ? Status::Ok() : ErrnoError("sync directory", path);
  ::close(fd);
  return s;
}

Status WriteFileAtomically(const std::string& path, ByteView data, mode_t mode) {
  std::string tmp = path + ".pgkeep-tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("create", tmp);
  Status s = FdSink(fd, tmp).Write(data);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoError("sync", tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) s = ErrnoError("rename into", path);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  size_t slash = path.rfind('/');
  return SyncDirectory(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace pgkeep
