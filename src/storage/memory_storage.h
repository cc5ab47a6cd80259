// storage/memory_storage.h — a Storage held in memory: for tests and for
// benchmarks that measure the pipeline without the disk. Thread-safe.
#pragma once

#include <map>
#include <mutex>

#include "storage/storage.h"

namespace pgkeep {

class MemoryStorage final : public Storage {
 public:
  StorageFeatures Features() const override { return {.ranged_get = true, .local = false}; }
  std::string Describe() const override { return "memory"; }
  Status Put(const std::string& name, ByteView data) override;
  Status PutIfAbsent(const std::string& name, ByteView data) override;
  Result<Bytes> Get(const std::string& name) override;
  Result<Bytes> GetRange(const std::string& name, uint64_t offset, uint64_t length) override;
  Result<Bytes> GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& name) override;
  Result<bool> Exists(const std::string& name) override;
  Result<int> CleanupTemporary(bool) override { return 0; }

 private:
  std::mutex mu_;
  std::map<std::string, Bytes> objects_;
};

}  // namespace pgkeep
