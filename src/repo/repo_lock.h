// repo/repo_lock.h — who may use the repository at the same time.
//
// Shared locks (store, load, verify) coexist; an exclusive lock (for
// operations that delete objects) excludes everything. A lock is an object locks/<random id>
// holding JSON {mode, operation, pid, hostname, created, refreshed}; the
// holder refreshes it every 5 minutes. A lock is stale when its process is
// gone (same host) or it was not refreshed for 30 minutes; stale locks are
// removed by whoever finds them.
//
// Acquiring writes our lock first and then looks for conflicts, backing off
// (removing ours) when one exists; two racing processes may both back off,
// never both proceed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/env.h"
#include "storage/storage.h"

namespace pgkeep {

enum class LockMode { kShared, kExclusive };

// Who holds a lock: written into it, so others can name the holder and tell
// a dead one from a live one.
struct LockOwner {
  int pid = 0;
  std::string hostname;
};

class RepoLock {
 public:
  static constexpr int64_t kStaleSeconds = 30 * 60;
  static constexpr int64_t kRefreshSeconds = 5 * 60;

  // Waits up to `wait` for conflicting locks to go away, then fails with
  // kLocked naming the holder. Also removes temporary leftovers of dead writers.
  // `env` names this process in the lock (pid, host) and tells whether the
  // holder of a lock from this host still runs.
  static Result<std::unique_ptr<RepoLock>> Acquire(Env& env, Storage& storage, const Clock& clock,
                                                   LockMode mode, const std::string& operation,
                                                   std::chrono::seconds wait);
  // Releases the lock (removes the lock object).
  ~RepoLock();
  RepoLock(const RepoLock&) = delete;
  RepoLock& operator=(const RepoLock&) = delete;

  const std::string& name() const { return name_; }

 private:
  RepoLock(Storage& storage, const Clock& clock, LockOwner owner, std::string name, LockMode mode,
           std::string operation, int64_t created);
  void RefreshLoop();

  Storage& storage_;
  const Clock& clock_;
  LockOwner owner_;
  std::string name_;
  LockMode mode_;
  std::string operation_;
  int64_t created_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread refresher_;
};

}  // namespace pgkeep
