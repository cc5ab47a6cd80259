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
// which expire removes): first the WAL from the oldest selected physical
// backup's start on, the cluster identity and timeline histories; then per
// backup the packs holding its chunks (and an incremental's parents'), one
// new index object naming them, and the snapshot object; then the drill
// reports and forget-log entries of the copied databases. Objects the
// target has already are skipped, but a chunk is skipped only when the
// target's own index names an intact copy of it: a pack that is there
// while its index is not (a copy cut off between them), or whose dead
// chunks the target's expire dropped from its index, is indexed again.
// Without a --backup, a backup the target's retention would expire at once
// beside what the target holds is not sent (nor sent again after the
// target's expire removed it), unless a backup being copied builds on it.
//
// Loads the source's index itself, after listing its snapshots (so a
// backup committed meanwhile is whole in it), and the target's; takes a
// shared lock on the target.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/env.h"
#include "common/progress.h"
#include "config/config.h"
#include "repo/repository.h"

namespace pgkeep {

struct CopyOptions {
  std::vector<std::string> databases;  // empty: every database with backups
  std::string backup;                  // "": every backup; "latest" or an id
  std::chrono::seconds lock_wait{0};
  // The copy's own password (CopyConfig::password_env/_file); nullopt: the
  // source's key files go to the target as they are.
  std::optional<std::string> target_password;
  // The databases as the target's configuration has them (ConfigForCopy:
  // the [[copy]]'s retention in place of each database's); with them and no
  // `backup`, only what the target's retention keeps is sent. Null: all.
  const std::map<std::string, DatabaseConfig>* target_databases = nullptr;
  Progress progress;
};

struct CopyReport {
  bool initialized = false;          // the target was empty and became a mirror
  std::vector<std::string> copied;   // snapshot ids copied now
  std::vector<std::string> present;  // selected snapshot ids the target had already
  // Not sent: the target's retention would expire them at once (and may
  // have expired them there already).
  std::vector<std::string> skipped_by_retention;
  uint64_t packs_copied = 0;
  uint64_t packs_present = 0;
  uint64_t packs_indexed = 0;  // on the target already, but missing from its index
  uint64_t wal_copied = 0;
  uint64_t reports_copied = 0;
  uint64_t forget_entries_copied = 0;
  uint64_t bytes_copied = 0;
};

Result<CopyReport> CopyBackups(Env& env, Repository& source, Storage& target, const Clock& clock,
                               const CopyOptions& options);

}  // namespace pgkeep
