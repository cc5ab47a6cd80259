// repo/verifier.h — is the repository whole?
//
// Structure (always): every index object decodes, every pack it names exists
// and is long enough, every snapshot decodes and every chunk its files use is
// indexed. With read_data: every pack is read in full, its trailer must open,
// and every chunk in it must pass the GCM tag and id checks;
// damage is reported by pack and offset, with the snapshot files it affects.
//
// Packs that no index names are leftovers of interrupted stores: nothing
// refers to them, so they are reported as warnings, not errors. So are
// objects with unknown names and key files that do not parse. Damaged pins,
// index and snapshot objects, and missing packs are errors; a snapshot whose
// chunks were only in a missing pack is named with the files it loses.
// Every problem is reported; none stops the run.
//
// Copies of chunks found damaged are recorded in the repository (a new
// object under state/damaged/, Repository::RecordDamagedChunks): every later
// store writes those chunks again instead of deduplicating against the
// damaged copy, so backups taken after a verify that found damage restore.
// A file counts as damaged only when every copy of one of its chunks is.
#pragma once

#include <string>
#include <vector>

#include "repo/repository.h"

namespace pgkeep {

struct VerifyReport {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  uint64_t snapshots = 0;
  uint64_t index_objects = 0;
  uint64_t packs = 0;
  uint64_t chunks = 0;
  uint64_t bytes_read = 0;
  uint64_t packs_read = 0;
  bool ok() const { return errors.empty(); }
};

class Verifier {
 public:
  // `repo` must be freshly opened: the verifier loads the index itself.
  explicit Verifier(Repository& repo, int threads = 0) : repo_(repo), threads_(threads) {}
  // Fails only when the repository cannot be read at all; problems found are
  // in the report.
  // `subset_percent` (1-100) reads that share of the packs, chosen by
  // `subset_seed` (callers draw it at random each run, so a daily
  // `--subset 5` covers everything in weeks; tests fix it).
  Result<VerifyReport> Run(bool read_data, int subset_percent = 100, uint64_t subset_seed = 0);

 private:
  Repository& repo_;
  int threads_;
};

}  // namespace pgkeep
