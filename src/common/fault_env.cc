#include "common/fault_env.h"

#include <algorithm>

#include "common/file_io.h"

namespace pgkeep {

namespace {

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

Status PutContent(Env& env, const std::string& path, ByteView data, mode_t mode) {
  auto file = env.NewWritableFile(path, OpenMode::kTruncate, mode);
  if (!file.ok()) return file.status();
  PGKEEP_RETURN_IF_ERROR((*file)->Write(data));
  return (*file)->Close();
}

// Forwards to the real file, asking the FaultEnv before every write and sync.
class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultEnv& env, std::string path, std::unique_ptr<WritableFile> file)
      : env_(env), path_(std::move(path)), file_(std::move(file)) {}
  Status Write(ByteView data) override {
    size_t allowed = data.size();
    Status s = env_.BeforeWrite(path_, data, &allowed);
    if (allowed > 0) PGKEEP_RETURN_IF_ERROR(file_->Write(data.subspan(0, allowed)));
    return s;
  }
  Status Sync() override { return env_.FileSync(path_, *file_); }
  Status Close() override { return file_->Close(); }
  void StartWriteback() override { file_->StartWriteback(); }

 private:
  FaultEnv& env_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
};

}  // namespace

void FaultEnv::FailNth(FaultOp op, int n, int err) {
  std::lock_guard lock(mu_);
  fail_[op] = {n, err};
}

void FaultEnv::CrashAtSync(int n) {
  std::lock_guard lock(mu_);
  crash_countdown_ = n;
}

bool FaultEnv::crashed() const {
  std::lock_guard lock(mu_);
  return crashed_;
}

int FaultEnv::sync_count() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

Status FaultEnv::CrashedError(const std::string& path) const {
  return Status::Error(ErrorCode::kIo, "simulated crash before an operation on \"" + path + "\"")
      .WithOsError(EIO);
}

Status FaultEnv::Check(FaultOp op, const std::string& path) {
  if (crashed_) return CrashedError(path);
  bool is_sync = op == FaultOp::kSync || op == FaultOp::kSyncDir;
  if (is_sync && crash_countdown_ > 0 && --crash_countdown_ == 0) {
    crashed_ = true;
    return CrashedError(path);
  }
  auto it = fail_.find(op);
  if (it != fail_.end() && --it->second.first == 0) {
    int err = it->second.second;
    fail_.erase(it);
    return OsError("complete an operation on", path, err);
  }
  return Status::Ok();
}

std::optional<Bytes> FaultEnv::ContentOf(const std::string& path) {
  auto data = ReadWholeFile(target(), path);
  if (!data.ok()) return std::nullopt;
  auto synced = synced_size_.find(path);
  if (synced != synced_size_.end() && data->size() > synced->second) data->resize(synced->second);
  return std::move(*data);
}

void FaultEnv::MoveTracking(const std::string& from, const std::string& to) {
  synced_size_.erase(to);
  auto it = synced_size_.find(from);
  if (it == synced_size_.end()) return;
  synced_size_[to] = it->second;
  synced_size_.erase(it);
}

Result<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(const std::string& path,
                                                                OpenMode mode, mode_t perms) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kCreate, path));
  auto before = target().Stat(path);
  auto file = target().NewWritableFile(path, mode, perms);
  if (!file.ok()) return file.status();
  if (!before.ok()) undo_.push_back({DirOf(path), path, std::nullopt, false, perms});
  synced_size_[path] =
      (mode == OpenMode::kAppend || mode == OpenMode::kUpdate) && before.ok() ? before->size : 0;
  return std::unique_ptr<WritableFile>(
      std::make_unique<FaultWritableFile>(*this, path, std::move(*file)));
}

Status FaultEnv::BeforeWrite(const std::string& path, ByteView data, size_t* allowed) {
  std::lock_guard lock(mu_);
  Status s = Check(FaultOp::kWrite, path);
  if (s.ok()) return s;
  *allowed = crashed_ ? 0 : data.size() / 2;  // a full disk takes part of it first
  return s;
}

Status FaultEnv::FileSync(const std::string& path, WritableFile& file) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kSync, path));
  PGKEEP_RETURN_IF_ERROR(file.Sync());
  ++syncs_;
  auto info = target().Stat(path);
  if (info.ok()) synced_size_[path] = info->size;
  return Status::Ok();
}

Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kRename, from));
  auto moved = target().Stat(from);
  std::optional<Bytes> from_content = ContentOf(from);
  std::optional<Bytes> old_to = ContentOf(to);
  PGKEEP_RETURN_IF_ERROR(target().RenameFile(from, to));
  mode_t mode = moved.ok() ? moved->mode & 07777 : 0600;
  undo_.push_back({DirOf(to), to, old_to, false, mode});
  undo_.push_back({DirOf(from), from, from_content, false, mode});
  MoveTracking(from, to);
  return Status::Ok();
}

Status FaultEnv::LinkFile(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kLink, to));
  PGKEEP_RETURN_IF_ERROR(target().LinkFile(from, to));
  undo_.push_back({DirOf(to), to, std::nullopt, false, 0600});
  auto it = synced_size_.find(from);
  if (it != synced_size_.end()) synced_size_[to] = it->second;
  return Status::Ok();
}

Status FaultEnv::RemoveFile(const std::string& path) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  auto info = target().Stat(path);
  std::optional<Bytes> content = ContentOf(path);
  PGKEEP_RETURN_IF_ERROR(target().RemoveFile(path));
  undo_.push_back({DirOf(path), path, content, false, info.ok() ? info->mode & 07777 : 0600});
  synced_size_.erase(path);
  return Status::Ok();
}

Status FaultEnv::RemoveDir(const std::string& path) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kRemove, path));
  PGKEEP_RETURN_IF_ERROR(target().RemoveDir(path));
  undo_.push_back({DirOf(path), path, Bytes{}, true, 0750});
  return Status::Ok();
}

Status FaultEnv::CreateDir(const std::string& path, mode_t perms) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kCreateDir, path));
  PGKEEP_RETURN_IF_ERROR(target().CreateDir(path, perms));
  undo_.push_back({DirOf(path), path, std::nullopt, true, perms});
  return Status::Ok();
}

Status FaultEnv::SyncDir(const std::string& path) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path));
  PGKEEP_RETURN_IF_ERROR(target().SyncDir(path));
  ++syncs_;
  std::erase_if(undo_, [&](const Undo& u) { return u.dir == path; });
  return Status::Ok();
}

Status FaultEnv::SyncFileSystem(const std::string& path) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path));
  PGKEEP_RETURN_IF_ERROR(target().SyncFileSystem(path));
  ++syncs_;
  for (auto& [file, size] : synced_size_) {
    auto info = target().Stat(file);
    if (info.ok()) size = info->size;
  }
  undo_.clear();
  return Status::Ok();
}

Status FaultEnv::DropUnsyncedData() {
  std::lock_guard lock(mu_);
  // File contents first, at the names the files have now; then the
  // directory operations, newest first, which may move them back.
  for (const auto& [path, size] : synced_size_) {
    auto info = target().Stat(path);
    if (!info.ok() || info->size <= size) continue;
    auto data = ReadWholeFile(target(), path);
    if (!data.ok()) return data.status();
    data->resize(size);
    PGKEEP_RETURN_IF_ERROR(PutContent(target(), path, *data, info->mode & 07777));
  }
  for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) {
    PGKEEP_RETURN_IF_ERROR(target().RemoveTree(it->path));
    if (!it->content) continue;
    if (it->is_dir) {
      PGKEEP_RETURN_IF_ERROR(target().CreateDir(it->path, it->mode));
    } else {
      PGKEEP_RETURN_IF_ERROR(PutContent(target(), it->path, *it->content, it->mode));
    }
  }
  undo_.clear();
  synced_size_.clear();
  fail_.clear();
  crash_countdown_ = 0;
  crashed_ = false;
  return Status::Ok();
}

}  // namespace pgkeep
