// repo/garbage_collector.h — removing what no snapshot references.
//
// Mark: every chunk named by a snapshot's manifest or files. Sweep, in an
// order that keeps the repository valid at every instant (a crash anywhere
// leaves at worst unindexed packs, which verify reports as harmless
// leftovers, and never an index naming a missing pack):
//   1. copy the live chunks of mostly-dead packs into new packs (stored
//      bytes copied as they are, each checked first: GC never spreads damage)
//   2. write one new index object naming every live chunk where it now is
//   3. delete the index objects that existed before
//   4. delete dead packs, repacked packs and unindexed leftovers
//
// It deletes only what it has proven unreferenced, so it runs only on a
// complete picture. Refused (kCheckFailed, nothing written or deleted) when:
//   - an index object could not be read: the packs it names would look like
//     leftovers, and deleting it would lose the only record of them;
//   - a pack the index names is missing or short: the index is not what was
//     written (a replayed older index object, a deleted pack), so which
//     copies exist is not known; `verify --repair` rebuilds the index first;
//   - a chunk a kept snapshot uses is in no index.
// The caller must also not run it while a snapshot object is damaged (its
// chunks are unknown, RunExpire skips it then). Repeated index entries for
// one chunk (chunk_index.h) are copies: every pack holding a copy of a live
// chunk counts as live and is kept. Unknown names under data/ and index/
// (repo/layout.h) are never deleted.
//
// Requires the exclusive lock (no store may run meanwhile: it could be about
// to reference a chunk being deleted) and repo.LoadIndex() done.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "repo/repository.h"

namespace pgkeep {

struct GcOptions {
  double repack_below = 0.5;    // repack packs whose live share of bytes is below this
  size_t pack_size = 16 << 20;  // target size of new packs
  bool dry_run = false;         // decide and report, change nothing
};

struct GcReport {
  uint64_t packs = 0;              // indexed packs before
  uint64_t packs_deleted = 0;      // no live chunk left
  uint64_t packs_repacked = 0;     // live chunks moved, pack deleted
  uint64_t packs_written = 0;      // new packs holding moved chunks
  uint64_t leftovers_deleted = 0;  // packs no index named
  uint64_t chunks_live = 0;
  uint64_t chunks_dead = 0;
  uint64_t bytes_freed = 0;  // stored bytes removed (dead chunks and leftovers)
  uint64_t bytes_moved = 0;  // live stored bytes copied by repacking
  uint64_t index_objects_replaced = 0;
};

// `live`: the snapshots that stay; everything only other snapshots use is
// garbage (a dry run of expire passes the ones it would keep).
Result<GcReport> CollectGarbage(Repository& repo, const std::vector<Snapshot>& live,
                                const GcOptions& options);

}  // namespace pgkeep
