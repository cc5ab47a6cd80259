#include "backup/logical_backup.h"

#include <map>

#include "postgres/connection.h"
#include "postgres/pg_connector.h"
#include "postgres/table_scope.h"

namespace pgkeep {

namespace {

Status ToolFailed(const PgToolProcess& p, const std::string& what, int code) {
  std::string last = p.ErrorSummary();
  return Status::Error(ErrorCode::kTool, what + " failed (exit " + std::to_string(code) + ")" +
                                             (last.empty() ? "" : ": " + last));
}

// Streams `argv`'s standard output into the session as file `name`.
Result<FileEntry> StoreProgramOutput(PgConnector& connector, StoreSession& session,
                                     const Chunker& chunker, const std::vector<std::string>& argv,
                                     const std::string& name, const std::string& what,
                                     const std::vector<std::string>& drop_env) {
  auto proc = connector.RunTool(PgToolCommand{argv, true, drop_env});
  if (!proc.ok()) return proc.status();
  FileEntry meta;
  meta.path = name;
  meta.mode = 0600;
  auto stored = session.StoreStream((*proc)->Stdout(), chunker, meta);
  if (!stored.ok()) {
    (*proc)->Kill();
    (*proc)->Wait();
    return stored.status();
  }
  int code = (*proc)->Wait();
  if (code != 0) return ToolFailed(**proc, what, code);
  return stored;
}

}  // namespace

Result<Snapshot> RunLogicalBackup(Env& env, Repository& repo, PgConnector& connector,
                                  const DatabaseConfig& db, const LogicalBackupOptions& options) {
  const std::string what = "database \"" + db.name + "\"";
  auto conn = connector.Connect(db.conninfo, what);
  if (!conn.ok()) return conn.status();
  PgConnection& pg = **conn;
  int server_major = pg.ServerVersionNum() / 10000;
  auto pg_dump = connector.FindTool("pg_dump", server_major, db.pg_bin);
  if (!pg_dump.ok()) return pg_dump.status();

  Snapshot snapshot;
  snapshot.start_time = repo.clock().NowSeconds();
  snapshot.id = NewSnapshotId(snapshot.start_time);
  snapshot.kind = "logical";
  snapshot.label = options.label;
  snapshot.hostname = env.HostName();

  // The exported snapshot pins what pg_dump sees and what we count.
  PGKEEP_RETURN_IF_ERROR(pg.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"));
  auto exported = pg.Query("SELECT pg_export_snapshot(), current_database(), version()");
  if (!exported.ok()) return exported.status();
  std::string pg_snapshot = *exported->rows[0].values[0];
  std::string dbname = *exported->rows[0].values[1];

  TableScope scope(db.schemas, db.tables, db.exclude_schemas, db.exclude_tables);
  std::vector<std::string> argv = {
      pg_dump->path,   "--format=custom",           "--compress=0",
      "--no-password", "--snapshot=" + pg_snapshot, "--dbname=" + db.conninfo};
  for (auto& a : scope.PgDumpArgs()) argv.push_back(a);

  StoreSession session(repo, options.store);
  std::vector<FileEntry> files;
  const std::string dump_name = db.name + ".dump";
  ReportStep(options.progress, "dumping database \"" + dbname + "\" with pg_dump");
  auto dump = StoreProgramOutput(connector, session, repo.dump_chunker(), argv, dump_name,
                                 "pg_dump", options.child_env_drop);
  if (!dump.ok()) return dump.status().WithContext("backup of " + what);
  files.push_back(*dump);

  ReportStep(options.progress, "counting rows in the dump's snapshot");
  auto tables = ListUserTables(pg);
  if (!tables.ok()) return tables.status();
  nlohmann::json counts = nlohmann::json::object();
  for (const auto& t : *tables) {
    if (!scope.Includes(t)) continue;
    auto n = CountRows(pg, t);
    if (!n.ok()) return n.status();
    counts[t.Display()] = *n;
  }
  PGKEEP_RETURN_IF_ERROR(pg.Exec("COMMIT"));

  std::string globals_name;
  if (db.globals) {
    auto pg_dumpall = connector.FindTool("pg_dumpall", server_major, db.pg_bin);
    if (!pg_dumpall.ok()) return pg_dumpall.status();
    globals_name = "globals.sql";
    ReportStep(options.progress, "dumping roles and tablespaces with pg_dumpall --globals-only");
    auto globals =
        StoreProgramOutput(connector, session, repo.dump_chunker(),
                           {pg_dumpall->path, "--globals-only", "--no-role-passwords",
                            "--no-password", "--dbname=" + db.conninfo},
                           globals_name, "pg_dumpall --globals-only", options.child_env_drop);
    if (!globals.ok()) return globals.status().WithContext("backup of " + what);
    files.push_back(*globals);
  }

  snapshot.meta = {{kMetaDatabase, db.name},
                   {kMetaDbname, dbname},
                   {kMetaServerVersion, *exported->rows[0].values[2]},
                   {kMetaServerVersionNum, pg.ServerVersionNum()},
                   {kMetaPgDump, pg_dump->version_text},
                   {kMetaFormat, "custom"},
                   {kMetaScope,
                    {{"schemas", db.schemas},
                     {"tables", db.tables},
                     {"exclude_schemas", db.exclude_schemas},
                     {"exclude_tables", db.exclude_tables}}},
                   {kMetaRowCounts, counts},
                   {kMetaDumpFile, dump_name},
                   {kMetaGlobalsFile, globals_name}};
  ReportStep(options.progress, "committing backup " + snapshot.id);
  return session.Commit(snapshot, files);
}

}  // namespace pgkeep
