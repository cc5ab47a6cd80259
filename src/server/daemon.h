// server/daemon.h — `pgkeep serve`: the scheduler's loop.
//
// On start: the state database opened and migrated (state/), runs a previous
// daemon left "running" recorded as interrupted, the jobs built from the
// configuration (schedule/) with their last slots. Then, until asked to
// stop: every due job started as a child pgkeep (server/job_runner.h), one
// at a time (the jobs share one repository: they wait for each other rather
// than fail on its lock), each start and end recorded in the state database
// and logged as one line. A stop (SIGTERM, SIGINT) lets running jobs finish
// within `stop_grace_seconds`, then stops them (they are recorded as
// interrupted) and returns.
//
// Thread safety: Run is called once, from one thread; jobs run on threads
// of their own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "config/config.h"
#include "state/state_store.h"

namespace pgkeep {

struct DaemonOptions {
  std::string program;      // pgkeep itself, for the jobs
  std::string config_path;  // the jobs' --config
  int job_timeout_seconds = 6 * 3600;
  int stop_grace_seconds = 60;
  // One line per event (start, job started, job ended, stop); never a secret.
  std::function<void(const std::string&)> log;
};

// Runs until `*stop` is non-zero. Fails only when it cannot start (the state
// database cannot be opened, the configuration's jobs are invalid).
Status RunDaemon(Env& env, const Clock& clock, const Config& config, const DaemonOptions& options,
                 const std::atomic<int>* stop);

}  // namespace pgkeep
