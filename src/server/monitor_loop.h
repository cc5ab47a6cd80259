// server/monitor_loop.h — the daemon's watcher: keeps the DaemonView
// current and tells people when something changes.
//
//   - every `status_interval` and after every job: the repository read by
//     `pgkeep --output json status`, `list` and `drill --history`, run as
//     children like the jobs (a damaged repository or a hung read takes
//     only the child down);
//   - every `health_interval`, per database: ProbeDatabase (monitor/) on a
//     connection of that database's pool (postgres/pg_pool.h), the sample
//     kept in the state database (30 days) and the view, the pool kept to
//     its limits;
//   - after either: AlertConditions evaluated and what changed sent to every
//     [[alert]] channel (notify/), the alert states saved.
//
// Thread safety: Run on one thread; SetConfig and RequestRefresh from any.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "config/config.h"
#include "notify/alert_tracker.h"
#include "notify/channel.h"
#include "postgres/pg_connector.h"
#include "postgres/pg_pool.h"
#include "server/daemon_view.h"
#include "state/state_store.h"

namespace pgkeep {

struct MonitorOptions {
  std::string program;      // pgkeep itself, for the refresh children
  std::string config_path;  // their --config
  std::string host;         // this machine, named in alerts
  int refresh_timeout_seconds = 300;
  std::function<void(const std::string&)> log;
};

// The pool limits of [server] with the DB_POOL_* variables applied.
// Failure: kConfig naming a bad variable.
Result<PoolLimits> PoolLimitsFromConfig(Env& env, const ServerConfig& server);

// What the alerts watch, from the view: per database its health (cannot
// connect, or a warning), the newest backup's age against max_backup_age,
// the newest drill, WAL gaps and a failing archiver; the repository's damage.
std::vector<AlertCondition> AlertConditions(const DaemonSnapshot& snap, const Config& config,
                                            int64_t now);

class MonitorLoop {
 public:
  MonitorLoop(Env& env, const Clock& clock, PgConnector& pg, Transport& transport,
              StateStore& state, DaemonView& view, MonitorOptions options);

  void SetConfig(std::shared_ptr<const Config> config);
  void RequestRefresh() { refresh_requested_.store(true); }
  // Until `*stop` is non-zero.
  void Run(const std::atomic<int>* stop);

 private:
  // One round: refresh, health samples, alerts, pruning.
  void Pass(const std::atomic<int>* stop);
  void Refresh(const std::atomic<int>* stop);
  void SampleHealth(const Config& config, const std::string& name, const DatabaseConfig& db);
  void Alert(const Config& config);
  void Log(const std::string& line) const {
    if (options_.log) options_.log(line);
  }

  Env& env_;
  const Clock& clock_;
  PgConnector& pg_;
  Transport& transport_;
  StateStore& state_;
  DaemonView& view_;
  MonitorOptions options_;

  std::mutex mu_;
  std::shared_ptr<const Config> config_;
  int64_t config_generation_ = 0;
  std::atomic<bool> refresh_requested_{true};

  // Monitor thread only.
  int64_t channels_generation_ = -1;
  std::vector<std::unique_ptr<AlertChannel>> channels_;
  std::unique_ptr<AlertTracker> tracker_;
  std::map<std::string, int64_t> next_health_;
  std::map<std::string, int64_t> firing_since_;
  int64_t next_refresh_ = 0;
  int64_t last_prune_ = 0;                                // condition key -> first seen firing
  std::map<std::string, std::unique_ptr<PgPool>> pools_;  // per database, rebuilt on reload
};

}  // namespace pgkeep
