// tests/support/memory_repo.h — an unencrypted repository in memory with a
// manual clock, for unit tests of operations (backup, expire, status...).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "repo/repository.h"
#include "storage/memory_storage.h"
#include "support/clock_env.h"

namespace pgkeep::testing {

class MemoryRepo {
 public:
  // 2026-11-23T00:00:00Z unless told otherwise.
  explicit MemoryRepo(int64_t start_seconds = 1795392000);

  ManualClock& clock() { return clock_; }
  // The real file system and processes, with time from clock().
  Env& env() { return env_; }
  MemoryStorage& storage() { return storage_; }
  // Opened anew (index loaded), as each command opens it.
  Repository& repo() { return *repo_; }
  void Reopen();

  void AdvanceSeconds(int64_t seconds) { clock_.Advance(seconds * 1000000); }

  // Stores `data` as a one-file snapshot of `kind` filed under database `db`
  // (meta "database"), with `extra_meta` merged in; returns it.
  Snapshot StoreSnapshot(const std::string& db, const std::string& kind, const std::string& data,
                         const nlohmann::json& extra_meta = nlohmann::json::object());
  // The contents of `path` in snapshot `snapshot`, or "<missing>".
  std::string LoadFile(const Snapshot& snapshot, const std::string& path);
  // Ids of the snapshots, oldest first.
  std::vector<std::string> SnapshotIds();

 private:
  ManualClock clock_;
  PosixEnv posix_;
  ClockEnv env_{posix_, clock_};
  MemoryStorage storage_;
  std::unique_ptr<Repository> repo_;
};

}  // namespace pgkeep::testing
