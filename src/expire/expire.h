// expire/expire.h — apply backup retention, then collect garbage.
//
// Per configured database, every snapshot gets a decision from the
// retention rules (retention/retention.h), with pins honoured. Snapshots of
// databases no longer configured, and plain `store` snapshots without a
// database, are kept: only configured rules delete. Then the expired
// snapshot objects are deleted and CollectGarbage frees what they alone used.
//
// The caller holds the exclusive repository lock and has loaded the index.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "repo/garbage_collector.h"
#include "repo/repository.h"

namespace pgkeep {

struct ExpireDecision {
  std::string id;
  std::string database;  // empty for snapshots of no database
  std::string kind;
  int64_t time = 0;
  uint64_t bytes = 0;
  bool keep = true;
  std::vector<std::string> reasons;
};

struct ExpireReport {
  bool dry_run = false;
  std::vector<ExpireDecision> decisions;  // oldest first
  uint64_t expired = 0;
  GcReport gc;
  int64_t time = 0;
};

struct ExpireOptions {
  bool dry_run = false;
  GcOptions gc;
};

Result<ExpireReport> RunExpire(Repository& repo, const Config& config, const ExpireOptions& options);

// The last expire's summary (object state/last-expire), for `status`.
Result<std::optional<nlohmann::json>> ReadLastExpire(const Repository& repo);

}  // namespace pgkeep
