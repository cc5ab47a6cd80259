#include "common/file_io.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgkeep {

Status ErrnoError(const std::string& what, const std::string& path) {
  return OsError(what, path, errno);
}

Result<Bytes> ReadWholeFile(Env& env, const std::string& path, uint64_t max_size) {
  auto file = env.NewReadableFile(path);
  if (!file.ok()) {
    if (file.status().os_error() == ENOENT)
      return Status::Error(ErrorCode::kNotFound, "file \"" + path + "\" does not exist")
          .WithOsError(ENOENT);
    return file.status();
  }
  // Read to the end, not to the size stat reported: a pipe or /proc file
  // reports 0.
  uint64_t expected = (*file)->Size();
  Bytes data(static_cast<size_t>(std::min(expected, max_size) + 1));
  size_t done = 0;
  for (;;) {
    if (done == data.size()) data.resize(data.size() * 2);
    auto n = (*file)->Read(data.data() + done, data.size() - done);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    done += *n;
    if (done > max_size)
      return Status::Error(ErrorCode::kIo,
                           "\"" + path + "\" is larger than " + std::to_string(max_size) + " bytes")
          .WithOsError(EFBIG);
  }
  if (done < expected)
    return Status::Error(ErrorCode::kIo, "\"" + path + "\" shrank while being read");
  data.resize(done);
  return data;
}

Status SyncParentDirectory(Env& env, const std::string& path) {
  size_t slash = path.rfind('/');
  return env.SyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

Status CreateDirectories(Env& env, const std::string& path, mode_t mode) {
  if (path.empty() || env.Stat(path).ok()) return Status::Ok();
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0)
    PGKEEP_RETURN_IF_ERROR(CreateDirectories(env, path.substr(0, slash), mode));
  Status made = env.CreateDir(path, mode);
  if (!made.ok() && made.os_error() == EEXIST) return Status::Ok();
  return made;
}

Result<std::string> CreateUniqueDirectory(Env& env, const std::string& prefix, mode_t mode) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  Status last;
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string path = prefix;
    uint64_t r = env.Random64();
    for (int i = 0; i < 6; ++i, r /= 62) path += kChars[r % 62];
    last = env.CreateDir(path, mode);
    if (last.ok()) return path;
    if (last.os_error() != EEXIST) break;
  }
  return last;
}

Status RemoveTree(Env& env, const std::string& path) { return env.RemoveTree(path); }

Status WriteFileDurably(Env& env, const std::string& path, ByteView data, const DurableWrite& how) {
  return WriteFileDurably(
      env, path, [&](ByteSink& sink) { return sink.Write(data); }, how);
}

Status WriteFileDurably(Env& env, const std::string& path,
                        const std::function<Status(ByteSink&)>& produce, const DurableWrite& how) {
  if (how.publish == Publish::kInPlace) {
    auto file = env.NewWritableFile(path, how.temp_mode, how.mode);
    if (!file.ok()) return file.status();
    Status s = produce(**file);
    if (s.ok()) s = (*file)->Sync();
    Status closed = (*file)->Close();
    if (s.ok()) s = closed;
    if (!s.ok()) {
      (void)env.RemoveFile(path);
      return s;
    }
    return SyncParentDirectory(env, path);
  }
  auto file = env.NewWritableFile(how.temp, how.temp_mode, how.mode);
  if (!file.ok()) return file.status();
  Status s = produce(**file);
  if (s.ok()) s = (*file)->Sync();
  Status closed = (*file)->Close();
  if (s.ok()) s = closed;
  if (s.ok() && how.publish == Publish::kReplace) s = env.RenameFile(how.temp, path);
  if (s.ok() && how.publish == Publish::kIfAbsent) {
    // link(2) fails when the name exists, atomically: of two writers racing
    // for one name exactly one wins, and the loser never replaces the
    // winner's file (rename would, silently).
    s = env.LinkFile(how.temp, path);
    if (!s.ok() && s.os_error() == EEXIST)
      s = Status::Error(ErrorCode::kConflict, "file \"" + path + "\" already exists")
              .WithOsError(EEXIST);
    (void)env.RemoveFile(how.temp);
  }
  if (!s.ok()) {
    (void)env.RemoveFile(how.temp);
    return s;
  }
  return SyncParentDirectory(env, path);
}

Status WriteFileAtomically(Env& env, const std::string& path, ByteView data, mode_t mode) {
  return WriteFileDurably(env, path, data, {.temp = path + ".pgkeep-tmp", .mode = mode});
}

}  // namespace pgkeep
