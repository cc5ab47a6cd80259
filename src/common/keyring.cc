#include "common/keyring.h"

#include <keyutils.h>
#include <stdlib.h>

namespace pgkeep {

namespace {

constexpr const char* kKeyType = "user";

key_serial_t FindKey(const std::string& name) {
  return static_cast<key_serial_t>(keyctl_search(KEY_SPEC_USER_KEYRING, kKeyType, name.c_str(), 0));
}

}  // namespace

std::optional<Bytes> KernelKeyring::Read(const std::string& name) const {
  key_serial_t id = FindKey(name);
  if (id < 0) return std::nullopt;
  void* buffer = nullptr;
  long size = keyctl_read_alloc(id, &buffer);
  if (size < 0) return std::nullopt;
  std::optional<Bytes> value;
  if (static_cast<size_t>(size) <= kMaxValueSize) {
    const auto* p = static_cast<const uint8_t*>(buffer);
    value = Bytes(p, p + size);
  }
  ::free(buffer);
  return value;
}

bool KernelKeyring::Write(const std::string& name, ByteView value, int64_t timeout_seconds) {
  if (value.size() > kMaxValueSize || timeout_seconds <= 0) return false;
  // add_key replaces the payload of an existing key of that name atomically.
  key_serial_t id =
      add_key(kKeyType, name.c_str(), value.data(), value.size(), KEY_SPEC_USER_KEYRING);
  if (id < 0) return false;
  // Every process of this user (archive_command runs outside our session)
  // may find and read it; nobody else may even see it.
  constexpr key_perm_t kPerm = KEY_POS_ALL | KEY_USR_VIEW | KEY_USR_READ | KEY_USR_WRITE |
                               KEY_USR_SEARCH | KEY_USR_LINK | KEY_USR_SETATTR;
  if (keyctl_setperm(id, kPerm) < 0 ||
      keyctl_set_timeout(id, static_cast<unsigned>(timeout_seconds)) < 0) {
    keyctl_invalidate(id);
    return false;
  }
  return true;
}

void KernelKeyring::Remove(const std::string& name) {
  key_serial_t id = FindKey(name);
  if (id >= 0) keyctl_invalidate(id);
}

size_t KernelKeyring::RemoveByPrefix(const std::string& prefix) {
  // The user keyring's payload is the list of its keys' serial numbers.
  void* list = nullptr;
  long size = keyctl_read_alloc(KEY_SPEC_USER_KEYRING, &list);
  if (size < 0) return 0;
  size_t removed = 0;
  const auto* ids = static_cast<const key_serial_t*>(list);
  for (size_t i = 0; i < static_cast<size_t>(size) / sizeof(key_serial_t); ++i) {
    char* described = nullptr;  // "type;uid;gid;perm;description"
    if (keyctl_describe_alloc(ids[i], &described) < 0) continue;
    std::string d(described);
    ::free(described);
    size_t desc = 0;
    for (int field = 0; field < 4 && desc != std::string::npos; ++field)
      desc = d.find(';', desc == 0 ? 0 : desc + 1);
    if (desc == std::string::npos || d.compare(0, 5, "user;") != 0) continue;
    if (d.compare(desc + 1, prefix.size(), prefix) != 0) continue;
    if (keyctl_invalidate(ids[i]) == 0) ++removed;
  }
  ::free(list);
  return removed;
}

std::optional<Bytes> MemoryKeyring::Read(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = values_.find(name);
  if (it == values_.end() || it->second.size() > kMaxValueSize) return std::nullopt;
  return it->second;
}

bool MemoryKeyring::Write(const std::string& name, ByteView value, int64_t timeout_seconds) {
  std::lock_guard lock(mu_);
  if (unavailable_ || value.size() > kMaxValueSize || timeout_seconds <= 0) return false;
  if (capacity_ > 0 && values_.size() >= capacity_ && !values_.count(name)) return false;
  values_[name] = Bytes(value.begin(), value.end());
  return true;
}

void MemoryKeyring::Remove(const std::string& name) {
  std::lock_guard lock(mu_);
  values_.erase(name);
}

size_t MemoryKeyring::RemoveByPrefix(const std::string& prefix) {
  std::lock_guard lock(mu_);
  size_t removed = 0;
  for (auto it = values_.begin(); it != values_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      it = values_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

void MemoryKeyring::set_capacity(size_t n) {
  std::lock_guard lock(mu_);
  capacity_ = n;
}

void MemoryKeyring::set_unavailable(bool unavailable) {
  std::lock_guard lock(mu_);
  unavailable_ = unavailable;
}

size_t MemoryKeyring::size() const {
  std::lock_guard lock(mu_);
  return values_.size();
}

}  // namespace pgkeep
