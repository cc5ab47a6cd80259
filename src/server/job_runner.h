// server/job_runner.h — one job of the daemon, run as a child pgkeep.
//
// Each job (a backup, a drill, expire, verify) runs as its own process:
// `pgkeep --config FILE --output json <command> ...`, the same command a
// user runs. A job that crashes, leaks or hangs takes only itself down: the
// daemon records its exit, and stops it at its timeout (SIGTERM, which
// pgkeep's commands handle by cleaning up, then SIGKILL after a grace). The
// repository's own locks and crash safety cover the rest: a job killed at
// any instant leaves the repository valid.
//
// Thread safety: functions keep no state; each call runs one process.
#pragma once

#include <atomic>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "schedule/scheduler.h"

namespace pgkeep {

// The command line (after the global options) of a scheduled job.
std::vector<std::string> JobCommandArgs(const ScheduledJob& job);

// Kept of a job's standard output by default (and recorded).
inline constexpr size_t kMaxJobOutputBytes = 4 << 20;

struct JobRunOptions {
  std::string program;      // pgkeep itself (Env::ExecutablePath)
  std::string config_path;  // passed as --config
  std::vector<std::string> args;
  int timeout_seconds = 6 * 3600;
  int kill_grace_seconds = 30;             // after SIGTERM, before SIGKILL
  const std::atomic<int>* stop = nullptr;  // non-zero: stop the job now (the daemon stops)
  // Kept of its standard output; more is read and dropped, and output that
  // was cut is no JSON.
  size_t max_output_bytes = kMaxJobOutputBytes;
};

struct JobOutcome {
  std::string result;  // "ok", "failed", "timeout", "interrupted"
  std::optional<int> exit_code;
  std::string error;      // one line, from the job's standard error
  nlohmann::json output;  // its JSON output (null when it printed none)
  double seconds = 0;
};

JobOutcome RunJobProcess(Env& env, const JobRunOptions& options);

}  // namespace pgkeep
