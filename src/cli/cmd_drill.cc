// drill: parses, runs RunDrill (drill/drill.h) per database, stores each
// report in the repository and renders it; drill --history lists them.
#include <algorithm>
#include <atomic>

#include "cli/commands.h"
#include "common/file_io.h"
#include "config/secrets.h"
#include "drill/drill_report.h"

namespace pgkeep {

namespace {

CommandOutput RunHistory(const CommandContext& ctx, const DrillArgs& args) {
  auto opened = OpenRepositoryOrThrow(ctx, std::nullopt, "drill --history", false);
  if (!args.db.empty()) (void)DatabaseOrThrow(opened.config, args.db);
  std::vector<DrillResult> drills = ValueOrThrow(DrillHistory(*opened.repo, args.db, args.limit));
  CommandOutput out;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : drills) list.push_back(DrillToJson(d));
  out.json = {{"ok", true}, {"drills", list}};
  if (drills.empty()) {
    out.text = "no drill reports" + (args.db.empty() ? "" : " for database \"" + args.db + "\"") +
               " in the repository\n";
    return out;
  }
  out.text =
      "ID                         DATABASE         METHOD    RESULT  RTO       RPO       BACKUP\n";
  for (const auto& d : drills) {
    char line[512];
    std::snprintf(
        line, sizeof line, "%-26s %-16s %-9s %-7s %-9s %-9s %s\n", d.id.c_str(), d.database.c_str(),
        d.method.c_str(), d.passed ? "passed" : "FAILED",
        (FormatDrillSeconds(d.rto.seconds) + (d.rto.judged && !d.rto.met ? "!" : "")).c_str(),
        (FormatDrillSeconds(d.rpo.seconds) + (d.rpo.judged && !d.rpo.met ? "!" : "")).c_str(),
        d.backup.c_str());
    out.text += line;
    for (const auto& f : d.failures) out.text += "    " + f + "\n";
  }
  return out;
}

}  // namespace

CommandOutput RunDrillCommand(const CommandContext& ctx, const DrillArgs& args) {
  if (args.history) return RunHistory(ctx, args);
  Config config = LoadConfigOrThrow(ctx);
  std::vector<const DatabaseConfig*> databases;
  if (!args.db.empty()) {
    databases.push_back(&DatabaseOrThrow(config, args.db));
  } else {
    for (const auto& [name, db] : config.databases) databases.push_back(&db);
  }
  if (databases.empty())
    throw CommandError{Status::Error(ErrorCode::kUsage, "no database is configured",
                                     "add a [database.NAME] section")};
  const bool named_backup = !args.options.backup.empty() && args.options.backup != "latest";
  if (!args.html.empty() && databases.size() > 1 && !named_backup)
    throw CommandError{Status::Error(ErrorCode::kUsage, "--html writes one drill's report",
                                     "choose the database with --db")};
  for (const DatabaseConfig* db : databases)  // before anything is opened or started
    ThrowIfError(CheckDrillRequest(*ctx.env, *db, args.options));
  if (!args.html.empty()) {
    // Where the report goes is checked first: a drill may take hours.
    const size_t slash = args.html.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : args.html.substr(0, slash + 1);
    auto info = ctx.env->Stat(dir);
    if (!info.ok() || info->type != FileType::kDirectory)
      throw CommandError{Status::Error(
          ErrorCode::kUsage, "--html " + args.html + ": \"" + dir + "\" is not a directory",
          "write the report into an existing directory")};
  }

  static std::atomic<int> interrupted{0};
  ctx.env->CatchInterrupts(&interrupted);
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "drill", true);
  DrillOptions options = args.options;
  options.config_path = opened.config.source;
  options.progress = ctx.progress;
  options.cancel = &interrupted;
  // Every secret is kept from every child, but for the physical copy's
  // server: its restore_command (pgkeep wal-fetch) reads the repository
  // password (and S3 credentials) from their variables.
  options.child_env_drop = SecretEnvNames(opened.config);
  options.restore_command_env = RepositoryEnvNames(opened.config.repository);
  options.from_copy = opened.config.repository.copy_name;
  options.databases = &opened.config.databases;
  // A backup named by id is found before anything starts: a wrong id is a
  // usage error that leaves no failed drill behind, and without --db it
  // names the database to drill.
  if (!options.backup.empty() && options.backup != "latest") {
    auto listed = ValueOrThrow(opened.repo->ListSnapshots());
    auto it = std::find_if(listed.snapshots.begin(), listed.snapshots.end(),
                           [&](const Snapshot& s) { return s.id == options.backup; });
    if (it == listed.snapshots.end())
      throw CommandError{Status::Error(ErrorCode::kNotFound,
                                       "no backup \"" + options.backup + "\" in the repository",
                                       "pgkeep list shows the backups")};
    const std::string owner = SnapshotDatabase(*it);
    if (!args.db.empty() && owner != args.db)
      throw CommandError{
          Status::Error(ErrorCode::kUsage,
                        "backup " + options.backup + " is not a backup of database \"" + args.db +
                            "\"" + (owner.empty() ? "" : " (it is one of \"" + owner + "\")"),
                        "pgkeep list --db " + args.db + " shows its backups")};
    if (args.db.empty()) {
      databases = {&DatabaseOrThrow(opened.config, owner)};
      ThrowIfError(CheckDrillRequest(*ctx.env, *databases.front(), args.options));
    }
  }

  CommandOutput out;
  nlohmann::json list = nlohmann::json::array();
  bool all_passed = true;
  Status html_failed;
  for (const DatabaseConfig* db : databases) {
    if (interrupted.load() != 0) break;
    DrillResult r = ValueOrThrow(RunDrill(*ctx.env, *opened.repo, *ctx.pg, *db, options));
    Status stored = StoreDrillReport(*opened.repo, r);
    if (!stored.ok()) {
      r.failures.push_back("the report could not be stored in the repository: " + stored.message());
      r.passed = false;
    }
    if (!args.html.empty()) {
      Status written = WriteFileAtomically(*ctx.env, args.html, AsBytes(RenderDrillHtml(r)), 0644);
      if (!written.ok()) {
        // The report is in the repository; the command fails all the same.
        r.notes.push_back("--html: " + written.message());
        html_failed = written;
      }
    }
    all_passed = all_passed && r.passed;
    out.text += (out.text.empty() ? "" : "\n") + RenderDrillText(r);
    list.push_back(DrillToJson(r));
  }
  out.json = {{"ok", all_passed}, {"drills", list}};
  if (interrupted.load() != 0) {
    out.result = ErrorCode::kInterrupted;
    bool left = false;
    for (const auto& d : list) left = left || !d["cleanup_problems"].empty();
    out.text += left ? "interrupted: some of what the drill started is left (see cleanup above)\n"
                     : "interrupted: everything the drill started was removed\n";
  } else if (!all_passed) {
    out.result = ErrorCode::kCheckFailed;
  } else if (!html_failed.ok()) {
    out.text += "the HTML report could not be written: " + html_failed.message() + "\n";
    out.result = html_failed.code();
  }
  return out;
}

}  // namespace pgkeep
