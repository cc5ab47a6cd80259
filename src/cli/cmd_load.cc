// load: parses, calls LoadFiles (restore/file_load.h), renders the result.
#include <unistd.h>

#include "cli/commands.h"
#include "restore/file_load.h"

namespace pgkeep {

CommandOutput RunLoad(const CommandContext& ctx, const LoadArgs& args) {
  if (args.to_stdout == !args.to_dir.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage, "say where to load to",
                                     "pass exactly one of --to DIR or --stdout")};
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "load", true);
  FdSink standard_output(STDOUT_FILENO, "standard output");
  LoadFilesOptions options;
  options.snapshot = args.snapshot;
  options.files = args.files;
  options.to_dir = args.to_dir;
  options.progress = ctx.progress;
  if (args.to_stdout) options.to_sink = &standard_output;
  LoadFilesResult r = ValueOrThrow(LoadFiles(*ctx.env, *opened.repo, options));

  CommandOutput out;
  out.data_on_stdout = args.to_stdout;
  auto& loaded = out.json["loaded"] = nlohmann::json::array();
  auto& failed = out.json["failed"] = nlohmann::json::array();
  for (const auto& f : r.loaded) loaded.push_back({{"path", f.path}, {"size", f.size}});
  for (const auto& f : r.failed) {
    failed.push_back({{"path", f.path}, {"error", f.error.message()}});
    out.text += "error: " + f.path + ": " + f.error.message() + "\n";
  }
  if (!r.failed.empty()) out.result = r.failed.front().error.code();  // the first failure decides
  out.json["ok"] = failed.empty();
  out.json["snapshot"] = r.snapshot.id;
  out.text += "loaded " + std::to_string(r.loaded.size()) + " of " +
              std::to_string(r.selected.size()) + " file(s), " + FormatBytes(r.bytes) +
              ", from snapshot " + r.snapshot.id + "\n";
  if (!r.failed.empty())
    out.text += std::to_string(r.failed.size()) + " file(s) could not be loaded\n";
  return out;
}

}  // namespace pgkeep
