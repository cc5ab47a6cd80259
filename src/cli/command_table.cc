#include "cli/command_table.h"

#include <memory>

#include "cli/commands.h"

namespace pgkeep {

namespace {

// Labels and notes are stored as JSON text in the repository: refuse what
// JSON cannot hold now, not after pg_dump has run for an hour.
void RequireUtf8(const std::string& text, const char* option) {
  if (!IsValidUtf8(text))
    throw CommandError{Status::Error(ErrorCode::kUsage, std::string(option) + " is not valid UTF-8",
                                     "labels and notes are stored as text; pass them in UTF-8")};
}

CommandRunner DefineInit(CLI::App&) {
  return [](const CommandContext& ctx) { return RunInit(ctx); };
}

CommandRunner DefineStore(CLI::App& sub) {
  auto args = std::make_shared<StoreArgs>();
  sub.add_option("paths", args->paths, "files, directories, or - for standard input")->required();
  sub.add_option("--name", args->stdin_name, "name recorded for standard input");
  sub.add_option("--label", args->label, "free-text label for the snapshot");
  sub.add_option("--db", args->db, "file the snapshot under this database (its retention applies)");
  sub.add_flag("--allow-empty", args->allow_empty,
               "store an empty standard input instead of refusing it");
  return [args](const CommandContext& ctx) {
    RequireUtf8(args->label, "--label");
    return RunStore(ctx, *args);
  };
}

CommandRunner DefineLoad(CLI::App& sub) {
  auto args = std::make_shared<LoadArgs>();
  sub.add_option("snapshot", args->snapshot, "snapshot id or \"latest\"")->required();
  sub.add_option("--file", args->files, "only this file (repeatable)");
  sub.add_option("--to", args->to_dir, "directory to write into (files must not exist)");
  sub.add_flag("--stdout", args->to_stdout, "write the one selected file to standard output");
  return [args](const CommandContext& ctx) { return RunLoad(ctx, *args); };
}

CommandRunner DefineBackup(CLI::App& sub) {
  auto args = std::make_shared<BackupArgs>();
  sub.add_option("--db", args->db, "the NAME of a [database.NAME] section")->required();
  sub.add_option(
         "--type", args->type,
         "full or incr (physical; default full), logical (the default for method = \"logical\")")
      ->check(CLI::IsMember({"full", "incr", "logical"}));
  sub.add_option("--label", args->label, "free-text label");
  sub.add_flag("--pin", args->pin, "pin the backup: retention never expires it until unpinned");
  sub.add_option("--note", args->note, "note stored with the pin (with --pin)");
  return [args](const CommandContext& ctx) {
    RequireUtf8(args->label, "--label");
    RequireUtf8(args->note, "--note");
    return RunBackup(ctx, *args);
  };
}

CommandRunner DefineStatus(CLI::App& sub) {
  auto db = std::make_shared<std::string>();
  sub.add_option("--db", *db, "only this database");
  return [db](const CommandContext& ctx) { return RunStatus(ctx, *db); };
}

CommandRunner DefineDrill(CLI::App& sub) {
  auto args = std::make_shared<DrillArgs>();
  sub.add_option("--db", args->db, "drill this database (default: every configured one, in turn)");
  sub.add_option("--backup", args->options.backup, "backup id or \"latest\" (default)");
  sub.add_option("--target-time", args->options.target_time,
                 "physical: recover to this time instead of the end of the archived WAL");
  sub.add_option("--target-lsn", args->options.target_lsn, "physical: recover to this LSN");
  sub.add_option("--html", args->html, "also write the report as a self-contained HTML file");
  sub.add_option("--scratch-dir", args->options.scratch_dir,
                 "where the scratch copy goes (default /var/tmp)");
  sub.add_option("--jobs", args->options.threads,
                 "parallel writers (default as restore chooses) / pg_restore jobs (default 4)")
      ->check(CLI::Range(1, 64));
  sub.add_flag("--history", args->history, "list the drill reports stored in the repository");
  sub.add_option("--limit", args->limit, "with --history: at most this many (default 20)");
  return [args](const CommandContext& ctx) { return RunDrillCommand(ctx, *args); };
}

CommandRunner DefineExpire(CLI::App& sub) {
  auto dry_run = std::make_shared<bool>(false);
  sub.add_flag("--dry-run", *dry_run, "show what would be expired and freed; change nothing");
  return [dry_run](const CommandContext& ctx) { return RunExpireCommand(ctx, *dry_run); };
}

CommandRunner DefinePin(CLI::App& sub) {
  auto args = std::make_shared<PinArgs>();
  sub.add_option("backup", args->snapshot, "backup id or \"latest\"")->required();
  sub.add_option("--until", args->until,
                 "until this date (YYYY-MM-DD, UTC); default: until unpinned");
  sub.add_option("--note", args->note, "why (e.g. \"before deploy 2026-11-23\")");
  return [args](const CommandContext& ctx) {
    RequireUtf8(args->note, "--note");
    return RunPin(ctx, *args);
  };
}

CommandRunner DefineCopy(CLI::App& sub) {
  auto args = std::make_shared<CopyArgs>();
  sub.add_option("--to", args->to, "the [[copy]] target's name")->required();
  sub.add_option("--db", args->db, "only this database's backups");
  sub.add_option("--backup", args->backup, "only this backup (an id, or \"latest\" per database)");
  return [args](const CommandContext& ctx) { return RunCopy(ctx, *args); };
}

CommandRunner DefineRetention(CLI::App& sub) {
  auto args = std::make_shared<RetentionArgs>();
  sub.add_option("action", args->action,
                 "run: redact or delete the rows past their retention; report: how long erased "
                 "rows still live in backups")
      ->required()
      ->check(CLI::IsMember({"run", "report"}));
  sub.add_option("--policy", args->policy, "only this [[retention_policy]]");
  sub.add_flag("--dry-run", args->dry_run, "count what would change per tenant; change nothing");
  return [args](const CommandContext& ctx) { return RunRetention(ctx, *args); };
}

CommandRunner DefineUnpin(CLI::App& sub) {
  auto args = std::make_shared<PinArgs>();
  args->unpin = true;
  sub.add_option("backup", args->snapshot, "backup id")->required();
  return [args](const CommandContext& ctx) { return RunPin(ctx, *args); };
}

CommandRunner DefineRestore(CLI::App& sub) {
  auto args = std::make_shared<RestoreArgs>();
  auto tablespace_map = std::make_shared<std::vector<std::string>>();
  sub.add_option("--db", args->db, "the database whose backup to restore");
  sub.add_option("--backup", args->options.backup, "backup id or \"latest\" (default)");
  sub.add_option("--from-file", args->options.from_file,
                 "restore this pg_dump file (custom, tar or plain SQL) instead of a backup");
  sub.add_option("--into-database", args->options.into_database, "logical: new database to create");
  sub.add_option("--pgdata", args->physical.pgdata,
                 "physical: empty or new data directory to restore into");
  sub.add_option("--target-time", args->physical.target_time,
                 "physical: recover to this time (\"2026-11-23 14:05:00+00\"; UTC without a zone)");
  sub.add_option("--target-lsn", args->physical.target_lsn, "physical: recover to this LSN");
  sub.add_option("--target-name", args->physical.target_name,
                 "physical: recover to this restore point (pg_create_restore_point)");
  sub.add_option(
         "--target", args->physical.target,
         "physical: latest (all archived WAL, the default) or immediate (end of the backup)")
      ->check(CLI::IsMember({"latest", "immediate"}));
  sub.add_flag("--start", args->physical.start,
               "physical: start PostgreSQL and wait until recovery ends");
  sub.add_option("--port", args->physical.port, "physical: port for the restored server")
      ->check(CLI::Range(1, 65535));
  sub.add_option(
      "--target-timeline", args->physical.target_timeline,
      "physical: follow this timeline (a number, or \"latest\": the highest one); default: the "
      "timeline of the newest backup, never a restored copy's");
  sub.add_option_function<std::string>(
         "--archive-mode",
         [args](const std::string& mode) {
           args->physical.archive_mode = mode == "off"
                                             ? PhysicalRestoreOptions::ArchiveMode::kOff
                                             : PhysicalRestoreOptions::ArchiveMode::kPreserve;
         },
         "physical: off = the restored cluster does not archive; preserve = it archives into the "
         "repository "
         "(default: preserve when restoring in place of the configured pgdata, off for a copy "
         "elsewhere)")
      ->check(CLI::IsMember({"off", "preserve"}));
  sub.add_flag_callback(
      "--no-archive",
      [args] { args->physical.archive_mode = PhysicalRestoreOptions::ArchiveMode::kOff; },
      "physical: the same as --archive-mode off");
  sub.add_option(
      "--tablespace-map", *tablespace_map,
      "physical: OID=DIR puts that tablespace in DIR instead of where it was (repeatable)");
  sub.add_option("--start-timeout", args->physical.start_timeout_seconds,
                 "physical: seconds to wait for recovery to end (default 3600)")
      ->check(CLI::PositiveNumber);
  sub.add_option("--schema", args->options.schemas, "only this schema (repeatable)");
  sub.add_option("--table", args->options.tables, "only this table (repeatable)");
  sub.add_option("--target-conninfo", args->options.target_conninfo,
                 "server to restore into (default: the database's conninfo)");
  sub.add_flag("--clean", args->options.clean, "drop and recreate an existing target database");
  CLI::Option* jobs =
      sub.add_option("--jobs", args->options.jobs,
                     "parallel jobs: pg_restore jobs (default 2), or file writers for --pgdata "
                     "(default 4; from S3, as many as the backup had readers)")
          ->check(CLI::Range(1, 64));
  sub.add_option("--temp-dir", args->options.temp_dir, "where to stage the dump (default $TMPDIR)");
  sub.add_flag("--no-reapply-erasures", args->no_reapply_erasures,
               "leave the rows retention policies erased after the backup as the backup has "
               "them (default: erase them again from the forget log)");
  return [args, tablespace_map, jobs](const CommandContext& ctx) {
    args->jobs_given = jobs->count() > 0;
    args->options.reapply_erasures = !args->no_reapply_erasures;
    args->physical.reapply_erasures = !args->no_reapply_erasures;
    for (const auto& m : *tablespace_map) {
      auto eq = m.find('=');
      args->physical.tablespace_map[m.substr(0, eq)] =
          eq == std::string::npos ? "" : m.substr(eq + 1);
    }
    return RunRestore(ctx, *args);
  };
}

CommandRunner DefineExport(CLI::App& sub) {
  struct Args {
    std::string id, file, db;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("backup", args->id, "backup id or \"latest\"")->required();
  sub.add_option("--file", args->file, "file to create (never overwritten)")->required();
  sub.add_option("--db", args->db, "with \"latest\": the newest backup of this database");
  return
      [args](const CommandContext& ctx) { return RunExport(ctx, args->id, args->file, args->db); };
}

CommandRunner DefineWalPush(CLI::App& sub) {
  struct Args {
    std::string db, path;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("--db", args->db, "the NAME of a [database.NAME] section")->required();
  sub.add_option("path", args->path, "the WAL file (%p)")->required();
  return [args](const CommandContext& ctx) { return RunWalPush(ctx, args->db, args->path); };
}

CommandRunner DefineWalFetch(CLI::App& sub) {
  struct Args {
    std::string db, name, dest;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("--db", args->db, "the NAME of a [database.NAME] section")->required();
  sub.add_option("name", args->name, "the WAL file name (%f)")->required();
  sub.add_option("dest", args->dest, "where to write it (%p)")->required();
  return [args](const CommandContext& ctx) {
    return RunWalFetch(ctx, args->db, args->name, args->dest);
  };
}

CommandRunner DefineCheck(CLI::App& sub) {
  struct Args {
    std::string db;
    int timeout = 60;
  };
  auto args = std::make_shared<Args>();
  sub.add_option("--db", args->db, "the NAME of a [database.NAME] section")->required();
  sub.add_option("--timeout", args->timeout, "seconds to wait for the segment (default 60)")
      ->check(CLI::PositiveNumber);
  return [args](const CommandContext& ctx) { return RunCheck(ctx, args->db, args->timeout); };
}

CommandRunner DefineServe(CLI::App& sub) {
  auto args = std::make_shared<ServeArgs>();
  sub.add_option("--job-timeout", args->job_timeout_seconds,
                 "seconds a job may run before it is stopped (default 21600)")
      ->check(CLI::PositiveNumber);
  sub.add_option("--stop-grace", args->stop_grace_seconds,
                 "on SIGTERM, seconds running jobs get to finish before they are stopped "
                 "(default 60)")
      ->check(CLI::NonNegativeNumber);
  return [args](const CommandContext& ctx) { return RunServe(ctx, *args); };
}

CommandRunner DefineList(CLI::App& sub) {
  auto db = std::make_shared<std::string>();
  sub.add_option("--db", *db, "only backups of this database");
  return [db](const CommandContext& ctx) { return RunList(ctx, *db); };
}

CommandRunner DefineInfo(CLI::App& sub) {
  auto id = std::make_shared<std::string>();
  sub.add_option("snapshot", *id, "snapshot id or \"latest\"")->required();
  return [id](const CommandContext& ctx) { return RunInfo(ctx, *id); };
}

CommandRunner DefineVerify(CLI::App& sub) {
  struct Args {
    bool read_data = false;
    bool repair = false;
    int subset_percent = 100;
  };
  auto args = std::make_shared<Args>();
  sub.add_flag("--read-data", args->read_data, "also read and check every stored byte");
  sub.add_flag("--repair", args->repair,
               "rebuild the index from the packs (exclusive lock), then verify; with --read-data "
               "damaged chunks "
               "are left out");
  sub.add_option("--subset", args->subset_percent,
                 "with --read-data: read only this percentage of packs, chosen at random")
      ->check(CLI::Range(1, 100));
  return [args](const CommandContext& ctx) {
    return RunVerify(ctx, args->read_data, args->subset_percent, args->repair);
  };
}

}  // namespace

const std::vector<CommandSpec>& CommandTable() {
  static const std::vector<CommandSpec> table = {
      {"init", "create the repository (keys included)", DefineInit},
      {"store", "store files, directories or standard input (-) as a snapshot", DefineStore},
      {"load", "write files of a snapshot back out", DefineLoad},
      {"backup", "back up a configured database (physical: files + WAL; logical: pg_dump)",
       DefineBackup},
      {"status", "health: exit 0 when healthy, 1 when not, with every reason", DefineStatus},
      {"expire", "apply backup retention, then collect garbage", DefineExpire},
      {"pin", "keep a backup whatever the retention rules say", DefinePin},
      {"unpin", "let retention rules decide about a pinned backup again", DefineUnpin},
      {"restore",
       "restore a physical backup into a data directory, or a logical one into a new database",
       DefineRestore},
      {"export", "write a logical backup as a standard pg_dump file", DefineExport},
      {"copy", "copy backups, their WAL and drill reports to a [[copy]] target", DefineCopy},
      {"retention",
       "row-level retention: run the [[retention_policy]] sections (run [--dry-run]), or report "
       "how long erased rows live in backups (report)",
       DefineRetention},
      {"wal-push", "archive one WAL file (archive_command = '... wal-push --db NAME %p')",
       DefineWalPush},
      {"wal-fetch", "restore one WAL file (restore_command); exit 1 when absent", DefineWalFetch,
       true},
      {"check", "connection, WAL settings, and a WAL segment archived end to end", DefineCheck},
      {"list", "list snapshots: id, kind, database, start/stop time, sizes", DefineList},
      {"info", "show one snapshot and its files", DefineInfo},
      {"verify", "check repository integrity", DefineVerify},
      {"drill", "restore a backup into scratch space, check it, measure RTO and RPO", DefineDrill},
      {"serve", "daemon: run every scheduled job (backups, drills, expire, verify) until SIGTERM",
       DefineServe},
  };
  return table;
}

}  // namespace pgkeep
