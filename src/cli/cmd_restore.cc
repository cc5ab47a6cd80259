#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "cli/commands.h"
#include "config/secrets.h"
#include "restore/logical_restore.h"

namespace pgkeep {

namespace {

// The forget log's re-application, for the JSON and text of a restore.
nlohmann::json ErasuresJson(const std::optional<ErasureReplay>& e) {
  if (!e) return nullptr;
  return {{"entries", e->entries},
          {"rows", e->rows},
          {"redacted", e->redacted},
          {"deleted", e->deleted},
          {"since", FormatIsoTime(e->since)},
          {"notes", e->notes}};
}

std::string ErasuresText(const std::optional<ErasureReplay>& e, bool skipped) {
  if (skipped)
    return "  erasures: NOT re-applied (--no-reapply-erasures): rows retention policies "
           "erased after the backup are back\n";
  if (!e) return "";
  std::string text = "  erasures: " + std::to_string(e->entries) + " forget-log entr" +
                     (e->entries == 1 ? "y" : "ies") + " since " + FormatIsoTime(e->since) +
                     " re-applied: " + std::to_string(e->deleted) + " row(s) deleted, " +
                     std::to_string(e->redacted) + " redacted again (" + std::to_string(e->rows) +
                     " erased in all)\n";
  for (const auto& n : e->notes) text += "  note:     " + n + "\n";
  return text;
}

CommandOutput RunPhysicalRestoreCommand(const CommandContext& ctx, const RestoreArgs& args) {
  if (args.db.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage, "--db NAME is required")};
  if (!args.options.into_database.empty() || !args.options.from_file.empty())
    throw CommandError{Status::Error(
        ErrorCode::kUsage,
        "--pgdata (physical) and --into-database/--from-file (logical) exclude each other")};
  PhysicalRestoreOptions options = args.physical;
  options.backup = args.options.backup;
  options.progress = ctx.progress;
  if (args.jobs_given) options.threads = args.options.jobs;
  ThrowIfError(CheckPhysicalRestoreRequest(*ctx.env, options));  // before anything is opened
  static std::atomic<int> interrupted{0};
  ctx.env->CatchInterrupts(&interrupted);
  options.cancel = &interrupted;
  int64_t started = ctx.env->MonotonicMicros();
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "restore", false);
  const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
  if (db.method != "physical")
    throw CommandError{Status::Error(ErrorCode::kUsage, "database \"" + db.name + "\" is logical",
                                     "restore it with --into-database NEWDB")};
  options.config_path = opened.config.source;
  options.from_copy = opened.config.repository.copy_name;
  // The server pg_ctl starts runs restore_command (pgkeep wal-fetch), which
  // needs the repository password and S3 credentials: their variables stay;
  // every other secret pgkeep knows of is dropped.
  const auto kept = RepositoryEnvNames(opened.config.repository);
  for (auto& name : SecretEnvNames(opened.config))
    if (std::find(kept.begin(), kept.end(), name) == kept.end())
      options.child_env_drop.push_back(name);
  ThrowIfError(opened.repo->LoadIndex());
  PhysicalRestoreResult r =
      ValueOrThrow(RunPhysicalRestore(*ctx.env, *opened.repo, *ctx.pg, db, options));
  double seconds = (ctx.env->MonotonicMicros() - started) / 1e6;
  CommandOutput out;
  out.json = {{"ok", true},
              {"backup", SnapshotToJson(r.backup, false)},
              {"pgdata", options.pgdata},
              {"files", r.files},
              {"bytes", r.bytes},
              {"recovery_target", r.recovery_target},
              {"recovery_timeline", r.recovery_timeline},
              {"archiving", r.archiving},
              {"notes", r.notes},
              {"started", r.started},
              {"reached_lsn", r.reached_lsn},
              {"reached_time", r.reached_time},
              {"server_log", r.server_log},
              {"port", r.started ? nlohmann::json(r.port) : nlohmann::json()},
              {"socket_dir", r.socket_dir},
              {"erasures", ErasuresJson(r.erasures)},
              {"erasures_reapplied", !args.no_reapply_erasures},
              {"seconds", seconds}};
  char line[64];
  std::snprintf(line, sizeof line, "%.1f s", seconds);
  out.text =
      "restored backup " + r.backup.id + " (" + r.backup.kind + ", " + FormatBytes(r.bytes) +
      " in " + std::to_string(r.files) + " files) into " + options.pgdata + " in " + line + "\n" +
      "  recovery: " + r.recovery_target + ", timeline " + r.recovery_timeline + "\n" +
      (r.archiving
           ? "  archive:  on: the restored cluster archives WAL into the repository as database "
             "\"" +
                 db.name + "\"\n"
           : "  archive:  off (a copy: it never archives into the repository; --archive-mode "
             "preserve to archive)\n");
  for (const auto& n : r.notes) out.text += "  note:     " + n + "\n";
  if (r.started)
    out.text += "  started:  recovery ended at LSN " + r.reached_lsn +
                (r.reached_time.empty() ? "" : ", last transaction " + r.reached_time) +
                "\n  running:  port " + std::to_string(r.port) + ", socket directory " +
                r.socket_dir + ", log " + r.server_log + "\n" +
                ErasuresText(r.erasures, args.no_reapply_erasures);
  else
    out.text += "  start it with: pg_ctl -D " + options.pgdata + " start\n" +
                ErasuresText(std::nullopt, args.no_reapply_erasures);
  if (!opened.config.repository.password_env.empty())
    out.text += "note: restore_command reads the repository password from $" +
                opened.config.repository.password_env +
                ": PostgreSQL must start with it set, or use repository.password_file\n";
  return out;
}

}  // namespace

CommandOutput RunRestore(const CommandContext& ctx, const RestoreArgs& args) {
  if (!args.physical.pgdata.empty()) return RunPhysicalRestoreCommand(ctx, args);
  LogicalRestoreOptions options = args.options;
  options.progress = ctx.progress;
  if (options.into_database.empty())
    throw CommandError{
        Status::Error(ErrorCode::kUsage, "restore needs --into-database NEWDB or --pgdata DIR",
                      "--into-database for logical backups, --pgdata for physical ones")};
  // SIGINT/SIGTERM stop pg_restore (and its workers) and drop the database
  // it was filling, instead of leaving both behind.
  static std::atomic<int> interrupted{0};
  ctx.env->CatchInterrupts(&interrupted);
  options.cancel = &interrupted;
  CommandOutput out;
  LogicalRestoreReport report;
  if (!options.from_file.empty()) {
    // A file needs no repository; the database, if named, supplies the server.
    Config config = LoadConfigOrThrow(ctx);
    options.child_env_drop = SecretEnvNames(config);
    const DatabaseConfig* db = args.db.empty() ? nullptr : &DatabaseOrThrow(config, args.db);
    if (!db && options.target_conninfo.empty())
      throw CommandError{Status::Error(ErrorCode::kUsage, "restoring a file needs a server",
                                       "pass --db NAME or --target-conninfo CONNINFO")};
    report = ValueOrThrow(RunLogicalRestore(*ctx.env, nullptr, *ctx.pg, db, options));
  } else {
    if (args.db.empty())
      throw CommandError{Status::Error(ErrorCode::kUsage, "--db NAME is required",
                                       "or restore a dump file with --from-file PATH")};
    auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "restore", false);
    const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
    options.child_env_drop = SecretEnvNames(opened.config);
    ThrowIfError(opened.repo->LoadIndex());
    report = ValueOrThrow(RunLogicalRestore(*ctx.env, opened.repo.get(), *ctx.pg, &db, options));
  }

  nlohmann::json tables = nlohmann::json::array();
  char line[200];
  std::snprintf(line, sizeof line, "  %-40s %12s %12s\n", "TABLE", "BACKUP", "RESTORED");
  std::string table_text = line;
  for (const auto& t : report.tables) {
    tables.push_back(
        {{"table", t.table},
         {"expected_rows", t.expected ? nlohmann::json(*t.expected) : nlohmann::json()},
         {"restored_rows", t.restored}});
    std::snprintf(line, sizeof line, "  %-40s %12s %12lld%s\n", t.table.c_str(),
                  t.expected ? std::to_string(*t.expected).c_str() : "-",
                  static_cast<long long>(t.restored),
                  t.expected && *t.expected != t.restored ? "  MISMATCH" : "");
    table_text += line;
  }
  out.json = {
      {"ok", report.mismatches.empty()},
      {"source", report.source},
      {"database", report.database},
      {"objects", report.objects},
      {"tables", tables},
      {"mismatches", report.mismatches},
      {"retried_serial", report.retried_serial},
      {"retry_reason", report.retry_reason},
      {"dropped_leftover", report.dropped_leftover.empty()
                               ? nlohmann::json()
                               : nlohmann::json(report.dropped_leftover)},
      {"split_table", report.split_table.empty() ? nlohmann::json()
                                                 : nlohmann::json{{"table", report.split_table},
                                                                  {"parts", report.split_parts},
                                                                  {"rows", report.split_rows}}},
      {"staging",
       {{"data_offsets_added", report.data_offsets_added},
        {"chunks_read", report.chunks_read},
        {"chunks_written", report.chunks_written},
        {"note", report.staging_note}}},
      {"erasures", ErasuresJson(report.erasures)},
      {"erasures_reapplied", !args.no_reapply_erasures},
      {"seconds", report.seconds}};
  std::snprintf(line, sizeof line, "%.1f s", report.seconds);
  out.text =
      "restored " + report.source + " into database \"" + report.database + "\" in " + line +
      (report.objects ? " (" + std::to_string(report.objects) + " objects)" : "") + "\n" +
      (report.retried_serial
           ? "note: the parallel pg_restore failed and was retried with --jobs=1, which "
             "succeeded; it had failed with: " +
                 report.retry_reason + "\n"
           : "") +
      (report.staging_note.empty() ? "" : "note: " + report.staging_note + "\n") +
      (report.dropped_leftover.empty()
           ? ""
           : "note: database \"" + report.database +
                 "\" was the leftover of a restore that was killed, and was dropped first (" +
                 report.dropped_leftover + ")\n") +
      (report.split_table.empty()
           ? ""
           : "table " + report.split_table + " loaded over " + std::to_string(report.split_parts) +
                 " connections (" + std::to_string(report.split_rows) + " rows)\n") +
      table_text +
      (options.from_file.empty() ? ErasuresText(report.erasures, args.no_reapply_erasures) : "");
  for (const auto& m : report.mismatches) out.text += "error: row count mismatch: " + m + "\n";
  if (!report.mismatches.empty())
    out.result = ErrorCode::kCheckFailed;
  else if (!report.tables.empty() && report.source != options.from_file)
    out.text += "every table matches the row counts recorded at backup time\n";
  return out;
}

}  // namespace pgkeep
