#include "backup/data_directory.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgkeep {

namespace {

constexpr std::string_view kContentsExcluded[] = {"pg_wal",       "pg_xlog",     "pg_dynshmem",
                                                  "pg_notify",    "pg_replslot", "pg_serial",
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
  Env& env;
  std::vector<DataDirEntry>* out;
  std::vector<Tablespace>* tablespaces;

  Status Walk(const std::string& abs, const std::string& rel) {
    auto listed = env.ListDir(abs);
    if (!listed.ok()) {
      int err = listed.status().os_error();
      if (err == ENOENT && !rel.empty()) return Status::Ok();  // vanished meanwhile
      return Status::Error(ErrorCode::kIo,
                           "cannot read directory \"" + abs + "\": " + std::strerror(err));
    }
    std::vector<std::string> names = std::move(*listed);
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
      std::string child_rel = rel.empty() ? name : rel + "/" + name;
      std::string child_abs = abs + "/" + name;
      if (ExcludedFromBackup(child_rel)) continue;
      auto st = env.Stat(child_abs, /*follow_symlinks=*/false);
      if (!st.ok()) {
        if (st.status().os_error() == ENOENT) continue;
        return Status::Error(ErrorCode::kIo, "cannot stat \"" + child_abs +
                                                 "\": " + std::strerror(st.status().os_error()));
      }
      bool is_link = st->type == FileType::kSymlink;
      bool tablespace_link = is_link && rel == "pg_tblspc";
      // Only tablespaces and a relocated pg_wal are PostgreSQL's links; any
      // other link leads outside the cluster (as BASE_BACKUP, not followed).
      if (is_link && !tablespace_link && child_rel != "pg_wal" && child_rel != "pg_xlog") continue;
      if (is_link) {
        // pg_wal (initdb -X) and tablespaces may be symlinks: follow them.
        auto target = env.ReadSymlink(child_abs);
        if (target.ok()) st = env.Stat(child_abs);
        if (!target.ok() || !st.ok()) {
          // A tablespace we cannot reach would be missing from the backup.
          int err = target.ok() ? st.status().os_error() : target.status().os_error();
          if (tablespace_link)
            return Status::Error(ErrorCode::kIo, "cannot reach tablespace \"" + child_abs +
                                                     "\": " + std::strerror(err));
          continue;
        }
        if (tablespace_link) tablespaces->push_back({name, *target});
      }
      if (st->type == FileType::kDirectory) {
        out->push_back({child_rel, child_abs, true, st->mode & 07777u, 0, st->modified});
        if (ContentsExcludedFromBackup(child_rel)) continue;
        PGKEEP_RETURN_IF_ERROR(Walk(child_abs, child_rel));
      } else if (st->type == FileType::kRegular) {
        out->push_back({child_rel, child_abs, false, st->mode & 07777u, st->size, st->modified});
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

Result<std::vector<DataDirEntry>> ListDataDirectory(Env& env, const std::string& pgdata,
                                                    std::vector<Tablespace>* tablespaces) {
  auto st = env.Stat(pgdata);
  if (!st.ok() || st->type != FileType::kDirectory ||
      !env.NewReadableFile(pgdata + "/PG_VERSION").ok())
    return Status::Error(
        ErrorCode::kConfig, "pgdata \"" + pgdata + "\" is not a readable PostgreSQL data directory",
        "pgdata must be the server's data_directory, readable by the user running "
        "pgkeep (usually postgres); omit it to back up over the replication protocol");
  std::vector<DataDirEntry> out;
  Walker w{env, &out, tablespaces};
  PGKEEP_RETURN_IF_ERROR(w.Walk(pgdata, ""));
  return out;
}

}  // namespace pgkeep
