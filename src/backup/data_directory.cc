#include "backup/data_directory.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgkeep {

namespace {

constexpr std::string_view kContentsExcluded[] = {"pg_wal",     "pg_xlog",      "pg_dynshmem",
                                                  "pg_notify",  "pg_replslot",  "pg_serial",
                                                  "pg_snapshots", "pg_stat_tmp", "pg_subtrans"};
constexpr std::string_view kTopLevelExcluded[] = {
    "postmaster.pid", "postmaster.opts", "postgresql.auto.conf.tmp", "current_logfiles",
    "backup_label",   "tablespace_map",  "backup_manifest",          "recovery.signal",
    "standby.signal", "backup_label.old"};

std::string_view BaseName(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

struct Walker {
  std::vector<DataDirEntry>* out;
  std::vector<Tablespace>* tablespaces;

  Status Walk(const std::string& abs, const std::string& rel) {
    DIR* dir = ::opendir(abs.c_str());
    if (!dir) {
      if (errno == ENOENT && !rel.empty()) return Status::Ok();  // vanished meanwhile
      return Status::Error(ErrorCode::kIo, "cannot read directory \"" + abs + "\": " + std::strerror(errno));
    }
    std::vector<std::string> names;
    while (dirent* d = ::readdir(dir)) {
      std::string name = d->d_name;
      if (name != "." && name != "..") names.push_back(name);
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      std::string child_abs = abs + "/" + name;
      if (ExcludedFromBackup(child_rel)) continue;
      struct stat st;
      if (::lstat(child_abs.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;
        return Status::Error(ErrorCode::kIo, "cannot stat \"" + child_abs + "\": " + std::strerror(errno));
      }
      bool tablespace_link = S_ISLNK(st.st_mode) && rel == "pg_tblspc";
      // Only tablespaces and a relocated pg_wal are PostgreSQL's links; any
      // other link leads outside the cluster (as BASE_BACKUP, not followed).
      if (S_ISLNK(st.st_mode) && !tablespace_link && child_rel != "pg_wal" && child_rel != "pg_xlog") continue;
      if (S_ISLNK(st.st_mode)) {
        // pg_wal (initdb -X) and tablespaces may be symlinks: follow them.
        char target[4096];
        ssize_t n = ::readlink(child_abs.c_str(), target, sizeof target - 1);
        if (n < 0 || ::stat(child_abs.c_str(), &st) != 0) {
          // A tablespace we cannot reach would be missing from the backup.
          if (tablespace_link)
            return Status::Error(ErrorCode::kIo, "cannot reach tablespace \"" + child_abs + "\": " +
                                                     std::strerror(errno));
          continue;
        }
        target[n] = 0;
        if (tablespace_link) tablespaces->push_back({name, target});
      }
      if (S_ISDIR(st.st_mode)) {
        out->push_back({child_rel, child_abs, true, st.st_mode & 07777u, 0, st.st_mtime});
        if (ContentsExcludedFromBackup(child_rel)) continue;
        PGKEEP_RETURN_IF_ERROR(Walk(child_abs, child_rel));
      } else if (S_ISREG(st.st_mode)) {
        out->push_back({child_rel, child_abs, false, st.st_mode & 07777u,
                        static_cast<uint64_t>(st.st_size), st.st_mtime});
      }
      // Sockets, FIFOs and devices have no place in a data directory: skipped.
    }
    return Status::Ok();
  }
};

}  // namespace

bool ContentsExcludedFromBackup(std::string_view dir_path) {
  return std::find(std::begin(kContentsExcluded), std::end(kContentsExcluded), dir_path) !=
         std::end(kContentsExcluded);
}

bool ExcludedFromBackup(std::string_view path) {
  std::string_view name = BaseName(path);
  if (name.rfind("pgsql_tmp", 0) == 0 || name == "pg_internal.init") return true;
  if (name.size() == path.size())
    return std::find(std::begin(kTopLevelExcluded), std::end(kTopLevelExcluded), name) !=
           std::end(kTopLevelExcluded);
  return false;
}

Result<std::vector<DataDirEntry>> ListDataDirectory(const std::string& pgdata,
                                                   std::vector<Tablespace>* tablespaces) {
  struct stat st;
  if (::stat(pgdata.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
      ::access((pgdata + "/PG_VERSION").c_str(), R_OK) != 0)
    return Status::Error(ErrorCode::kConfig,
                         "pgdata \"" + pgdata + "\" is not a readable PostgreSQL data directory",
                         "pgdata must be the server's data_directory, readable by the user running "
                         "pgkeep (usually postgres); omit it to back up over the replication protocol");
  std::vector<DataDirEntry> out;
  Walker w{&out, tablespaces};
  PGKEEP_RETURN_IF_ERROR(w.Walk(pgdata, ""));
  return out;
}

}  // namespace pgkeep
