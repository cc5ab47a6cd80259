// state/state_store.h — the daemon's own state, in SQLite (`[server] state`):
// job runs (start, end, result, error, figures), the last slot each
// scheduled job ran for, health checks and alert states.
//
// Nothing in it is needed to restore anything: the repository stays the
// source of truth, and a lost state database only loses history (and
// counts the next slots from the restart; schedule/scheduler.h).
//
// The schema is versioned (`schema_version`); Open applies every migration
// the file has not seen, each in its own transaction, and refuses a file a
// newer pgkeep wrote. Writes are synchronous (SQLite's FULL), so a run
// recorded as started or finished survives a crash of the daemon or the
// host. SQLite is the only code that touches this file (scripts/check-seams
// keeps sqlite3_* calls in this folder).
//
// Thread safety: one connection, serialised by a mutex: any thread may call.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

struct sqlite3;

namespace pgkeep {

// The schema version this pgkeep writes.
inline constexpr int kStateSchemaVersion = 1;

struct JobRun {
  int64_t id = 0;
  std::string job;   // scheduler job id ("backup/main/full"), or "api/..." for one started by hand
  std::string kind;  // "full", "incr", "logical", "drill", "expire", "verify", ...
  std::string database;  // empty for repository jobs
  std::string trigger;   // "schedule", "missed" (a slot that passed while down), "api"
  int64_t slot = 0;      // the scheduled firing time (0: not scheduled)
  int64_t started = 0;   // unix seconds
  std::optional<int64_t> finished;
  // "queued" (asked for through the API, waiting for its turn), "running",
  // "ok", "failed", "timeout", "interrupted" (the daemon stopped or died
  // while it ran or waited)
  std::string result = "running";
  std::optional<int> exit_code;
  std::string error;       // one line, empty when ok
  nlohmann::json figures;  // what the job reported (its JSON output), or null
};

struct HealthSample {
  std::string database;
  int64_t at = 0;
  std::string status;  // "healthy", "latency", "error"
  double latency_ms = 0;
  std::string detail;
};

struct AlertState {
  std::string key;      // what it is about ("database/main/reachable", ...)
  bool firing = false;  // unhealthy (an alert was raised) or recovered
  int64_t since = 0;
  int64_t last_sent = 0;
  std::string reason;
};

class StateStore {
 public:
  // Opens (creating it when absent) and migrates `path`.
  // kConfig for a file that is not a pgkeep state database or is newer;
  // kIo when it cannot be opened.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  int schema_version() const { return version_; }

  // Runs still "running" or "queued" from an earlier life of the daemon become
  // "interrupted" (finished at `now`); returns how many.
  Result<int> MarkInterruptedRuns(int64_t now, const std::string& why);
  // Records a run as started ("running"), or as waiting for its turn when
  // run.result is "queued"; returns its id.
  Result<int64_t> RunStarted(const JobRun& run);
  // A queued run starts: "running" from `started`.
  Status RunDequeued(int64_t id, int64_t started);
  // How many runs there are of each (kind, result).
  Result<std::map<std::pair<std::string, std::string>, int64_t>> RunCounts();
  Status RunFinished(int64_t id, int64_t finished, const std::string& result,
                     std::optional<int> exit_code, const std::string& error,
                     const nlohmann::json& figures);
  // The newest runs first, at most `limit` (1..1000); of one database when given.
  Result<std::vector<JobRun>> RecentRuns(int limit, const std::string& database = "");
  Result<std::optional<JobRun>> Run(int64_t id);

  Result<std::map<std::string, int64_t>> LastSlots();
  Status SaveLastSlots(const std::map<std::string, int64_t>& slots);

  Status AddHealth(const HealthSample& sample);
  Result<std::vector<HealthSample>> RecentHealth(const std::string& database, int limit);
  // Health samples before `before` are deleted (history is bounded).
  Status PruneHealth(int64_t before);

  Result<std::map<std::string, AlertState>> Alerts();
  Status SaveAlert(const AlertState& alert);

 private:
  explicit StateStore(sqlite3* db) : db_(db) {}
  Status Migrate();

  std::mutex mu_;
  sqlite3* db_;
  int version_ = 0;
};

}  // namespace pgkeep
