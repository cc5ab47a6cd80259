// storage/posix_storage.h — a repository in a local directory.
//
// Put writes "<name>.tmp.<hosttag>.<pid>.<random>" (hosttag: FNV-1a of the
// host name, 8 hex digits) in the target directory,
// fsyncs it, renames it over the final name (PutIfAbsent: links it to the
// final name, which fails if that exists) and fsyncs the directory: the
// object appears whole and durable or not at all. Temporary files of dead
// writers on this host are removed by CleanupTemporary.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/env.h"
#include "common/file_io.h"
#include "storage/storage.h"

namespace pgkeep {

class PosixStorage final : public Storage {
 public:
  // Every file operation goes through `env`, which must outlive the storage;
  // tests inject short writes, ENOSPC and crashes through it.
  PosixStorage(Env& env, std::string root);

  StorageFeatures Features() const override { return {.ranged_get = true, .local = true}; }
  std::string Describe() const override { return root_; }
  Status Put(const std::string& name, ByteView data) override;
  Status PutIfAbsent(const std::string& name, ByteView data) override;
  Result<Bytes> Get(const std::string& name) override;
  Result<Bytes> GetAtMost(const std::string& name, uint64_t max_size) override;
  Result<Bytes> GetRange(const std::string& name, uint64_t offset, uint64_t length) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& name) override;
  Result<bool> Exists(const std::string& name) override;
  Result<int> CleanupTemporary(bool no_other_writers) override;
  int64_t FreeBytes() override;

 private:
  Status Write(const std::string& name, ByteView data, Publish publish);
  std::string PathOf(const std::string& name) const { return root_ + "/" + name; }
  Status EnsureDirectory(const std::string& dir);

  Env& env_;
  std::string root_;
  std::string temp_tag_;  // ".tmp.<host>.<pid>." identifying this writer
};

}  // namespace pgkeep
