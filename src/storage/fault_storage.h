// storage/fault_storage.h — a Storage wrapper that injects failures, for tests.
//
// Wraps another Storage and, on command, fails the Nth Put (before anything is
// written, so the wrapped storage stays untouched) or reports the disk full
// once a byte budget is spent. Everything else passes through.
#pragma once

#include <atomic>
#include <cstdint>

#include "storage/storage.h"

namespace pgkeep {

class FaultStorage final : public Storage {
 public:
  explicit FaultStorage(Storage& base) : base_(base) {}

  // The n-th Put from now (1-based) fails with kIo; 0 disables.
  void FailNthPut(int n) {
    puts_ = 0;
    fail_nth_put_ = n;
  }
  // Puts fail with kNoSpace once `bytes` more have been written; -1 disables.
  void SetSpaceBudget(int64_t bytes) { budget_ = bytes; }
  int puts() const { return puts_; }

  StorageFeatures Features() const override { return base_.Features(); }
  std::string Describe() const override { return base_.Describe(); }
  Status Put(const std::string& name, ByteView data) override;
  // Counts and fails like Put.
  Status PutIfAbsent(const std::string& name, ByteView data) override;
  Result<Bytes> Get(const std::string& name) override { return base_.Get(name); }
  Result<Bytes> GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) override {
    return base_.GetRangeUpTo(name, offset, length);
  }
  Result<Bytes> GetRange(const std::string& name, uint64_t offset, uint64_t length) override {
    return base_.GetRange(name, offset, length);
  }
  Result<Bytes> GetAtMost(const std::string& name, uint64_t max_size) override {
    return base_.GetAtMost(name, max_size);
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return base_.List(prefix);
  }
  Status Delete(const std::string& name) override { return base_.Delete(name); }
  Result<bool> Exists(const std::string& name) override { return base_.Exists(name); }
  Result<int> CleanupTemporary(bool no_other_writers) override {
    return base_.CleanupTemporary(no_other_writers);
  }

 private:
  // The failure the next write gets, if any (counts the write).
  Status Inject(const std::string& name, ByteView data);

  Storage& base_;
  std::atomic<int> puts_{0};
  std::atomic<int> fail_nth_put_{0};
  std::atomic<int64_t> budget_{-1};
};

}  // namespace pgkeep
