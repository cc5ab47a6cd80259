// storage/storage.h — the interface every repository backend implements.
//
// A deliberately small required set (put, get, ranged get, list, delete,
// exists) plus feature flags. Objects are named by '/'-separated relative
// paths ("data/ab/ab12...", "snapshots/2026...").
//
// Write guarantee: Put is atomic and durable. When it returns Ok the object is
// complete and survives a crash; when the process dies midway, no partial
// object of that name is ever visible (an older object of that name, if any,
// stays whole). A Put that fails may have made the complete object visible
// without its durability (the directory sync failed): callers treat any
// failure as "not written" and never rely on the object. The repository never modifies an object in
// place: names are content addresses or unique, so Put replaces only lock files.
//
// Thread safety: all methods may be called concurrently from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace pgkeep {

struct ObjectInfo {
  std::string name;
  uint64_t size = 0;
  int64_t modified = 0;  // unix seconds it was written; 0 when the backend cannot tell
};

struct StorageFeatures {
  bool ranged_get = true;  // GetRange costs about the range, not the object
  bool local = false;      // objects are files on this host (free space known)
  // A request costs far more than its bytes (object stores): readers fetch
  // blocks with GetRangeUpTo and cut chunks out of them.
  bool read_ahead = false;
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual StorageFeatures Features() const = 0;
  // Where the storage points, for messages: a path or an s3:// URL.
  virtual std::string Describe() const = 0;

  virtual Status Put(const std::string& name, ByteView data) = 0;
  // Like Put, but only when no object of that name exists, decided atomically:
  // of two concurrent calls for one name exactly one succeeds. kConflict
  // ("already exists") when the name is taken; the existing object is untouched.
  virtual Status PutIfAbsent(const std::string& name, ByteView data) = 0;
  // kNotFound if absent; kIo on any other failure.
  virtual Result<Bytes> Get(const std::string& name) = 0;
  // Exactly `length` bytes from `offset`; kCorrupt if the object is shorter.
  virtual Result<Bytes> GetRange(const std::string& name, uint64_t offset, uint64_t length) = 0;
  // Up to `length` bytes from `offset`, fewer only where the object ends
  // (read-ahead past a chunk); kCorrupt when it ends at or before `offset`.
  // Drivers that set Features().read_ahead override it.
  virtual Result<Bytes> GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) {
    return GetRange(name, offset, length);
  }
  // Get for objects whose size whoever can write the storage controls:
  // kRepoFormat, naming the object, when it is larger than `max_size`,
  // found out before anything of that size is allocated (drivers that can
  // tell the size first override this; the default reads, then checks).
  virtual Result<Bytes> GetAtMost(const std::string& name, uint64_t max_size) {
    auto bytes = Get(name);
    if (bytes.ok() && bytes->size() > max_size) return TooLarge(name, bytes->size(), max_size);
    return bytes;
  }
  // Every object whose name starts with `prefix` (a directory such as "data/"),
  // recursively, in no particular order. Temporary leftovers are not listed.
  virtual Result<std::vector<ObjectInfo>> List(const std::string& prefix) = 0;
  // Removing an absent object succeeds.
  virtual Status Delete(const std::string& name) = 0;
  virtual Result<bool> Exists(const std::string& name) = 0;
  // Removes what writers that died midway left behind (temporary files,
  // unfinished uploads). Returns how many leftovers were removed. Safe while
  // other writers run; `no_other_writers` (the caller holds the exclusive
  // lock) lets a driver that cannot tell a dead writer from a slow one
  // remove everything unfinished.
  virtual Result<int> CleanupTemporary(bool no_other_writers) = 0;
  // Bytes free on the backing store, or -1 when unknown (object stores).
  virtual int64_t FreeBytes() { return -1; }

 protected:
  static Status TooLarge(const std::string& name, uint64_t size, uint64_t max_size) {
    return Status::Error(ErrorCode::kRepoFormat,
                         "object \"" + name + "\" is " + std::to_string(size) +
                             " bytes, more than the " + std::to_string(max_size) +
                             " pgkeep reads for it (damaged or not written by pgkeep)",
                         "run \"pgkeep verify\"");
  }
};

}  // namespace pgkeep
