#include "restore/file_load.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

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
  Status s = WriteFileDurably(env, target.string(),
                              [&](ByteSink& sink) { return loader.LoadFile(file, sink); },
                              {.temp_mode = OpenMode::kExclusive,
                               .mode = static_cast<mode_t>(file.mode & 07777),
                               .publish = Publish::kInPlace});
  if (s.os_error() == EEXIST)
    return Status::Error(ErrorCode::kUsage, s.message(), "load into an empty directory");
  return s;
}

}  // namespace

Result<LoadFilesResult> LoadFiles(Env& env, const Repository& repo,
                                  const LoadFilesOptions& options) {
  LoadFilesResult result;
  auto snapshot = repo.ReadSnapshot(options.snapshot);
  if (!snapshot.ok()) return snapshot.status();
  result.snapshot = std::move(*snapshot);
  Loader loader(repo);
  auto files = loader.ReadManifest(result.snapshot);
  if (!files.ok()) return files.status();
  if (options.files.empty()) {
    result.selected = std::move(*files);
  } else {
    for (const auto& want : options.files) {
      auto it = std::find_if(files->begin(), files->end(),
                             [&](const FileEntry& f) { return f.path == want; });
      if (it == files->end())
        return Status::Error(ErrorCode::kNotFound,
                             "snapshot \"" + result.snapshot.id + "\" has no file \"" + want + "\"",
                             "see \"pgkeep info " + result.snapshot.id + "\"");
      result.selected.push_back(*it);
    }
  }
  if (options.to_sink && result.selected.size() != 1)
    return Status::Error(ErrorCode::kUsage,
                         "--stdout needs exactly one file, the snapshot selection has " +
                             std::to_string(result.selected.size()),
                         "choose one with --file PATH");
  for (const auto& f : result.selected) {
    ReportStep(options.progress, "loading " + f.path);
    Status s = options.to_sink ? loader.LoadFile(f, *options.to_sink)
                               : LoadToFile(env, loader, f, options.to_dir);
    if (s.ok()) {
      result.loaded.push_back(f);
      result.bytes += f.size;
    } else {
      result.failed.push_back({f.path, s});
    }
  }
  return result;
}

}  // namespace pgkeep
