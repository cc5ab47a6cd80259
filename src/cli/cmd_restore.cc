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
    auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "restore", true);
    const DatabaseConfig& db = DatabaseOrThrow(opened.config, args.db);
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

CommandOutput RunExport(const CommandContext& ctx, const std::string& id, const std::string& file,
                        const std::string& db) {
  auto opened = OpenRepositoryOrThrow(ctx, LockMode::kShared, "export", true);
  Snapshot s;
  if (!db.empty()) {
    (void)DatabaseOrThrow(opened.config, db);
    s = ValueOrThrow(FindLogicalSnapshot(*opened.repo, db, id));
  } else if (id == "latest") {
    // The newest logical backup of any database.
    auto all = ValueOrThrow(opened.repo->ListSnapshots());
    auto it = std::find_if(all.rbegin(), all.rend(), [](const Snapshot& x) { return x.kind == "logical"; });
    if (it == all.rend())
      throw CommandError{Status::Error(ErrorCode::kNotFound, "the repository holds no logical backup yet")};
    s = *it;
  } else {
    s = ValueOrThrow(opened.repo->ReadSnapshot(id));
  }
  ThrowIfError(ExportLogicalDump(*opened.repo, s, file));
  CommandOutput out;
  out.json = {{"ok", true}, {"backup", s.id}, {"file", file}, {"bytes", s.stats.bytes}};
  out.text = "exported " + s.id + " to " + file + " (" + FormatBytes(s.stats.bytes) +
             ", pg_dump custom format: pg_restore reads it)\n";
  return out;
}

}  // namespace pgkeep
