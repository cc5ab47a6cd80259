// bench/make_expire_repo.cc — builds the repository that bench/expire.sh
// measures `pgkeep expire` on: SNAPSHOTS snapshots of database "db", each
// adding CHUNKS_PER_SNAPSHOT new 1 KiB-average chunks (small chunks, so a
// million of them fit in ~1 GiB), all through the real store pipeline.
//   make_expire_repo DIR PASSWORD [SNAPSHOTS] [CHUNKS_PER_SNAPSHOT]
#include <cstdio>
#include <cstdlib>

#include "repo/store_session.h"
#include "storage/posix_storage.h"
#include "support/text_data.h"

int main(int argc, char** argv) {
  using namespace pgkeep;
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: make_expire_repo DIR PASSWORD [SNAPSHOTS] [CHUNKS_PER_SNAPSHOT]\n");
    return 2;
  }
  int snapshots = argc > 3 ? std::atoi(argv[3]) : 1000;
  int chunks = argc > 4 ? std::atoi(argv[4]) : 1000;
  PosixEnv env;
  PosixStorage storage(env, argv[1]);
  SystemClock clock;
  InitOptions init;
  init.cdc = CdcParams{512, 1024, 4096};
  init.scrypt = ScryptParams{1 << 10, 8, 1};
  auto created = Repository::Init(storage, clock, init, std::string(argv[2]));
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().message().c_str());
    return 1;
  }
  auto repo = std::move(*Repository::Open(storage, clock, std::string(argv[2])));
  for (int i = 0; i < snapshots; ++i) {
    StoreSession session(*repo, StoreOptions{});
    testing::TextSource source(static_cast<uint64_t>(chunks) * 1024, 1000 + i);
    FileEntry meta;
    meta.path = "data";
    auto entry = session.StoreStream(source, repo->stream_chunker(), meta);
    Snapshot s;
    s.start_time = clock.NowSeconds();
    s.id = NewSnapshotId(s.start_time);
    s.kind = "files";
    s.meta["database"] = "db";
    auto done = entry.ok() ? session.Commit(s, {*entry}) : Result<Snapshot>(entry.status());
    if (!done.ok()) {
      std::fprintf(stderr, "snapshot %d: %s\n", i, done.status().message().c_str());
      return 1;
    }
  }
  std::printf("%d snapshots, %zu chunks\n", snapshots, repo->index().size());
  return 0;
}
