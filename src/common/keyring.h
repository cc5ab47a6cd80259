// common/keyring.h — small secrets kept in kernel memory between processes.
//
// The repository key cache (repo/key_cache.h) must survive from one
// wal-push to the next without sitting in a file, where a copy of the file
// would allow fast offline guessing of the password. Linux keeps such values
// in the per-user keyring: kernel memory, never swapped or written to disk,
// readable only by processes of the same user, gone at reboot (or when the
// user's last process ends, or at the timeout). `KernelKeyring` is that;
// `MemoryKeyring` stands in for it in tests. Where the kernel refuses
// keyrings (a container whose seccomp profile blocks keyctl), Write returns
// false and callers do without the cache.
//
// Thread safety: both implementations may be used from several threads.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/bytes.h"

namespace pgkeep {

class Keyring {
 public:
  // Values are small: anything longer is refused by Write and ignored by Read.
  static constexpr size_t kMaxValueSize = 4096;

  virtual ~Keyring() = default;
  // The value stored under `name`; nullopt when absent, expired, unreadable
  // or longer than kMaxValueSize.
  virtual std::optional<Bytes> Read(const std::string& name) const = 0;
  // Stores (or replaces) `value` under `name` for `timeout_seconds`; false
  // when the keyring cannot hold it.
  virtual bool Write(const std::string& name, ByteView value, int64_t timeout_seconds) = 0;
  virtual void Remove(const std::string& name) = 0;
  // Removes every value whose name starts with `prefix`; returns how many.
  // For a full keyring: the kernel allows each user a small quota (200
  // keys, 20000 bytes by default), which entries of repositories used once
  // (tests, benchmarks) can fill for the length of their timeout.
  virtual size_t RemoveByPrefix(const std::string& prefix) = 0;
};

// The calling user's kernel keyring (KEY_SPEC_USER_KEYRING), "user" keys
// readable by every process of that user.
class KernelKeyring final : public Keyring {
 public:
  std::optional<Bytes> Read(const std::string& name) const override;
  bool Write(const std::string& name, ByteView value, int64_t timeout_seconds) override;
  void Remove(const std::string& name) override;
  size_t RemoveByPrefix(const std::string& prefix) override;
};

// In memory, for tests; timeouts are not modelled.
class MemoryKeyring final : public Keyring {
 public:
  std::optional<Bytes> Read(const std::string& name) const override;
  bool Write(const std::string& name, ByteView value, int64_t timeout_seconds) override;
  void Remove(const std::string& name) override;
  size_t RemoveByPrefix(const std::string& prefix) override;
  // Makes every Write fail, like a kernel without keyrings.
  void set_unavailable(bool unavailable);
  // Makes a Write of a new name fail once `n` values are held, like a
  // user's full kernel quota (0: no limit).
  void set_capacity(size_t n);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, Bytes> values_;
  bool unavailable_ = false;
  size_t capacity_ = 0;
};

}  // namespace pgkeep
