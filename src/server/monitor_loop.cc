#include "server/monitor_loop.h"

#include "server/job_runner.h"

namespace pgkeep {

namespace {

constexpr int64_t kHealthKeptSeconds = 30 * 86400;

}  // namespace

Result<PoolLimits> PoolLimitsFromConfig(Env& env, const ServerConfig& server) {
  PoolLimits base;
  base.max = server.pool_max;
  base.min = server.pool_min;
  base.connect_timeout_ms = server.pool_connect_timeout_seconds * 1000;
  base.idle_timeout_ms = server.pool_idle_timeout_seconds * 1000;
  base.max_lifetime_ms = server.pool_max_lifetime_seconds * 1000;
  return PoolLimitsWithEnv(env, base);
}

std::vector<AlertCondition> AlertConditions(const DaemonSnapshot& snap, const Config& config,
                                            int64_t now) {
  std::vector<AlertCondition> out;
  for (const auto& [name, h] : snap.health) {
    if (config.databases.count(name) == 0) continue;
    AlertCondition c{"database/" + name + "/health", name, false, "the database is healthy"};
    if (h.status == "error") {
      c.firing = true;
      c.reason = "cannot reach the database: " + h.error;
    } else if (!h.problems.empty()) {
      c.firing = true;
      c.reason.clear();
      for (const auto& p : h.problems) c.reason += (c.reason.empty() ? "" : "; ") + p;
    }
    out.push_back(std::move(c));
  }
  if (!snap.refresh_error.empty() || snap.refreshed > 0) {
    const bool failing = !snap.refresh_error.empty();
    out.push_back({"repository/readable", "", failing,
                   failing ? "cannot read the repository: " + snap.refresh_error
                           : "the repository can be read"});
  }
  if (!snap.status.is_object()) return out;
  for (const auto& d : snap.status.value("databases", nlohmann::json::array())) {
    const std::string name = d.value("name", "");
    if (config.databases.count(name) == 0) continue;
    const int64_t max_age = d.value("max_backup_age_seconds", int64_t{0});
    AlertCondition age{"database/" + name + "/backup_age", name, false,
                       "a backup younger than max_backup_age exists"};
    const auto& last = d.contains("last_backup") ? d["last_backup"] : nlohmann::json();
    if (last.is_object()) {
      const int64_t seconds = last.value("age_seconds", int64_t{0});
      if (max_age > 0 && seconds > max_age) {
        age.firing = true;
        age.reason = "the newest backup (" + last.value("id", "") + ") is " + FormatSpan(seconds) +
                     " old; max_backup_age is " + FormatSpan(max_age);
      }
    } else if (max_age > 0 && now - snap.started > max_age) {
      age.firing = true;
      age.reason = "there is no backup yet, and the daemon has run longer than max_backup_age (" +
                   FormatSpan(max_age) + ")";
    }
    out.push_back(std::move(age));

    const auto& drill = d.contains("last_drill") ? d["last_drill"] : nlohmann::json();
    if (drill.is_object()) {
      AlertCondition c{"database/" + name + "/drill", name, false, "the newest drill passed"};
      if (!drill.value("passed", true)) {
        c.firing = true;
        c.reason = "the newest drill (" + drill.value("id", "") + ") failed";
        const auto failures = drill.value("failures", nlohmann::json::array());
        if (!failures.empty() && failures[0].is_string())
          c.reason += ": " + failures[0].get<std::string>();
      }
      out.push_back(std::move(c));
    }

    const auto& wal = d.contains("wal") ? d["wal"] : nlohmann::json();
    if (wal.is_object()) {
      AlertCondition c{"database/" + name + "/wal", name, false,
                       "the WAL archive is continuous and archiving succeeds"};
      const size_t gaps = wal.value("gaps", nlohmann::json::array()).size();
      const auto archiver = wal.value("archiver", nlohmann::json::object());
      if (gaps > 0) {
        c.firing = true;
        c.reason = "the WAL archive has " + std::to_string(gaps) +
                   " gap(s): point-in-time recovery cannot cross them";
      } else if (archiver.is_object() && archiver.value("failing", false)) {
        c.firing = true;
        c.reason = "archive_command is failing (last failed WAL " +
                   archiver.value("last_failed_wal", "") + ")";
      }
      out.push_back(std::move(c));
    }
  }
  const auto repo = snap.status.value("repository", nlohmann::json::object());
  if (repo.is_object()) {
    const auto damaged = repo.value("damaged", nlohmann::json::array());
    AlertCondition c{"repository/damaged", "", !damaged.empty(),
                     damaged.empty() ? "the repository has no damaged objects"
                                     : "the repository has " + std::to_string(damaged.size()) +
                                           " damaged or missing object(s); run pgkeep verify"};
    out.push_back(std::move(c));
  }
  return out;
}

MonitorLoop::MonitorLoop(Env& env, const Clock& clock, PgConnector& pg, Transport& transport,
                         StateStore& state, DaemonView& view, MonitorOptions options)
    : env_(env),
      clock_(clock),
      pg_(pg),
      transport_(transport),
      state_(state),
      view_(view),
      options_(std::move(options)) {}

void MonitorLoop::SetConfig(std::shared_ptr<const Config> config) {
  std::lock_guard lock(mu_);
  config_ = std::move(config);
  ++config_generation_;
  refresh_requested_.store(true);
}

void MonitorLoop::Run(const std::atomic<int>* stop) {
  while (stop->load() == 0) {
    try {
      Pass(stop);
    } catch (const std::exception& e) {
      // The watcher must outlive anything odd it reads; it logs and goes on.
      Log(std::string("warning: the watcher's pass failed: ") + e.what());
      next_refresh_ = clock_.NowSeconds() + 60;
    }
    clock_.SleepForMicros(200 * 1000);
  }
}

void MonitorLoop::Pass(const std::atomic<int>* stop) {
  {
    std::shared_ptr<const Config> config;
    int64_t generation;
    {
      std::lock_guard lock(mu_);
      config = config_;
      generation = config_generation_;
    }
    if (generation != channels_generation_) {
      channels_ = ChannelsFromConfig(config->alerts, transport_, options_.host);
      auto saved = state_.Alerts();
      if (!saved.ok()) Log("warning: " + saved.status().message());
      tracker_ =
          std::make_unique<AlertTracker>(saved.ok() ? *saved : std::map<std::string, AlertState>{},
                                         config->server.alert_min_interval_seconds);
      channels_generation_ = generation;
      next_health_.clear();
      pools_.clear();
      auto limits = PoolLimitsFromConfig(env_, config->server);
      if (!limits.ok())
        Log("warning: " + limits.status().message() + "; using the configuration's");
      for (const auto& [name, db] : config->databases) {
        PoolLimits l = limits.ok() ? *limits : PoolLimits{};
        pools_[name] =
            std::make_unique<PgPool>(env_, pg_, db.conninfo, "database \"" + name + "\"", l);
      }
    }
    bool changed = false;
    int64_t now = clock_.NowSeconds();
    if (refresh_requested_.exchange(false) || now >= next_refresh_) {
      Refresh(stop);
      next_refresh_ = clock_.NowSeconds() + config->server.status_interval_seconds;
      changed = true;
    }
    for (const auto& [name, db] : config->databases) {
      if (stop->load() != 0) break;
      now = clock_.NowSeconds();
      if (now < next_health_[name]) continue;
      SampleHealth(*config, name, db);
      next_health_[name] = clock_.NowSeconds() + config->server.health_interval_seconds;
      changed = true;
    }
    if (changed) Alert(*config);
    if (now - last_prune_ > 86400) {
      Status pruned = state_.PruneHealth(now - kHealthKeptSeconds);
      if (!pruned.ok()) Log("warning: " + pruned.message());
      last_prune_ = now;
    }
  }
}

void MonitorLoop::Refresh(const std::atomic<int>* stop) {
  auto run = [&](std::vector<std::string> args) {
    JobRunOptions o;
    o.program = options_.program;
    o.config_path = options_.config_path;
    o.args = std::move(args);
    o.timeout_seconds = options_.refresh_timeout_seconds;
    o.kill_grace_seconds = 5;
    o.stop = stop;
    return RunJobProcess(env_, o);
  };
  JobOutcome status = run({"status"});
  // list takes a shared lock: an expire holding the exclusive one is waited
  // for (briefly), not reported as an unreadable repository.
  JobOutcome list = run({"--lock-wait", "120", "list"});
  JobOutcome drills = run({"drill", "--history"});
  if (stop->load() != 0) return;  // cut short by the stop: nothing to report
  const int64_t now = clock_.NowSeconds();
  view_.Update([&](DaemonSnapshot& s) {
    std::string error;
    // `status` exits 1 when unhealthy: its JSON is what counts.
    if (status.output.is_object() && status.output.contains("databases")) {
      s.status = status.output;
    } else {
      error = "status: " + (status.error.empty() ? status.result : status.error);
    }
    if (list.output.is_object() && list.output.contains("snapshots"))
      s.backups = list.output["snapshots"];
    else if (error.empty())
      error = "list: " + (list.error.empty() ? list.result : list.error);
    if (drills.output.is_object() && drills.output.contains("drills"))
      s.drills = drills.output["drills"];
    s.refresh_error = error;
    // Stale data keeps its old time: a repository that cannot be read shows
    // as such (and alerts), never as freshly read.
    if (status.output.is_object() && status.output.contains("databases")) s.refreshed = now;
  });
  auto snap = view_.Get();
  if (!snap->refresh_error.empty()) Log("warning: reading the repository: " + snap->refresh_error);
}

void MonitorLoop::SampleHealth(const Config& config, const std::string& name,
                               const DatabaseConfig& db) {
  (void)config;
  PgPool& pool = *pools_.at(name);
  DatabaseHealth h = ProbeDatabase(env_, pool, db);
  pool.Maintain();
  const PoolStats pool_stats = pool.Stats();
  const int64_t now = clock_.NowSeconds();
  HealthSample sample;
  sample.database = name;
  sample.at = now;
  sample.status = h.status;
  sample.latency_ms = h.latency_ms;
  sample.detail = h.status == "error" ? h.error : "";
  for (const auto& p : h.problems) sample.detail += (sample.detail.empty() ? "" : "; ") + p;
  Status saved = state_.AddHealth(sample);
  if (!saved.ok()) Log("warning: " + saved.message());
  view_.Update([&](DaemonSnapshot& s) {
    s.health[name] = h;
    s.health_at[name] = now;
    s.pools[name] = pool_stats;
  });
}

void MonitorLoop::Alert(const Config& config) {
  const int64_t now = clock_.NowSeconds();
  auto snap = view_.Get();
  const std::vector<AlertCondition> conditions = AlertConditions(*snap, config, now);
  // What is wrong now, for /api/alerts and the dashboard, with or without
  // channels to tell.
  nlohmann::json open = nlohmann::json::array();
  for (const AlertCondition& c : conditions) {
    if (!c.firing) {
      firing_since_.erase(c.key);
      continue;
    }
    const int64_t since = firing_since_.emplace(c.key, now).first->second;
    open.push_back({{"key", c.key},
                    {"database", c.database},
                    {"reason", c.reason},
                    {"since", FormatIsoTime(since)}});
  }
  view_.Update([&](DaemonSnapshot& s) { s.alerts = open; });
  if (channels_.empty()) return;
  std::vector<std::string> ids;
  for (const auto& c : channels_) ids.push_back(c->id());
  for (const AlertTracker::Due& due : tracker_->Evaluate(ids, conditions, now)) {
    AlertChannel* channel = nullptr;
    for (const auto& c : channels_)
      if (c->id() == due.channel) channel = c.get();
    Status sent = channel->Send(due.event);
    if (!sent.ok()) {
      tracker_->Failed(due, now);
      Log("warning: alert to " + channel->name() + " not delivered (" + sent.message() +
          "); trying again later");
      continue;
    }
    Status saved = state_.SaveAlert(tracker_->Delivered(due));
    if (!saved.ok()) Log("warning: " + saved.message());
    Log("alert to " + channel->name() + ": " + AlertSummary(due.event));
  }
}

}  // namespace pgkeep
