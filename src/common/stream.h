// common/stream.h — byte sources and sinks for streaming data in and out of the
// repository without holding it in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes into `buf`; returns 0 only at end of stream.
  virtual Result<size_t> Read(uint8_t* buf, size_t n) = 0;
};

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  // Writes all of `data` or fails.
  virtual Status Write(ByteView data) = 0;
};

// Reads a file descriptor; `name` is used in error messages. Does not own the fd.
class FdSource final : public ByteSource {
 public:
  FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  int fd_;
  std::string name_;
};

// Writes to a file descriptor, retrying short writes. Does not own the fd.
class FdSink final : public ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  Status Write(ByteView data) override;

 private:
  int fd_;
  std::string name_;
};

// Collects everything written into memory; for tests and small objects.
class MemorySink final : public ByteSink {
 public:
  Status Write(ByteView data) override {
    Append(data_, data);
    return Status::Ok();
  }
  const Bytes& data() const { return data_; }

 private:
  Bytes data_;
};

class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(ByteView data) : data_(data) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  ByteView data_;
  size_t pos_ = 0;
};

}  // namespace pgkeep
