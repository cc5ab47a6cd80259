// server/metrics.h — the daemon's Prometheus metrics (GET /metrics), in the
// text exposition format 0.0.4, named by Prometheus's conventions: the
// pgkeep_ prefix, base units in the name (_seconds, _bytes), _total for
// counters, _timestamp_seconds for points in time. The list, with what each
// means, is in docs/metrics.md; `promtool check metrics` accepts the output
// (tests/integration/serve_test.cc).
//
// Built from what the daemon already holds (the refreshed status, backups
// and drills, the newest health sample per database) and the job counts of
// the state database: scraping never touches the repository or PostgreSQL.
//
// Thread safety: functions keep no state.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "server/daemon_view.h"

namespace pgkeep {

// (kind, result) -> runs, from StateStore::RunCounts.
using RunCounts = std::map<std::pair<std::string, std::string>, int64_t>;

std::string RenderMetrics(const DaemonSnapshot& snap, const RunCounts& runs);

// "2026-12-06T19:26:37Z" (FormatIsoTime's form) to unix seconds; -1 if not that form.
int64_t ParseIsoSeconds(const std::string& text);

}  // namespace pgkeep
