#include "restore/physical_restore.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <thread>

#include "common/file_io.h"
#include "repo/loader.h"
#include "restore/physical_restore_steps.h"
#include "wal/wal_archive.h"

namespace pgkeep {

using restore_internal::ConfQuote;
using restore_internal::DirectoryIsEmpty;
using restore_internal::Owner;
using restore_internal::StartAndWait;
using restore_internal::Usage;
using restore_internal::WriteRecoverySettings;

namespace {

Owner ChooseOwner(const std::string& pgdata) {
  Owner o;
  if (::geteuid() != 0) return o;
  struct stat st;
  if (::stat(pgdata.c_str(), &st) == 0 && st.st_uid != 0) {
    o = {true, st.st_uid, st.st_gid, ""};
    if (passwd* pw = ::getpwuid(st.st_uid)) o.name = pw->pw_name;
    return o;
  }
  if (passwd* pw = ::getpwnam("postgres")) return {true, pw->pw_uid, pw->pw_gid, "postgres"};
  return o;
}

class Writer {
 public:
  explicit Writer(const Owner& owner) : owner_(owner) {}

  Status MakeDir(const std::string& path, uint32_t mode) {
    if (::mkdir(path.c_str(), mode & 07777u) != 0 && errno != EEXIST) return ErrnoError("create directory", path);
    ::chmod(path.c_str(), mode & 07777u);
    return Own(path);
  }
  Status Own(const std::string& path) {
    if (owner_.change && ::lchown(path.c_str(), owner_.uid, owner_.gid) != 0) return ErrnoError("chown", path);
    return Status::Ok();
  }
  Status WriteFile(Loader& loader, const FileEntry& f, const std::string& path) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return ErrnoError("create", path);
    FdSink sink(fd, path);
    Status s = loader.LoadFile(f, sink);
    if (s.ok() && ::fchmod(fd, f.mode & 07777u) != 0) s = ErrnoError("chmod", path);
    if (s.ok() && owner_.change && ::fchown(fd, owner_.uid, owner_.gid) != 0) s = ErrnoError("chown", path);
    if (s.ok()) {
      struct timespec times[2] = {{f.mtime, 0}, {f.mtime, 0}};
      ::futimens(fd, times);
      // Start writeback now; a syncfs waits for all of it at the end,
      // so no thread sits in fsync while others could be decoding.
      ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    ::close(fd);
    return s;
  }

 private:
  const Owner& owner_;
};

// Waits until everything written to the file system holding `path` is durable.
Status SyncFileSystem(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open directory", path);
  Status s = ::syncfs(fd) == 0 ? Status::Ok() : ErrnoError("sync the file system of", path);
  ::close(fd);
  return s;
}

// Where a snapshot path goes: tablespace files to their recorded location.
struct PathMap {
  std::string pgdata;
  std::map<std::string, std::string> tablespaces;  // oid -> location

  // Returns the destination; *link_oid set for the pg_tblspc/<oid> entry itself.
  std::string Map(const std::string& path, std::string* link_oid) const {
    if (path.rfind("pg_tblspc/", 0) == 0) {
      std::string rest = path.substr(10);
      std::string oid = rest.substr(0, rest.find('/'));
      auto it = tablespaces.find(oid);
      if (it != tablespaces.end()) {
        if (rest == oid) {
          *link_oid = oid;
          return it->second;
        }
        return it->second + rest.substr(oid.size());
      }
    }
    return pgdata + "/" + path;
  }
};

}  // namespace

Result<PhysicalRestoreResult> RunPhysicalRestore(Repository& repo, const DatabaseConfig& db,
                                                 const PhysicalRestoreOptions& o) {
  PGKEEP_RETURN_IF_ERROR(CheckPhysicalRestoreRequest(o));
  auto all = repo.ListSnapshots();
  if (!all.ok()) return all.status();
  auto wal_listing = repo.storage().List(WalPrefix(db.name));
  if (!wal_listing.ok()) return wal_listing.status();
  auto timelines = ReadTimelineReport(repo, db.name, *wal_listing);
  if (!timelines.ok()) return timelines.status();
  auto chosen = ChooseBackup(all->snapshots, db.name, o, timelines->tree);
  if (!chosen.ok()) return chosen.status();
  PhysicalRestoreResult result;
  result.backup = chosen->backup;
  result.notes = chosen->notes;
  for (const auto& d : timelines->damaged) result.notes.push_back("skipped damaged " + d);
  result.recovery_timeline = chosen->timeline == 0 ? "latest" : std::to_string(chosen->timeline);
  result.archiving = o.archive_mode == PhysicalRestoreOptions::ArchiveMode::kPreserve ||
                     (o.archive_mode == PhysicalRestoreOptions::ArchiveMode::kAuto && IsInPlaceRestore(o.pgdata, db.pgdata));

  std::string target_line;
  if (!o.target_time.empty())
    target_line = "recovery_target_time = " + ConfQuote(ParseTargetTime(o.target_time)->text);
  else if (!o.target_lsn.empty())
    target_line = "recovery_target_lsn = " + ConfQuote(o.target_lsn);
  else if (!o.target_name.empty())
    target_line = "recovery_target_name = " + ConfQuote(o.target_name);
  else if (o.target == "immediate")
    target_line = "recovery_target = 'immediate'";
  result.recovery_target = target_line.empty() ? "end of archived WAL (latest)" : target_line;

  Loader manifest_loader(repo);
  auto files = manifest_loader.ReadManifest(result.backup);
  if (!files.ok()) return files.status();

  Owner owner = ChooseOwner(o.pgdata);
  PathMap map{o.pgdata, {}};
  for (const auto& t : result.backup.meta.value(kMetaTablespaces, nlohmann::json::array()))
    map.tablespaces[t.value("oid", "")] = t.value("location", "");
  for (const auto& [oid, dir] : o.tablespace_map) {
    if (!map.tablespaces.count(oid))
      return Usage("--tablespace-map " + oid + "=" + dir + ": backup " + result.backup.id +
                       " has no tablespace " + oid,
                   map.tablespaces.empty() ? "it has no tablespaces" : "pgkeep info " + result.backup.id + " lists them");
    map.tablespaces[oid] = dir;
  }
  for (const auto& [oid, location] : map.tablespaces) {
    auto empty = DirectoryIsEmpty(location);
    if (!empty.ok()) return empty.status();
    if (!*empty)
      return Usage("tablespace " + oid + " location \"" + location + "\" is not empty",
                   "restore it elsewhere with --tablespace-map " + oid + "=DIR, or empty that directory");
  }

  Writer writer(owner);
  PGKEEP_RETURN_IF_ERROR(writer.MakeDir(o.pgdata, 0700));
  std::vector<const FileEntry*> regular;
  for (const auto& f : *files) {
    std::string link_oid;
    std::string dest = map.Map(f.path, &link_oid);
    if (f.mode & S_IFDIR) {
      PGKEEP_RETURN_IF_ERROR(writer.MakeDir(dest, f.mode));
      if (!link_oid.empty()) {
        // A streamed backup may list a tablespace before pg_tblspc itself.
        PGKEEP_RETURN_IF_ERROR(writer.MakeDir(o.pgdata + "/pg_tblspc", 0700));
        std::string link = o.pgdata + "/" + f.path;
        if (::symlink(dest.c_str(), link.c_str()) != 0) return ErrnoError("create symlink", link);
        PGKEEP_RETURN_IF_ERROR(writer.Own(link));
      }
    } else if (f.path != "tablespace_map" || map.tablespaces.empty()) {
      regular.push_back(&f);
    }
  }
  // Biggest first, so the threads finish together.
  std::stable_sort(regular.begin(), regular.end(),
                   [](const FileEntry* a, const FileEntry* b) { return a->size > b->size; });
  std::atomic<size_t> next{0};
  std::mutex mu;
  Status error;
  auto work = [&] {
    Loader loader(repo, 1);
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= regular.size()) return;
      std::string unused;
      Status s = writer.WriteFile(loader, *regular[k], map.Map(regular[k]->path, &unused));
      if (!s.ok()) {
        std::lock_guard lock(mu);
        if (error.ok()) error = s;
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, o.threads); ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  PGKEEP_RETURN_IF_ERROR(error);
  for (const auto& f : *files) {
    if (!(f.mode & S_IFDIR)) {
      ++result.files;
      result.bytes += f.size;
    }
  }
  for (const auto& f : *files) {
    std::string unused;
    if (f.mode & S_IFDIR) PGKEEP_RETURN_IF_ERROR(SyncDirectory(map.Map(f.path, &unused)));
  }
  PGKEEP_RETURN_IF_ERROR(SyncDirectory(o.pgdata));
  PGKEEP_RETURN_IF_ERROR(SyncFileSystem(o.pgdata));
  for (const auto& [oid, location] : map.tablespaces) PGKEEP_RETURN_IF_ERROR(SyncFileSystem(location));
  PGKEEP_RETURN_IF_ERROR(WriteRecoverySettings(o, db, owner, result, target_line, repo.clock().NowSeconds()));
  if (o.start) PGKEEP_RETURN_IF_ERROR(StartAndWait(o, db, owner, result.backup, result));
  return result;
}

}  // namespace pgkeep
