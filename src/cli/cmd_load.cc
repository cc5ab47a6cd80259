#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "common/file_io.h"
#include "repo/loader.h"

namespace pgkeep {

namespace {

// Refuses paths that would escape the target directory.
bool IsSafeRelativePath(const std::string& path) {
  if (path.empty() || path.front() == '/') return false;
  for (const auto& part : std::filesystem::path(path))
    if (part == "..") return false;
  return true;
}

Status LoadToFile(Env& env, Loader& loader, const FileEntry& file, const std::string& dir) {
  if (!IsSafeRelativePath(file.path))
    return Status::Error(ErrorCode::kCorrupt, "unsafe path \"" + file.path + "\" in snapshot");
  std::filesystem::path target = std::filesystem::path(dir) / file.path;
  Status made = CreateDirectories(env, target.parent_path().string(), 0777);
  if (!made.ok())
    return Status::Error(ErrorCode::kIo, "cannot create \"" + target.parent_path().string() +
                                             "\": " + std::strerror(made.os_error()));
  // In place, removed on failure: never a partial file that looks restored.
  Status s = WriteFileDurably(
      env, target.string(), [&](ByteSink& sink) { return loader.LoadFile(file, sink); },
      {.temp_mode = OpenMode::kExclusive,
       .mode = static_cast<mode_t>(file.mode & 07777),
       .publish = Publish::kInPlace});
  if (s.os_error() == EEXIST)
    return Status::Error(ErrorCode::kUsage, s.message(), "load into an empty directory");
  return s;
}

}  // namespace

CommandOutput RunLoad(const CommandContext& ctx, const LoadArgs& args) {
  if (args.to_stdout == !args.to_dir.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage, "say where to load to",
                                     "pass exactly one of --to DIR or --stdout")};
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "load", true);
  Snapshot snapshot = ValueOrThrow(opened.repo->ReadSnapshot(args.snapshot));
  Loader loader(*opened.repo);
  std::vector<FileEntry> files = ValueOrThrow(loader.ReadManifest(snapshot));
  if (!args.files.empty()) {
    std::vector<FileEntry> chosen;
    for (const auto& want : args.files) {
      auto it = std::find_if(files.begin(), files.end(), [&](const FileEntry& f) { return f.path == want; });
      if (it == files.end())
        throw CommandError{Status::Error(ErrorCode::kNotFound,
                                         "snapshot \"" + snapshot.id + "\" has no file \"" + want + "\"",
                                         "see \"pgkeep info " + snapshot.id + "\"")};
      chosen.push_back(*it);
    }
    files = std::move(chosen);
  }
  if (args.to_stdout && files.size() != 1)
    throw CommandError{Status::Error(ErrorCode::kUsage,
                                     "--stdout needs exactly one file, the snapshot selection has " +
                                         std::to_string(files.size()),
                                     "choose one with --file PATH")};

  CommandOutput out;
  auto& loaded = out.json["loaded"] = nlohmann::json::array();
  auto& failed = out.json["failed"] = nlohmann::json::array();
  uint64_t bytes = 0;
  for (const auto& f : files) {
    Status s;
    if (args.to_stdout) {
      FdSink sink(STDOUT_FILENO, "standard output");
      s = loader.LoadFile(f, sink);
    } else {
      s = LoadToFile(*ctx.env, loader, f, args.to_dir);
    }
    if (s.ok()) {
      loaded.push_back({{"path", f.path}, {"size", f.size}});
      bytes += f.size;
    } else {
      failed.push_back({{"path", f.path}, {"error", s.message()}});
      out.text += "error: " + f.path + ": " + s.message() + "\n";
      if (out.result == ErrorCode::kOk) out.result = s.code();  // the first failure decides
    }
  }
  out.json["ok"] = failed.empty();
  out.json["snapshot"] = snapshot.id;
  out.text += "loaded " + std::to_string(loaded.size()) + " of " + std::to_string(files.size()) +
              " file(s), " + FormatBytes(bytes) + ", from snapshot " + snapshot.id + "\n";
  if (!failed.empty()) out.text += std::to_string(failed.size()) + " file(s) could not be loaded\n";
  return out;
}

}  // namespace pgkeep
