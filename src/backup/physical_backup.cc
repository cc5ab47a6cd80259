#include "backup/physical_backup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "backup/archiving.h"
#include "backup/data_directory.h"
#include "backup/page_verify.h"
#include "backup/tar_reader.h"
#include "postgres/connection.h"
#include "postgres/pg_connector.h"
#include "wal/archive_command.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

constexpr uint32_t kDirMode = S_IFDIR;
constexpr size_t kMaxCorruptListed = 1000;

// Everything both acquisition paths collect besides the files.
struct Acquired {
  uint64_t start_lsn = 0;
  uint64_t stop_lsn = 0;
  uint32_t timeline = 0;
  std::vector<Tablespace> tablespaces;
  std::vector<FileEntry> files;
  PageCheckStats pages;
};

// Shared by both paths: stores one file's bytes, checking pages on the way.
class FileStorer {
 public:
  FileStorer(StoreSession& session, const Chunker& chunker, bool checksums, uint64_t start_lsn)
      : session_(session), chunker_(chunker), checksums_(checksums), start_lsn_(start_lsn) {}

  Result<FileEntry> Store(ByteSource& source, FileEntry meta,
                          const PageCheckingSource::Reread& reread) {
    uint32_t segment = 0;
    if (!checksums_ || !ShouldCheckPages(meta.path, &segment))
      return session_.StoreStream(source, chunker_, std::move(meta));
    PageCheckStats stats;
    PageCheckingSource checked(source, meta.path, segment, start_lsn_, reread, &stats);
    auto stored = session_.StoreStream(checked, chunker_, std::move(meta));
    std::lock_guard lock(mu_);
    pages_.pages_checked += stats.pages_checked;
    for (auto& c : stats.corrupt) pages_.corrupt.push_back(std::move(c));
    return stored;
  }
  PageCheckStats TakeStats() { return std::move(pages_); }

 private:
  StoreSession& session_;
  const Chunker& chunker_;
  bool checksums_;
  uint64_t start_lsn_;
  std::mutex mu_;
  PageCheckStats pages_;
};

FileEntry DirectoryEntry(const std::string& path, uint32_t mode, int64_t mtime) {
  FileEntry f;
  f.path = path;
  f.mode = kDirMode | (mode & 07777u);
  f.mtime = mtime;
  return f;
}

Result<uint64_t> ParseLsnOrFail(const std::optional<std::string>& text, const std::string& what) {
  auto lsn = text ? ParseLsn(*text) : std::nullopt;
  if (!lsn) return Status::Error(ErrorCode::kPostgres, what + " returned no valid LSN");
  return *lsn;
}

// Reads pg_control's first field: the system identifier of the cluster in `pgdata`.
Result<uint64_t> LocalSystemId(Env& env, const std::string& pgdata) {
  uint64_t id = 0;
  auto file = env.NewReadableFile(pgdata + "/global/pg_control");
  bool ok = false;
  if (file.ok()) {
    auto n = (*file)->ReadAt(0, reinterpret_cast<uint8_t*>(&id), sizeof id);
    ok = n.ok() && *n == sizeof id;
  }
  if (!ok)
    return Status::Error(
        ErrorCode::kConfig, "pgdata \"" + pgdata + "\" has no readable global/pg_control",
        "pgdata must be the server's data_directory, readable by the user running pgkeep");
  return id;
}

Status StoreLocalFiles(Env& env, const std::vector<DataDirEntry>& entries, FileStorer& storer,
                       int threads, std::vector<FileEntry>& files) {
  // Biggest files first, so two threads finish together.
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return entries[a].size > entries[b].size; });
  std::vector<std::optional<FileEntry>> slots(entries.size());
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  Status error;
  auto work = [&] {
    for (;;) {
      size_t k = next.fetch_add(1);
      if (k >= order.size()) return;
      {
        std::lock_guard lock(error_mu);
        if (!error.ok()) return;
      }
      const DataDirEntry& e = entries[order[k]];
      if (e.is_dir) {
        slots[order[k]] = DirectoryEntry(e.path, e.mode, e.mtime);
        continue;
      }
      auto file = env.NewReadableFile(e.abs_path);
      if (!file.ok()) {
        if (file.status().os_error() == ENOENT) continue;  // dropped since listed: WAL replay knows
        std::lock_guard lock(error_mu);
        error = Status::Error(ErrorCode::kIo, "cannot open \"" + e.abs_path +
                                                  "\": " + std::strerror(file.status().os_error()));
        return;
      }
      ReadableFile& source = **file;
      FileEntry meta;
      meta.path = e.path;
      meta.mode = e.mode;
      meta.mtime = e.mtime;
      auto reread = [&source](uint64_t page, uint8_t* out) {
        auto n = source.ReadAt(page * 8192, out, 8192);
        return n.ok() && *n == 8192;
      };
      auto stored = storer.Store(source, std::move(meta), reread);
      if (!stored.ok()) {
        std::lock_guard lock(error_mu);
        if (error.ok()) error = stored.status();
        return;
      }
      slots[order[k]] = std::move(*stored);
    }
  };
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  PGKEEP_RETURN_IF_ERROR(error);
  for (auto& s : slots)
    if (s) files.push_back(std::move(*s));
  return Status::Ok();
}

Status StoreText(StoreSession& session, const Chunker& chunker, const std::string& path,
                 const std::string& text, int64_t mtime, std::vector<FileEntry>& files) {
  MemorySource source(AsBytes(text));
  FileEntry meta;
  meta.path = path;
  meta.mode = 0600;
  meta.mtime = mtime;
  auto stored = session.StoreStream(source, chunker, meta);
  if (!stored.ok()) return stored.status();
  files.push_back(std::move(*stored));
  return Status::Ok();
}

uint32_t TimelineFromLabel(const std::string& label) {
  auto pos = label.find("START TIMELINE: ");
  return pos == std::string::npos
             ? 0
             : static_cast<uint32_t>(std::strtoul(label.c_str() + pos + 16, nullptr, 10));
}

Status AcquireLocal(Env& env, Repository& repo, PgConnection& pg, const DatabaseConfig& db,
                    const std::string& label, bool checksums, StoreSession& session,
                    const Chunker& chunker, const PhysicalBackupOptions& options, Acquired& out) {
  auto started = pg.Query("SELECT pg_backup_start($1, true)::text", {label});
  if (!started.ok()) return started.status();
  auto start_lsn = ParseLsnOrFail(started->rows.at(0).values.at(0), "pg_backup_start");
  if (!start_lsn.ok()) return start_lsn.status();
  out.start_lsn = *start_lsn;

  auto files = StoreDataDirectory(env, session, chunker, db.pgdata, checksums, out.start_lsn,
                                  options.read_threads, &out.tablespaces, &out.pages);
  if (!files.ok()) return files.status();
  out.files = std::move(*files);

  auto stopped = pg.Query("SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)");
  if (!stopped.ok()) return stopped.status();
  const auto& v = stopped->rows.at(0).values;
  auto stop_lsn = ParseLsnOrFail(v.at(0), "pg_backup_stop");
  if (!stop_lsn.ok()) return stop_lsn.status();
  out.stop_lsn = *stop_lsn;
  std::string label_file = v.at(1).value_or(""), map_file = v.at(2).value_or("");
  out.timeline = TimelineFromLabel(label_file);
  int64_t now = repo.clock().NowSeconds();
  PGKEEP_RETURN_IF_ERROR(StoreText(session, chunker, "backup_label", label_file, now, out.files));
  if (!map_file.empty())
    PGKEEP_RETURN_IF_ERROR(StoreText(session, chunker, "tablespace_map", map_file, now, out.files));
  return Status::Ok();
}

Status AcquireStream(PgConnector& connector, const DatabaseConfig& db, const std::string& what,
                     const std::string& label, uint64_t system_id, bool checksums,
                     StoreSession& session, const Chunker& chunker, Acquired& out) {
  auto stream = connector.StartBaseBackup(db.conninfo, what, label);
  if (!stream.ok()) return stream.status();
  BaseBackupSource& s = **stream;
  if (s.system_identifier() != system_id)
    return Status::Error(ErrorCode::kPostgres,
                         "the replication connection of " + what + " reaches another cluster (" +
                             std::to_string(s.system_identifier()) + ") than its SQL connection (" +
                             std::to_string(system_id) + ")");
  auto start_lsn = ParseLsnOrFail(s.start_position(), "BASE_BACKUP");
  if (!start_lsn.ok()) return start_lsn.status();
  out.start_lsn = *start_lsn;
  out.timeline = s.timeline();
  FileStorer storer(session, chunker, checksums, out.start_lsn);
  for (;;) {
    auto archive = s.NextArchive();
    if (!archive.ok()) return archive.status();
    if (!*archive) break;
    std::string prefix;
    if ((*archive)->name != "base.tar") {
      std::string oid = (*archive)->name.substr(0, (*archive)->name.find('.'));
      prefix = "pg_tblspc/" + oid + "/";
      out.tablespaces.push_back({oid, (*archive)->tablespace_location});
      out.files.push_back(DirectoryEntry("pg_tblspc/" + oid, 0700, 0));
    }
    TarReader tar(s.Data(), "base backup stream of " + what);
    for (;;) {
      auto entry = tar.Next();
      if (!entry.ok()) return entry.status();
      if (!*entry) break;
      const TarEntry& e = **entry;
      std::string path = prefix + e.path;
      if (e.type == '5') {
        out.files.push_back(DirectoryEntry(path, e.mode, e.mtime));
      } else if (e.type == '0' || e.type == '\0') {
        FileEntry meta;
        meta.path = path;
        meta.mode = e.mode & 07777u;
        meta.mtime = e.mtime;
        auto stored = storer.Store(tar.Data(), std::move(meta), nullptr);
        if (!stored.ok()) return stored.status();
        out.files.push_back(std::move(*stored));
      }
      // Symlinks (pg_tblspc/<oid>, a linked pg_wal) are recreated from the
      // metadata at restore.
    }
  }
  auto stop = s.Finish();
  if (!stop.ok()) return stop.status();
  auto stop_lsn = ParseLsnOrFail(*stop, "BASE_BACKUP");
  if (!stop_lsn.ok()) return stop_lsn.status();
  out.stop_lsn = *stop_lsn;
  out.pages = storer.TakeStats();
  return Status::Ok();
}

std::optional<Snapshot> LatestPhysical(const std::vector<Snapshot>& all, const std::string& db) {
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (IsPhysicalKind(it->kind) && SnapshotDatabase(*it) == db) return *it;
  return std::nullopt;
}

}  // namespace

Result<std::vector<FileEntry>> StoreDataDirectory(Env& env, StoreSession& session,
                                                  const Chunker& chunker, const std::string& pgdata,
                                                  bool checksums, uint64_t start_lsn, int threads,
                                                  std::vector<Tablespace>* tablespaces,
                                                  PageCheckStats* pages) {
  auto entries = ListDataDirectory(env, pgdata, tablespaces);
  if (!entries.ok()) return entries.status();
  FileStorer storer(session, chunker, checksums, start_lsn);
  std::vector<FileEntry> files;
  PGKEEP_RETURN_IF_ERROR(StoreLocalFiles(env, *entries, storer, threads, files));
  *pages = storer.TakeStats();
  return files;
}

Result<PhysicalBackupResult> RunPhysicalBackup(Env& env, Repository& repo, PgConnector& connector,
                                               const DatabaseConfig& db,
                                               const PhysicalBackupOptions& options) {
  const std::string what = "database \"" + db.name + "\"";
  auto conn = connector.Connect(db.conninfo, what);
  if (!conn.ok()) return conn.status();
  PgConnection& pg = **conn;
  if (pg.ServerVersionNum() < 150000)
    return Status::Error(ErrorCode::kPostgres,
                         what + " runs PostgreSQL " +
                             std::to_string(pg.ServerVersionNum() / 10000) +
                             "; physical backups need PostgreSQL 15 or later",
                         "use method = \"logical\" for older servers");
  auto settings = ReadArchivingSettings(pg);
  if (!settings.ok()) return settings.status();
  PGKEEP_RETURN_IF_ERROR(CheckArchivingSettings(
      *settings, db.name, PgkeepCommandLine(env, options.config_path, "wal-push", db.name, "%p")));
  auto info = pg.Query(
      "SELECT system_identifier::text, current_setting('data_checksums'), current_setting('port'), "
      "version(), current_setting('wal_segment_size'), current_setting('block_size') "
      "FROM pg_control_system()");
  if (!info.ok()) return info.status();
  const auto& iv = info->rows.at(0).values;
  uint64_t system_id = std::stoull(iv[0].value_or("0"));
  bool checksums = iv[1].value_or("") == "on";
  if (iv[4].value_or("") != "16MB" || iv[5].value_or("") != "8192")
    return Status::Error(ErrorCode::kPostgres, what + " uses wal_segment_size " +
                                                   iv[4].value_or("?") + " and block_size " +
                                                   iv[5].value_or("?") +
                                                   "; pgkeep supports 16MB and 8192");
  if (!db.pgdata.empty()) {
    auto local = LocalSystemId(env, db.pgdata);
    if (!local.ok()) return local.status();
    if (*local != system_id)
      return Status::Error(ErrorCode::kConfig,
                           "pgdata \"" + db.pgdata + "\" holds cluster " + std::to_string(*local) +
                               ", but conninfo of " + what + " reaches cluster " +
                               std::to_string(system_id),
                           "pgdata and conninfo must name the same server");
  }
  PGKEEP_RETURN_IF_ERROR(CheckClusterIdentity(repo, db.name, system_id, "the server of " + what));

  PhysicalBackupResult result;
  Snapshot& snapshot = result.snapshot;
  snapshot.start_time = repo.clock().NowSeconds();
  snapshot.id = NewSnapshotId(snapshot.start_time);
  snapshot.kind = options.type;
  snapshot.label = options.label;
  snapshot.hostname = env.HostName();
  std::string parent;
  if (options.type == "incr") {
    auto all = repo.ListSnapshots();
    if (!all.ok()) return all.status();
    auto previous = LatestPhysical(all->snapshots, db.name);
    if (previous) {
      parent = previous->id;
    } else {
      snapshot.kind = "full";
      result.warnings.push_back("no earlier physical backup of " + what + ": taking a full backup");
    }
  }

  StoreSession session(repo, options.store);
  FixedChunker chunker(repo.settings().block_size);
  const std::string label = "pgkeep " + snapshot.id;
  Acquired got;
  ReportStep(options.progress, db.pgdata.empty() ? "streaming the base backup of " + what
                                                 : "copying the data directory " + db.pgdata);
  Status acquired =
      db.pgdata.empty()
          ? AcquireStream(connector, db, what, label, system_id, checksums, session, chunker, got)
          : AcquireLocal(env, repo, pg, db, label, checksums, session, chunker, options, got);
  if (!acquired.ok()) return acquired.WithContext("backup of " + what);
  const int64_t consistent_micros = repo.clock().NowMicros();  // recovery targets must come later

  std::string stop_segment = WalSegmentNameForLsn(got.timeline, got.stop_lsn - 1);
  ReportStep(options.progress, "waiting for WAL " + stop_segment + " to be archived");
  PGKEEP_RETURN_IF_ERROR(
      WaitForArchivedWal(env, repo, db.name, stop_segment, options.wal_wait_seconds)
          .WithContext("backup of " + what));
  snapshot.stop_time = repo.clock().NowSeconds();

  nlohmann::json corrupt = nlohmann::json::array();
  for (const auto& c : got.pages.corrupt) {
    if (corrupt.size() >= kMaxCorruptListed) break;
    corrupt.push_back({{"file", c.file}, {"block", c.block}});
    char line[256];
    std::snprintf(line, sizeof line,
                  "page checksum mismatch in \"%s\", block %u: stored %04x, computed %04x",
                  c.file.c_str(), c.block, c.expected, c.found);
    result.warnings.push_back(line);
  }
  if (got.pages.corrupt.size() > kMaxCorruptListed)
    result.warnings.push_back(std::to_string(got.pages.corrupt.size() - kMaxCorruptListed) +
                              " more corrupt pages (corrupt_page_count in info has them all)");
  nlohmann::json tablespaces = nlohmann::json::array();
  for (const auto& t : got.tablespaces)
    tablespaces.push_back({{"oid", t.oid}, {"location", t.location}});
  snapshot.meta = {{kMetaDatabase, db.name},
                   {kMetaMethod, db.pgdata.empty() ? "stream" : "local"},
                   {kMetaParent, parent},
                   {kMetaStartLsn, FormatLsn(got.start_lsn)},
                   {kMetaStopLsn, FormatLsn(got.stop_lsn)},
                   {kMetaTimeline, got.timeline},
                   {kMetaStartWal, WalSegmentNameForLsn(got.timeline, got.start_lsn)},
                   {kMetaStopWal, stop_segment},
                   {kMetaStopMicros, consistent_micros},
                   {kMetaSystemId, std::to_string(system_id)},
                   {kMetaServerVersion, iv[3].value_or("")},
                   {kMetaServerVersionNum, pg.ServerVersionNum()},
                   {kMetaPort, iv[2].value_or("")},
                   {kMetaDataChecksums, checksums},
                   {kMetaPagesChecked, got.pages.pages_checked},
                   {kMetaCorruptPageCount, got.pages.corrupt.size()},
                   {kMetaCorruptPages, corrupt},
                   {kMetaTablespaces, tablespaces},
                   {kMetaReaders, db.pgdata.empty() ? 1 : options.read_threads}};
  ReportStep(options.progress, "committing backup " + snapshot.id);
  auto committed = session.Commit(snapshot, got.files);
  if (!committed.ok()) return committed.status();
  result.snapshot = *committed;
  return result;
}

}  // namespace pgkeep
