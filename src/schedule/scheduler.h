// schedule/scheduler.h — which scheduled job runs when: the daemon's clock
// work, with no I/O (the daemon keeps the state and runs the jobs).
//
// Jobs come from the configuration (JobsFromConfig): per database its
// EffectiveSchedule (backups by kind, drill), for the repository a daily
// expire and a weekly verify, and per [[copy]] target with a schedule a
// copy to it plus its own expire and verify at the repository's times, and
// per [[retention_policy]] with a schedule a run of it. Each job remembers the last
// slot (a firing time of its cron expression) it was run for; the daemon stores that map and hands
// it back after a restart.
//
// The rules, for a job whose next slot has come (slot <= now):
//   - it is due once, however many of its slots passed (downtime, a long
//     previous run): the slots in between are skipped, never queued;
//   - it never overlaps itself: while it runs it is not due; a slot that
//     passes meanwhile makes it due once when it finishes;
//   - at most `max_running` jobs run at once (one repository: its jobs
//     wait for each other rather than fail on its lock); the oldest slot
//     first, backups before copies, drills, retention runs, expire and
//     verify on a tie;
//   - a job with no recorded slot (new in the configuration, or a first
//     start) counts from the moment the scheduler was created: nothing
//     from before it existed is "missed".
//
// Thread safety: none; the daemon's scheduling loop owns it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/cron.h"
#include "common/status.h"
#include "common/time_zone.h"
#include "config/config.h"

namespace pgkeep {

struct ScheduledJob {
  // "backup/<db>/<kind>", "drill/<db>", "expire", "verify", for copy
  // target T "copy/T", "expire/T", "verify/T", and for retention policy P
  // "retention/P".
  std::string id;
  std::string database;  // empty for repository and copy jobs
  // "full", "incr", "logical", "drill", "copy", "retention", "expire", "verify"
  std::string kind;
  // The [[copy]] target a copy, expire or verify job works on, or the
  // [[retention_policy]] a retention job runs; "" = none.
  std::string target;
  CronExpr cron;
};

// Repository jobs' schedules.
inline constexpr char kExpireSchedule[] = "30 5 * * *";  // daily 05:30
inline constexpr char kVerifySchedule[] = "0 6 * * 0";   // Sundays 06:00

// Every job the configuration asks for, in a stable order.
Result<std::vector<ScheduledJob>> JobsFromConfig(const Config& config);

struct DueJob {
  const ScheduledJob* job;
  int64_t slot;         // the firing time it runs for (the latest that passed)
  int64_t skipped = 0;  // earlier slots that passed without a run (downtime)
};

class Scheduler {
 public:
  // `last_slots`: job id -> last slot run, as the daemon stored it.
  Scheduler(std::vector<ScheduledJob> jobs, TimeZone zone, int64_t now,
            const std::map<std::string, int64_t>& last_slots, int max_running = 1);

  // The jobs to start now (each is then running until Finished).
  std::vector<DueJob> TakeDue(int64_t now);
  void Finished(const std::string& id);

  // When the next job becomes due, if no job finishes before (nullopt: no
  // job ever fires again).
  std::optional<int64_t> NextWake() const;
  // The next slot of a job (nullopt: never), for display.
  std::optional<int64_t> NextSlot(const std::string& id) const;
  bool Running(const std::string& id) const;
  // What the daemon stores: job id -> last slot run.
  std::map<std::string, int64_t> LastSlots() const;
  const std::vector<ScheduledJob>& jobs() const { return jobs_; }

 private:
  struct State {
    int64_t last_slot = 0;
    std::optional<int64_t> next_slot;
    bool running = false;
  };
  std::vector<ScheduledJob> jobs_;
  TimeZone zone_;
  int max_running_;
  std::map<std::string, State> state_;
};

}  // namespace pgkeep
