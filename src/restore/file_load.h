// restore/file_load.h — `load`: files of a snapshot written back out, into a
// directory (never over an existing file) or to one sink (standard output).
//
// Every chunk is checked on the way (repo/loader.h). A file that fails is
// removed, never left looking loaded; the others are still loaded.
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "common/progress.h"
#include "common/stream.h"
#include "repo/repository.h"

namespace pgkeep {

struct LoadFilesOptions {
  std::string snapshot;            // id or "latest"
  std::vector<std::string> files;  // empty: all
  std::string to_dir;              // write under this directory, or...
  ByteSink* to_sink = nullptr;     // ...the one selected file here (not owned)
  Progress progress;               // "loading PATH" for each file
};

struct LoadFailure {
  std::string path;
  Status error;
};

struct LoadFilesResult {
  Snapshot snapshot;
  std::vector<FileEntry> selected;  // what was to be loaded
  std::vector<FileEntry> loaded;
  std::vector<LoadFailure> failed;  // in order; the first one's code is the command's
  uint64_t bytes = 0;               // of the loaded files
};

// Fails (nothing written) when the snapshot or a named file does not exist
// (kNotFound) or a sink gets other than exactly one file (kUsage); a file
// that cannot be written is a LoadFailure. The repository's index must be
// loaded.
Result<LoadFilesResult> LoadFiles(Env& env, const Repository& repo,
                                  const LoadFilesOptions& options);

}  // namespace pgkeep
