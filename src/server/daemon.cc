#include "server/daemon.h"

#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "schedule/scheduler.h"
#include "server/api.h"
#include "server/daemon_view.h"
#include "server/job_runner.h"
#include "server/metrics.h"
#include "server/monitor_loop.h"

namespace pgkeep {

namespace {

// Jobs asked for through the API wait here; at most this many at once.
constexpr size_t kMaxQueuedJobs = 16;

// A retention run's output as the job history keeps it: whole when it fits
// the usual bound, else with each policy's list of tenants replaced by
// their number (the totals stay).
nlohmann::json WithoutTenantsIfLarge(const nlohmann::json& output) {
  if (!output.is_object() || output.dump().size() <= kMaxJobOutputBytes) return output;
  nlohmann::json kept = output;
  if (kept.contains("policies") && kept["policies"].is_array())
    for (auto& policy : kept["policies"])
      if (policy.is_object() && policy.contains("tenants") && policy["tenants"].is_array()) {
        policy["tenants_not_recorded"] = policy["tenants"].size();
        policy.erase("tenants");
      }
  return kept;
}

struct Finished {
  std::string job;
  int64_t run_id;
  bool scheduled;
  JobOutcome outcome;
};

struct Queued {
  int64_t run_id;
  ScheduledJob job;
};

// Everything a reload replaces, checked before anything is replaced.
struct Loaded {
  std::shared_ptr<const ApiSettings> settings;
  std::vector<ScheduledJob> jobs;
  TimeZone zone;
};

Result<Loaded> Load(Env& env, const Config& config) {
  auto zone = TimeZone::Load(config.server.timezone);
  if (!zone.ok()) return zone.status();
  auto jobs = JobsFromConfig(config);
  if (!jobs.ok()) return jobs.status();
  auto auth = ApiAuth::FromConfig(env, config.server);
  if (!auth.ok()) return auth.status();
  auto pool = PoolLimitsFromConfig(env, config.server);
  if (!pool.ok()) return pool.status();
  return Loaded{std::make_shared<const ApiSettings>(ApiSettings{config, std::move(*auth)}),
                std::move(*jobs), std::move(*zone)};
}

}  // namespace

Status RunDaemon(Env& env, const Clock& clock, PgConnector& pg, Transport& transport,
                 const Config& config, const DaemonOptions& o, DaemonSignals signals) {
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  auto store = StateStore::Open(config.server.state);
  if (!store.ok()) return store.status();
  StateStore& state = **store;
  auto loaded = Load(env, config);
  if (!loaded.ok()) return loaded.status();
  auto slots = state.LastSlots();
  if (!slots.ok()) return slots.status();

  const int64_t start = clock.NowSeconds();
  auto interrupted = state.MarkInterruptedRuns(start, "the daemon stopped while it ran");
  if (!interrupted.ok()) return interrupted.status();
  if (*interrupted > 0)
    log(std::to_string(*interrupted) + " job run(s) of a previous daemon recorded as interrupted");
  auto scheduler = std::make_unique<Scheduler>(std::move(loaded->jobs), std::move(loaded->zone),
                                               start, *slots, 1);

  std::mutex mu;  // guards settings, queue, finished
  std::shared_ptr<const ApiSettings> settings = loaded->settings;
  std::deque<Queued> queue;
  std::deque<Finished> finished;

  DaemonView view(start);
  MonitorOptions monitor_options;
  monitor_options.program = o.program;
  monitor_options.config_path = o.config_path;
  monitor_options.host = o.host;
  monitor_options.log = o.log;
  MonitorLoop monitor(env, clock, pg, transport, state, view, monitor_options);
  monitor.SetConfig(std::make_shared<const Config>(settings->config));

  ApiDeps deps;
  deps.settings = [&] {
    std::lock_guard lock(mu);
    return settings;
  };
  deps.view = &view;
  deps.state = &state;
  deps.submit = [&](const ManualJob& m) -> Result<int64_t> {
    std::lock_guard lock(mu);
    const std::string id =
        m.kind == "drill" ? "api/drill/" + m.database : "api/backup/" + m.database + "/" + m.kind;
    for (const Queued& q : queue)
      if (q.job.id == id) return q.run_id;  // the same job already waits: one run serves both
    if (queue.size() >= kMaxQueuedJobs)
      return Status::Error(ErrorCode::kLocked,
                           std::to_string(kMaxQueuedJobs) + " jobs are already waiting",
                           "wait for them (GET /api/jobs) and ask again");
    JobRun run;
    run.job = id;
    run.kind = m.kind;
    run.database = m.database;
    run.trigger = "api";
    run.started = clock.NowSeconds();
    run.result = "queued";
    auto run_id = state.RunStarted(run);
    if (!run_id.ok()) return run_id.status();
    ScheduledJob job;
    job.id = id;
    job.kind = m.kind;
    job.database = m.database;
    queue.push_back({*run_id, std::move(job)});
    log("job " + id + " queued (asked for by API key \"" + m.caller + "\", run " +
        std::to_string(*run_id) + ")");
    return *run_id;
  };
  std::atomic<int> stop_jobs{0};
  deps.now = [&] { return clock.NowSeconds(); };
  // POST /internal/retention/run: the run happens in the request, as the
  // seed team's endpoint did, as a child pgkeep recorded like any job.
  deps.run_retention = [&]() -> Result<nlohmann::json> {
    JobRun run;
    run.job = "internal/retention";
    run.kind = "retention";
    run.trigger = "api";
    run.started = clock.NowSeconds();
    auto run_id = state.RunStarted(run);
    JobRunOptions options;
    options.program = o.program;
    options.config_path = o.config_path;
    options.args = {"retention", "run"};
    options.timeout_seconds = o.job_timeout_seconds;
    // Its JSON names every tenant (~220 bytes each): room for a million,
    // or the answer's totals would be lost past ~19,000 organizations.
    options.max_output_bytes = 256 << 20;
    // Stopping the daemon stops the run at once (each batch is one
    // transaction): the HTTP server's stop waits for this request.
    options.stop = signals.stop;
    log("retention run started (POST /internal/retention/run)");
    JobOutcome outcome = RunJobProcess(env, options);
    if (run_id.ok())
      (void)state.RunFinished(*run_id, clock.NowSeconds(), outcome.result, outcome.exit_code,
                              outcome.error, WithoutTenantsIfLarge(outcome.output));
    log("retention run " + outcome.result + (outcome.error.empty() ? "" : ": " + outcome.error));
    if (outcome.result == "ok") return outcome.output;
    return Status::Error(
        outcome.exit_code == 8 ? ErrorCode::kLocked : ErrorCode::kInternal,
        outcome.error.empty() ? "the retention run " + outcome.result : outcome.error);
  };
  deps.metrics = [&] {
    auto counts = state.RunCounts();
    return RenderMetrics(*view.Get(), counts.ok() ? *counts : RunCounts{});
  };
  ApiRouter router(deps);
  HttpServerOptions http_options;
  http_options.listen = config.server.listen;
  http_options.tls_cert = config.server.tls_cert;
  http_options.tls_key = config.server.tls_key;
  http_options.static_file = o.static_file;
  http_options.log = o.log;
  HttpServer http(router, http_options);
  Status listening = http.Start();
  if (!listening.ok()) return listening;

  log("started: " + std::to_string(scheduler->jobs().size()) + " scheduled jobs (time zone " +
      config.server.timezone + "), state " + config.server.state + ", API on " +
      (config.server.tls_cert.empty() ? "http://" : "https://") +
      config.server.listen.substr(0, config.server.listen.rfind(':')) + ":" +
      std::to_string(http.port()));
  for (const auto& job : scheduler->jobs())
    if (auto next = scheduler->NextSlot(job.id))
      log("job " + job.id + " (" + job.cron.text() + ") next at " + FormatIsoTime(*next));

  std::atomic<int> stop_monitor{0};
  std::thread monitor_thread([&] { monitor.Run(&stop_monitor); });

  std::map<int64_t, std::thread> workers;  // by run id, joined once collected
  int running = 0;
  std::optional<Loaded> pending;  // a good new configuration, applied once no job runs
  int reloads_seen = signals.reload ? signals.reload->load() : 0;
  bool last_was_manual = false;
  auto queue_empty = [&] {
    std::lock_guard lock(mu);
    return queue.empty();
  };

  auto collect = [&] {
    std::deque<Finished> done;
    {
      std::lock_guard lock(mu);
      done.swap(finished);
    }
    for (Finished& f : done) {
      if (auto w = workers.find(f.run_id); w != workers.end()) {
        w->second.join();
        workers.erase(w);
      }
      const JobOutcome& r = f.outcome;
      Status saved =
          state.RunFinished(f.run_id, clock.NowSeconds(), r.result, r.exit_code, r.error, r.output);
      if (!saved.ok()) log("warning: " + saved.message());
      if (f.scheduled) scheduler->Finished(f.job);
      --running;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f s", r.seconds);
      log("job " + f.job + " " + r.result + " after " + seconds +
          (r.error.empty() ? "" : ": " + r.error));
      monitor.RequestRefresh();
    }
    if (!done.empty()) {
      Status saved = state.SaveLastSlots(scheduler->LastSlots());
      if (!saved.ok()) log("warning: " + saved.message());
    }
  };
  auto launch = [&](const ScheduledJob& job, int64_t run_id, bool scheduled) {
    ++running;
    JobRunOptions options;
    options.program = o.program;
    options.config_path = o.config_path;
    // A lock another pgkeep holds (an expire run by hand) is waited for,
    // within the job's own timeout, instead of failing the job.
    options.args = {"--lock-wait", std::to_string(o.job_timeout_seconds)};
    for (std::string& arg : JobCommandArgs(job)) options.args.push_back(std::move(arg));
    options.timeout_seconds = o.job_timeout_seconds;
    options.stop = &stop_jobs;
    std::string job_id = job.id;
    workers[run_id] = std::thread([&env, &mu, &finished, options, job_id, run_id, scheduled] {
      JobOutcome outcome = RunJobProcess(env, options);
      std::lock_guard lock(mu);
      finished.push_back({job_id, run_id, scheduled, std::move(outcome)});
    });
  };

  while (signals.stop->load() == 0) {
    collect();
    if (signals.reload && signals.reload->load() != reloads_seen) {
      reloads_seen = signals.reload->load();
      Result<Config> next =
          o.load_config ? o.load_config() : Status::Error(ErrorCode::kConfig, "cannot reload");
      Result<Loaded> checked = next.ok() ? Load(env, *next) : next.status();
      if (!checked.ok()) {
        log("configuration reload refused, the previous one is kept: " +
            checked.status().message());
      } else {
        if (next->server.listen != config.server.listen ||
            next->server.state != config.server.state)
          log("warning: [server] listen and state change only at a restart");
        // Keys, databases and alerts apply now (a revoked key stops working
        // at once); the schedule once no job runs, so none overlaps itself.
        {
          std::lock_guard lock(mu);
          settings = checked->settings;
        }
        monitor.SetConfig(std::make_shared<const Config>(settings->config));
        pending = std::move(*checked);
        log("configuration reloaded: " + std::to_string(settings->config.server.api_keys.size()) +
            " API key(s), " + std::to_string(settings->config.alerts.size()) + " alert channel(s)" +
            (running > 0 ? "; the new schedule waits for the running job" : ""));
      }
    }
    if (pending && running == 0) {
      scheduler = std::make_unique<Scheduler>(std::move(pending->jobs), std::move(pending->zone),
                                              clock.NowSeconds(), scheduler->LastSlots(), 1);
      pending.reset();
      log("schedule reloaded: " + std::to_string(scheduler->jobs().size()) + " scheduled jobs");
    }
    const int64_t now = clock.NowSeconds();
    std::vector<DueJob> due_jobs;
    std::optional<Queued> manual;
    if (running == 0 && !pending) {
      // A job asked for by hand goes first, but never twice in a row while a
      // scheduled one is due: a busy API cannot starve the schedule.
      if (last_was_manual || queue_empty()) due_jobs = scheduler->TakeDue(now);
      if (due_jobs.empty()) {
        std::lock_guard lock(mu);
        if (!queue.empty()) {
          manual = std::move(queue.front());
          queue.pop_front();
        }
      }
    } else if (running == 0) {
      std::lock_guard lock(mu);
      if (!queue.empty()) {
        manual = std::move(queue.front());
        queue.pop_front();
      }
    }
    if (manual) {
      last_was_manual = true;
      Status started = state.RunDequeued(manual->run_id, now);
      if (!started.ok()) log("warning: " + started.message());
      log("job " + manual->job.id + " started (api, run " + std::to_string(manual->run_id) + ")");
      launch(manual->job, manual->run_id, false);
    } else {
      if (!due_jobs.empty()) last_was_manual = false;
      for (const DueJob& due : due_jobs) {
        JobRun run;
        run.job = due.job->id;
        run.kind = due.job->kind;
        run.database = due.job->database;
        run.trigger = due.skipped > 0 || now - due.slot > 60 ? "missed" : "schedule";
        run.slot = due.slot;
        run.started = now;
        auto id = state.RunStarted(run);
        if (!id.ok()) {
          log("warning: " + id.status().message());
          scheduler->Finished(due.job->id);
          continue;
        }
        // Saved at the start too: a daemon killed mid-job does not run it again.
        (void)state.SaveLastSlots(scheduler->LastSlots());
        log("job " + run.job + " started (" + run.trigger + ", slot " + FormatIsoTime(due.slot) +
            (due.skipped > 0 ? ", " + std::to_string(due.skipped) + " earlier slots skipped" : "") +
            ")");
        launch(*due.job, *id, true);
      }
    }
    clock.SleepForMicros(200 * 1000);
  }

  log("stopping: " + std::to_string(running) + " job(s) running");
  http.Stop();
  stop_monitor.store(1);
  const int64_t grace_end = clock.MonotonicMicros() + int64_t{o.stop_grace_seconds} * 1000000;
  while (running > 0) {
    if (stop_jobs.load() == 0 && clock.MonotonicMicros() >= grace_end) {
      log("stopping the running job(s) after the grace of " + std::to_string(o.stop_grace_seconds) +
          " s");
      stop_jobs.store(1);
    }
    clock.SleepForMicros(100 * 1000);
    collect();
  }
  collect();
  monitor_thread.join();
  {
    std::lock_guard lock(mu);
    for (const Queued& q : queue)
      (void)state.RunFinished(q.run_id, clock.NowSeconds(), "interrupted", std::nullopt,
                              "the daemon stopped before the job's turn", nullptr);
  }
  log("stopped");
  return Status::Ok();
}

}  // namespace pgkeep
