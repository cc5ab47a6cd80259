// copy/copy.h — copying backups to a second repository (a [[copy]] target:
// another directory or bucket), without reading the database again.
//
// The target is a mirror of the source: the same config object and master
// key, so every object is copied as the bytes it is, never decoded and
// sealed again. An empty target is made one by writing keys/ (the source's
// key files, or the master key sealed under the copy's own password) and
// then config; a target that holds another repository is refused
// (kConflict), and one that its own password no longer opens too (kAuth).
//
// What a backup needs arrives before the backup does, so a copy interrupted
// at any instant leaves the target valid (at worst packs no index names,
// which expire removes): the packs holding its chunks (and an incremental's
// parents'), then one new index object naming them, then the snapshot
// object; then the WAL from the oldest copied physical backup's start on,
// the cluster identity and timeline histories, and the drill reports of the
// copied databases. Objects the target has already are skipped.
//
// Needs the source's index loaded; takes a shared lock on the target.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "common/progress.h"
#include "repo/repository.h"

namespace pgkeep {

struct CopyOptions {
  std::vector<std::string> databases;  // empty: every database with backups
  std::string backup;                  // "": every backup; "latest" or an id
  std::chrono::seconds lock_wait{0};
  // The copy's own password (CopyConfig::password_env/_file); nullopt: the
  // source's key files go to the target as they are.
  std::optional<std::string> target_password;
  Progress progress;
};

struct CopyReport {
  bool initialized = false;          // the target was empty and became a mirror
  std::vector<std::string> copied;   // snapshot ids copied now
  std::vector<std::string> present;  // selected snapshot ids the target had already
  uint64_t packs_copied = 0;
  uint64_t packs_present = 0;
  uint64_t wal_copied = 0;
  uint64_t reports_copied = 0;
  uint64_t forget_entries_copied = 0;
  uint64_t bytes_copied = 0;
};

Result<CopyReport> CopyBackups(Env& env, Repository& source, Storage& target, const Clock& clock,
                               const CopyOptions& options);

}  // namespace pgkeep
