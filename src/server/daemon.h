// server/daemon.h — `pgkeep serve`: the scheduler's loop, the watcher and
// the HTTP API.
//
// On start: the state database opened and migrated (state/), runs a previous
// daemon left "running" or "queued" recorded as interrupted, the API keys
// resolved, the jobs built from the configuration (schedule/) with their
// last slots, the HTTP server listening (server/http_server.h), the watcher
// started (server/monitor_loop.h). Then, until asked to stop: every due job,
// and every job asked for through the API, started as a child pgkeep
// (server/job_runner.h), one at a time (the jobs share one repository: they
// wait for each other rather than fail on its lock; one asked for by hand
// goes first), each start and end recorded in the state database and logged
// as one line. A reload (SIGHUP) reads the configuration again: a bad one is
// refused with its error and the old one kept; a good one takes effect once
// no job runs ([server] listen and state need a restart). A stop (SIGTERM,
// SIGINT) closes the API, lets running jobs finish within
// `stop_grace_seconds`, then stops them (recorded as interrupted).
//
// Thread safety: Run is called once, from one thread; jobs, the watcher and
// HTTP requests run on threads of their own.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "config/config.h"
#include "notify/channel.h"
#include "postgres/pg_connector.h"
#include "server/http_server.h"
#include "state/state_store.h"

namespace pgkeep {

struct DaemonOptions {
  std::string program;      // pgkeep itself, for the jobs
  std::string config_path;  // the jobs' --config
  std::string host;         // this machine's name, in alerts
  int job_timeout_seconds = 6 * 3600;
  int stop_grace_seconds = 60;
  // One line per event (start, job started, job ended, alert, stop); never a secret.
  std::function<void(const std::string&)> log;
  // Reads the configuration again (SIGHUP); a failure keeps the old one.
  std::function<Result<Config>()> load_config;
  // The dashboard's files (server/dashboard.h), or null.
  std::function<const StaticFile*(const std::string&)> static_file;
};

struct DaemonSignals {
  const std::atomic<int>* stop = nullptr;    // non-zero: stop
  const std::atomic<int>* reload = nullptr;  // changed: reload the configuration
};

// Runs until `*signals.stop` is non-zero. Fails only when it cannot start
// (the state database cannot be opened, an API key's secret is missing,
// the configuration's jobs are invalid, the listen address cannot be bound).
Status RunDaemon(Env& env, const Clock& clock, PgConnector& pg, Transport& transport,
                 const Config& config, const DaemonOptions& options, DaemonSignals signals);

}  // namespace pgkeep
