// common/fault_env.h — an Env for tests that injects failures and simulates
// a machine crash, in the spirit of LevelDB's FaultInjectionTestEnv.
//
// It wraps a real Env working on real files and remembers what the kernel
// might still hold only in its page cache: file contents written after the
// file's last Sync(), and directory entries created, renamed or removed
// after the directory's last SyncDir(). DropUnsyncedData() throws exactly
// that away, as a power failure would: files shrink to their synced size
// and unsynced directory operations are undone, newest first.
//
// Faults:
//   FailNth(kind, n, err)  the n-th operation of `kind` from now fails with
//                          `err` (EIO, ENOSPC, ...) without effect; a failing
//                          write first writes half of its data (a short
//                          write), as a full disk does.
//   CrashAtSync(n)         the n-th sync (file Sync or SyncDir) from now does
//                          not happen, and from then on every operation that
//                          would change a file fails with EIO ("simulated
//                          crash"): the process is dead, only the test goes on.
//
// Thread safety: all methods may be called from several threads.
#pragma once

#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"

namespace pgkeep {

enum class FaultOp { kCreate, kWrite, kSync, kRename, kLink, kRemove, kCreateDir, kSyncDir };

class FaultEnv final : public EnvWrapper {
 public:
  explicit FaultEnv(Env& target) : EnvWrapper(target) {}

  void FailNth(FaultOp op, int n, int err = EIO);
  void CrashAtSync(int n);
  // Whether the crash point was reached.
  bool crashed() const;
  // How many syncs (file and directory) have happened so far.
  int sync_count() const;
  // Reverts everything not yet synced (see above) and forgets the crash:
  // afterwards the files are what a machine would find after rebooting.
  Status DropUnsyncedData();

  Result<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path, OpenMode mode,
                                                        mode_t perms) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status LinkFile(const std::string& from, const std::string& to) override;
  Status RemoveFile(const std::string& path) override;
  Status RemoveDir(const std::string& path) override;
  Status CreateDir(const std::string& path, mode_t perms) override;
  Status SyncDir(const std::string& path) override;
  Status SyncFileSystem(const std::string& path) override;

  // For FaultWritableFile (fault_env.cc).
  Status BeforeWrite(const std::string& path, ByteView data, size_t* allowed);
  Status FileSync(const std::string& path, WritableFile& file);

 private:
  // What undoing one unsynced directory operation restores.
  struct Undo {
    std::string dir;               // the directory whose sync makes it durable
    std::string path;              // the entry
    std::optional<Bytes> content;  // put back this content; nullopt: remove the entry
    bool is_dir = false;           // the entry is a directory
    mode_t mode = 0600;
  };

  // Counts `op`; the injected error when it is the one to fail.
  Status Check(FaultOp op, const std::string& path);
  Status CrashedError(const std::string& path) const;
  std::optional<Bytes> ContentOf(const std::string& path);
  void MoveTracking(const std::string& from, const std::string& to);

  mutable std::mutex mu_;
  std::map<FaultOp, std::pair<int, int>> fail_;  // op -> (operations left before it, errno)
  int crash_countdown_ = 0;                      // 0: no crash planned
  bool crashed_ = false;
  int syncs_ = 0;
  std::map<std::string, uint64_t> synced_size_;  // files written through us
  std::vector<Undo> undo_;                       // oldest first
};

}  // namespace pgkeep
