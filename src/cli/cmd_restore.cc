#include <algorithm>
#include <cstdio>

#include "cli/commands.h"
#include "restore/logical_restore.h"

namespace pgkeep {

CommandOutput RunRestore(const CommandContext& ctx, const RestoreArgs& args) {
  LogicalRestoreOptions options = args.options;
  CommandOutput out;
  LogicalRestoreReport report;
  if (!options.from_file.empty()) {
    // A file needs no repository; the database, if named, supplies the server.
    Config config = LoadConfigOrThrow(ctx);
    const DatabaseConfig* db = args.db.empty() ? nullptr : &DatabaseOrThrow(config, args.db);
    if (!db && options.target_conninfo.empty())
      throw CommandError{Status::Error(ErrorCode::kUsage, "restoring a file needs a server",
                                       "pass --db NAME or --target-conninfo CONNINFO")};
    report = ValueOrThrow(RunLogicalRestore(nullptr, db, options));
  } else {
    if (args.db.empty())
      throw CommandError{Status::Error(ErrorCode::kUsage, "--db NAME is required",
                                       "or restore a dump file with --from-file PATH")};
    auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "restore", false);
    const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
    ThrowIfError(opened.repo->LoadIndex());
    report = ValueOrThrow(RunLogicalRestore(opened.repo.get(), &db, options));
  }

  nlohmann::json tables = nlohmann::json::array();
  char line[200];
  std::snprintf(line, sizeof line, "  %-40s %12s %12s\n", "TABLE", "BACKUP", "RESTORED");
  std::string table_text = line;
  for (const auto& t : report.tables) {
    tables.push_back({{"table", t.table},
                      {"expected_rows", t.expected ? nlohmann::json(*t.expected) : nlohmann::json()},
                      {"restored_rows", t.restored}});
    std::snprintf(line, sizeof line, "  %-40s %12s %12lld%s\n", t.table.c_str(),
                  t.expected ? std::to_string(*t.expected).c_str() : "-",
                  static_cast<long long>(t.restored),
                  t.expected && *t.expected != t.restored ? "  MISMATCH" : "");
    table_text += line;
  }
  out.json = {{"ok", report.mismatches.empty()},
              {"source", report.source},
              {"database", report.database},
              {"objects", report.objects},
              {"tables", tables},
              {"mismatches", report.mismatches},
              {"seconds", report.seconds}};
  std::snprintf(line, sizeof line, "%.1f s", report.seconds);
  out.text = "restored " + report.source + " into database \"" + report.database + "\" in " + line +
             (report.objects ? " (" + std::to_string(report.objects) + " objects)" : "") + "\n" + table_text;
  for (const auto& m : report.mismatches) out.text += "error: row count mismatch: " + m + "\n";
  if (!report.mismatches.empty()) out.result = ErrorCode::kCheckFailed;
  else if (!report.tables.empty() && report.source != options.from_file)
    out.text += "every table matches the row counts recorded at backup time\n";
  return out;
}


}  // namespace pgkeep
