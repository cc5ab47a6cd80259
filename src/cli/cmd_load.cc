#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "cli/commands.h"
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

Status LoadToFile(Loader& loader, const FileEntry& file, const std::string& dir) {
  if (!IsSafeRelativePath(file.path))
    return Status::Error(ErrorCode::kCorrupt, "unsafe path \"" + file.path + "\" in snapshot");
  std::filesystem::path target = std::filesystem::path(dir) / file.path;
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec) return Status::Error(ErrorCode::kIo, "cannot create \"" + target.parent_path().string() + "\": " + ec.message());
  int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file.mode & 07777);
  if (fd < 0)
    return Status::Error(errno == EEXIST ? ErrorCode::kUsage : ErrorCode::kIo,
                         "cannot create \"" + target.string() + "\": " + std::strerror(errno),
                         errno == EEXIST ? "load into an empty directory" : "");
  FdSink sink(fd, target.string());
  Status s = loader.LoadFile(file, sink);
  if (s.ok() && ::fsync(fd) != 0)
    s = Status::Error(ErrorCode::kIo, "cannot fsync \"" + target.string() + "\": " + std::strerror(errno));
  ::close(fd);
  if (!s.ok()) ::unlink(target.c_str());  // never leave a partial file that looks restored
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
  out.data_on_stdout = args.to_stdout;
  auto& loaded = out.json["loaded"] = nlohmann::json::array();
  auto& failed = out.json["failed"] = nlohmann::json::array();
  uint64_t bytes = 0;
  for (const auto& f : files) {
    Status s;
    if (args.to_stdout) {
      FdSink sink(STDOUT_FILENO, "standard output");
      s = loader.LoadFile(f, sink);
    } else {
      s = LoadToFile(loader, f, args.to_dir);
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
