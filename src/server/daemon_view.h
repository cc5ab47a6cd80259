// server/daemon_view.h — what the daemon knows about the repository and the
// databases right now, as the HTTP API, the metrics and the alerts read it.
//
// The repository side is refreshed by running `pgkeep --output json status`,
// `list` and `drill --history` as children (the same documented shapes the
// command line prints), every `status_interval` and after every job; the
// health side is one ProbeDatabase sample per database every
// `health_interval`. Readers get an immutable snapshot, so a request never
// waits for a refresh and a refresh never waits for a request.
//
// Thread safety: any thread may call; Get returns a shared immutable value.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "monitor/db_health.h"
#include "postgres/pg_pool.h"

namespace pgkeep {

struct DaemonSnapshot {
  int64_t started = 0;    // unix seconds the daemon started
  int64_t refreshed = 0;  // when the repository side was last read; 0: not yet
  nlohmann::json status;  // `pgkeep status` JSON (null until the first refresh)
  nlohmann::json backups = nlohmann::json::array();  // `pgkeep list` "snapshots"
  nlohmann::json drills = nlohmann::json::array();   // `pgkeep drill --history` "drills"
  std::string refresh_error;                         // the last refresh's failure, if any
  std::map<std::string, DatabaseHealth> health;      // newest sample per database
  std::map<std::string, int64_t> health_at;          // when it was taken
  std::map<std::string, PoolStats> pools;            // the health checks' pool per database
  nlohmann::json alerts = nlohmann::json::array();   // conditions firing now (AlertConditions)
};

class DaemonView {
 public:
  explicit DaemonView(int64_t started);
  std::shared_ptr<const DaemonSnapshot> Get() const;
  // Applies `change` to a copy and publishes it.
  void Update(const std::function<void(DaemonSnapshot&)>& change);

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const DaemonSnapshot> current_;
};

}  // namespace pgkeep
