// A physical restore: its steps in order (physical_restore.h), and step 3,
// the files written. The other steps live beside it (physical_restore_steps.h).
#include "restore/physical_restore.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "repo/loader.h"
#include "repo/snapshot_meta.h"
#include "restore/physical_restore_steps.h"
#include "wal/wal_archive.h"

namespace pgkeep {

namespace physical_restore_internal {

Owner ChooseOwner(Env& env, const std::string& pgdata) {
  Owner o;
  if (env.EffectiveUserId() != 0) return o;
  auto st = env.Stat(pgdata);
  if (st.ok() && st->uid != 0) {
    o = {true, st->uid, st->gid, ""};
    if (auto account = env.FindUserById(st->uid)) o.name = account->name;
    return o;
  }
  if (auto account = env.FindUser("postgres"))
    return {true, account->uid, account->gid, "postgres"};
  return o;
}

}  // namespace physical_restore_internal

using namespace physical_restore_internal;

namespace {

class Writer {
 public:
  Writer(Env& env, const Owner& owner) : env_(env), owner_(owner) {}

  Status MakeDir(const std::string& path, uint32_t mode) {
    Status made = env_.CreateDir(path, mode & 07777u);
    if (!made.ok() && made.os_error() != EEXIST) return made;
    (void)env_.SetPermissions(path, mode & 07777u);
    return Own(path);
  }
  Status Own(const std::string& path) {
    if (owner_.change) return env_.SetOwner(path, owner_.uid, owner_.gid);
    return Status::Ok();
  }
  Status WriteFile(Loader& loader, const FileEntry& f, const std::string& path) {
    auto file = env_.NewWritableFile(path, OpenMode::kExclusive, 0600);
    if (!file.ok()) return file.status();
    Status s = loader.LoadFile(f, **file);
    // Start writeback now; a syncfs waits for all of it at the end,
    // so no thread sits in fsync while others could be decoding.
    if (s.ok()) (*file)->StartWriteback();
    Status closed = (*file)->Close();
    if (s.ok()) s = closed;
    if (s.ok()) s = env_.SetPermissions(path, f.mode & 07777u);
    if (s.ok() && owner_.change) s = env_.SetOwner(path, owner_.uid, owner_.gid);
    if (s.ok()) (void)env_.SetModifiedTime(path, f.mtime);
    return s;
  }

 private:
  Env& env_;
  const Owner& owner_;
};

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

namespace {

// The forget log re-applied on the server StartAndWait started, in the
// configured database.
Result<ErasureReplay> ReapplyOnStarted(PgConnector& connector, const Repository& repo,
                                       const DatabaseConfig& db,
                                       const PhysicalRestoreResult& result, int64_t since) {
  auto conninfo = ConninfoWith(db.conninfo, {{"host", result.socket_dir},
                                             {"port", std::to_string(result.port)},
                                             {"hostaddr", ""},
                                             {"sslmode", "disable"}});
  if (!conninfo.ok()) return conninfo.status();
  auto conn = connector.Connect(*conninfo, "the restored server");
  if (!conn.ok()) return conn.status();
  return ReapplyErasures(repo, **conn, db.name, since);
}

}  // namespace

Result<PhysicalRestoreResult> RunPhysicalRestore(Env& env, Repository& repo, PgConnector& connector,
                                                 const DatabaseConfig& db,
                                                 const PhysicalRestoreOptions& o) {
  PGKEEP_RETURN_IF_ERROR(CheckPhysicalRestoreRequest(env, o));
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
                     (o.archive_mode == PhysicalRestoreOptions::ArchiveMode::kAuto &&
                      IsInPlaceRestore(env, o.pgdata, db.pgdata));

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

  // Erasures since the backup are re-applied on the started server; without
  // one they would come back silently.
  const int64_t erasures_since = result.backup.start_time - kForgetMarginSeconds;
  if (o.reapply_erasures && !o.start) {
    auto pending = ForgetEntriesSince(repo, db.name, erasures_since);
    if (!pending.ok()) return pending.status();
    if (!pending->empty())
      return Usage("backup " + result.backup.id +
                       " holds rows that retention policies erased "
                       "after it (" +
                       std::to_string(pending->size()) + " forget-log entries of database \"" +
                       db.name + "\"); re-applying them needs the restored server running",
                   "add --start, or --no-reapply-erasures to restore the rows as the backup has "
                   "them");
  }

  Loader manifest_loader(repo);
  auto files = manifest_loader.ReadManifest(result.backup);
  if (!files.ok()) return files.status();

  Owner owner = ChooseOwner(env, o.pgdata);
  PathMap map{o.pgdata, {}};
  for (const auto& t : result.backup.meta.value(kMetaTablespaces, nlohmann::json::array()))
    map.tablespaces[t.value("oid", "")] = t.value("location", "");
  for (const auto& [oid, dir] : o.tablespace_map) {
    if (!map.tablespaces.count(oid))
      return Usage("--tablespace-map " + oid + "=" + dir + ": backup " + result.backup.id +
                       " has no tablespace " + oid,
                   map.tablespaces.empty() ? "it has no tablespaces"
                                           : "pgkeep info " + result.backup.id + " lists them");
    map.tablespaces[oid] = dir;
  }
  for (const auto& [oid, location] : map.tablespaces) {
    auto empty = DirectoryIsEmpty(env, location);
    if (!empty.ok()) return empty.status();
    if (!*empty)
      return Usage(
          "tablespace " + oid + " location \"" + location + "\" is not empty",
          "restore it elsewhere with --tablespace-map " + oid + "=DIR, or empty that directory");
  }

  ReportStep(o.progress, "writing " + std::to_string(files->size()) + " files of backup " +
                             result.backup.id + " into " + o.pgdata);
  Writer writer(env, owner);
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
        PGKEEP_RETURN_IF_ERROR(env.CreateSymlink(dest, link));
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
  // One block cache for every writer: a backup interleaves files in packs.
  int writers = o.threads > 0 ? o.threads : kLocalRestoreWriters;
  if (o.threads <= 0 && repo.storage().Features().read_ahead) {
    const nlohmann::json& meta = result.backup.meta;
    // Backups from before "readers" was recorded: 1 streamed, 2 local.
    int readers = meta.value(kMetaMethod, "") == "stream" ? 1 : 2;
    if (auto it = meta.find(kMetaReaders); it != meta.end() && it->is_number_integer())
      readers = static_cast<int>(std::clamp<int64_t>(it->get<int64_t>(), 1, 64));
    if (readers > 1) writers = readers;
  }
  auto blocks = Loader::NewBlockCache(repo, writers);
  auto work = [&] {
    Loader loader(repo, 1, blocks.get());
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= regular.size()) return;
      if (o.cancel && o.cancel->load() != 0) {
        std::lock_guard lock(mu);
        if (error.ok())
          error = Status::Error(ErrorCode::kInterrupted, "interrupted while writing files");
        return;
      }
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
  for (int i = 1; i < writers; ++i) pool.emplace_back(work);
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
    if (f.mode & S_IFDIR) PGKEEP_RETURN_IF_ERROR(env.SyncDir(map.Map(f.path, &unused)));
  }
  ReportStep(o.progress, "syncing the restored files to disk");
  PGKEEP_RETURN_IF_ERROR(env.SyncDir(o.pgdata));
  PGKEEP_RETURN_IF_ERROR(env.SyncFileSystem(o.pgdata));
  for (const auto& [oid, location] : map.tablespaces)
    PGKEEP_RETURN_IF_ERROR(env.SyncFileSystem(location));
  ReportStep(o.progress, "writing the recovery settings (" + result.recovery_target + ")");
  PGKEEP_RETURN_IF_ERROR(
      WriteRecoverySettings(env, o, db, owner, result, target_line, repo.clock().NowSeconds()));
  if (o.start) {
    PGKEEP_RETURN_IF_ERROR(StartAndWait(env, connector, o, db, owner, result.backup, result));
    if (o.reapply_erasures) {
      ReportStep(o.progress, "re-applying the erasures of the forget log");
      auto replay = ReapplyOnStarted(connector, repo, db, result, erasures_since);
      // The server keeps running (its data is whole); the restore fails, saying so.
      if (!replay.ok())
        return replay.status().WithContext(
            "restored into " + o.pgdata + " and running on port " + std::to_string(result.port) +
            " (socket directory " + result.socket_dir + "), but it holds rows retention erased");
      result.erasures = *replay;
    }
  }
  return result;
}

}  // namespace pgkeep
