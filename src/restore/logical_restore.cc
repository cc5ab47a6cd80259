#include "restore/logical_restore.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <thread>

#include "codec/crypto.h"
#include "common/clock.h"
#include "common/file_io.h"
#include "postgres/connection.h"
#include "postgres/pg_connector.h"
#include "postgres/table_scope.h"
#include "repo/loader.h"
#include "restore/dump_staging.h"
#include "restore/table_load.h"

namespace pgkeep {

namespace {

enum class DumpFormat { kArchive, kTar, kPlainSql };

Result<DumpFormat> DetectFormat(Env& env, const std::string& path) {
  auto file = env.NewReadableFile(path);
  if (!file.ok())
    return Status::Error(ErrorCode::kNotFound, "cannot open \"" + path + "\": " +
                                                   std::strerror(file.status().os_error()));
  char head[512] = {0};
  auto got = (*file)->ReadAt(0, reinterpret_cast<uint8_t*>(head), sizeof head);
  ssize_t n = got.ok() ? static_cast<ssize_t>(*got) : -1;
  if (n >= 5 && std::memcmp(head, "PGDMP", 5) == 0) return DumpFormat::kArchive;
  if (n >= 262 && std::memcmp(head + 257, "ustar", 5) == 0) return DumpFormat::kTar;
  return DumpFormat::kPlainSql;
}

// Removes the staged dump when the restore is done, whatever happens.
class TempFile {
 public:
  static Result<std::unique_ptr<TempFile>> Create(Env& env, const std::string& dir) {
    std::string base = dir;
    if (base.empty()) {
      std::optional<std::string> tmpdir = env.GetEnvVar("TMPDIR");
      base = tmpdir && !tmpdir->empty() ? *tmpdir : "/tmp";
    }
    static constexpr char kChars[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    Status last;
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string path = base + "/pgkeep-restore-";
      uint64_t r = env.Random64();
      for (int i = 0; i < 6; ++i, r /= 62) path += kChars[r % 62];
      auto file = env.NewWritableFile(path, OpenMode::kExclusive, 0600);
      if (file.ok()) return std::unique_ptr<TempFile>(new TempFile(env, path, std::move(*file)));
      last = file.status();
      if (last.os_error() != EEXIST) break;
    }
    return Status::Error(
        ErrorCode::kIo,
        "cannot create a staging file in \"" + base + "\": " + std::strerror(last.os_error()),
        "pass --temp-dir with room for the dump");
  }
  ~TempFile() {
    (void)file_->Close();
    (void)env_.RemoveFile(path_);
  }
  const std::string& path() const { return path_; }
  WritableFile& file() { return *file_; }

 private:
  TempFile(Env& env, std::string path, std::unique_ptr<WritableFile> file)
      : env_(env), path_(std::move(path)), file_(std::move(file)) {}
  Env& env_;
  std::string path_;
  std::unique_ptr<WritableFile> file_;
};

// Waits for a tool started with connector.RunTool; its exit as a Status.
Status FinishTool(PgToolProcess& proc, const std::string& what, const std::atomic<int>* cancel) {
  bool cancelled = false;
  int code = proc.WaitOrCancel(cancel, &cancelled);
  if (cancelled) return Status::Error(ErrorCode::kInterrupted, "interrupted while running " + what);
  if (code == 0) return Status::Ok();
  std::string last = proc.ErrorSummary();
  std::string hint;
  if (last.find("role") != std::string::npos && last.find("does not exist") != std::string::npos)
    hint =
        "create the missing role on the target server first (globals = true keeps roles with each "
        "backup)";
  else if (last.find("No space left") != std::string::npos)
    hint = "free space on the target server";
  return Status::Error(
      ErrorCode::kTool,
      what + " failed (exit " + std::to_string(code) + ")" + (last.empty() ? "" : ": " + last),
      hint);
}

Status RunTool(PgConnector& connector, const std::vector<std::string>& argv,
               const std::string& what, const std::vector<std::string>& drop_env,
               const std::atomic<int>* cancel) {
  auto proc = connector.RunTool(PgToolCommand{argv, false, drop_env});
  if (!proc.ok()) return proc.status();
  return FinishTool(**proc, what, cancel);
}

// CREATE DATABASE on a thread of its own while the dump is staged, for a
// database that does not exist yet; dropped again when the restore stops
// before Keep().
class EarlyCreate {
 public:
  EarlyCreate(PgConnection& admin, std::string quoted, std::string mark)
      : admin_(admin), quoted_(std::move(quoted)), mark_(std::move(mark)), thread_([this] {
          status_ = admin_.Exec("CREATE DATABASE " + quoted_ + " TEMPLATE template0");
          if (!status_.ok()) return;
          status_ = admin_.Exec(mark_);
          if (!status_.ok()) (void)admin_.Exec("DROP DATABASE IF EXISTS " + quoted_);
        }) {}
  EarlyCreate(const EarlyCreate&) = delete;
  EarlyCreate& operator=(const EarlyCreate&) = delete;
  ~EarlyCreate() {
    (void)Wait();
    if (!keep_ && status_.ok())
      (void)admin_.Exec("DROP DATABASE IF EXISTS " + quoted_ + " WITH (FORCE)");
  }
  // The CREATE's outcome; the admin connection is free again after it.
  Status Wait() {
    if (thread_.joinable()) thread_.join();
    return status_;
  }
  void Keep() { keep_ = true; }

 private:
  PgConnection& admin_;
  std::string quoted_;
  std::string mark_;  // the statement that sets kRestoreMarker
  Status status_;
  bool keep_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

Result<uint64_t> CountArchiveObjects(PgConnector& connector, const std::string& pg_restore,
                                     const std::string& file,
                                     const std::vector<std::string>& filters,
                                     const std::vector<std::string>& drop_env) {
  std::vector<std::string> argv = {pg_restore, "--list"};
  argv.insert(argv.end(), filters.begin(), filters.end());
  argv.push_back(file);
  auto proc = connector.RunTool(PgToolCommand{argv, true, drop_env});
  if (!proc.ok()) return proc.status();
  uint64_t objects = 0;
  Bytes buf(1 << 16);
  bool line_start = true, comment = false;
  for (;;) {
    auto n = (*proc)->Stdout().Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      if (line_start) comment = buf[i] == ';' || buf[i] == '\n';
      if (buf[i] == '\n' && !comment) ++objects;
      line_start = buf[i] == '\n';
    }
  }
  int code = (*proc)->Wait();
  if (code != 0)
    return Status::Error(ErrorCode::kTool, "pg_restore --list failed: " + (*proc)->ErrorSummary());
  return objects;
}

// What kRestoreMarker's comment says: the pid and host of the restore.
struct RestoreMarker {
  pid_t pid = 0;
  std::string host;
};
std::optional<RestoreMarker> ParseRestoreMarker(const std::string& comment) {
  static const std::regex re(std::string("^") + kRestoreMarker +
                             R"( \(pid ([0-9]{1,9}) on ([^ ,]{1,255}), started [^)]*\)$)");
  std::smatch m;
  if (!std::regex_match(comment, m, re)) return std::nullopt;
  return RestoreMarker{static_cast<pid_t>(std::stol(m[1].str())), m[2].str()};
}

// pg_restore's --table takes a bare name; "schema.table" becomes both filters.
std::vector<std::string> RestoreFilters(const LogicalRestoreOptions& o) {
  std::vector<std::string> args;
  for (const auto& s : o.schemas) args.push_back("--schema=" + s);
  for (const auto& t : o.tables) {
    size_t dot = t.find('.');
    if (dot != std::string::npos) args.push_back("--schema=" + t.substr(0, dot));
    args.push_back("--table=" + (dot == std::string::npos ? t : t.substr(dot + 1)));
  }
  return args;
}

}  // namespace

Result<Snapshot> FindLogicalSnapshot(const Repository& repo, const std::string& database,
                                     const std::string& id) {
  if (id != "latest") {
    auto s = repo.ReadSnapshot(id);
    if (!s.ok()) return s.status();
    if (s->kind != "logical" || (!database.empty() && SnapshotDatabase(*s) != database))
      return Status::Error(
          ErrorCode::kNotFound,
          "snapshot \"" + id + "\" is not a logical backup of database \"" + database + "\"",
          "see \"pgkeep list --db " + database + "\"");
    return s;
  }
  auto all = repo.ListSnapshots();
  if (!all.ok()) return all.status();
  for (auto it = all->snapshots.rbegin(); it != all->snapshots.rend(); ++it)
    if (it->kind == "logical" && (database.empty() || SnapshotDatabase(*it) == database))
      return *it;
  if (database.empty())
    return Status::Error(ErrorCode::kNotFound, "the repository holds no logical backup yet");
  return Status::Error(ErrorCode::kNotFound,
                       "database \"" + database + "\" has no logical backup yet",
                       "run \"pgkeep backup --db " + database + "\"");
}

// Writes the pg_dump file of a logical snapshot to `sink`, every chunk checked.
static Status LoadDump(const Repository& repo, const Snapshot& snapshot, ByteSink& sink) {
  Loader loader(repo);
  auto files = loader.ReadManifest(snapshot);
  if (!files.ok()) return files.status();
  std::string name = snapshot.meta.value(kMetaDumpFile, "");
  for (const auto& f : *files)
    if (f.path == name) return loader.LoadFile(f, sink);
  return Status::Error(ErrorCode::kCorrupt,
                       "snapshot \"" + snapshot.id + "\" lacks its dump file \"" + name + "\"");
}

Status ExportLogicalDump(Env& env, const Repository& repo, const Snapshot& snapshot,
                         const std::string& path) {
  if (snapshot.kind != "logical")
    return Status::Error(ErrorCode::kUsage,
                         "snapshot \"" + snapshot.id + "\" is not a logical backup",
                         "only logical backups export as pg_dump files");
  // A unique temporary name: a killed export never blocks the next one.
  std::string temp = path + ".pgkeep-partial-" + HexEncode(RandomBytes(4));
  // kIfAbsent links: an export never overwrites a file.
  Status s =
      WriteFileDurably(env, path, [&](ByteSink& sink) { return LoadDump(repo, snapshot, sink); },
                       {.temp = temp,
                        .temp_mode = OpenMode::kExclusive,
                        .mode = 0600,
                        .publish = Publish::kIfAbsent});
  if (s.code() == ErrorCode::kConflict)
    return Status::Error(ErrorCode::kUsage,
                         "cannot create \"" + path + "\": " + std::strerror(EEXIST),
                         "choose a new file name");
  return s;
}

Result<LogicalRestoreReport> RunLogicalRestore(Env& env, const Repository* repo,
                                               PgConnector& connector, const DatabaseConfig* db,
                                               const LogicalRestoreOptions& options) {
  int64_t started = env.MonotonicMicros();
  LogicalRestoreReport report;
  report.database = options.into_database;
  if (options.into_database.empty())
    return Status::Error(ErrorCode::kUsage, "--into-database is required");
  std::string target =
      !options.target_conninfo.empty() ? options.target_conninfo : (db ? db->conninfo : "");
  if (target.empty())
    return Status::Error(ErrorCode::kUsage, "no server to restore into", "pass --target-conninfo");
  std::string what = "target server";
  if (RedactConninfo(target) != target)
    return Status::Error(
        ErrorCode::kUsage, "the target conninfo contains a password",
        "give it in PGPASSWORD or ~/.pgpass: a password on a command line shows in `ps`");

  auto admin_info = ConninfoWithDbname(target, "postgres");
  if (!admin_info.ok()) return admin_info.status();
  auto admin = connector.Connect(*admin_info, what);
  if (!admin.ok()) return admin.status();
  int server_major = (*admin)->ServerVersionNum() / 10000;
  auto pg_restore = connector.FindTool("pg_restore", server_major, db ? db->pg_bin : "");
  if (!pg_restore.ok()) return pg_restore.status();

  // The source: a snapshot staged to a file, or the user's file.
  std::optional<Snapshot> snapshot;
  std::unique_ptr<TempFile> staged;
  std::optional<DumpStaging> staging_info;  // when the stager rewrote the dump
  std::string file = options.from_file;
  if (file.empty()) {
    auto s = FindLogicalSnapshot(*repo, db->name, options.backup);
    if (!s.ok()) return s.status();
    snapshot = *s;
    report.source = s->id;
  } else {
    report.source = file;
  }
  auto format = file.empty() ? Result<DumpFormat>(DumpFormat::kArchive) : DetectFormat(env, file);
  if (!format.ok()) return format.status();
  if (*format == DumpFormat::kPlainSql && (!options.schemas.empty() || !options.tables.empty()))
    return Status::Error(
        ErrorCode::kUsage,
        "\"" + file + "\" is a plain SQL dump; --schema and --table need an archive",
        "restore it whole, or use a custom-format dump");

  // Refused before anything is staged: a name taken is known at once.
  auto exists = (*admin)->Query(
      "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
      "WHERE datname = $1",
      {options.into_database});
  if (!exists.ok()) return exists.status();
  std::string quoted = QuoteIdent(options.into_database);
  // While a restore writes the database, its comment says so (the header).
  const std::string mark =
      "COMMENT ON DATABASE " + quoted + " IS " +
      QuoteLiteral(std::string(kRestoreMarker) + " (pid " + std::to_string(env.ProcessId()) +
                   " on " + env.HostName() + ", started " +
                   FormatIsoTime(env.NowMicros() / 1000000) + ")");
  if (!exists->rows.empty()) {
    const std::string comment = exists->rows[0].values[0].value_or("");
    auto leftover = ParseRestoreMarker(comment);
    if (leftover && leftover->host == env.HostName() && !env.ProcessExists(leftover->pid)) {
      // A restore that was killed left it: ours to drop.
      PGKEEP_RETURN_IF_ERROR((*admin)->Exec("DROP DATABASE " + quoted + " WITH (FORCE)"));
      report.dropped_leftover = comment;
      exists->rows.clear();
    } else if (leftover && (leftover->host == env.HostName() || !options.clean)) {
      // Never replaced while its restore runs, even with --clean: that
      // restore would drop this one's database when it fails.
      const bool here = leftover->host == env.HostName();
      return Status::Error(
          ErrorCode::kUsage,
          "database \"" + options.into_database + "\" is being restored by pid " +
              std::to_string(leftover->pid) + " on " + leftover->host +
              (here ? "" : " (or that restore stopped there without finishing)"),
          here ? "wait for that restore to end, or stop it first"
               : "pass --clean to replace it once that restore is no longer running");
    } else if (!options.clean) {
      return Status::Error(ErrorCode::kUsage,
                           "database \"" + options.into_database + "\" already exists",
                           "choose another name, or pass --clean to drop and recreate it");
    }
  }
  const std::vector<std::string> filters = RestoreFilters(options);
  // A new database for a whole backup is created while its dump is staged
  // (a selection is first checked against the dump: it may match nothing).
  std::optional<EarlyCreate> early;
  if (snapshot && exists->rows.empty() && filters.empty()) early.emplace(**admin, quoted, mark);

  if (snapshot) {
    // Staged before the target is touched: a damaged chunk or a full temp
    // disk must not cost the user an existing database (--clean).
    ReportStep(
        options.progress,
        "staging the dump of backup " + snapshot->id +
            (early ? ", creating database \"" + options.into_database + "\" meanwhile" : ""));
    auto temp = TempFile::Create(env, options.temp_dir);
    if (!temp.ok()) return temp.status();
    staged = std::move(*temp);
    // Rewritten for parallel pg_restore on the way (restore/dump_staging.h).
    DumpStager stager(staged->file());
    Status loaded = LoadDump(*repo, *snapshot, stager);
    auto staging = loaded.ok() ? stager.Finish() : Result<DumpStaging>(loaded);
    if (!staging.ok() && stager.malformed()) {
      // pg_restore may still read what the stager could not: as it is.
      report.staging_note = staging.status().message() + "; staged as it is";
      auto again = TempFile::Create(env, options.temp_dir);
      if (!again.ok()) return again.status();
      staged = std::move(*again);
      PGKEEP_RETURN_IF_ERROR(LoadDump(*repo, *snapshot, staged->file()));
    } else if (!staging.ok()) {
      return staging.status();
    } else {
      report.data_offsets_added = staging->offsets_added;
      report.chunks_read = staging->chunks_read;
      report.chunks_written = staging->chunks_written;
      if (staging->rewritten) staging_info = std::move(*staging);
    }
    file = staged->path();
  }
  if (options.cancel && options.cancel->load() != 0)
    return Status::Error(ErrorCode::kInterrupted, "interrupted while staging the dump");
  std::optional<PgTool> psql;
  if (*format == DumpFormat::kPlainSql) {
    auto found = connector.FindTool("psql", server_major, db ? db->pg_bin : "");
    if (!found.ok()) return found.status();
    psql = *found;
  }

  if (early) PGKEEP_RETURN_IF_ERROR(early->Wait());
  if (*format != DumpFormat::kPlainSql) {
    // Counted before anything is touched: a selection that matches nothing
    // would "succeed" with an empty database.
    auto selected =
        CountArchiveObjects(connector, pg_restore->path, file, filters, options.child_env_drop);
    if (!selected.ok()) return selected.status();
    report.objects = *selected;
    if (*selected == 0 && !filters.empty())
      return Status::Error(ErrorCode::kNotFound,
                           "--schema/--table select nothing in " + report.source,
                           "list what it holds with \"pgkeep export\" and \"pg_restore --list\"; "
                           "names are case-sensitive");
  }

  if (early) {
    early->Keep();  // created above; from here on a failure drops it as below
  } else {
    if (!exists->rows.empty())
      PGKEEP_RETURN_IF_ERROR((*admin)->Exec("DROP DATABASE " + quoted + " WITH (FORCE)"));
    ReportStep(options.progress, "creating database \"" + options.into_database + "\"");
    PGKEEP_RETURN_IF_ERROR((*admin)->Exec("CREATE DATABASE " + quoted + " TEMPLATE template0"));
    if (Status marked = (*admin)->Exec(mark); !marked.ok()) {
      (void)(*admin)->Exec("DROP DATABASE IF EXISTS " + quoted);
      return marked;
    }
  }
  auto into = ConninfoWithDbname(target, options.into_database);
  if (!into.ok()) return into.status();

  // The largest table, loaded over `jobs` connections of pgkeep's own while
  // pg_restore does the rest in three sections, when a whole backup is
  // restored in parallel and it is large enough to gain from it.
  const StagedTableData* split = nullptr;
  if (staging_info && filters.empty() && *format == DumpFormat::kArchive)
    for (const StagedTableData& t : staging_info->table_data)
      if (t.bytes >= kSplitTableMinBytes && (!split || t.bytes > split->bytes)) split = &t;
  auto pg_restore_argv = [&](int jobs) {
    std::vector<std::string> argv = {pg_restore->path, "--exit-on-error", "--no-password",
                                     "--jobs=" + std::to_string(jobs), "--dbname=" + *into};
    argv.insert(argv.end(), filters.begin(), filters.end());
    if (options.no_owner) argv.insert(argv.end(), {"--no-owner", "--no-privileges"});
    return argv;
  };
  auto restore_split = [&](int jobs) -> Status {
    std::vector<std::string> argv = pg_restore_argv(1);
    argv.insert(argv.end(), {"--section=pre-data", file});
    PGKEEP_RETURN_IF_ERROR(RunTool(connector, argv, "pg_restore --section=pre-data",
                                   options.child_env_drop, options.cancel));
    // Every other table's data, through a list pg_restore follows (-L),
    // loaded while the split table is: as pg_restore -j would, the small
    // tables fill the gaps the big one leaves on the server's cores.
    auto list = TempFile::Create(env, options.temp_dir);
    if (!list.ok()) return list.status();
    std::string ids;
    for (int64_t id : staging_info->toc_order)
      if (id != split->dump_id) ids += std::to_string(id) + "\n";
    PGKEEP_RETURN_IF_ERROR((*list)->file().Write(AsBytes(ids)));
    PGKEEP_RETURN_IF_ERROR((*list)->file().Close());
    const int other_jobs = std::max(1, jobs / 2);
    ReportStep(options.progress, "loading " + split->schema + "." + split->table + " over " +
                                     std::to_string(jobs) +
                                     " connections, the other tables' data with pg_restore "
                                     "--jobs=" +
                                     std::to_string(other_jobs));
    argv = pg_restore_argv(other_jobs);
    argv.insert(argv.end(), {"--section=data", "--use-list=" + (*list)->path(), file});
    auto others = connector.RunTool(PgToolCommand{argv, false, options.child_env_drop});
    if (!others.ok()) return others.status();
    auto loaded = LoadTableInParts(
        env, connector, *into, "database \"" + options.into_database + "\"", file, *split,
        staging_info->int_size, staging_info->session_sql, jobs, options.cancel);
    // A failed load stops the other pg_restore at once (the caller starts over).
    std::atomic<int> stop{loaded.ok() ? 0 : 1};
    Status others_done =
        FinishTool(**others, "pg_restore --section=data", loaded.ok() ? options.cancel : &stop);
    if (!loaded.ok()) return loaded.status();
    PGKEEP_RETURN_IF_ERROR(others_done);
    report.split_table = split->schema + "." + split->table;
    report.split_parts = loaded->parts;
    report.split_rows = loaded->rows;
    ReportStep(options.progress,
               "indexes and constraints with pg_restore --jobs=" + std::to_string(jobs));
    argv = pg_restore_argv(jobs);
    argv.insert(argv.end(), {"--section=post-data", file});
    return RunTool(connector, argv, "pg_restore --section=post-data", options.child_env_drop,
                   options.cancel);
  };

  // From here on any failure drops the database we created: a half-restored
  // database must never look like a restore.
  auto restore_into = [&](int jobs) -> Status {
    if (*format != DumpFormat::kPlainSql && (!options.schemas.empty() || !options.tables.empty())) {
      // pg_restore --schema restores what is in a schema but not the schema
      // itself; create the selected schemas first.
      auto conn = connector.Connect(*into, "database \"" + options.into_database + "\"");
      if (!conn.ok()) return conn.status();
      std::vector<std::string> schemas = options.schemas;
      for (const auto& t : options.tables)
        if (t.find('.') != std::string::npos) schemas.push_back(t.substr(0, t.find('.')));
      for (const auto& s : schemas)
        if (s != "public")
          PGKEEP_RETURN_IF_ERROR((*conn)->Exec("CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(s)));
    }
    if (*format == DumpFormat::kPlainSql)
      return RunTool(connector,
                     {psql->path, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
                      "--single-transaction", "-f", file, "--dbname=" + *into},
                     "psql", options.child_env_drop, options.cancel);
    if (split && jobs > 1) return restore_split(jobs);
    std::vector<std::string> argv = pg_restore_argv(jobs);
    argv.push_back(file);
    return RunTool(connector, argv, "pg_restore", options.child_env_drop, options.cancel);
  };
  // Only the custom format restores in parallel.
  int jobs = *format == DumpFormat::kArchive ? std::max(1, options.jobs) : 1;
  ReportStep(options.progress, *format == DumpFormat::kPlainSql
                                   ? std::string("running the SQL script with psql")
                                   : "restoring with pg_restore --jobs=" + std::to_string(jobs));
  Status restored = restore_into(jobs);
  const bool split_failed = split && jobs > 1 && restored.code() != ErrorCode::kInterrupted;
  if (!restored.ok() && jobs > 1 && (restored.code() == ErrorCode::kTool || split_failed)) {
    report.split_table.clear();
    report.split_parts = 0;
    report.split_rows = 0;
    // Start over from an empty database: what the parallel run left is in
    // an unknown state, and pg_restore does not resume.
    report.retried_serial = true;
    report.retry_reason = restored.message();
    ReportStep(options.progress, "the parallel restore failed; restoring again with --jobs=1");
    Status recreated = (*admin)->Exec("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)");
    if (recreated.ok())
      recreated = (*admin)->Exec("CREATE DATABASE " + quoted + " TEMPLATE template0");
    if (recreated.ok()) recreated = (*admin)->Exec(mark);
    restored = recreated.ok() ? restore_into(1) : recreated;
    if (!restored.ok())
      restored = Status::Error(
          restored.code(),
          restored.message() +
              " (retried with --jobs=1; the parallel run had failed: " + report.retry_reason + ")",
          restored.hint());
  }
  if (!restored.ok()) {
    Status dropped = (*admin)->Exec("DROP DATABASE IF EXISTS " + quoted + " WITH (FORCE)");
    return Status::Error(
        restored.code(),
        restored.message() + (dropped.ok() ? "; the half-restored database \"" +
                                                 options.into_database + "\" was dropped"
                                           : ""),
        restored.hint());
  }

  // Count what arrived and compare with what the backup recorded.
  ReportStep(options.progress, "counting the restored rows");
  auto check = connector.Connect(*into, "database \"" + options.into_database + "\"");
  if (!check.ok()) return check.status();
  auto tables = ListUserTables(**check);
  if (!tables.ok()) return tables.status();
  nlohmann::json recorded = snapshot
                                ? snapshot->meta.value(kMetaRowCounts, nlohmann::json::object())
                                : nlohmann::json::object();
  TableScope selection(options.schemas, options.tables);
  // The split table's rows were counted by the server as its COPYs ran;
  // that count stands for count(*) when the rows can only be in that table
  // (a plain table: no partition, no inheritance children).
  std::optional<int64_t> split_count;
  if (!report.split_table.empty()) {
    auto plain = (*check)->Query(
        "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r' AND NOT c.relispartition "
        "AND NOT EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid)",
        {split->schema, split->table});
    if (!plain.ok()) return plain.status();
    if (!plain->rows.empty()) split_count = report.split_rows;
  }
  for (const auto& t : *tables) {
    const bool loaded_here = split_count && t.schema == split->schema && t.name == split->table;
    auto n = loaded_here ? Result<int64_t>(*split_count) : CountRows(**check, t);
    if (!n.ok()) return n.status();
    TableCheck c{t.Display(), std::nullopt, *n};
    if (recorded.contains(c.table)) c.expected = recorded[c.table].get<int64_t>();
    if (c.expected && *c.expected != c.restored)
      report.mismatches.push_back(c.table + ": backup recorded " + std::to_string(*c.expected) +
                                  " rows, restored " + std::to_string(c.restored));
    report.tables.push_back(c);
  }
  // Tables the backup had (within the selection) that did not arrive at all.
  for (auto& [name, count] : recorded.items()) {
    size_t dot = name.find('.');
    QualifiedTable t{name.substr(0, dot), name.substr(dot + 1)};
    if (!selection.Includes(t)) continue;
    bool found = false;
    for (const auto& c : report.tables) found = found || c.table == name;
    if (!found)
      report.mismatches.push_back(name + ": in the backup (" + count.dump() +
                                  " rows) but not restored");
  }
  // Rows retention policies erased since the backup stay erased; after the
  // counts, which compare with the backup as it was.
  if (snapshot && repo && db && options.reapply_erasures) {
    ReportStep(options.progress, "re-applying the erasures of the forget log");
    auto replay =
        ReapplyErasures(*repo, **check, db->name, snapshot->start_time - kForgetMarginSeconds);
    // The database stays (its data is whole); the restore fails, saying so.
    if (!replay.ok())
      return replay.status().WithContext("database \"" + options.into_database +
                                         "\" is restored, but holds rows retention erased");
    report.erasures = *replay;
  }
  // Restored: the marker goes (a dump does not restore a database comment).
  PGKEEP_RETURN_IF_ERROR((*admin)->Exec("COMMENT ON DATABASE " + quoted + " IS NULL"));
  report.seconds = (env.MonotonicMicros() - started) / 1e6;
  return report;
}

}  // namespace pgkeep
