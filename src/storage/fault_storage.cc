#include "storage/fault_storage.h"

namespace pgkeep {

Status FaultStorage::Put(const std::string& name, ByteView data) {
  PGKEEP_RETURN_IF_ERROR(Inject(name, data));
  return base_.Put(name, data);
}

Status FaultStorage::PutIfAbsent(const std::string& name, ByteView data) {
  PGKEEP_RETURN_IF_ERROR(Inject(name, data));
  return base_.PutIfAbsent(name, data);
}

Status FaultStorage::Inject(const std::string& name, ByteView data) {
  int n = ++puts_;
  if (fail_nth_put_ > 0 && n == fail_nth_put_)
    return Status::Error(ErrorCode::kIo, "cannot write \"" + name + "\": injected failure");
  int64_t budget = budget_.load();
  if (budget >= 0) {
    if (static_cast<int64_t>(data.size()) > budget)
      return Status::Error(ErrorCode::kNoSpace,
                           "cannot write \"" + name + "\": No space left on device",
                           "free space on the repository file system");
    budget_ -= static_cast<int64_t>(data.size());
  }
  return Status::Ok();
}

}  // namespace pgkeep
