#include "storage/posix_storage.h"

#include <cerrno>
#include <cstring>
#include <optional>

#include "common/file_io.h"

namespace pgkeep {

namespace {

constexpr const char* kTempMarker = ".tmp.";
// Leftovers whose owner cannot be checked (another host sharing the file
// system) are removed once this old; no Put takes that long.
constexpr int64_t kTempMaxAgeSeconds = 24 * 3600;

// An Env failure as the storage reports it: with a hint when the file system is full.
Status IoError(const Status& s) {
  if (s.code() != ErrorCode::kNoSpace) return s;
  return Status::Error(s.code(), s.message(), "free space on the repository file system")
      .WithOsError(s.os_error());
}

std::string HostTag(Env& env) {
  std::string host = env.HostName();
  uint32_t h = 2166136261u;  // FNV-1a: short, stable across builds
  for (char c : host) h = (h ^ static_cast<uint8_t>(c)) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

}  // namespace

PosixStorage::PosixStorage(Env& env, std::string root) : env_(env), root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  temp_tag_ =
      std::string(kTempMarker) + HostTag(env_) + "." + std::to_string(env_.ProcessId()) + ".";
}

Status PosixStorage::EnsureDirectory(const std::string& dir) {
  if (env_.Stat(dir).ok()) return Status::Ok();
  if (dir.size() > root_.size()) PGKEEP_RETURN_IF_ERROR(EnsureDirectory(ParentOf(dir)));
  Status made = env_.CreateDir(dir, 0750);
  if (!made.ok() && made.os_error() != EEXIST) return IoError(made);
  // The new directory entry itself must survive a crash.
  return IoError(env_.SyncDir(ParentOf(dir)));
}

Status PosixStorage::Put(const std::string& name, ByteView data) {
  return Write(name, data, Publish::kReplace);
}

Status PosixStorage::PutIfAbsent(const std::string& name, ByteView data) {
  return Write(name, data, Publish::kIfAbsent);
}

Status PosixStorage::Write(const std::string& name, ByteView data, Publish publish) {
  std::string path = PathOf(name);
  PGKEEP_RETURN_IF_ERROR(EnsureDirectory(ParentOf(path)));
  std::string temp = path + temp_tag_ + std::to_string(env_.Random64() % 1000000000);
  Status s = WriteFileDurably(
      env_, path, data,
      {.temp = temp, .temp_mode = OpenMode::kExclusive, .mode = 0640, .publish = publish});
  if (s.code() == ErrorCode::kConflict)
    return Status::Error(ErrorCode::kConflict, "object \"" + path + "\" already exists");
  return IoError(s);
}

namespace {
// Reads `length` bytes at `offset` of `path`, or the whole file when no
// offset is given (then running short means the file shrank while read) and
// it is at most `max_size` bytes (else `too_large`).
template <typename TooLarge>
Result<Bytes> ReadObject(Env& env, const std::string& path, std::optional<uint64_t> offset,
                         uint64_t length, uint64_t max_size, TooLarge&& too_large) {
  auto file = env.NewReadableFile(path);
  if (!file.ok()) {
    if (file.status().os_error() == ENOENT)
      return Status::Error(ErrorCode::kNotFound, "object \"" + path + "\" does not exist");
    return IoError(file.status());
  }
  uint64_t start = offset.value_or(0);
  if (!offset) length = (*file)->Size();
  if (!offset && length > max_size) return too_large(length);
  Bytes out(length);
  size_t done = 0;
  while (done < length) {
    auto n = (*file)->ReadAt(start + done, out.data() + done, length - done);
    if (!n.ok()) return IoError(n.status());
    if (*n == 0)
      return offset ? Status::Error(ErrorCode::kCorrupt, "object \"" + path +
                                                             "\" is shorter than offset " +
                                                             std::to_string(start + length))
                    : Status::Error(ErrorCode::kIo, "object \"" + path + "\" shrank while read");
    done += *n;
  }
  return out;
}
}  // namespace

namespace {
constexpr uint64_t kNoLimit = ~uint64_t{0};
Status NeverTooLarge(uint64_t) { return Status::Ok(); }
}  // namespace

Result<Bytes> PosixStorage::Get(const std::string& name) {
  return ReadObject(env_, PathOf(name), std::nullopt, 0, kNoLimit, NeverTooLarge);
}

Result<Bytes> PosixStorage::GetAtMost(const std::string& name, uint64_t max_size) {
  return ReadObject(env_, PathOf(name), std::nullopt, 0, max_size,
                    [&](uint64_t size) { return TooLarge(name, size, max_size); });
}

Result<Bytes> PosixStorage::GetRange(const std::string& name, uint64_t offset, uint64_t length) {
  return ReadObject(env_, PathOf(name), offset, length, kNoLimit, NeverTooLarge);
}

namespace {
// Calls visit(relative_name, full_path, info) for every regular file under dir.
template <typename Visit>
Status Walk(Env& env, const std::string& root, const std::string& rel, Visit&& visit) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  auto names = env.ListDir(dir);
  if (!names.ok()) {
    if (names.status().os_error() == ENOENT) return Status::Ok();
    return IoError(names.status());
  }
  for (const auto& entry : *names) {
    std::string child_rel = rel.empty() ? entry : rel + "/" + entry;
    std::string full = root + "/" + child_rel;
    auto info = env.Stat(full, /*follow_symlinks=*/false);
    if (!info.ok()) continue;  // removed meanwhile
    if (info->type == FileType::kDirectory) {
      PGKEEP_RETURN_IF_ERROR(Walk(env, root, child_rel, visit));
    } else if (info->type == FileType::kRegular) {
      visit(child_rel, full, *info);
    }
  }
  return Status::Ok();
}
}  // namespace

Result<std::vector<ObjectInfo>> PosixStorage::List(const std::string& prefix) {
  std::vector<ObjectInfo> out;
  std::string dir = prefix;
  while (!dir.empty() && dir.back() == '/') dir.pop_back();
  PGKEEP_RETURN_IF_ERROR(
      Walk(env_, root_, dir, [&](const std::string& rel, const std::string&, const FileInfo& info) {
        if (rel.find(kTempMarker) != std::string::npos) return;
        out.push_back({rel, info.size, info.modified});
      }));
  return out;
}

Status PosixStorage::Delete(const std::string& name) {
  std::string path = PathOf(name);
  Status s = env_.RemoveFile(path);
  if (!s.ok()) {
    if (s.os_error() == ENOENT) return Status::Ok();
    return IoError(s);
  }
  return IoError(env_.SyncDir(ParentOf(path)));
}

Result<bool> PosixStorage::Exists(const std::string& name) {
  auto info = env_.Stat(PathOf(name));
  if (info.ok()) return true;
  if (info.status().os_error() == ENOENT) return false;
  return IoError(info.status());
}

Result<int> PosixStorage::CleanupTemporary(bool /*no_other_writers: pids tell*/) {
  std::string my_host = HostTag(env_);
  int64_t now = env_.NowMicros() / 1000000;
  std::vector<std::string> doomed;
  PGKEEP_RETURN_IF_ERROR(
      Walk(env_, root_, "", [&](const std::string&, const std::string& full, const FileInfo& info) {
        size_t at = full.rfind(kTempMarker);
        if (at == std::string::npos) return;
        // Layout after the marker: <host>.<pid>.<random>
        std::string rest = full.substr(at + std::strlen(kTempMarker));
        size_t dot1 = rest.find('.');
        size_t dot2 = dot1 == std::string::npos ? dot1 : rest.find('.', dot1 + 1);
        if (dot2 == std::string::npos) return;
        std::string host = rest.substr(0, dot1);
        pid_t pid = static_cast<pid_t>(std::atol(rest.substr(dot1 + 1, dot2 - dot1 - 1).c_str()));
        bool owner_dead = host == my_host && pid > 0 && !env_.ProcessExists(pid);
        bool too_old = now - info.modified > kTempMaxAgeSeconds;
        if (owner_dead || too_old) doomed.push_back(full);
      }));
  int removed = 0;
  for (const auto& path : doomed)
    if (env_.RemoveFile(path).ok()) ++removed;
  return removed;
}

int64_t PosixStorage::FreeBytes() {
  auto free = env_.FreeBytes(root_);
  return free.ok() ? *free : -1;
}

}  // namespace pgkeep
