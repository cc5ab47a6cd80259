// wal-push (archive_command) and wal-fetch (restore_command): run by
// PostgreSQL once per WAL file, so they skip the lock and the index and take
// the key from the host's key cache.
#include <cstdio>

#include "cli/commands.h"
#include "wal/wal_archive.h"

namespace pgkeep {

CommandOutput RunWalPush(const CommandContext& ctx, const std::string& db,
                         const std::string& path) {
  auto opened = OpenRepositoryOrThrow(ctx, std::nullopt, "", false);
  const DatabaseConfig& config = DatabaseOrThrow(opened.config, db);
  if (config.method != "physical")
    throw CommandError{Status::Error(
        ErrorCode::kUsage, "database \"" + db + "\" has method = \"" + config.method + "\"",
        "WAL archiving is for method = \"physical\" databases")};
  auto pushed = ValueOrThrow(PushWalFile(*ctx.env, *opened.repo, db, path,
                                         opened.config.repository.wal_compression_level));
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  CommandOutput out;
  out.json = {{"ok", true},
              {"file", name},
              {"already_archived", pushed.already_archived},
              {"replaced_damaged", pushed.replaced_damaged},
              {"bytes", pushed.bytes},
              {"stored_bytes", pushed.stored_bytes}};
  // Silent on success, like cp: the server log gets a line only for problems.
  if (pushed.replaced_damaged)
    out.text = "warning: the archived copy of " + name + " was damaged and has been replaced\n";
  return out;
}

CommandOutput RunWalFetch(const CommandContext& ctx, const std::string& db, const std::string& name,
                          const std::string& dest) {
  auto opened = OpenRepositoryOrThrow(ctx, std::nullopt, "", false);
  (void)DatabaseOrThrow(opened.config, db);
  Status fetched = FetchWalFile(*ctx.env, *opened.repo, db, name, dest);
  // PostgreSQL asks for files that do not exist yet (the next segment, a
  // newer timeline's history) to learn where recovery ends: exit 1, as
  // restore_command must, and no error code that reads like a failure.
  if (fetched.code() == ErrorCode::kNotFound) {
    CommandOutput out;
    out.json = {{"ok", false}, {"file", name}, {"found", false}};
    out.text = "WAL file " + name + " is not in the repository\n";
    out.result = ErrorCode::kCheckFailed;
    return out;
  }
  ThrowIfError(fetched);
  CommandOutput out;
  out.json = {{"ok", true}, {"file", name}, {"found", true}};
  return out;
}

}  // namespace pgkeep
