// repo/index_rebuild.h — `pgkeep verify --repair`: the index, rebuilt from
// the packs themselves.
//
// Every pack ends with an authenticated trailer listing its blobs
// (repo/pack.h), so the index can be derived from data/ alone. This is the
// answer to a damaged, deleted or replayed (older) index object: the result
// names exactly the blobs that are present, where they are.
//
// Order, so that a crash anywhere leaves a valid repository:
//   1. read every pack's trailer (and with check_blobs decode every blob,
//      leaving damaged ones out so the next store writes them again); a pack
//      that cannot be read at all (kIo: permissions, storage) stops the
//      rebuild before anything is written, since it may be whole;
//   2. write the new index objects (durable, content-named);
//   3. only then delete the index objects that existed before.
// A crash before 3 leaves old and new objects side by side: repeated entries,
// which readers and garbage collection handle (repo/chunk_index.h). Index
// objects with unknown names are left alone (repo/layout.h).
//
// A pack whose trailer is damaged keeps the entries a readable old index
// object gives for it. What it cannot recover: chunks whose pack is gone, or
// whose pack trailer is damaged and no readable index object names them (the
// pack is kept, but its blobs cannot be located).
// Backups using such chunks stay unrestorable; `verify` after the rebuild
// names them. Blobs an earlier collection left dead inside kept packs come
// back into the index; the next `expire` collects them again.
//
// Requires the exclusive lock: no store or expire may change data/ or index/
// meanwhile.
#pragma once

#include <string>
#include <vector>

#include "repo/repository.h"

namespace pgkeep {

struct RebuildReport {
  uint64_t packs = 0;           // packs read
  uint64_t chunks = 0;          // entries in the new index
  uint64_t blobs_left_out = 0;  // damaged blobs (check_blobs) or entries outside their pack
  uint64_t index_objects_written = 0;
  uint64_t index_objects_removed = 0;
  std::vector<std::string> problems;  // packs that could not be indexed, damaged blobs
};

Result<RebuildReport> RebuildIndex(Repository& repo, bool check_blobs);

}  // namespace pgkeep
