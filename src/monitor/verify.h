// monitor/verify.h — `verify` as one library call: with `repair` the index
// rebuilt from the packs first (repo/index_rebuild.h), then every object
// checked (repo/verifier.h), the last-expire record read, and the WAL of
// every physical database checked (wal/wal_verify.h); one report.
//
// The caller holds the repository lock: exclusive with `repair`, else shared.
// The index need not be loaded.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "common/env.h"
#include "common/progress.h"
#include "repo/index_rebuild.h"
#include "repo/repository.h"
#include "repo/verifier.h"
#include "wal/wal_verify.h"

namespace pgkeep {

struct VerifyOptions {
  bool read_data = false;    // read and check every stored byte
  int subset_percent = 100;  // with read_data: this share of packs, chosen at random (env.Random64)
  bool repair = false;       // rebuild the index first (needs every pack: subset 100)
  // Steps as they start ("rebuilding the index", "checking objects",
  // "checking WAL"). May be empty.
  Progress progress;
};

struct VerifyResult {
  VerifyReport repository;  // its errors and warnings include the WAL's
  WalVerifyReport wal;
  std::optional<RebuildReport> rebuilt;  // with repair
  bool ok() const { return repository.ok(); }
};

// kUsage for a request that does not fit (--subset without --read-data,
// --repair with --subset); cheap, so callers check before opening anything.
Status CheckVerifyRequest(const VerifyOptions& options);

// Fails only when the repository cannot be read; problems found are in the result.
Result<VerifyResult> VerifyRepository(Env& env, Repository& repo, const VerifyOptions& options);

}  // namespace pgkeep
