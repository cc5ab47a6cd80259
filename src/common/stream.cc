#include "common/stream.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgkeep {

Result<size_t> FdSource::Read(uint8_t* buf, size_t n) {
  for (;;) {
    ssize_t got = ::read(fd_, buf, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno == EINTR) continue;
    return Status::Error(ErrorCode::kIo, "cannot read \"" + name_ + "\": " + std::strerror(errno));
  }
}

Status FdSink::Write(ByteView data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ErrorCode code = errno == ENOSPC ? ErrorCode::kNoSpace : ErrorCode::kIo;
      return Status::Error(code, "cannot write \"" + name_ + "\": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<size_t> MemorySource::Read(uint8_t* buf, size_t n) {
  size_t take = std::min(n, data_.size() - pos_);
  if (take == 0) return size_t{0};  // an empty span may have a null data()
  std::memcpy(buf, data_.data() + pos_, take);
  pos_ += take;
  return take;
}

}  // namespace pgkeep
