#include "storage/memory_storage.h"

#include <algorithm>
#include <cstring>

namespace pgkeep {

Status MemoryStorage::Put(const std::string& name, ByteView data) {
  std::lock_guard lock(mu_);
  objects_[name] = Bytes(data.begin(), data.end());
  return Status::Ok();
}

Status MemoryStorage::PutIfAbsent(const std::string& name, ByteView data) {
  std::lock_guard lock(mu_);
  if (!objects_.emplace(name, Bytes(data.begin(), data.end())).second)
    return Status::Error(ErrorCode::kConflict, "object \"" + name + "\" already exists");
  return Status::Ok();
}

Result<Bytes> MemoryStorage::Get(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end())
    return Status::Error(ErrorCode::kNotFound, "object \"" + name + "\" does not exist");
  return it->second;
}

Result<Bytes> MemoryStorage::GetRangeUpTo(const std::string& name, uint64_t offset,
                                          uint64_t length) {
  uint64_t size = 0;
  {
    std::lock_guard lock(mu_);
    auto it = objects_.find(name);
    if (it != objects_.end()) size = it->second.size();
  }
  if (offset < size) length = std::min(length, size - offset);
  return GetRange(name, offset, length);
}

Result<Bytes> MemoryStorage::GetRange(const std::string& name, uint64_t offset, uint64_t length) {
  std::lock_guard lock(mu_);
  auto it = objects_.find(name);
  if (it == objects_.end())
    return Status::Error(ErrorCode::kNotFound, "object \"" + name + "\" does not exist");
  if (offset + length > it->second.size())
    return Status::Error(ErrorCode::kCorrupt, "object \"" + name + "\" is shorter than offset " +
                                                  std::to_string(offset + length));
  Bytes out(length);
  std::memcpy(out.data(), it->second.data() + offset, length);
  return out;
}

Result<std::vector<ObjectInfo>> MemoryStorage::List(const std::string& prefix) {
  std::lock_guard lock(mu_);
  std::vector<ObjectInfo> out;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.rfind(prefix, 0) == 0; ++it)
    out.push_back({it->first, it->second.size()});
  return out;
}

Status MemoryStorage::Delete(const std::string& name) {
  std::lock_guard lock(mu_);
  objects_.erase(name);
  return Status::Ok();
}

Result<bool> MemoryStorage::Exists(const std::string& name) {
  std::lock_guard lock(mu_);
  return objects_.count(name) > 0;
}

}  // namespace pgkeep
