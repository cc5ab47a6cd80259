#include "backup/file_store.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/file_io.h"

namespace pgkeep {

namespace {

std::string CleanPath(std::string p) {
  while (p.rfind("./", 0) == 0) p.erase(0, 2);
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// Files are recorded by their absolute path without the leading '/', so
// "../x" and "/tmp/x" both name something loadable under a target directory.
std::string RecordedName(const std::string& cwd, const std::string& p) {
  std::filesystem::path absolute =
      !p.empty() && p.front() == '/' ? std::filesystem::path(p) : std::filesystem::path(cwd) / p;
  return CleanPath(absolute.lexically_normal().string());
}

// The regular files under `dir`, depth first. Symlinks to files are stored
// (their target's bytes); symlinked directories are not followed, so a link
// cycle cannot make the walk endless.
Status CollectFiles(Env& env, const std::string& cwd, const std::string& dir,
                    std::vector<StoreInput>& found) {
  auto names = env.ListDir(dir);
  if (!names.ok())
    return Status::Error(
        ErrorCode::kIo, "cannot list \"" + dir + "\": " + std::strerror(names.status().os_error()));
  for (const auto& name : *names) {
    std::string path = dir + "/" + name;
    auto info = env.Stat(path, /*follow_symlinks=*/false);
    if (!info.ok()) continue;  // removed while we walk
    if (info->type == FileType::kDirectory) {
      PGKEEP_RETURN_IF_ERROR(CollectFiles(env, cwd, path, found));
      continue;
    }
    if (info->type == FileType::kSymlink) info = env.Stat(path, /*follow_symlinks=*/true);
    if (info.ok() && info->type == FileType::kRegular)
      found.push_back({path, RecordedName(cwd, path)});
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<StoreInput>> ExpandStoreInputs(Env& env, const StoreFilesOptions& options) {
  if (options.paths.empty())
    return Status::Error(ErrorCode::kUsage, "nothing to store",
                         "name files or directories, or \"-\" for standard input");
  auto cwd = env.CurrentDirectory();
  if (!cwd.ok()) return cwd.status();
  std::vector<StoreInput> inputs;
  for (const auto& path : options.paths) {
    if (path == "-") {
      std::string name = CleanPath(options.stdin_name);
      bool unsafe = name.empty();
      for (const auto& part : std::filesystem::path(name))
        if (part == ".." || part == ".") unsafe = true;
      if (unsafe)
        return Status::Error(ErrorCode::kUsage,
                             "--name \"" + options.stdin_name + "\" is not a usable file name",
                             "use a relative name without \"..\", such as mydb.dump");
      inputs.push_back({"-", name});
      continue;
    }
    auto info = env.Stat(path);
    if (!info.ok())
      return Status::Error(
          info.status().os_error() == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
          "cannot store \"" + path + "\": " + std::strerror(info.status().os_error()));
    if (info->type == FileType::kDirectory) {
      std::vector<StoreInput> found;
      std::string dir = path;
      while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
      PGKEEP_RETURN_IF_ERROR(CollectFiles(env, *cwd, dir, found));
      std::sort(found.begin(), found.end(),
                [](const StoreInput& a, const StoreInput& b) { return a.name < b.name; });
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else {
      inputs.push_back({path, RecordedName(*cwd, path)});
    }
  }
  return inputs;
}

Result<Snapshot> StoreFiles(Env& env, Repository& repo, const std::vector<StoreInput>& inputs,
                            const StoreFilesOptions& options) {
  Snapshot snapshot;
  snapshot.start_time = repo.clock().NowSeconds();
  snapshot.id = NewSnapshotId(snapshot.start_time);
  snapshot.kind = "files";
  snapshot.label = options.label;
  snapshot.hostname = env.HostName();
  if (!options.database.empty()) snapshot.meta[kMetaDatabase] = options.database;

  StoreSession session(repo, options.store);
  std::vector<FileEntry> files;
  for (const auto& input : inputs) {
    ReportStep(options.progress, "storing " + input.name);
    FileEntry meta;
    meta.path = input.name;
    meta.mtime = repo.clock().NowSeconds();
    FdSource stdin_source(STDIN_FILENO, "standard input");
    std::unique_ptr<ReadableFile> file;
    if (input.source != "-") {
      auto opened = env.NewReadableFile(input.source);
      if (!opened.ok())
        return Status::Error(ErrorCode::kIo, "cannot open \"" + input.source + "\": " +
                                                 std::strerror(opened.status().os_error()));
      file = std::move(*opened);
      if (auto info = env.Stat(input.source); info.ok()) {
        meta.mode = info->mode & 07777;
        meta.mtime = info->modified;
      }
    }
    ByteSource& source = file ? static_cast<ByteSource&>(*file) : stdin_source;
    auto stored = session.StoreStream(source, repo.stream_chunker(), meta);
    if (!stored.ok()) return stored.status();
    // An empty pipe is what a failed pg_dump upstream looks like: storing it
    // would list a "backup" that restores nothing.
    if (input.source == "-" && stored->size == 0 && !options.allow_empty)
      return Status::Error(
          ErrorCode::kUsage, "standard input was empty; nothing was stored",
          "check the command feeding pgkeep; pass --allow-empty to store an empty stream");
    files.push_back(std::move(*stored));
  }
  ReportStep(options.progress, "committing snapshot " + snapshot.id);
  return session.Commit(snapshot, files);
}

}  // namespace pgkeep
