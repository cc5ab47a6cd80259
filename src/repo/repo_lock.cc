#include "repo/repo_lock.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "codec/crypto.h"
#include "repo/format.h"

namespace pgkeep {

namespace {

struct LockInfo {
  std::string name;
  LockMode mode = LockMode::kShared;
  std::string operation;
  int pid = 0;
  std::string hostname;
  int64_t created = 0;
  int64_t refreshed = 0;
};

std::string LockJson(const LockOwner& owner, LockMode mode, const std::string& operation,
                     int64_t created, int64_t refreshed) {
  nlohmann::json j = {
      {"version", kFormatVersion},  {"mode", mode == LockMode::kExclusive ? "exclusive" : "shared"},
      {"operation", operation},     {"pid", owner.pid},
      {"hostname", owner.hostname}, {"created", created},
      {"refreshed", refreshed}};
  return j.dump() + "\n";
}

std::optional<LockInfo> ParseLock(const std::string& name, ByteView content) {
  nlohmann::json j = nlohmann::json::parse(AsString(content), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  LockInfo info;
  info.name = name;
  try {
    info.mode = j.value("mode", "") == "exclusive" ? LockMode::kExclusive : LockMode::kShared;
    info.operation = j.value("operation", "");
    info.pid = j.value("pid", 0);
    info.hostname = j.value("hostname", "");
    info.created = j.value("created", int64_t{0});
    info.refreshed = j.value("refreshed", int64_t{0});
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a field of the wrong type: damaged, so ignored like unparsable text
  }
  return info;
}

bool IsStale(Env& env, const LockOwner& owner, const LockInfo& lock, int64_t now) {
  if (lock.hostname == owner.hostname && !env.ProcessExists(lock.pid)) return true;
  return now - lock.refreshed > RepoLock::kStaleSeconds;
}

// The first live lock that conflicts with `mode`, removing stale ones found.
Result<std::optional<LockInfo>> FindConflict(Env& env, const LockOwner& owner, Storage& storage,
                                             const Clock& clock, const std::string& own,
                                             LockMode mode) {
  auto listing = storage.List(kLocksDir);
  if (!listing.ok()) return listing.status();
  for (const auto& object : *listing) {
    if (object.name == own) continue;
    auto content = storage.GetAtMost(object.name, kMaxSmallObjectSize);
    if (!content.ok()) continue;  // released meanwhile
    auto info = ParseLock(object.name, *content);
    if (!info) continue;  // unreadable lock objects are treated as absent
    if (IsStale(env, owner, *info, clock.NowSeconds())) {
      (void)storage.Delete(object.name);
      continue;
    }
    if (mode == LockMode::kExclusive || info->mode == LockMode::kExclusive)
      return std::optional<LockInfo>(*info);
  }
  return std::optional<LockInfo>();
}

}  // namespace

Result<std::unique_ptr<RepoLock>> RepoLock::Acquire(Env& env, Storage& storage, const Clock& clock,
                                                    LockMode mode, const std::string& operation,
                                                    std::chrono::seconds wait) {
  LockOwner owner{static_cast<int>(env.ProcessId()), env.HostName()};
  std::string name = std::string(kLocksDir) + HexEncode(RandomBytes(8));
  int64_t created = clock.NowSeconds();
  int64_t deadline = clock.MonotonicMicros() + wait.count() * 1000000;
  for (;;) {
    PGKEEP_RETURN_IF_ERROR(
        storage.Put(name, AsBytes(LockJson(owner, mode, operation, created, created))));
    auto conflict = FindConflict(env, owner, storage, clock, name, mode);
    if (!conflict.ok()) {
      (void)storage.Delete(name);
      return conflict.status();
    }
    if (!*conflict) break;
    (void)storage.Delete(name);
    if (clock.MonotonicMicros() >= deadline) {
      const LockInfo& other = **conflict;
      return Status::Error(
          ErrorCode::kLocked,
          "repository \"" + storage.Describe() + "\" is locked " +
              (other.mode == LockMode::kExclusive ? "exclusively" : "shared") + " by \"" +
              other.operation + "\" (pid " + std::to_string(other.pid) + " on " + other.hostname +
              ", since " + FormatIsoTime(other.created) + ")",
          "wait for it to finish or retry with --lock-wait SECONDS; if that process is gone, "
          "remove \"" +
              other.name + "\"");
    }
    clock.SleepForMicros(500 * 1000);
  }
  // Leftovers of writers that died are garbage now that we hold a lock.
  (void)storage.CleanupTemporary(mode == LockMode::kExclusive);
  std::unique_ptr<RepoLock> lock(
      new RepoLock(storage, clock, owner, name, mode, operation, created));
  lock->refresher_ = std::thread([l = lock.get()] { l->RefreshLoop(); });
  return lock;
}

RepoLock::RepoLock(Storage& storage, const Clock& clock, LockOwner owner, std::string name,
                   LockMode mode, std::string operation, int64_t created)
    : storage_(storage),
      clock_(clock),
      owner_(std::move(owner)),
      name_(std::move(name)),
      mode_(mode),
      operation_(std::move(operation)),
      created_(created) {}

void RepoLock::RefreshLoop() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, std::chrono::seconds(kRefreshSeconds), [&] { return stop_; })) {
    // A failed refresh is retried next round; staleness allows several misses.
    (void)storage_.Put(name_,
                       AsBytes(LockJson(owner_, mode_, operation_, created_, clock_.NowSeconds())));
  }
}

RepoLock::~RepoLock() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
  (void)storage_.Delete(name_);
}

}  // namespace pgkeep
