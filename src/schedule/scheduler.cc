#include "schedule/scheduler.h"

#include <algorithm>

namespace pgkeep {

namespace {

// Runs first on a tie of slots: backups, then copies, drills, row-level
// retention, expire, verify.
int Rank(const std::string& kind) {
  if (kind == "copy") return 1;
  if (kind == "drill") return 2;
  if (kind == "retention") return 3;
  if (kind == "expire") return 4;
  if (kind == "verify") return 5;
  return 0;
}

// Slots counted as skipped at most (the figure is for the log).
constexpr int kMaxSkippedCounted = 100;

}  // namespace

Result<std::vector<ScheduledJob>> JobsFromConfig(const Config& config) {
  std::vector<ScheduledJob> jobs;
  auto add = [&](std::string id, const std::string& database, const std::string& kind,
                 const std::string& cron, const std::string& target = "") -> Status {
    auto parsed = CronExpr::Parse(cron);
    if (!parsed.ok())
      return Status::Error(ErrorCode::kConfig, "job " + id + ": " + parsed.status().message(),
                           parsed.status().hint());
    jobs.push_back({std::move(id), database, kind, target, std::move(*parsed)});
    return Status::Ok();
  };
  for (const auto& [name, db] : config.databases)
    for (const auto& [kind, cron] : EffectiveSchedule(db))
      PGKEEP_RETURN_IF_ERROR(
          add(kind == "drill" ? "drill/" + name : "backup/" + name + "/" + kind, name, kind, cron));
  PGKEEP_RETURN_IF_ERROR(add("expire", "", "expire", kExpireSchedule));
  PGKEEP_RETURN_IF_ERROR(add("verify", "", "verify", kVerifySchedule));
  // A copy target keeps its own retention only if something expires it.
  for (const CopyConfig& c : config.copies) {
    if (c.schedule.empty()) continue;
    PGKEEP_RETURN_IF_ERROR(add("copy/" + c.name, "", "copy", c.schedule, c.name));
    PGKEEP_RETURN_IF_ERROR(add("expire/" + c.name, "", "expire", kExpireSchedule, c.name));
    PGKEEP_RETURN_IF_ERROR(add("verify/" + c.name, "", "verify", kVerifySchedule, c.name));
  }
  for (const RetentionPolicyConfig& p : config.retention_policies)
    if (!p.schedule.empty())
      PGKEEP_RETURN_IF_ERROR(
          add("retention/" + p.name, p.database, "retention", p.schedule, p.name));
  return jobs;
}

Scheduler::Scheduler(std::vector<ScheduledJob> jobs, TimeZone zone, int64_t now,
                     const std::map<std::string, int64_t>& last_slots, int max_running)
    : jobs_(std::move(jobs)), zone_(std::move(zone)), max_running_(std::max(1, max_running)) {
  for (const auto& job : jobs_) {
    State s;
    auto it = last_slots.find(job.id);
    // Never run (or a slot from the future, a clock set back): from now on.
    s.last_slot = it != last_slots.end() && it->second <= now ? it->second : now;
    s.next_slot = job.cron.NextAfter(s.last_slot, zone_);
    state_[job.id] = s;
  }
}

std::vector<DueJob> Scheduler::TakeDue(int64_t now) {
  int running = 0;
  std::vector<DueJob> due;
  for (const auto& job : jobs_) {
    const State& s = state_.at(job.id);
    if (s.running) ++running;
    if (!s.running && s.next_slot && *s.next_slot <= now) due.push_back({&job, *s.next_slot, 0});
  }
  std::stable_sort(due.begin(), due.end(), [](const DueJob& a, const DueJob& b) {
    if (a.slot != b.slot) return a.slot < b.slot;
    return Rank(a.job->kind) < Rank(b.job->kind);
  });
  if (static_cast<int>(due.size()) > max_running_ - running)
    due.resize(static_cast<size_t>(std::max(0, max_running_ - running)));
  for (DueJob& d : due) {
    State& s = state_.at(d.job->id);
    // The latest slot that has passed; the ones before it are skipped.
    for (int counted = 0; counted < kMaxSkippedCounted; ++counted) {
      auto later = d.job->cron.NextAfter(d.slot, zone_);
      if (!later || *later > now) break;
      d.slot = *later;
      ++d.skipped;
    }
    if (d.skipped == kMaxSkippedCounted) d.slot = now;  // many more: run for now
    s.running = true;
    s.last_slot = d.slot;
    s.next_slot = d.job->cron.NextAfter(std::max(d.slot, now), zone_);
  }
  return due;
}

void Scheduler::Finished(const std::string& id) {
  auto it = state_.find(id);
  if (it != state_.end()) it->second.running = false;
}

std::optional<int64_t> Scheduler::NextWake() const {
  std::optional<int64_t> wake;
  for (const auto& [id, s] : state_)
    if (!s.running && s.next_slot && (!wake || *s.next_slot < *wake)) wake = s.next_slot;
  return wake;
}

std::optional<int64_t> Scheduler::NextSlot(const std::string& id) const {
  auto it = state_.find(id);
  return it == state_.end() ? std::nullopt : it->second.next_slot;
}

bool Scheduler::Running(const std::string& id) const {
  auto it = state_.find(id);
  return it != state_.end() && it->second.running;
}

std::map<std::string, int64_t> Scheduler::LastSlots() const {
  std::map<std::string, int64_t> out;
  for (const auto& [id, s] : state_) out[id] = s.last_slot;
  return out;
}

}  // namespace pgkeep
