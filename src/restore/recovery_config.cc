// Step 4 of a physical restore: recovery.signal and the recovery settings.
#include <regex>
#include <sstream>

#include "common/file_io.h"
#include "restore/physical_restore_steps.h"
#include "wal/archive_command.h"

namespace pgkeep {

namespace {

constexpr char kSettingsMarker[] = "# Added by pgkeep restore";

}  // namespace

std::string WithoutEarlierRecoverySettings(const std::string& text) {
  static const std::regex recovery_key(R"(^\s*(restore_command|recovery_target\w*)\s*=)");
  std::istringstream in(text);
  std::string out, line;
  bool in_pgkeep_block = false;
  while (std::getline(in, line)) {
    if (line.rfind(kSettingsMarker, 0) == 0)
      in_pgkeep_block = true;
    else if (line.find_first_not_of(" \t") == std::string::npos)
      in_pgkeep_block = false;
    if (in_pgkeep_block || std::regex_search(line, recovery_key)) continue;
    out += line + "\n";
  }
  return out;
}

namespace physical_restore_internal {

// A postgresql.conf string: quotes doubled, backslashes too (the lexer reads
// escapes in quoted strings, as ALTER SYSTEM knows).
std::string ConfQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

Status WriteRecoverySettings(Env& env, const PhysicalRestoreOptions& o, const DatabaseConfig& db,
                             const Owner& owner, const PhysicalRestoreResult& result,
                             const std::string& target_line, int64_t now) {
  const Snapshot& backup = result.backup;
  std::string conf = o.pgdata + "/postgresql.auto.conf";
  auto restored = ReadWholeFile(env, conf);
  if (!restored.ok() && restored.status().code() != ErrorCode::kNotFound) return restored.status();
  std::ostringstream text;
  text << WithoutEarlierRecoverySettings(restored.ok() ? std::string(AsString(*restored)) : "");
  text << "\n"
       << kSettingsMarker << " of backup " << backup.id << " at " << FormatMicrosUtc(now * 1000000)
       << "\nrestore_command = "
       << ConfQuote(PgkeepCommandLine(
              env, o.config_path, "wal-fetch", db.name,
              (o.from_copy.empty() ? "" : "--from " + o.from_copy + " ") + "%f %p"))
       << "\n";
  if (!target_line.empty()) text << target_line << "\nrecovery_target_action = 'promote'\n";
  // Explicit, never PostgreSQL's default "latest": that follows the highest
  // timeline in the archive, which may be a restored copy's.
  text << "recovery_target_timeline = " << ConfQuote(result.recovery_timeline) << "\n";
  if (!result.archiving) text << "archive_mode = 'off'\n";
  if (o.port > 0) text << "port = " << o.port << "\n";
  std::string signal = o.pgdata + "/recovery.signal";
  PGKEEP_RETURN_IF_ERROR(WriteFileAtomically(env, conf, AsBytes(text.str()), 0600));
  PGKEEP_RETURN_IF_ERROR(WriteFileAtomically(env, signal, {}, 0600));
  for (const std::string& path : {conf, signal})
    if (owner.change) PGKEEP_RETURN_IF_ERROR(env.SetOwner(path, owner.uid, owner.gid));
  return Status::Ok();
}

}  // namespace physical_restore_internal

}  // namespace pgkeep
