#include "state/state_store.h"

#include <sqlite3.h>

#include <algorithm>

namespace pgkeep {

namespace {

// Migration N takes the schema from version N-1 to N. Never edit one that
// has shipped: add the next.
constexpr const char* kMigrations[] = {
    // 1: job runs, scheduler slots, health samples, alert states.
    R"SQL(
CREATE TABLE job_runs (
  id        INTEGER PRIMARY KEY,
  job       TEXT    NOT NULL,
  kind      TEXT    NOT NULL,
  database  TEXT    NOT NULL DEFAULT '',
  trigger   TEXT    NOT NULL,
  slot      INTEGER NOT NULL DEFAULT 0,
  started   INTEGER NOT NULL,
  finished  INTEGER,
  result    TEXT    NOT NULL,
  exit_code INTEGER,
  error     TEXT    NOT NULL DEFAULT '',
  figures   TEXT
);
CREATE INDEX job_runs_by_database ON job_runs (database, id);
CREATE INDEX job_runs_running ON job_runs (result) WHERE result = 'running';
CREATE TABLE job_slots (
  job       TEXT PRIMARY KEY,
  last_slot INTEGER NOT NULL
);
CREATE TABLE health (
  id         INTEGER PRIMARY KEY,
  database   TEXT    NOT NULL,
  at         INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  latency_ms REAL    NOT NULL,
  detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX health_by_database ON health (database, at);
CREATE TABLE alerts (
  key       TEXT PRIMARY KEY,
  firing    INTEGER NOT NULL,
  since     INTEGER NOT NULL,
  last_sent INTEGER NOT NULL,
  reason    TEXT    NOT NULL
);
)SQL",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == kStateSchemaVersion);

Status SqlError(sqlite3* db, const std::string& what) {
  return Status::Error(ErrorCode::kIo,
                       "state database: " + what + ": " + (db ? sqlite3_errmsg(db) : "no memory"));
}

// One prepared statement; bind 1-based, step, read columns.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) s_ = nullptr;
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return s_ != nullptr; }
  Stmt& Bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, double v) {
    sqlite3_bind_double(s_, i, v);
    return *this;
  }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& BindNull(int i) {
    sqlite3_bind_null(s_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return s_ ? sqlite3_step(s_) : SQLITE_ERROR; }
  int64_t Int(int c) const { return sqlite3_column_int64(s_, c); }
  double Real(int c) const { return sqlite3_column_double(s_, c); }
  bool Null(int c) const { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string Text(int c) const {
    const unsigned char* t = sqlite3_column_text(s_, c);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(s_, c)))
             : std::string();
  }
  Status Done(const std::string& what) {
    int rc = Step();
    return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, what);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

Status Exec(sqlite3* db, const char* sql, const std::string& what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) == SQLITE_OK) return Status::Ok();
  std::string text = message ? message : "unknown error";
  sqlite3_free(message);
  return Status::Error(ErrorCode::kIo, "state database: " + what + ": " + text);
}

JobRun ReadRun(const Stmt& s) {
  JobRun r;
  r.id = s.Int(0);
  r.job = s.Text(1);
  r.kind = s.Text(2);
  r.database = s.Text(3);
  r.trigger = s.Text(4);
  r.slot = s.Int(5);
  r.started = s.Int(6);
  if (!s.Null(7)) r.finished = s.Int(7);
  r.result = s.Text(8);
  if (!s.Null(9)) r.exit_code = static_cast<int>(s.Int(9));
  r.error = s.Text(10);
  if (!s.Null(11)) r.figures = nlohmann::json::parse(s.Text(11), nullptr, false);
  if (r.figures.is_discarded()) r.figures = nullptr;
  return r;
}

constexpr const char* kRunColumns =
    "id, job, kind, database, trigger, slot, started, finished, result, exit_code, error, figures";

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW | SQLITE_OPEN_FULLMUTEX,
      nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status::Error(ErrorCode::kIo, "cannot open the state database \"" + path + "\": " + why,
                         "[server] state must name a file in a directory pgkeep may write");
  }
  std::unique_ptr<StateStore> store(new StateStore(db));
  sqlite3_busy_timeout(db, 5000);
  // A file that is not a database fails here, on its first read.
  Status s = Exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", "set up");
  if (!s.ok())
    return Status::Error(ErrorCode::kConfig,
                         "\"" + path + "\" is not a pgkeep state database: " + s.message(),
                         "point [server] state at a new file; this one was made by something else");
  PGKEEP_RETURN_IF_ERROR(store->Migrate());
  return store;
}

StateStore::~StateStore() { sqlite3_close(db_); }

Status StateStore::Migrate() {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER)",
                              "create schema_version"));
  Stmt read(db_, "SELECT max(version) FROM schema_version");
  if (!read.ok() || read.Step() != SQLITE_ROW) return SqlError(db_, "read schema_version");
  int version = read.Null(0) ? 0 : static_cast<int>(read.Int(0));
  if (version > kStateSchemaVersion)
    return Status::Error(ErrorCode::kConfig,
                         "the state database has schema version " + std::to_string(version) +
                             "; this pgkeep knows up to " + std::to_string(kStateSchemaVersion),
                         "run the newer pgkeep that wrote it, or point [server] state at a new "
                         "file (the repository keeps every backup either way)");
  for (int v = version + 1; v <= kStateSchemaVersion; ++v) {
    PGKEEP_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin migration"));
    Status s = Exec(db_, kMigrations[v - 1], "migration " + std::to_string(v));
    if (s.ok()) {
      Stmt mark(db_, "INSERT INTO schema_version (version) VALUES (?)");
      mark.Bind(1, static_cast<int64_t>(v));
      s = mark.Done("record migration");
    }
    if (s.ok()) s = Exec(db_, "COMMIT", "commit migration");
    if (!s.ok()) {
      (void)Exec(db_, "ROLLBACK", "roll back");
      return s;
    }
  }
  version_ = kStateSchemaVersion;
  return Status::Ok();
}

Result<int> StateStore::MarkInterruptedRuns(int64_t now, const std::string& why) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE job_runs SET result = 'interrupted', finished = ?, error = ? "
         "WHERE result IN ('running', 'queued')");
  s.Bind(1, now).Bind(2, why);
  PGKEEP_RETURN_IF_ERROR(s.Done("mark interrupted runs"));
  return sqlite3_changes(db_);
}

Result<int64_t> StateStore::RunStarted(const JobRun& run) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO job_runs (job, kind, database, trigger, slot, started, result) "
         "VALUES (?, ?, ?, ?, ?, ?, ?)");
  s.Bind(1, run.job).Bind(2, run.kind).Bind(3, run.database).Bind(4, run.trigger);
  s.Bind(5, run.slot).Bind(6, run.started).Bind(7, run.result == "queued" ? "queued" : "running");
  PGKEEP_RETURN_IF_ERROR(s.Done("record a job start"));
  return sqlite3_last_insert_rowid(db_);
}

Status StateStore::RunDequeued(int64_t id, int64_t started) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE job_runs SET result = 'running', started = ? WHERE id = ? AND result = 'queued'");
  s.Bind(1, started).Bind(2, id);
  return s.Done("record a queued job's start");
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> StateStore::RunCounts() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT kind, result, count(*) FROM job_runs GROUP BY kind, result");
  std::map<std::pair<std::string, std::string>, int64_t> counts;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) counts[{s.Text(0), s.Text(1)}] = s.Int(2);
  if (rc != SQLITE_DONE) return SqlError(db_, "count job runs");
  return counts;
}

Status StateStore::RunFinished(int64_t id, int64_t finished, const std::string& result,
                               std::optional<int> exit_code, const std::string& error,
                               const nlohmann::json& figures) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "UPDATE job_runs SET finished = ?, result = ?, exit_code = ?, error = ?, figures = ? "
         "WHERE id = ?");
  s.Bind(1, finished).Bind(2, result);
  if (exit_code)
    s.Bind(3, static_cast<int64_t>(*exit_code));
  else
    s.BindNull(3);
  s.Bind(4, error);
  if (figures.is_null())
    s.BindNull(5);
  else
    s.Bind(5, figures.dump());
  s.Bind(6, id);
  return s.Done("record a job end");
}

Result<std::vector<JobRun>> StateStore::RecentRuns(int limit, const std::string& database) {
  std::lock_guard lock(mu_);
  limit = std::clamp(limit, 1, 1000);
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM job_runs" +
                    (database.empty() ? "" : " WHERE database = ?") + " ORDER BY id DESC LIMIT ?";
  Stmt s(db_, sql.c_str());
  int i = 1;
  if (!database.empty()) s.Bind(i++, database);
  s.Bind(i, static_cast<int64_t>(limit));
  std::vector<JobRun> runs;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) runs.push_back(ReadRun(s));
  if (rc != SQLITE_DONE) return SqlError(db_, "read job runs");
  return runs;
}

Result<std::optional<JobRun>> StateStore::Run(int64_t id) {
  std::lock_guard lock(mu_);
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM job_runs WHERE id = ?";
  Stmt s(db_, sql.c_str());
  s.Bind(1, id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<JobRun>(ReadRun(s));
  if (rc != SQLITE_DONE) return SqlError(db_, "read a job run");
  return std::optional<JobRun>();
}

Result<std::map<std::string, int64_t>> StateStore::LastSlots() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT job, last_slot FROM job_slots");
  std::map<std::string, int64_t> slots;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) slots[s.Text(0)] = s.Int(1);
  if (rc != SQLITE_DONE) return SqlError(db_, "read job slots");
  return slots;
}

Status StateStore::SaveLastSlots(const std::map<std::string, int64_t>& slots) {
  std::lock_guard lock(mu_);
  PGKEEP_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin"));
  Status result = Status::Ok();
  for (const auto& [job, slot] : slots) {
    Stmt s(db_,
           "INSERT INTO job_slots (job, last_slot) VALUES (?, ?) "
           "ON CONFLICT (job) DO UPDATE SET last_slot = excluded.last_slot");
    s.Bind(1, job).Bind(2, slot);
    result = s.Done("save job slots");
    if (!result.ok()) break;
  }
  if (result.ok()) return Exec(db_, "COMMIT", "commit job slots");
  (void)Exec(db_, "ROLLBACK", "roll back");
  return result;
}

Status StateStore::AddHealth(const HealthSample& h) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO health (database, at, status, latency_ms, detail) VALUES (?, ?, ?, ?, ?)");
  s.Bind(1, h.database).Bind(2, h.at).Bind(3, h.status).Bind(4, h.latency_ms).Bind(5, h.detail);
  return s.Done("record a health check");
}

Result<std::vector<HealthSample>> StateStore::RecentHealth(const std::string& database, int limit) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "SELECT database, at, status, latency_ms, detail FROM health WHERE database = ? "
         "ORDER BY at DESC, id DESC LIMIT ?");
  s.Bind(1, database).Bind(2, static_cast<int64_t>(std::clamp(limit, 1, 10000)));
  std::vector<HealthSample> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW)
    out.push_back({s.Text(0), s.Int(1), s.Text(2), s.Real(3), s.Text(4)});
  if (rc != SQLITE_DONE) return SqlError(db_, "read health checks");
  return out;
}

Status StateStore::PruneHealth(int64_t before) {
  std::lock_guard lock(mu_);
  Stmt s(db_, "DELETE FROM health WHERE at < ?");
  s.Bind(1, before);
  return s.Done("prune health checks");
}

Result<std::map<std::string, AlertState>> StateStore::Alerts() {
  std::lock_guard lock(mu_);
  Stmt s(db_, "SELECT key, firing, since, last_sent, reason FROM alerts");
  std::map<std::string, AlertState> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW)
    out[s.Text(0)] = {s.Text(0), s.Int(1) != 0, s.Int(2), s.Int(3), s.Text(4)};
  if (rc != SQLITE_DONE) return SqlError(db_, "read alerts");
  return out;
}

Status StateStore::SaveAlert(const AlertState& a) {
  std::lock_guard lock(mu_);
  Stmt s(db_,
         "INSERT INTO alerts (key, firing, since, last_sent, reason) VALUES (?, ?, ?, ?, ?) "
         "ON CONFLICT (key) DO UPDATE SET firing = excluded.firing, since = excluded.since, "
         "last_sent = excluded.last_sent, reason = excluded.reason");
  s.Bind(1, a.key).Bind(2, static_cast<int64_t>(a.firing ? 1 : 0)).Bind(3, a.since);
  s.Bind(4, a.last_sent).Bind(5, a.reason);
  return s.Done("save an alert");
}

}  // namespace pgkeep
