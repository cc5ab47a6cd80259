#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>

#include "cli/commands.h"
#include "common/host.h"
#include "repo/store_session.h"

namespace pgkeep {

namespace {

struct Input {
  std::string source;  // path on disk, or "-"
  std::string name;    // path recorded in the snapshot
};

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

std::vector<Input> ExpandInputs(const StoreArgs& args) {
  std::vector<Input> inputs;
  for (const auto& path : args.paths) {
    if (path == "-") {
      std::string name = CleanPath(args.stdin_name);
      bool unsafe = name.empty();
      for (const auto& part : std::filesystem::path(name))
        if (part == ".." || part == ".") unsafe = true;
      if (unsafe)
        throw CommandError{Status::Error(ErrorCode::kUsage,
                                         "--name \"" + args.stdin_name + "\" is not a usable file name",
                                         "use a relative name without \"..\", such as mydb.dump")};
      inputs.push_back({"-", name});
      continue;
    }
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status))
      throw CommandError{Status::Error(ErrorCode::kNotFound,
                                       "cannot store \"" + path + "\": no such file or directory")};
    if (std::filesystem::is_directory(status)) {
      std::vector<Input> found;
      for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
           !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file())
          found.push_back({it->path().string(), RecordedName(it->path())});
      if (ec)
        throw CommandError{Status::Error(ErrorCode::kIo, "cannot list \"" + path + "\": " + ec.message())};
      std::sort(found.begin(), found.end(), [](const Input& a, const Input& b) { return a.name < b.name; });
      inputs.insert(inputs.end(), found.begin(), found.end());
    } else {
      inputs.push_back({path, RecordedName(path)});
    }
  }
  return inputs;
}

}  // namespace

CommandOutput RunStore(const CommandContext& ctx, const StoreArgs& args) {
  if (args.paths.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage, "nothing to store",
                                     "name files or directories, or \"-\" for standard input")};
  std::vector<Input> inputs = ExpandInputs(args);
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "store", false);
  if (!args.db.empty()) (void)DatabaseOrThrow(opened.config, args.db);
  ThrowIfError(opened.repo->LoadIndex());
  int64_t started = ctx.env->MonotonicMicros();
  Snapshot snapshot;
  snapshot.start_time = ctx.clock->NowSeconds();
  snapshot.id = NewSnapshotId(snapshot.start_time);
  snapshot.kind = "files";
  snapshot.label = args.label;
  snapshot.hostname = Hostname();
  if (!args.db.empty()) snapshot.meta[kMetaDatabase] = args.db;

  StoreOptions options;
  options.compression_level = opened.config.repository.compression_level;
  options.pack_size = opened.config.repository.pack_size_mib << 20;
  StoreSession session(*opened.repo, options);
  std::vector<FileEntry> files;
  for (const auto& input : inputs) {
    FileEntry meta;
    meta.path = input.name;
    meta.mtime = ctx.clock->NowSeconds();
    FdSource stdin_source(STDIN_FILENO, "standard input");
    std::unique_ptr<ReadableFile> file;
    if (input.source != "-") {
      auto opened_file = ctx.env->NewReadableFile(input.source);
      if (!opened_file.ok())
        throw CommandError{Status::Error(ErrorCode::kIo, "cannot open \"" + input.source + "\": " +
                                                             std::strerror(opened_file.status().os_error()))};
      file = std::move(*opened_file);
      if (auto info = ctx.env->Stat(input.source); info.ok()) {
        meta.mode = info->mode & 07777;
        meta.mtime = info->modified;
      }
    }
    ByteSource& source = file ? static_cast<ByteSource&>(*file) : stdin_source;
    auto stored = session.StoreStream(source, opened.repo->stream_chunker(), meta);
    FileEntry entry = ValueOrThrow(std::move(stored));
    // An empty pipe is what a failed pg_dump upstream looks like: storing it
    // would list a "backup" that restores nothing.
    if (input.source == "-" && entry.size == 0 && !args.allow_empty)
      throw CommandError{Status::Error(ErrorCode::kUsage, "standard input was empty; nothing was stored",
                                       "check the command feeding pgkeep; pass --allow-empty to store an empty stream")};
    files.push_back(std::move(entry));
  }
  snapshot = ValueOrThrow(session.Commit(snapshot, files));
  double seconds =
      (ctx.env->MonotonicMicros() - started) / 1e6;

  const SnapshotStats& st = snapshot.stats;
  CommandOutput out;
  out.json = {{"ok", true}, {"snapshot", SnapshotToJson(snapshot, false)}, {"seconds", seconds}};
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f MB/s", seconds > 0 ? st.bytes / seconds / 1e6 : 0.0);
  out.text = "stored snapshot " + snapshot.id + "\n" + "  files:  " + std::to_string(st.files) +
             "\n  size:   " + FormatBytes(st.bytes) + " in " + std::to_string(st.chunks) +
             " chunks\n  added:  " + FormatBytes(st.stored_bytes) + " stored in " +
             std::to_string(st.new_chunks) + " new chunks (the rest was already in the repository)\n" +
             "  speed:  " + rate + "\n";
  return out;
}

}  // namespace pgkeep
