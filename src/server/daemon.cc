#include "server/daemon.h"

#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "schedule/scheduler.h"
#include "server/job_runner.h"

namespace pgkeep {

namespace {

struct Finished {
  std::string job;
  int64_t run_id;
  JobOutcome outcome;
};

}  // namespace

Status RunDaemon(Env& env, const Clock& clock, const Config& config, const DaemonOptions& o,
                 const std::atomic<int>* stop) {
  auto log = [&](const std::string& line) {
    if (o.log) o.log(line);
  };
  auto store = StateStore::Open(config.server.state);
  if (!store.ok()) return store.status();
  StateStore& state = **store;
  auto zone = TimeZone::Load(config.server.timezone);
  if (!zone.ok()) return zone.status();
  auto jobs = JobsFromConfig(config);
  if (!jobs.ok()) return jobs.status();
  auto slots = state.LastSlots();
  if (!slots.ok()) return slots.status();

  const int64_t start = clock.NowSeconds();
  auto interrupted = state.MarkInterruptedRuns(start, "the daemon stopped while it ran");
  if (!interrupted.ok()) return interrupted.status();
  if (*interrupted > 0)
    log(std::to_string(*interrupted) + " job run(s) of a previous daemon recorded as interrupted");
  Scheduler scheduler(std::move(*jobs), std::move(*zone), start, *slots, 1);
  log("started: " + std::to_string(scheduler.jobs().size()) + " scheduled jobs (time zone " +
      config.server.timezone + "), state " + config.server.state);
  for (const auto& job : scheduler.jobs())
    if (auto next = scheduler.NextSlot(job.id))
      log("job " + job.id + " (" + job.cron.text() + ") next at " + FormatIsoTime(*next));

  std::atomic<int> stop_jobs{0};
  std::mutex mu;
  std::deque<Finished> finished;
  std::map<int64_t, std::thread> workers;  // by run id, joined once collected
  int running = 0;

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
      scheduler.Finished(f.job);
      --running;
      char seconds[32];
      std::snprintf(seconds, sizeof seconds, "%.1f s", r.seconds);
      log("job " + f.job + " " + r.result + " after " + seconds +
          (r.error.empty() ? "" : ": " + r.error));
    }
    if (!done.empty()) {
      Status saved = state.SaveLastSlots(scheduler.LastSlots());
      if (!saved.ok()) log("warning: " + saved.message());
    }
  };

  while (stop->load() == 0) {
    collect();
    const int64_t now = clock.NowSeconds();
    for (const DueJob& due : scheduler.TakeDue(now)) {
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
        scheduler.Finished(due.job->id);
        continue;
      }
      // Saved at the start too: a daemon killed mid-job does not run it again.
      (void)state.SaveLastSlots(scheduler.LastSlots());
      log("job " + run.job + " started (" + run.trigger + ", slot " + FormatIsoTime(due.slot) +
          (due.skipped > 0 ? ", " + std::to_string(due.skipped) + " earlier slots skipped" : "") +
          ")");
      ++running;
      JobRunOptions options;
      options.program = o.program;
      options.config_path = o.config_path;
      options.args = JobCommandArgs(*due.job);
      options.timeout_seconds = o.job_timeout_seconds;
      options.stop = &stop_jobs;
      std::string job_id = run.job;
      int64_t run_id = *id;
      workers[run_id] = std::thread([&env, &mu, &finished, options, job_id, run_id] {
        JobOutcome outcome = RunJobProcess(env, options);
        std::lock_guard lock(mu);
        finished.push_back({job_id, run_id, std::move(outcome)});
      });
    }
    clock.SleepForMicros(200 * 1000);
  }

  log("stopping: " + std::to_string(running) + " job(s) running");
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
  log("stopped");
  return Status::Ok();
}

}  // namespace pgkeep
