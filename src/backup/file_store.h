// backup/file_store.h — `store`: files, directories or standard input as a
// snapshot of kind "files", optionally filed under a configured database so
// its retention applies (meta "database").
//
// Files are recorded by their absolute path without the leading '/';
// directories are walked and their regular files stored in name order;
// standard input is recorded under a chosen relative name. An empty
// standard input is refused unless allowed: it is what a failed pg_dump
// upstream looks like.
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "repo/repository.h"
#include "repo/store_session.h"

namespace pgkeep {

struct StoreFilesOptions {
  std::vector<std::string> paths;  // files or directories; "-" is standard input
  std::string stdin_name = "stdin";
  std::string label;
  bool allow_empty = false;  // accept an empty standard input
  std::string database;      // file the snapshot under this database; empty: none
  StoreOptions store;
  Progress progress;  // "storing NAME" for each input, then "committing snapshot ID"
};

struct StoreInput {
  std::string source;  // path on disk, or "-"
  std::string name;    // path recorded in the snapshot
};

// What `options.paths` name, expanded: kUsage (nothing to store, an unusable
// --name), kNotFound (a path that does not exist) or kIo. Reads only the
// file system, so callers check before opening the repository.
Result<std::vector<StoreInput>> ExpandStoreInputs(Env& env, const StoreFilesOptions& options);

// Stores `inputs` as one snapshot and commits it; the repository's clock
// gives its time. The caller holds the shared lock and has loaded the index.
Result<Snapshot> StoreFiles(Env& env, Repository& repo, const std::vector<StoreInput>& inputs,
                            const StoreFilesOptions& options);

}  // namespace pgkeep
