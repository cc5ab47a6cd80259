// store: parses, calls StoreFiles (backup/file_store.h), renders the snapshot.
#include <cstdio>

#include "backup/file_store.h"
#include "cli/commands.h"

namespace pgkeep {

CommandOutput RunStore(const CommandContext& ctx, const StoreArgs& args) {
  StoreFilesOptions options;
  options.paths = args.paths;
  options.stdin_name = args.stdin_name;
  options.progress = ctx.progress;
  options.label = args.label;
  options.allow_empty = args.allow_empty;
  options.database = args.db;
  std::vector<StoreInput> inputs = ValueOrThrow(ExpandStoreInputs(*ctx.env, options));
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "store", false);
  if (!args.db.empty()) (void)DatabaseOrThrow(opened.config, args.db);
  ThrowIfError(opened.repo->LoadIndex());
  options.store.compression_level = opened.config.repository.compression_level;
  options.store.pack_size = opened.config.repository.pack_size_mib << 20;
  int64_t started = ctx.env->MonotonicMicros();
  Snapshot snapshot = ValueOrThrow(StoreFiles(*ctx.env, *opened.repo, inputs, options));
  double seconds = static_cast<double>(ctx.env->MonotonicMicros() - started) / 1e6;

  const SnapshotStats& st = snapshot.stats;
  CommandOutput out;
  out.json = {{"ok", true}, {"snapshot", SnapshotToJson(snapshot, false)}, {"seconds", seconds}};
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f MB/s", seconds > 0 ? st.bytes / seconds / 1e6 : 0.0);
  out.text = "stored snapshot " + snapshot.id + "\n" + "  files:  " + std::to_string(st.files) +
             "\n  size:   " + FormatBytes(st.bytes) + " in " + std::to_string(st.chunks) +
             " chunks\n  added:  " + FormatBytes(st.stored_bytes) + " stored in " +
             std::to_string(st.new_chunks) +
             " new chunks (the rest was already in the repository)\n" + "  speed:  " + rate + "\n";
  return out;
}

}  // namespace pgkeep
