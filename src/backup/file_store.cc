#include "backup/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/host.h"

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
std::string RecordedName(const std::filesystem::path& p) {
  return CleanPath(std::filesystem::absolute(p).lexically_normal().string());
}

}  // namespace

Result<std::vector<StoreInput>> ExpandStoreInputs(const StoreFilesOptions& options) {
  if (options.paths.empty())
    return Status::Error(ErrorCode::kUsage, "nothing to store",
                         "name files or directories, or \"-\" for standard input");
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
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
      return Status::Error(ErrorCode::kNotFound,
                           "cannot store \"" + path + "\": no such file or directory");
    if (std::filesystem::is_directory(status)) {
      std::vector<StoreInput> found;
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file()) found.push_back({it->path().string(), RecordedName(it->path())});
      if (ec) return Status::Error(ErrorCode::kIo, "cannot list \"" + path + "\": " + ec.message());
      std::sort(found.begin(), found.end(),
                [](const StoreInput& a, const StoreInput& b) { return a.name < b.name; });
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else {
      inputs.push_back({path, RecordedName(path)});
    }
  }
  return inputs;
}

Result<Snapshot> StoreFiles(Repository& repo, const std::vector<StoreInput>& inputs,
                            const StoreFilesOptions& options) {
  Snapshot snapshot;
  snapshot.start_time = repo.clock().NowSeconds();
  snapshot.id = NewSnapshotId(snapshot.start_time);
  snapshot.kind = "files";
  snapshot.label = options.label;
  snapshot.hostname = Hostname();
  if (!options.database.empty()) snapshot.meta[kMetaDatabase] = options.database;

  StoreSession session(repo, options.store);
  std::vector<FileEntry> files;
  for (const auto& input : inputs) {
    int fd =
        input.source == "-" ? STDIN_FILENO : ::open(input.source.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return Status::Error(ErrorCode::kIo,
                           "cannot open \"" + input.source + "\": " + std::strerror(errno));
    FileEntry meta;
    meta.path = input.name;
    struct stat st;
    if (fd != STDIN_FILENO && ::fstat(fd, &st) == 0) {
      meta.mode = st.st_mode & 07777;
      meta.mtime = st.st_mtime;
    } else {
      meta.mtime = repo.clock().NowSeconds();
    }
    FdSource source(fd, input.source == "-" ? "standard input" : input.source);
    auto stored = session.StoreStream(source, repo.stream_chunker(), meta);
    if (fd != STDIN_FILENO) ::close(fd);
    if (!stored.ok()) return stored.status();
    // An empty pipe is what a failed pg_dump upstream looks like: storing it
    // would list a "backup" that restores nothing.
    if (input.source == "-" && stored->size == 0 && !options.allow_empty)
      return Status::Error(
          ErrorCode::kUsage, "standard input was empty; nothing was stored",
          "check the command feeding pgkeep; pass --allow-empty to store an empty stream");
    files.push_back(std::move(*stored));
  }
  return session.Commit(snapshot, files);
}

}  // namespace pgkeep
