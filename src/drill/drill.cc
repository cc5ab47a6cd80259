#include "drill/drill.h"

#include <algorithm>
#include <map>

#include "common/file_io.h"
#include "drill/scratch.h"
#include "postgres/connection.h"
#include "postgres/table_scope.h"
#include "repo/snapshot_meta.h"
#include "restore/logical_restore.h"
#include "restore/physical_restore.h"
#include "wal/timeline_history.h"
#include "wal/wal_archive.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

// pg_restore and pg_amcheck jobs of a drill (DrillOptions::threads).
int LogicalJobs(const DrillOptions& o) { return o.threads > 0 ? o.threads : 4; }

constexpr int kWalWaitSeconds = 300;
constexpr char kUserCheckTimeout[] = "5min";

Status Usage(const std::string& message, const std::string& hint = "") {
  return Status::Error(ErrorCode::kUsage, message, hint);
}

bool Cancelled(const DrillOptions& o) { return o.cancel && o.cancel->load() != 0; }

std::optional<int64_t> TargetSeconds(const std::string& duration) {
  if (duration.empty()) return std::nullopt;
  auto s = ParseDurationSeconds(duration);
  return s.ok() ? std::optional<int64_t>(*s) : std::nullopt;
}

// Times the drill's phases on the Env's monotonic clock.
class PhaseClock {
 public:
  PhaseClock(Env& env, DrillResult& result) : env_(env), result_(result) {}
  void Start(const std::string& name, bool in_rto) {
    Stop();
    name_ = name;
    in_rto_ = in_rto;
    started_ = env_.MonotonicMicros();
  }
  void Stop() {
    if (name_.empty()) return;
    result_.phases.push_back(
        {name_, static_cast<double>(env_.MonotonicMicros() - started_) / 1e6, in_rto_});
    name_.clear();
  }

 private:
  Env& env_;
  DrillResult& result_;
  std::string name_;
  bool in_rto_ = false;
  int64_t started_ = 0;
};

DrillCheck Check(std::string name, bool passed, std::string saw, bool user = false) {
  DrillCheck c;
  c.name = std::move(name);
  c.user = user;
  c.result = passed ? DrillCheck::Result::kPass : DrillCheck::Result::kFail;
  c.saw = std::move(saw);
  return c;
}

DrillCheck Skip(std::string name, std::string why) {
  DrillCheck c;
  c.name = std::move(name);
  c.result = DrillCheck::Result::kSkip;
  c.saw = std::move(why);
  return c;
}

// The first value of the first row, or nullopt (NULL, or no row at all: `rows` says).
std::optional<std::string> FirstValue(const PgResult& r) {
  if (r.rows.empty() || r.rows[0].values.empty()) return std::nullopt;
  return r.rows[0].values[0];
}

// Runs the user checks on `conninfo`: one read-only transaction each, with a
// statement timeout, the first value of the first row compared with `expect`.
void RunUserChecks(Env& env, PgConnector& connector, const DatabaseConfig& db,
                   const std::string& conninfo, DrillResult& result) {
  for (const auto& check : db.checks) {
    int64_t started = env.MonotonicMicros();
    DrillCheck c;
    auto conn = connector.Connect(conninfo, "the drill's copy");
    if (!conn.ok()) {
      c = Check(check.name, false, "could not connect: " + conn.status().message(), true);
    } else {
      Status begun = (*conn)->Exec(std::string("SET statement_timeout = '") + kUserCheckTimeout +
                                   "'; BEGIN READ ONLY");
      auto r = begun.ok() ? (*conn)->Query(check.sql) : Result<PgResult>(begun);
      if (!r.ok()) {
        c = Check(check.name, false, "failed: " + r.status().message(), true);
      } else if (r->rows.empty()) {
        c = Check(check.name, false, "returned no rows; expected " + check.expect.text, true);
      } else {
        std::optional<std::string> v = FirstValue(*r);
        bool ok = ExpectationHolds(check.expect, v);
        c = Check(check.name, ok,
                  "returned " + (v ? *v : std::string("NULL")) + (ok ? ", " : ", not ") +
                      check.expect.text,
                  true);
      }
    }
    c.seconds = static_cast<double>(env.MonotonicMicros() - started) / 1e6;
    result.checks.push_back(std::move(c));
  }
}

// Reads every user table of the database behind `conninfo` end to end (the
// whole-row cast runs every column through its output function, so every
// TOASTed value is fetched and decompressed) and counts its rows. Tables
// go into result.tables, prefixed with `prefix`; failures are returned.
std::vector<std::string> ReadAllTables(PgConnector& connector, const std::string& conninfo,
                                       const std::string& prefix, const DrillOptions& o,
                                       DrillResult& result) {
  std::vector<std::string> failures;
  auto conn = connector.Connect(conninfo, "the drill's copy");
  if (!conn.ok()) return {"cannot connect: " + conn.status().message()};
  auto listed = (*conn)->Query(
      "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid)::text, "
      "EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = c.oid)::text "
      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE (c.relkind IN ('r', 'p') OR (c.relkind = 'm' AND c.relispopulated)) "
      "AND n.nspname NOT IN ('pg_catalog', "
      "'information_schema') "
      "AND n.nspname !~ '^pg_(toast|temp_)' "
      "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass "
      "AND d.objid = c.oid AND d.deptype = 'e') ORDER BY 1, 2");
  if (!listed.ok()) return {"cannot list tables: " + listed.status().message()};
  (void)(*conn)->Exec("SET statement_timeout = 0");
  for (const auto& row : listed->rows) {
    if (Cancelled(o)) break;
    std::string schema = row.values[0].value_or(""), name = row.values[1].value_or("");
    DrillTable t;
    t.table = prefix + schema + "." + name;
    t.bytes = std::atoll(row.values[2].value_or("0").c_str());
    auto read = (*conn)->Query(
        "SELECT count(*)::text, coalesce(sum(octet_length(pgkeep_drill_row::text)), 0)::text "
        "FROM ONLY " +
        QuoteIdent(schema) + "." + QuoteIdent(name) + " AS pgkeep_drill_row");
    if (!read.ok()) {
      failures.push_back(t.table + ": " + read.status().message());
    } else if (row.values[3].value_or("false") == "true") {
      // A parent's rows count its children's too, as backups count them
      // (postgres/table_scope.h CountRows); each child is read on its own.
      auto all = (*conn)->Query("SELECT count(*)::text FROM " + QuoteIdent(schema) + "." +
                                QuoteIdent(name));
      if (!all.ok())
        failures.push_back(t.table + ": " + all.status().message());
      else
        t.rows = std::atoll(FirstValue(*all).value_or("-1").c_str());
    } else {
      t.rows = std::atoll(FirstValue(*read).value_or("-1").c_str());
    }
    result.tables.push_back(std::move(t));
  }
  return failures;
}

// pg_amcheck on the copy: heap and btree checks of `database` (every
// database when empty). Corruption fails it; when pg_amcheck cannot run at
// all (missing program, no privilege) the check is skipped, saying why.
DrillCheck RunAmcheck(Env& env, PgConnector& connector, const DatabaseConfig& db, int major,
                      const std::string& conninfo, const std::string& database,
                      const DrillOptions& o) {
  int64_t started = env.MonotonicMicros();
  auto tool = connector.FindTool("pg_amcheck", major, db.pg_bin);
  if (!tool.ok())
    return Skip("pg_amcheck", "pg_amcheck is not available: " + tool.status().message());
  std::vector<std::string> argv = {tool->path, "--no-password", "--install-missing",
                                   "--jobs=" + std::to_string(std::clamp(LogicalJobs(o), 1, 8))};
  // The copy's socket, port and role go in a connection string. With --all
  // it is the maintenance database's; one database is named by the string
  // itself (its dbname), as pg_amcheck 15 connects to a --database=NAME
  // with NAME in place of the whole --maintenance-db string, losing the
  // socket and port.
  if (database.empty())
    argv.insert(argv.end(), {"--maintenance-db=" + conninfo, "--all"});
  else
    argv.insert(argv.end(), {"--", conninfo});
  auto proc = connector.RunTool(PgToolCommand{argv, true, o.child_env_drop});
  if (!proc.ok())
    return Skip("pg_amcheck", "pg_amcheck could not start: " + proc.status().message());
  std::string out;
  uint8_t buf[8192];
  for (;;) {
    auto n = (*proc)->Stdout().Read(buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    if (out.size() < (64 << 10)) out.append(reinterpret_cast<const char*>(buf), *n);
  }
  int code = (*proc)->Wait();
  DrillCheck c;
  if (code == 0) {
    c = Check("pg_amcheck", true, "heap and btree checks found no corruption");
  } else if (code == 2) {
    std::string first = out.substr(0, out.find('\n'));
    c = Check("pg_amcheck", false, "corruption found: " + first);
  } else {
    c = Skip("pg_amcheck", "pg_amcheck could not check (exit " + std::to_string(code) +
                               "): " + (*proc)->ErrorSummary());
  }
  c.seconds = static_cast<double>(env.MonotonicMicros() - started) / 1e6;
  return c;
}

// The source's row counts at a restore point, exact for a copy recovered to
// it: every user table is share-locked (writers wait, briefly), the restore
// point is made and a snapshot exported under the locks, a second session
// adopts the snapshot, the locks go, and the counts are read in that
// snapshot; then the WAL is switched so the point reaches the archive.
struct CountPoint {
  std::string name;
  std::string lsn;
  std::string segment;  // the WAL file holding it
  uint32_t timeline = 0;
  std::map<std::string, int64_t> counts;
};

Result<CountPoint> TakeCountPoint(PgConnector& connector, const DatabaseConfig& db,
                                  const std::string& name) {
  const std::string what = "database \"" + db.name + "\"";
  auto first = connector.Connect(db.conninfo, what);
  if (!first.ok()) return first.status();
  auto main_db = (*first)->Query("SELECT current_database()");
  if (!main_db.ok()) return main_db.status();
  auto names = (*first)->Query(
      "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY 1");
  if (!names.ok()) return names.status();
  // Per database: a session holding the share locks (it makes the restore
  // point in the first) and a session that adopts its snapshot and counts.
  struct Side {
    std::string prefix;  // "" for the configured database, else "<db>."
    std::unique_ptr<PgConnection> locker;
    std::unique_ptr<PgConnection> reader;
    std::vector<QualifiedTable> tables;
  };
  std::vector<Side> sides;
  for (const auto& row : names->rows) {
    std::string dbname = row.values.at(0).value_or("");
    auto conninfo = ConninfoWithDbname(db.conninfo, dbname);
    if (!conninfo.ok()) return conninfo.status();
    Side side;
    side.prefix = dbname == FirstValue(*main_db).value_or("") ? "" : dbname + ".";
    auto locker = connector.Connect(*conninfo, "database \"" + dbname + "\" of " + what);
    if (!locker.ok()) return locker.status();
    auto reader = connector.Connect(*conninfo, "database \"" + dbname + "\" of " + what);
    if (!reader.ok()) return reader.status();
    side.locker = std::move(*locker);
    side.reader = std::move(*reader);
    auto tables = ListUserTables(*side.locker);
    if (!tables.ok()) return tables.status();
    // Unlogged tables come back empty from any physical copy: not counted.
    auto unlogged = side.locker->Query(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND c.relpersistence = 'u'");
    if (!unlogged.ok()) return unlogged.status();
    for (const auto& t : *tables) {
      bool skip = false;
      for (const auto& u : unlogged->rows)
        skip = skip || (u.values.at(0) == t.schema && u.values.at(1) == t.name);
      if (!skip) side.tables.push_back(t);
    }
    sides.push_back(std::move(side));
  }
  if (sides.empty()) return Status::Error(ErrorCode::kPostgres, what + " has no database to count");
  // Everything is connected and listed first: writers wait only for the
  // locks themselves, the restore point and the snapshot exports.
  for (auto& side : sides) {
    PGKEEP_RETURN_IF_ERROR(side.locker->Exec("BEGIN; SET LOCAL lock_timeout = '5s'"));
    if (side.tables.empty()) continue;
    std::string list;
    for (const auto& t : side.tables)
      list += (list.empty() ? "" : ", ") + QuoteIdent(t.schema) + "." + QuoteIdent(t.name);
    PGKEEP_RETURN_IF_ERROR(side.locker->Exec("LOCK TABLE " + list + " IN SHARE MODE"));
  }
  CountPoint point;
  point.name = name;
  auto rp = sides.front().locker->Query(
      "SELECT lsn::text, pg_walfile_name(lsn) FROM pg_create_restore_point($1) AS lsn", {name});
  if (!rp.ok()) return rp.status();
  point.lsn = rp->rows.at(0).values.at(0).value_or("");
  point.segment = rp->rows.at(0).values.at(1).value_or("");
  // The segment's name starts with the source's timeline: the copy follows
  // that one (after a failover it is not the newest backup's).
  if (point.segment.size() == 24)
    point.timeline = std::stoul(point.segment.substr(0, 8), nullptr, 16);
  for (auto& side : sides) {
    auto exported = side.locker->Query("SELECT pg_export_snapshot()");
    if (!exported.ok()) return exported.status();
    PGKEEP_RETURN_IF_ERROR(side.reader->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    PGKEEP_RETURN_IF_ERROR(side.reader->Exec("SET TRANSACTION SNAPSHOT " +
                                             QuoteLiteral(FirstValue(*exported).value_or(""))));
  }
  for (auto& side : sides) PGKEEP_RETURN_IF_ERROR(side.locker->Exec("COMMIT"));  // writers go on
  auto switched = sides.front().locker->Query("SELECT pg_switch_wal()::text");
  if (!switched.ok()) return switched.status();
  for (auto& side : sides) {
    for (const auto& t : side.tables) {
      auto n = CountRows(*side.reader, t);
      if (!n.ok()) return n.status();
      point.counts[side.prefix + t.Display()] = *n;
    }
    (void)side.reader->Exec("COMMIT");
  }
  return point;
}

// The newest point a disaster now could recover to: when the newest archived
// WAL file of `db` was stored (else the newest backup's end). Seconds before
// `now`, and how that was found.
std::pair<double, std::string> PhysicalRpo(Repository& repo, const std::string& db,
                                           const Snapshot& newest_backup, int64_t now) {
  int64_t newest = 0;
  std::string name;
  auto listing = repo.storage().List(WalPrefix(db));
  if (listing.ok())
    for (const auto& o : *listing)
      if (o.modified > newest && o.name.find(".history") == std::string::npos) {
        newest = o.modified;
        name = o.name.substr(o.name.rfind('/') + 1);
      }
  if (newest > 0)
    return {static_cast<double>(std::max<int64_t>(0, now - newest)),
            "the newest archived WAL (" + name + ") was stored at " + FormatIsoTime(newest)};
  return {static_cast<double>(std::max<int64_t>(0, now - newest_backup.stop_time)),
          "no WAL archived; the newest backup ended at " + FormatIsoTime(newest_backup.stop_time)};
}

void Judge(DrillTarget& t, const std::string& what, DrillResult& result) {
  if (!t.target_seconds) return;
  t.judged = true;
  t.met = t.seconds <= static_cast<double>(*t.target_seconds);
  if (!t.met)
    result.failures.push_back(what + " " + FormatDrillSeconds(t.seconds) +
                              " exceeds the target of " +
                              FormatDrillSeconds(static_cast<double>(*t.target_seconds)));
}

// "tables readable": every table of every database read, or what failed.
void ReportReadable(const std::vector<std::string>& unreadable, size_t databases,
                    DrillResult& result) {
  int64_t rows = 0;
  size_t readable = 0;
  for (const auto& t : result.tables)
    if (t.rows >= 0) {
      rows += t.rows;
      ++readable;
    }
  if (unreadable.empty()) {
    result.checks.push_back(Check("tables readable", true,
                                  std::to_string(readable) + " tables in " +
                                      std::to_string(databases) + " database(s) read end to end, " +
                                      std::to_string(rows) + " rows"));
  } else {
    std::string saw = std::to_string(unreadable.size()) + " unreadable: " + unreadable.front();
    for (size_t i = 1; i < unreadable.size() && i < 5; ++i) saw += "; " + unreadable[i];
    result.checks.push_back(Check("tables readable", false, saw));
  }
}

// "row counts": the copy's tables (result.tables without a database prefix)
// against `expected` (schema.name -> rows).
void CompareCounts(const std::map<std::string, int64_t>& expected, const std::string& source,
                   DrillResult& result) {
  std::vector<std::string> differ;
  size_t matched = 0;
  for (const auto& [table, rows] : expected) {
    auto it = std::find_if(result.tables.begin(), result.tables.end(),
                           [&](const DrillTable& t) { return t.table == table; });
    if (it == result.tables.end()) {
      differ.push_back(table + " is missing");
      continue;
    }
    it->expected = rows;
    if (it->rows != rows)
      differ.push_back(table + " has " + std::to_string(it->rows) + " rows, " + source + " had " +
                       std::to_string(rows));
    else
      ++matched;
  }
  if (differ.empty()) {
    result.checks.push_back(
        Check("row counts", true, std::to_string(matched) + " tables match " + source));
  } else {
    std::string saw = differ.front();
    for (size_t i = 1; i < differ.size() && i < 5; ++i) saw += "; " + differ[i];
    if (differ.size() > 5) saw += " (and " + std::to_string(differ.size() - 5) + " more)";
    result.checks.push_back(Check("row counts", false, saw));
  }
}

// What a restore does after its checks: the forget log re-applied to the
// copy (rows erased since the backup erased again); then the check that no
// row the forget log names is back, whatever its time.
void ReapplyAndCheckErasures(const Repository& repo, PgConnector& connector,
                             const DatabaseConfig& db, const std::string& conninfo,
                             int64_t backup_start, const DrillOptions& o, DrillResult& result) {
  if (Cancelled(o)) return;
  ReportStep(o.progress, "re-applying the forget log and checking that no erased row came back");
  auto conn = connector.Connect(conninfo, "the drill's copy");
  if (!conn.ok()) {
    result.checks.push_back(Check("erasures", false, conn.status().message()));
    return;
  }
  auto replay = ReapplyErasures(repo, **conn, db.name, backup_start - kForgetMarginSeconds);
  if (!replay.ok()) {
    result.checks.push_back(Check(
        "erasures", false, "re-applying the forget log failed: " + replay.status().message()));
    return;
  }
  auto check = CheckErasures(repo, **conn, db.name);
  if (!check.ok()) {
    result.checks.push_back(
        Check("erasures", false, "checking the forget log failed: " + check.status().message()));
    return;
  }
  for (const auto& n : check->notes) result.notes.push_back(n);
  if (check->entries == 0) {
    result.checks.push_back(
        Skip("erasures", "the forget log of database \"" + db.name + "\" is empty"));
    return;
  }
  std::string saw = std::to_string(replay->entries) + " forget-log entr" +
                    (replay->entries == 1 ? "y" : "ies") + " since the backup re-applied (" +
                    std::to_string(replay->deleted) + " deleted, " +
                    std::to_string(replay->redacted) + " redacted again); " +
                    std::to_string(check->rows) + " erased row(s) checked: ";
  if (check->came_back == 0)
    saw += "none came back";
  else
    saw += std::to_string(check->came_back) + " came back, first " + check->first;
  result.checks.push_back(Check("erasures", check->came_back == 0, saw));
}

Status MakeScratchDir(Env& env, ScratchLedger& ledger, const std::string& scratch_dir) {
  ledger.entry().dir = ScratchDirFor(scratch_dir, ledger.entry().id);
  PGKEEP_RETURN_IF_ERROR(ledger.Record());
  PGKEEP_RETURN_IF_ERROR(env.CreateDir(ledger.entry().dir, 0700));
  // Run as root, the copy's server runs as "postgres" (physical_restore.h),
  // which must reach its data directory.
  if (env.EffectiveUserId() == 0)
    if (auto account = env.FindUser("postgres"))
      PGKEEP_RETURN_IF_ERROR(env.SetOwner(ledger.entry().dir, account->uid, account->gid));
  return Status::Ok();
}

void RunPhysical(Env& env, Repository& repo, PgConnector& connector, const DatabaseConfig& db,
                 const DrillOptions& o, ScratchLedger& ledger, PhaseClock& phases,
                 DrillResult& result) {
  auto list = repo.ListSnapshots();
  if (!list.ok()) {
    result.failures.push_back("cannot list backups: " + list.status().message());
    return;
  }
  const Snapshot* backup = nullptr;
  const Snapshot* newest = nullptr;
  for (const auto& s : list->snapshots) {
    if (!IsPhysicalKind(s.kind) || SnapshotDatabase(s) != db.name) continue;
    newest = &s;
    if (o.backup == "latest" || o.backup.empty() || s.id == o.backup) backup = &s;
  }
  if (!backup) {
    result.failures.push_back(o.backup == "latest"
                                  ? "no physical backup of database \"" + db.name + "\""
                                  : "no physical backup \"" + o.backup + "\" of database \"" +
                                        db.name + "\"");
    return;
  }
  // A user target without --backup: the backup a restore to it would take
  // (the newest that ends before it, on the right timeline), not the newest.
  std::optional<Snapshot> chosen;
  if ((o.backup == "latest" || o.backup.empty()) &&
      (!o.target_time.empty() || !o.target_lsn.empty())) {
    PhysicalRestoreOptions want;
    want.target_time = o.target_time;
    want.target_lsn = o.target_lsn;
    auto wal = repo.storage().List(WalPrefix(db.name));
    auto timelines =
        wal.ok() ? ReadTimelineReport(repo, db.name, *wal) : Result<TimelineReport>(wal.status());
    auto choice = timelines.ok() ? ChooseBackup(list->snapshots, db.name, want, timelines->tree)
                                 : Result<RestoreChoice>(timelines.status());
    if (!choice.ok()) {
      result.failures.push_back("no backup to recover to the target: " + choice.status().message());
      return;
    }
    chosen = std::move(choice->backup);
    backup = &*chosen;
  }
  result.backup = backup->id;
  int major = backup->meta.value(kMetaServerVersionNum, 150000) / 10000;
  auto [rpo_seconds, rpo_basis] = PhysicalRpo(repo, db.name, *newest, result.started);
  result.rpo.seconds = rpo_seconds;
  result.rpo.basis = rpo_basis;

  Status made = MakeScratchDir(env, ledger, o.scratch_dir);
  if (!made.ok()) {
    result.failures.push_back("cannot make the scratch directory: " + made.message());
    return;
  }
  const std::string dir = ledger.entry().dir;

  // Exact row counts need a point the copy recovers to; only without a user target.
  std::optional<CountPoint> point;
  if (o.target_time.empty() && o.target_lsn.empty()) {
    ReportStep(o.progress, "making a restore point on the source and counting its rows there");
    auto taken = TakeCountPoint(connector, db, "pgkeep-drill-" + result.id);
    if (taken.ok()) {
      ReportStep(o.progress, "waiting for WAL " + taken->segment + " to be archived");
      Status archived =
          WaitForArchivedWal(env, repo, db.name, taken->segment, kWalWaitSeconds, o.cancel);
      if (archived.ok()) {
        point = std::move(*taken);
      } else {
        result.notes.push_back("recovering to the end of the archived WAL: " + archived.message());
      }
    } else {
      result.notes.push_back(
          "no restore point on the source (" + taken.status().message() +
          "): row counts cannot be compared; recovering to the end of the archived WAL");
    }
  }
  if (Cancelled(o)) return;

  PhysicalRestoreOptions r;
  r.backup = backup->id;
  r.pgdata = dir + "/pgdata";
  r.run_dir = RunDirFor(result.id);
  r.start = true;
  r.archive_mode = PhysicalRestoreOptions::ArchiveMode::kOff;
  // Re-applied after the counts (ReapplyAndCheckErasures), which are the source's before it.
  r.reapply_erasures = false;
  r.threads = o.threads;
  r.start_timeout_seconds = o.recovery_timeout_seconds;
  r.config_path = o.config_path;
  r.from_copy = o.from_copy;
  for (const auto& name : o.child_env_drop)
    if (std::find(o.restore_command_env.begin(), o.restore_command_env.end(), name) ==
        o.restore_command_env.end())
      r.child_env_drop.push_back(name);
  r.cancel = o.cancel;
  r.retry_taken_port = true;
  r.target_time = o.target_time;
  r.target_lsn = o.target_lsn;
  if (point) {
    r.target_name = point->name;
    if (point->timeline > 0) r.target_timeline = std::to_string(point->timeline);
  }
  for (const auto& t : backup->meta.value(kMetaTablespaces, nlohmann::json::array()))
    r.tablespace_map[t.value("oid", "")] = dir + "/tblspc/" + t.value("oid", "");
  auto port = env.FreeLoopbackPort();
  if (!port.ok()) {
    result.failures.push_back("no free port: " + port.status().message());
    return;
  }
  r.port = *port;
  // The copy: loopback only, trusted only on its own socket (a directory only
  // its OS user and root can enter), never replicating from anyone.
  std::string hba = r.run_dir + "/pg_hba.conf", ident = r.run_dir + "/pg_ident.conf";
  // Nor may it act on anything outside: no subscription applies changes
  // (and advances a publisher's slot), no pid file or log is written where
  // the original's settings point.
  r.server_settings = {{"listen_addresses", "127.0.0.1"},
                       {"hba_file", hba},
                       {"ident_file", ident},
                       {"primary_conninfo", ""},
                       {"primary_slot_name", ""},
                       {"max_logical_replication_workers", "0"},
                       {"external_pid_file", ""},
                       {"logging_collector", "off"},
                       {"ssl", "off"},
                       {"cluster_name", "pgkeep-drill"},
                       {"recovery_init_sync_method", "syncfs"}};
  ledger.entry().run_dir = r.run_dir;
  ledger.entry().pgdata = r.pgdata;
  ledger.entry().server_major = major;
  ledger.entry().pg_bin = db.pg_bin;
  Status prepared = ledger.Record();
  if (prepared.ok()) prepared = env.CreateDir(r.run_dir, 0700);
  if (prepared.ok())
    prepared = WriteFileAtomically(env, hba, AsBytes(std::string("local all all trust\n")), 0644);
  if (prepared.ok()) prepared = WriteFileAtomically(env, ident, AsBytes(std::string()), 0644);
  if (!prepared.ok()) {
    result.failures.push_back("cannot prepare the scratch server: " + prepared.message());
    return;
  }

  phases.Start("restore", true);
  r.progress = [&](const std::string& step) {
    if (step.rfind("starting PostgreSQL", 0) == 0) phases.Start("recovery", true);
    ReportStep(o.progress, step);
  };
  auto restored = RunPhysicalRestore(env, repo, connector, db, r);
  if (!restored.ok()) {
    if (restored.status().code() == ErrorCode::kInterrupted) return;
    result.failures.push_back("restore failed: " + restored.status().message());
    return;
  }
  phases.Start("checks", true);
  for (const auto& note : restored->notes) result.notes.push_back(note);
  result.recovery_target = restored->recovery_target;
  result.reached =
      "LSN " + restored->reached_lsn +
      (restored->reached_time.empty() ? "" : ", last transaction " + restored->reached_time);
  auto copy = ConninfoWith(db.conninfo, {{"host", restored->socket_dir},
                                         {"port", std::to_string(restored->port)},
                                         {"hostaddr", ""},
                                         {"sslmode", "disable"}});
  if (!copy.ok()) {
    result.failures.push_back(copy.status().message());
    return;
  }
  // Recovery reached its target.
  {
    bool reached = !restored->reached_lsn.empty();
    std::string saw = "recovery ended at " + result.reached;
    if (point) {
      auto at = ParseLsn(restored->reached_lsn), want = ParseLsn(point->lsn);
      reached = at && want && *at >= *want;
      saw = "recovered to restore point " + point->name + " (" + point->lsn + "): ended at LSN " +
            restored->reached_lsn;
    } else if (!o.target_lsn.empty()) {
      auto at = ParseLsn(restored->reached_lsn), want = ParseLsn(o.target_lsn);
      reached = at && want && *at >= *want;
    }
    result.checks.push_back(Check("recovery target", reached, saw));
  }
  RunUserChecks(env, connector, db, *copy, result);
  phases.Start("verification", true);

  // The copy's bootstrap superuser: pg_roles shows it to any role (pg_authid
  // only to superusers). The copy trusts its own socket, so the
  // verification reads as it: every table of every database, whatever the
  // configured role may read. Then its databases, and which one the
  // configuration names.
  std::string superuser, main_db, unlisted;
  std::vector<std::string> databases;
  if (auto conn = connector.Connect(*copy, "the drill's copy"); !conn.ok()) {
    unlisted = conn.status().message();
  } else if (auto su = (*conn)->Query("SELECT rolname FROM pg_roles WHERE oid = 10"); !su.ok()) {
    unlisted = su.status().message();
  } else {
    superuser = FirstValue(*su).value_or("");
  }
  auto as_superuser = ConninfoWith(*copy, {{"user", superuser}});
  if (unlisted.empty() && !as_superuser.ok()) unlisted = as_superuser.status().message();
  if (unlisted.empty()) {
    auto conn = connector.Connect(*as_superuser, "the drill's copy as its superuser");
    auto found = conn.ok() ? (*conn)->Query(
                                 "SELECT datname, current_database() FROM pg_database "
                                 "WHERE datallowconn AND NOT datistemplate ORDER BY 1")
                           : Result<PgResult>(conn.status());
    if (!found.ok()) unlisted = found.status().message();
    if (found.ok())
      for (const auto& row : found->rows) {
        databases.push_back(row.values.at(0).value_or(""));
        main_db = row.values.at(1).value_or("");
      }
  }
  if (unlisted.empty() && databases.empty()) unlisted = "it lists no database one can connect to";
  ReportStep(o.progress, "reading every table of the copy end to end");
  std::vector<std::string> unreadable;
  if (!unlisted.empty()) unreadable.push_back("cannot list the copy's databases: " + unlisted);
  for (const auto& name : databases) {
    if (Cancelled(o)) return;
    auto conninfo = ConninfoWithDbname(*as_superuser, name);
    if (!conninfo.ok()) continue;
    for (auto& f :
         ReadAllTables(connector, *conninfo, name == main_db ? "" : name + ".", o, result))
      unreadable.push_back(name + ": " + f);
  }
  ReportReadable(unreadable, databases.size(), result);
  if (point) {
    CompareCounts(point->counts, "the source at restore point " + point->name, result);
  } else {
    result.checks.push_back(
        Skip("row counts", o.target_time.empty() && o.target_lsn.empty()
                               ? "no restore point on the source (see notes)"
                               : "a user target: the source's counts at it are unknown"));
  }
  ReapplyAndCheckErasures(repo, connector, db, *copy, restored->backup.start_time, o, result);
  if (Cancelled(o)) return;
  ReportStep(o.progress, "running pg_amcheck on the copy");
  if (superuser.empty() || !as_superuser.ok())
    result.checks.push_back(Skip("pg_amcheck", "the copy's superuser is unknown"));
  else
    result.checks.push_back(RunAmcheck(env, connector, db, major, *as_superuser, "", o));
}

// The argv prefix that runs a server program as the user a server must run
// as: "postgres" when we are root (PostgreSQL refuses root), else ourselves.
Result<std::vector<std::string>> AsServerUser(Env& env) {
  if (env.EffectiveUserId() != 0) return std::vector<std::string>{};
  auto account = env.FindUser("postgres");
  if (!account)
    return Status::Error(ErrorCode::kConfig,
                         "running as root, and there is no \"postgres\" user to run PostgreSQL as");
  const char* runuser =
      env.IsExecutable("/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser";
  return std::vector<std::string>{runuser, "-u", "postgres", "--"};
}

// A scratch PostgreSQL for a logical drill: initdb into the drill's
// directory, started on a free loopback port with its socket in
// /tmp/pgkeep-drill-<id>, trusting only that socket. Recorded in the ledger
// before it exists. Returns a conninfo for its "postgres" database.
Result<std::string> StartScratchCluster(Env& env, PgConnector& connector, const PgTool& initdb,
                                        const DrillOptions& o, ScratchLedger& ledger,
                                        DrillResult& result) {
  std::string bin = initdb.path.substr(0, initdb.path.rfind('/'));
  auto pg_ctl = connector.FindTool("pg_ctl", initdb.major_version, bin);
  if (!pg_ctl.ok()) return pg_ctl.status();
  auto as_user = AsServerUser(env);
  if (!as_user.ok()) return as_user.status();
  auto port = env.FreeLoopbackPort();
  if (!port.ok()) return port.status();
  ScratchEntry& e = ledger.entry();
  e.run_dir = RunDirFor(result.id);
  e.pgdata = e.dir + "/pgdata";
  e.server_major = initdb.major_version;
  e.pg_bin = bin;
  PGKEEP_RETURN_IF_ERROR(ledger.Record());
  PGKEEP_RETURN_IF_ERROR(env.CreateDir(e.run_dir, 0700));
  if (!as_user->empty())
    if (auto account = env.FindUser("postgres"))
      PGKEEP_RETURN_IF_ERROR(env.SetOwner(e.run_dir, account->uid, account->gid));
  auto run = [&](std::vector<std::string> argv, const std::string& what) -> Status {
    argv.insert(argv.begin(), as_user->begin(), as_user->end());
    auto proc = connector.RunTool(PgToolCommand{argv, false, o.child_env_drop});
    if (!proc.ok()) return proc.status();
    int code = (*proc)->Wait();
    if (code != 0)
      return Status::Error(ErrorCode::kTool, what + " failed (exit " + std::to_string(code) +
                                                 "): " + (*proc)->ErrorSummary());
    return Status::Ok();
  };
  PGKEEP_RETURN_IF_ERROR(
      run({initdb.path, "-D", e.pgdata, "-U", "postgres", "-E", "UTF8", "--locale=C",
           "--auth-local=trust", "--auth-host=reject", "--no-sync", "--no-instructions"},
          "initdb"));
  // A port free when chosen may be taken before the server binds it: then
  // another one (3 tries).
  const std::string log = e.run_dir + "/server.log";
  int chosen = *port;
  for (int attempt = 1;; ++attempt) {
    Status started = run({pg_ctl->path, "-D", e.pgdata, "-l", log, "-w", "-t", "120", "-o",
                          "-c unix_socket_directories=" + e.run_dir + " -p " +
                              std::to_string(chosen) + " -c listen_addresses=127.0.0.1",
                          "start"},
                         "pg_ctl start");
    if (started.ok()) break;
    auto text = ReadWholeFile(env, log);
    std::string said = text.ok() ? std::string(AsString(*text)) : "";
    bool taken = said.find("could not bind") != std::string::npos ||
                 said.find("Address already in use") != std::string::npos;
    if (!taken || attempt == 3) return started;
    PGKEEP_RETURN_IF_ERROR(env.RemoveFile(log));
    auto next = env.FreeLoopbackPort();
    if (!next.ok()) return started;
    result.notes.push_back("port " + std::to_string(chosen) +
                           " was taken before the scratch server bound it; started on port " +
                           std::to_string(*next));
    chosen = *next;
  }
  return "host=" + e.run_dir + " port=" + std::to_string(chosen) + " user=postgres dbname=postgres";
}

void RunLogical(Env& env, Repository& repo, PgConnector& connector, const DatabaseConfig& db,
                const DrillOptions& o, ScratchLedger& ledger, PhaseClock& phases,
                DrillResult& result) {
  auto backup = FindLogicalSnapshot(repo, db.name, o.backup.empty() ? "latest" : o.backup);
  if (!backup.ok()) {
    result.failures.push_back(backup.status().message());
    return;
  }
  result.backup = backup->id;
  int major = backup->meta.value(kMetaServerVersionNum, 150000) / 10000;
  auto newest = FindLogicalSnapshot(repo, db.name, "latest");
  const Snapshot& latest = newest.ok() ? *newest : *backup;
  result.rpo.seconds =
      static_cast<double>(std::max<int64_t>(0, result.started - latest.start_time));
  result.rpo.basis = "the newest logical backup (" + latest.id + ") started at " +
                     FormatIsoTime(latest.start_time);

  Status made = MakeScratchDir(env, ledger, o.scratch_dir);
  if (!made.ok()) {
    result.failures.push_back("cannot make the scratch directory: " + made.message());
    return;
  }
  // A scratch cluster of its own when one can be made, else a scratch
  // database on the database's own server, named after the drill.
  std::string scratch = ScratchDatabaseFor(result.id);
  std::string target = db.conninfo;
  bool cluster = false;
  if (db.drill_scratch != "database") {
    auto initdb = connector.FindTool("initdb", major, db.pg_bin);
    if (initdb.ok()) {
      ReportStep(o.progress,
                 "starting a scratch PostgreSQL " + std::to_string(initdb->major_version));
      auto started = StartScratchCluster(env, connector, *initdb, o, ledger, result);
      if (started.ok()) {
        target = *started;
        // The database keeps its name, unless a new cluster has one like it.
        std::string name = backup->meta.value(kMetaDbname, db.name);
        if (name != "postgres" && name != "template0" && name != "template1") scratch = name;
        cluster = true;
      } else if (db.drill_scratch == "cluster") {
        result.failures.push_back("cannot start a scratch PostgreSQL: " +
                                  started.status().message());
        return;
      } else {
        // What was made is torn down with the rest at the end (the ledger names it).
        result.notes.push_back("cannot start a scratch PostgreSQL (" + started.status().message() +
                               "): restoring into scratch database \"" + scratch +
                               "\" on the database's own server");
      }
    } else if (db.drill_scratch == "cluster") {
      result.failures.push_back("drill_scratch = \"cluster\", but " + initdb.status().message());
      return;
    } else {
      result.notes.push_back("no local PostgreSQL " + std::to_string(major) +
                             " or newer for a scratch cluster: restoring into scratch database \"" +
                             scratch + "\" on the database's own server");
    }
  }
  if (!cluster) {
    ledger.entry().scratch_db = scratch;
    ledger.entry().conninfo = db.conninfo;
    if (Status s = ledger.Record(); !s.ok()) {
      result.failures.push_back("cannot record the scratch database: " + s.message());
      return;
    }
  }
  LogicalRestoreOptions r;
  r.backup = backup->id;
  r.into_database = scratch;
  r.target_conninfo = target;
  if (cluster) {
    // The scratch cluster has none of the source's roles.
    r.no_owner = true;
    result.notes.push_back(
        "restored into a scratch PostgreSQL without the source's roles: owners and privileges were "
        "not restored");
  }
  r.jobs = LogicalJobs(o);
  r.reapply_erasures = false;  // after the counts, which are the backup's
  r.temp_dir = ledger.entry().dir;
  r.child_env_drop = o.child_env_drop;
  r.progress = o.progress;
  r.cancel = o.cancel;
  phases.Start("restore", true);
  auto restored = RunLogicalRestore(env, &repo, connector, &db, r);
  if (!restored.ok()) {
    if (restored.status().code() == ErrorCode::kInterrupted) return;
    result.failures.push_back("restore failed: " + restored.status().message());
    return;
  }
  phases.Start("checks", true);
  result.recovery_target = "backup " + backup->id;
  result.reached =
      std::to_string(restored->objects) + " archive entries restored into \"" + scratch + "\"";
  result.checks.push_back(Check("recovery target", true,
                                "pg_restore restored " + std::to_string(restored->objects) +
                                    " archive entries of backup " + backup->id));
  auto copy = ConninfoWithDbname(target, scratch);
  if (!copy.ok()) {
    result.failures.push_back(copy.status().message());
    return;
  }
  RunUserChecks(env, connector, db, *copy, result);
  phases.Start("verification", true);
  ReportStep(o.progress, "reading every table of the copy end to end");
  std::vector<std::string> unreadable = ReadAllTables(connector, *copy, "", o, result);
  ReportReadable(unreadable, 1, result);
  std::map<std::string, int64_t> recorded;
  const nlohmann::json counts = backup->meta.value(kMetaRowCounts, nlohmann::json::object());
  for (const auto& [table, n] : counts.items())
    if (n.is_number_integer()) recorded[table] = n.get<int64_t>();
  CompareCounts(recorded, "backup " + backup->id + " (counted in the dump's snapshot)", result);
  ReapplyAndCheckErasures(repo, connector, db, *copy, backup->start_time, o, result);
  if (Cancelled(o)) return;
  ReportStep(o.progress, "running pg_amcheck on the copy");
  result.checks.push_back(RunAmcheck(env, connector, db, major, *copy, scratch, o));
}

}  // namespace

std::string FormatDrillSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

Status CheckDrillRequest(Env& env, const DatabaseConfig& db, const DrillOptions& o) {
  if (db.method == "logical" && (!o.target_time.empty() || !o.target_lsn.empty()))
    return Usage("--target-time and --target-lsn apply to physical databases; \"" + db.name +
                     "\" has method = \"logical\"",
                 "a logical drill restores a whole backup: choose it with --backup");
  if (!o.target_time.empty() && !o.target_lsn.empty())
    return Usage("give at most one of --target-time and --target-lsn");
  if (!o.target_time.empty()) {
    auto t = ParseTargetTime(o.target_time);
    if (!t.ok()) return t.status();
  }
  if (!o.target_lsn.empty() && !ParseLsn(o.target_lsn))
    return Usage("--target-lsn \"" + o.target_lsn + "\" is not an LSN",
                 "write it as PostgreSQL does: 0/3000028");
  if (o.scratch_dir.empty() || o.scratch_dir[0] != '/')
    return Usage("--scratch-dir must be an absolute path, not \"" + o.scratch_dir + "\"");
  auto info = env.Stat(o.scratch_dir);
  if (!info.ok() || info->type != FileType::kDirectory)
    return Usage(
        "--scratch-dir \"" + o.scratch_dir + "\" is not a directory",
        "create it, or point --scratch-dir at a directory with room for a copy of the database");
  return Status::Ok();
}

Result<DrillResult> RunDrill(Env& env, Repository& repo, PgConnector& connector,
                             const DatabaseConfig& db, const DrillOptions& o) {
  PGKEEP_RETURN_IF_ERROR(CheckDrillRequest(env, db, o));
  DrillResult result;
  result.started = repo.clock().NowSeconds();
  result.id = NewSnapshotId(result.started);
  result.database = db.name;
  result.method = db.method;
  result.host = env.HostName();
  result.rto.target_seconds = TargetSeconds(db.rto);
  result.rpo.target_seconds = TargetSeconds(db.rpo);

  PhaseClock phases(env, result);
  phases.Start("prepare", false);
  ReportStep(o.progress, "drilling database \"" + db.name + "\" (" + db.method + ")");
  std::map<std::string, DatabaseConfig> only{{db.name, db}};
  for (auto& line : CleanupLeftoverDrills(env, connector, o.scratch_dir,
                                          o.databases ? *o.databases : only, o.child_env_drop))
    result.notes.push_back(line);
  ScratchEntry entry;
  entry.id = result.id;
  entry.database = db.name;
  auto ledger = ScratchLedger::Create(env, o.scratch_dir, entry);
  if (!ledger.ok()) return ledger.status();

  if (db.method == "physical")
    RunPhysical(env, repo, connector, db, o, *ledger, phases, result);
  else
    RunLogical(env, repo, connector, db, o, *ledger, phases, result);

  phases.Start("cleanup", false);
  ReportStep(o.progress, "removing everything the drill started");
  result.cleanup_problems = TearDownScratch(env, connector, ledger->entry(), o.child_env_drop);
  if (result.cleanup_problems.empty()) (void)ledger->Forget();
  phases.Stop();

  result.interrupted = Cancelled(o);
  if (result.interrupted)
    result.failures.push_back("interrupted by signal " + std::to_string(o.cancel->load()));
  double rto = 0;
  for (const auto& p : result.phases)
    if (p.in_rto) rto += p.seconds;
  result.rto.seconds = rto;
  result.rto.basis =
      "restore, recovery, checks and verification: until the copy was connectable and verified";
  bool restored = std::any_of(result.phases.begin(), result.phases.end(),
                              [](const DrillPhase& p) { return p.name == "checks"; });
  if (restored)
    Judge(result.rto, "RTO", result);
  else
    result.rto.basis = "not measured: the restore did not finish";
  if (!result.backup.empty()) Judge(result.rpo, "RPO", result);
  for (const auto& c : result.checks)
    if (c.result == DrillCheck::Result::kFail)
      result.failures.push_back("check \"" + c.name + "\" failed: " + c.saw);
  for (const auto& p : result.cleanup_problems) result.failures.push_back("cleanup: " + p);
  result.finished = repo.clock().NowSeconds();
  result.passed = result.failures.empty();
  return result;
}

}  // namespace pgkeep
