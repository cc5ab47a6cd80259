#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "cli/commands.h"
#include "storage/posix_storage.h"

namespace pgkeep {

namespace {

// restore_command contract: PostgreSQL reads exit 1..125 as "no such file"
// and ends recovery there as if the WAL were complete. Any failure other than
// absence (unreadable repository, damaged object, ...) must stop recovery
// instead, which an exit status above 125 does (docs/exit-codes.md).
constexpr int kWalFetchFailedExit = 126;

// Messages and outputs quote what users and repositories hold (paths,
// labels, arguments), which need not be UTF-8; nlohmann::json would throw
// on it, and inside PrintError that ends the process. Invalid bytes become
// U+FFFD instead.
std::string DumpJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Warnings about damaged or unknown objects a command skipped, each once.
class WarningLog {
 public:
  void Add(const std::string& message) {
    std::lock_guard lock(mu_);
    if (std::find(messages_.begin(), messages_.end(), message) == messages_.end()) messages_.push_back(message);
  }
  std::vector<std::string> Take() {
    std::lock_guard lock(mu_);
    return std::move(messages_);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
};

// Text mode: on stderr, so they never mix with data or a report on stdout.
void PrintWarnings(const std::vector<std::string>& warnings, bool json) {
  if (json) return;
  for (const auto& w : warnings) std::cerr << "pgkeep: warning: " << w << "\n";
}

// JSON mode: a "warnings" array (merged with one a command already has).
void AddWarnings(nlohmann::json& j, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  auto& list = j["warnings"];
  if (!list.is_array()) list = nlohmann::json::array();
  for (const auto& w : warnings)
    if (std::find(list.begin(), list.end(), w) == list.end()) list.push_back(w);
}

void PrintError(const Status& status, bool json, const std::vector<std::string>& warnings = {}) {
  PrintWarnings(warnings, json);
  if (json) {
    nlohmann::json j = {{"ok", false},
                        {"error",
                         {{"code", ErrorCodeName(status.code())},
                          {"exit_code", ExitCodeFor(status.code())},
                          {"message", status.message()},
                          {"hint", status.hint()}}}};
    AddWarnings(j, warnings);
    std::cout << DumpJson(j) << std::endl;
  }
  std::cerr << "pgkeep: error: " << status.message() << "\n";
  if (!status.hint().empty()) std::cerr << "HINT: " << status.hint() << "\n";
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenConfiguredStorage(Env& env, const RepositoryConfig& config) {
  if (config.type == "posix")
    return std::unique_ptr<Storage>(std::make_unique<PosixStorage>(env, config.path));
  return Status::Error(ErrorCode::kConfig,
                       "repository.type \"" + config.type + "\" is not available in this build",
                       "use type = \"posix\"");
}

int RunCli(int argc, char** argv, CommandContext ctx) {
  CLI::App app{"pgkeep keeps PostgreSQL data safe and proves it.", "pgkeep"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pgkeep 0.1.0 (repository format 1)");
  std::string output = "text";
  int lock_wait = 0;
  app.add_option("--config", ctx.config_path,
                 "configuration file (default: $PGKEEP_CONFIG, else /etc/pgkeep/pgkeep.toml)");
  app.add_option("--output", output, "output format")->check(CLI::IsMember({"text", "json"}));
  app.add_option("--lock-wait", lock_wait, "seconds to wait for a conflicting lock (default 0)")
      ->check(CLI::NonNegativeNumber);

  auto* init = app.add_subcommand("init", "create the repository (keys included)");

  StoreArgs store_args;
  auto* store = app.add_subcommand("store", "store files, directories or standard input (-) as a snapshot");
  store->add_option("paths", store_args.paths, "files, directories, or - for standard input")->required();
  store->add_option("--name", store_args.stdin_name, "name recorded for standard input");
  store->add_option("--label", store_args.label, "free-text label for the snapshot");
  store->add_option("--db", store_args.db, "file the snapshot under this database (its retention applies)");
  store->add_flag("--allow-empty", store_args.allow_empty, "store an empty standard input instead of refusing it");

  LoadArgs load_args;
  auto* load = app.add_subcommand("load", "write files of a snapshot back out");
  load->add_option("snapshot", load_args.snapshot, "snapshot id or \"latest\"")->required();
  load->add_option("--file", load_args.files, "only this file (repeatable)");
  load->add_option("--to", load_args.to_dir, "directory to write into (files must not exist)");
  load->add_flag("--stdout", load_args.to_stdout, "write the one selected file to standard output");

  BackupArgs backup_args;
  auto* backup = app.add_subcommand("backup", "back up a configured database (physical: files + WAL; logical: pg_dump)");
  backup->add_option("--db", backup_args.db, "the NAME of a [database.NAME] section")->required();
  backup->add_option("--type", backup_args.type, "full or incr (physical; default full), logical (the default for method = \"logical\")")
      ->check(CLI::IsMember({"full", "incr", "logical"}));
  backup->add_option("--label", backup_args.label, "free-text label");
  backup->add_flag("--pin", backup_args.pin, "pin the backup: retention never expires it until unpinned");
  backup->add_option("--note", backup_args.note, "note stored with the pin (with --pin)");

  std::string status_db;
  auto* status = app.add_subcommand("status", "health: exit 0 when healthy, 1 when not, with every reason");
  status->add_option("--db", status_db, "only this database");

  bool expire_dry_run = false;
  auto* expire = app.add_subcommand("expire", "apply backup retention, then collect garbage");
  expire->add_flag("--dry-run", expire_dry_run, "show what would be expired and freed; change nothing");

  PinArgs pin_args;
  auto* pin = app.add_subcommand("pin", "keep a backup whatever the retention rules say");
  pin->add_option("backup", pin_args.snapshot, "backup id or \"latest\"")->required();
  pin->add_option("--until", pin_args.until, "until this date (YYYY-MM-DD, UTC); default: until unpinned");
  pin->add_option("--note", pin_args.note, "why (e.g. \"before deploy 2026-11-23\")");
  PinArgs unpin_args;
  unpin_args.unpin = true;
  auto* unpin = app.add_subcommand("unpin", "let retention rules decide about a pinned backup again");
  unpin->add_option("backup", unpin_args.snapshot, "backup id")->required();

  RestoreArgs restore_args;
  auto* restore = app.add_subcommand("restore", "restore a physical backup into a data directory, or a logical one into a new database");
  restore->add_option("--db", restore_args.db, "the database whose backup to restore");
  restore->add_option("--backup", restore_args.options.backup, "backup id or \"latest\" (default)");
  restore->add_option("--from-file", restore_args.options.from_file,
                      "restore this pg_dump file (custom, tar or plain SQL) instead of a backup");
  restore->add_option("--into-database", restore_args.options.into_database, "logical: new database to create");
  restore->add_option("--pgdata", restore_args.physical.pgdata, "physical: empty or new data directory to restore into");
  restore->add_option("--target-time", restore_args.physical.target_time,
                      "physical: recover to this time (\"2026-11-23 14:05:00+00\"; UTC without a zone)");
  restore->add_option("--target-lsn", restore_args.physical.target_lsn, "physical: recover to this LSN");
  restore->add_option("--target-name", restore_args.physical.target_name,
                      "physical: recover to this restore point (pg_create_restore_point)");
  restore->add_option("--target", restore_args.physical.target,
                      "physical: latest (all archived WAL, the default) or immediate (end of the backup)")
      ->check(CLI::IsMember({"latest", "immediate"}));
  restore->add_flag("--start", restore_args.physical.start,
                    "physical: start PostgreSQL and wait until recovery ends");
  restore->add_option("--port", restore_args.physical.port, "physical: port for the restored server")
      ->check(CLI::Range(1, 65535));
  restore->add_option("--target-timeline", restore_args.physical.target_timeline,
                      "physical: follow this timeline (a number, or \"latest\": the highest one); default: the "
                      "timeline of the newest backup, never a restored copy's");
  restore
      ->add_option_function<std::string>(
          "--archive-mode",
          [&restore_args](const std::string& mode) {
            restore_args.physical.archive_mode = mode == "off" ? PhysicalRestoreOptions::ArchiveMode::kOff
                                                               : PhysicalRestoreOptions::ArchiveMode::kPreserve;
          },
          "physical: off = the restored cluster does not archive; preserve = it archives into the repository "
          "(default: preserve when restoring in place of the configured pgdata, off for a copy elsewhere)")
      ->check(CLI::IsMember({"off", "preserve"}));
  restore->add_flag_callback(
      "--no-archive",
      [&restore_args] { restore_args.physical.archive_mode = PhysicalRestoreOptions::ArchiveMode::kOff; },
      "physical: the same as --archive-mode off");
  std::vector<std::string> tablespace_map;
  restore->add_option("--tablespace-map", tablespace_map,
                      "physical: OID=DIR puts that tablespace in DIR instead of where it was (repeatable)");
  restore->add_option("--start-timeout", restore_args.physical.start_timeout_seconds,
                      "physical: seconds to wait for recovery to end (default 3600)")
      ->check(CLI::PositiveNumber);
  restore->add_option("--schema", restore_args.options.schemas, "only this schema (repeatable)");
  restore->add_option("--table", restore_args.options.tables, "only this table (repeatable)");
  restore->add_option("--target-conninfo", restore_args.options.target_conninfo,
                      "server to restore into (default: the database's conninfo)");
  restore->add_flag("--clean", restore_args.options.clean, "drop and recreate an existing target database");
  restore->add_option("--jobs", restore_args.options.jobs, "parallel jobs: pg_restore jobs (default 2), or file writers for --pgdata (default 4)")
      ->check(CLI::Range(1, 64));
  restore->add_option("--temp-dir", restore_args.options.temp_dir, "where to stage the dump (default $TMPDIR)");

  std::string export_id, export_file;
  auto* exp = app.add_subcommand("export", "write a logical backup as a standard pg_dump file");
  exp->add_option("backup", export_id, "backup id or \"latest\"")->required();
  exp->add_option("--file", export_file, "file to create (never overwritten)")->required();
  std::string export_db;
  exp->add_option("--db", export_db, "with \"latest\": the newest backup of this database");

  std::string list_db;
  std::string wal_db, wal_path, wal_name, wal_dest;
  auto* wal_push = app.add_subcommand("wal-push", "archive one WAL file (archive_command = '... wal-push --db NAME %p')");
  wal_push->add_option("--db", wal_db, "the NAME of a [database.NAME] section")->required();
  wal_push->add_option("path", wal_path, "the WAL file (%p)")->required();
  auto* wal_fetch = app.add_subcommand("wal-fetch", "restore one WAL file (restore_command); exit 1 when absent");
  wal_fetch->add_option("--db", wal_db, "the NAME of a [database.NAME] section")->required();
  wal_fetch->add_option("name", wal_name, "the WAL file name (%f)")->required();
  wal_fetch->add_option("dest", wal_dest, "where to write it (%p)")->required();
  std::string check_db;
  int check_timeout = 60;
  auto* check = app.add_subcommand("check", "connection, WAL settings, and a WAL segment archived end to end");
  check->add_option("--db", check_db, "the NAME of a [database.NAME] section")->required();
  check->add_option("--timeout", check_timeout, "seconds to wait for the segment (default 60)")
      ->check(CLI::PositiveNumber);

  auto* list = app.add_subcommand("list", "list snapshots: id, kind, database, start/stop time, sizes");
  list->add_option("--db", list_db, "only backups of this database");
  std::string info_id;
  auto* info = app.add_subcommand("info", "show one snapshot and its files");
  info->add_option("snapshot", info_id, "snapshot id or \"latest\"")->required();
  bool read_data = false;
  auto* verify = app.add_subcommand("verify", "check repository integrity");
  verify->add_flag("--read-data", read_data, "also read and check every stored byte");
  bool repair = false;
  verify->add_flag("--repair", repair,
                   "rebuild the index from the packs (exclusive lock), then verify; with --read-data damaged chunks are left out");
  int subset_percent = 100;
  verify->add_option("--subset", subset_percent, "with --read-data: read only this percentage of packs, chosen at random")
      ->check(CLI::Range(1, 100));

  bool json = false;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--output=json" || (arg == "--output" && i + 1 < argc && std::string(argv[i + 1]) == "json"))
        json = true;
    }
    PrintError(Status::Error(ErrorCode::kUsage, e.what(), "see \"pgkeep --help\""), json);
    return ExitCodeFor(ErrorCode::kUsage);
  }
  json = output == "json";
  ctx.lock_wait = std::chrono::seconds(lock_wait);
  WarningLog warnings;
  ctx.warn = [&warnings](const std::string& message) { warnings.Add(message); };

  try {
    // Labels and notes are stored as JSON text in the repository: refuse
    // what JSON cannot hold now, not after pg_dump has run for an hour.
    for (const auto& [text, option] : {std::pair{&store_args.label, "--label"}, {&backup_args.label, "--label"},
                                       {&backup_args.note, "--note"}, {&pin_args.note, "--note"}})
      if (!IsValidUtf8(*text))
        throw CommandError{Status::Error(ErrorCode::kUsage, std::string(option) + " is not valid UTF-8",
                                         "labels and notes are stored as text; pass them in UTF-8")};
    CommandOutput out;
    if (init->parsed()) out = RunInit(ctx);
    else if (store->parsed()) out = RunStore(ctx, store_args);
    else if (load->parsed()) out = RunLoad(ctx, load_args);
    else if (list->parsed()) out = RunList(ctx, list_db);
    else if (backup->parsed()) out = RunBackup(ctx, backup_args);
    else if (restore->parsed()) {
      restore_args.jobs_given = restore->get_option("--jobs")->count() > 0;
      for (const auto& m : tablespace_map) {
        auto eq = m.find('=');
        restore_args.physical.tablespace_map[m.substr(0, eq)] = eq == std::string::npos ? "" : m.substr(eq + 1);
      }
      out = RunRestore(ctx, restore_args);
    }
    else if (wal_push->parsed()) out = RunWalPush(ctx, wal_db, wal_path);
    else if (wal_fetch->parsed()) out = RunWalFetch(ctx, wal_db, wal_name, wal_dest);
    else if (check->parsed()) out = RunCheck(ctx, check_db, check_timeout);
    else if (exp->parsed()) out = RunExport(ctx, export_id, export_file, export_db);
    else if (expire->parsed()) out = RunExpireCommand(ctx, expire_dry_run);
    else if (status->parsed()) out = RunStatus(ctx, status_db);
    else if (pin->parsed()) out = RunPin(ctx, pin_args);
    else if (unpin->parsed()) out = RunPin(ctx, unpin_args);
    else if (info->parsed()) out = RunInfo(ctx, info_id);
    else if (verify->parsed()) out = RunVerify(ctx, read_data, subset_percent, repair);
    bool to_stdout = load->parsed() && load_args.to_stdout;
    std::vector<std::string> warned = warnings.Take();
    PrintWarnings(warned, json);
    AddWarnings(out.json, warned);
    if (json) {
      // With data on stdout, the JSON report goes to stderr.
      (to_stdout ? std::cerr : std::cout) << DumpJson(out.json) << std::endl;
    } else if (to_stdout || out.result != ErrorCode::kOk) {
      std::cerr << out.text;  // stdout carries data, or the text reports problems
    } else {
      std::cout << out.text;
    }
    return ExitCodeFor(out.result);
  } catch (const CommandError& e) {
    PrintError(e.status, json, warnings.Take());
    return wal_fetch->parsed() ? kWalFetchFailedExit : ExitCodeFor(e.status.code());
  } catch (const std::exception& e) {
    PrintError(Status::Error(ErrorCode::kInternal, std::string("internal error: ") + e.what(),
                             "please report this as a bug"),
               json, warnings.Take());
    return wal_fetch->parsed() ? kWalFetchFailedExit : ExitCodeFor(ErrorCode::kInternal);
  }
}

}  // namespace pgkeep
