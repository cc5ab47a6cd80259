// common/env.h — everything pgkeep asks of the operating system: files,
// directories, child processes, time and randomness, behind one interface
// (in the spirit of LevelDB's include/leveldb/env.h).
//
// main() wires PosixEnv; tests wire an EnvWrapper subclass such as
// FaultEnv (common/fault_env.h) that injects failures or simulates a crash.
// No code under src/ outside this file's implementation, common/clock.cc,
// postgres/ and main.cc calls open/rename/fsync/unlink/time/sleep/fork/exec
// itself (scripts/check-seams enforces it).
//
// Errors: every failing call returns a Status with code kNoSpace (ENOSPC,
// EDQUOT) or kIo, a message "cannot <what> "<path>": <strerror>" and
// os_error() set to the errno, so a caller can tell ENOENT or EEXIST apart
// and word its own message.
//
// Durability: a WritableFile's data survives a crash only after Sync(); a
// directory entry created, renamed or removed survives only after SyncDir()
// of its directory. FaultEnv drops whatever was not made durable this way.
//
// Thread safety: an Env may be used from several threads at once; one
// WritableFile or ReadableFile by one thread at a time.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "common/stream.h"
#include "common/subprocess.h"

namespace pgkeep {

// A file being written. Write retries short writes and EINTR: it writes all
// of `data` or fails. The destructor closes without reporting errors; call
// Close() to learn about them.
class WritableFile : public ByteSink {
 public:
  virtual Status Sync() = 0;
  virtual Status Close() = 0;
  // Asks the kernel to start writing back what was written so far, without
  // waiting; a later Env::SyncFileSystem waits for it. Not a sync point.
  virtual void StartWriteback() {}
  // Overwrites bytes already written, at `offset` (pwrite(2)); the end of
  // the file does not move unless the write reaches past it. kInternal
  // where a file cannot do it.
  virtual Status WriteAt(uint64_t offset, ByteView data) {
    (void)offset;
    (void)data;
    return Status::Error(ErrorCode::kInternal, "this file cannot be written at an offset");
  }
};

// A file being read, sequentially (ByteSource::Read) or at an offset.
class ReadableFile : public ByteSource {
 public:
  // Up to `n` bytes at `offset`; 0 only at end of file.
  virtual Result<size_t> ReadAt(uint64_t offset, uint8_t* buf, size_t n) = 0;
  // The size when opened.
  virtual uint64_t Size() const = 0;
};

enum class OpenMode {
  kTruncate,   // create or truncate
  kExclusive,  // create; fails (EEXIST) if the name exists
  kAppend,     // create or append at the end
  kUpdate,     // an existing file, kept as it is: for WriteAt (not with kAppend's O_APPEND)
};

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

// A local user account (getpwnam(3)).
struct UserAccount {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

struct FileInfo {
  FileType type = FileType::kOther;
  uint64_t size = 0;
  int64_t modified = 0;  // unix seconds
  mode_t mode = 0;       // permission bits and file type bits, as st_mode
  uid_t uid = 0;
  gid_t gid = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // Files.
  virtual Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path,
                                                                OpenMode mode, mode_t perms) = 0;
  virtual Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) = 0;
  // Atomically replaces `to` (rename(2)).
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // A second name for `from`; fails (EEXIST) when `to` exists (link(2)).
  virtual Status LinkFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  // An empty directory only.
  virtual Status RemoveDir(const std::string& path) = 0;
  // rm -rf of `path`, never following a symlink (a link is removed, not what
  // it points to). Ok when `path` does not exist; else the first error, after
  // trying the rest. This default walks by path through the calls above
  // (what wrappers such as FaultEnv see); PosixEnv walks by directory
  // descriptor, so a directory swapped for a symlink while it runs is not
  // followed either.
  virtual Status RemoveTree(const std::string& path);
  // One level; fails (EEXIST) when `path` exists.
  virtual Status CreateDir(const std::string& path, mode_t perms) = 0;
  virtual Status CreateSymlink(const std::string& target, const std::string& path) = 0;
  // Makes the entries of directory `path` durable (fsync of the directory).
  virtual Status SyncDir(const std::string& path) = 0;
  // Names in directory `path`, without "." and "..", in no particular order.
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // lstat(2) when `follow_symlinks` is false.
  virtual Result<FileInfo> Stat(const std::string& path, bool follow_symlinks = true) = 0;
  virtual Result<std::string> ReadSymlink(const std::string& path) = 0;
  // Bytes available to us on the file system holding `path`.
  virtual Result<int64_t> FreeBytes(const std::string& path) = 0;
  virtual Status SetPermissions(const std::string& path, mode_t mode) = 0;
  // Of `path` itself, never a symlink's target (lchown(2)).
  virtual Status SetOwner(const std::string& path, uid_t uid, gid_t gid) = 0;
  virtual Status SetModifiedTime(const std::string& path, int64_t unix_seconds) = 0;
  // Waits until everything written to the file system holding `path` is
  // durable (syncfs(2)); counts as a sync of every file and directory on it.
  virtual Status SyncFileSystem(const std::string& path) = 0;

  // Processes.
  virtual Result<std::unique_ptr<Subprocess>> StartProcess(const SubprocessOptions& options) = 0;
  // Whether process `pid` exists on this host (kill(pid, 0)).
  virtual bool ProcessExists(pid_t pid) = 0;
  virtual pid_t ProcessId() = 0;
  virtual std::string HostName() = 0;
  // This program's own executable, resolved (/proc/self/exe).
  virtual Result<std::string> ExecutablePath() = 0;
  // Whether `path` is a file this process may execute (access(2), X_OK).
  virtual bool IsExecutable(const std::string& path) = 0;
  // A variable of this process's environment; nullopt when unset.
  virtual std::optional<std::string> GetEnvVar(const std::string& name) = 0;
  // A TCP port on 127.0.0.1 free right now (the kernel's pick); another
  // process may take it before it is used, so callers retry on a clash.
  virtual Result<int> FreeLoopbackPort() = 0;
  // Until the process ends, SIGINT and SIGTERM set `flag` to the signal's
  // number instead of killing it: long operations poll it, clean up, and
  // stop (kInterrupted). `flag` must outlive the process.
  virtual void CatchInterrupts(std::atomic<int>* flag) = 0;
  // Until the process ends, SIGHUP increments `flag` instead of killing it
  // (the daemon reloads its configuration). `flag` must outlive the process.
  virtual void CatchHangups(std::atomic<int>* flag) = 0;

  // Identity and paths.
  virtual uid_t EffectiveUserId() = 0;
  // nullopt when there is no such account.
  virtual std::optional<UserAccount> FindUser(const std::string& name) = 0;
  virtual std::optional<UserAccount> FindUserById(uid_t uid) = 0;
  // `path` absolute, with symlinks, "." and ".." resolved (realpath(3)).
  virtual Result<std::string> RealPath(const std::string& path) = 0;
  virtual Result<std::string> CurrentDirectory() = 0;

  // Time and randomness.
  // Wall clock, microseconds since the Unix epoch.
  virtual int64_t NowMicros() = 0;
  // Never goes backwards; for durations and deadlines.
  virtual int64_t MonotonicMicros() = 0;
  virtual void SleepForMicros(int64_t micros) = 0;
  // Uniform 64 random bits (not for secrets: codec/ draws keys from OpenSSL).
  virtual uint64_t Random64() = 0;
};

// The real one.
class PosixEnv final : public Env {
 public:
  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                        mode_t perms) override;
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status LinkFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& path) override;
  Status RemoveTree(const std::string& path) override;
  Status CreateDir(const std::string& path, mode_t perms) override;
  Status CreateSymlink(const std::string& target, const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  Result<FileInfo> Stat(const std::string& path, bool follow_symlinks) override;
  Result<std::string> ReadSymlink(const std::string& path) override;
  Result<int64_t> FreeBytes(const std::string& path) override;
  Status SetPermissions(const std::string& path, mode_t mode) override;
  Status SetOwner(const std::string& path, uid_t uid, gid_t gid) override;
  Status SetModifiedTime(const std::string& path, int64_t unix_seconds) override;
  Status SyncFileSystem(const std::string& path) override;
  Result<std::unique_ptr<Subprocess>> StartProcess(const SubprocessOptions& options) override;
  bool ProcessExists(pid_t pid) override;
  pid_t ProcessId() override;
  std::string HostName() override;
  Result<std::string> ExecutablePath() override;
  bool IsExecutable(const std::string& path) override;
  std::optional<std::string> GetEnvVar(const std::string& name) override;
  Result<int> FreeLoopbackPort() override;
  void CatchInterrupts(std::atomic<int>* flag) override;
  void CatchHangups(std::atomic<int>* flag) override;
  uid_t EffectiveUserId() override;
  std::optional<UserAccount> FindUser(const std::string& name) override;
  std::optional<UserAccount> FindUserById(uid_t uid) override;
  Result<std::string> RealPath(const std::string& path) override;
  Result<std::string> CurrentDirectory() override;
  int64_t NowMicros() override;
  int64_t MonotonicMicros() override;
  void SleepForMicros(int64_t micros) override;
  uint64_t Random64() override;
};

// Forwards every call to another Env; tests override what they fake.
// Does not own `target`, which must outlive the wrapper.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env& target) : target_(target) {}
  Env& target() const { return target_; }

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                        mode_t perms) override {
    return target_.NewWritableFile(path, mode, perms);
  }
  Result<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    return target_.NewReadableFile(path);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_.RenameFile(from, to);
  }
  Status LinkFile(const std::string& from, const std::string& to) override {
    return target_.LinkFile(from, to);
  }
  Status RemoveFile(const std::string& path) override { return target_.RemoveFile(path); }
  Status RemoveDir(const std::string& path) override { return target_.RemoveDir(path); }
  Status CreateDir(const std::string& path, mode_t perms) override {
    return target_.CreateDir(path, perms);
  }
  Status CreateSymlink(const std::string& target, const std::string& path) override {
    return target_.CreateSymlink(target, path);
  }
  Status SyncDir(const std::string& path) override { return target_.SyncDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return target_.ListDir(path);
  }
  Result<FileInfo> Stat(const std::string& path, bool follow_symlinks) override {
    return target_.Stat(path, follow_symlinks);
  }
  Result<std::string> ReadSymlink(const std::string& path) override {
    return target_.ReadSymlink(path);
  }
  Result<int64_t> FreeBytes(const std::string& path) override { return target_.FreeBytes(path); }
  Status SetPermissions(const std::string& path, mode_t mode) override {
    return target_.SetPermissions(path, mode);
  }
  Status SetOwner(const std::string& path, uid_t uid, gid_t gid) override {
    return target_.SetOwner(path, uid, gid);
  }
  Status SetModifiedTime(const std::string& path, int64_t unix_seconds) override {
    return target_.SetModifiedTime(path, unix_seconds);
  }
  Status SyncFileSystem(const std::string& path) override { return target_.SyncFileSystem(path); }
  Result<std::unique_ptr<Subprocess>> StartProcess(const SubprocessOptions& options) override {
    return target_.StartProcess(options);
  }
  bool ProcessExists(pid_t pid) override { return target_.ProcessExists(pid); }
  pid_t ProcessId() override { return target_.ProcessId(); }
  std::string HostName() override { return target_.HostName(); }
  Result<std::string> ExecutablePath() override { return target_.ExecutablePath(); }
  bool IsExecutable(const std::string& path) override { return target_.IsExecutable(path); }
  std::optional<std::string> GetEnvVar(const std::string& name) override {
    return target_.GetEnvVar(name);
  }
  Result<int> FreeLoopbackPort() override { return target_.FreeLoopbackPort(); }
  void CatchInterrupts(std::atomic<int>* flag) override { target_.CatchInterrupts(flag); }
  void CatchHangups(std::atomic<int>* flag) override { target_.CatchHangups(flag); }
  uid_t EffectiveUserId() override { return target_.EffectiveUserId(); }
  std::optional<UserAccount> FindUser(const std::string& name) override {
    return target_.FindUser(name);
  }
  std::optional<UserAccount> FindUserById(uid_t uid) override { return target_.FindUserById(uid); }
  Result<std::string> RealPath(const std::string& path) override { return target_.RealPath(path); }
  Result<std::string> CurrentDirectory() override { return target_.CurrentDirectory(); }
  int64_t NowMicros() override { return target_.NowMicros(); }
  int64_t MonotonicMicros() override { return target_.MonotonicMicros(); }
  void SleepForMicros(int64_t micros) override { target_.SleepForMicros(micros); }
  uint64_t Random64() override { return target_.Random64(); }

 private:
  Env& target_;
};

// "cannot <what> "<path>": <strerror(err)>" with the code for `err` (see above).
Status OsError(const std::string& what, const std::string& path, int err);

}  // namespace pgkeep
