#include "backup/archiving.h"

#include <regex>

namespace pgkeep {

Result<ArchivingSettings> ReadArchivingSettings(PgConnection& pg) {
  auto r = pg.Query(
      "SELECT current_setting('wal_level'), current_setting('archive_mode'), "
      "current_setting('archive_command')");
  if (!r.ok()) return r.status();
  const auto& v = r->rows.at(0).values;
  return ArchivingSettings{v[0].value_or(""), v[1].value_or(""), v[2].value_or("")};
}

Status CheckArchivingSettings(const ArchivingSettings& s, const std::string& db_name,
                              const std::string& suggested_command) {
  const std::string settings_hint =
      "in postgresql.conf: wal_level = replica, archive_mode = on, "
      "archive_command = '" +
      suggested_command + "'";
  if (s.wal_level == "minimal")
    return Status::Error(
        ErrorCode::kCheckFailed,
        "wal_level is minimal on database \"" + db_name + "\": WAL cannot rebuild a base backup",
        settings_hint + ", then restart PostgreSQL");
  if (s.archive_mode != "on" && s.archive_mode != "always")
    return Status::Error(ErrorCode::kCheckFailed,
                         "archive_mode is off on database \"" + db_name +
                             "\": without archived WAL a physical backup cannot be restored",
                         settings_hint + ", then restart PostgreSQL");
  if (s.archive_command.empty() || s.archive_command == "(disabled)")
    return Status::Error(ErrorCode::kCheckFailed,
                         "archive_command is not set on database \"" + db_name + "\"",
                         settings_hint + ", then SELECT pg_reload_conf()");
  // "wal-push", then "--db NAME" or "--db=NAME" as whole words.
  std::regex calls_us("wal-push(\\s+\\S+)*\\s+--db(\\s+|=)['\"]?" +
                      std::regex_replace(db_name, std::regex("[-]"), "\\-") + "['\"]?(\\s|$)");
  if (!std::regex_search(s.archive_command, calls_us))
    return Status::Error(
        ErrorCode::kCheckFailed,
        "archive_command on database \"" + db_name +
            "\" does not archive to pgkeep for this database: " + s.archive_command,
        "set archive_command = '" + suggested_command + "', then SELECT pg_reload_conf()");
  return Status::Ok();
}

}  // namespace pgkeep
