// backup/archiving.h — is a cluster's WAL archiving wired to pgkeep?
//
// A physical backup is only restorable with the WAL written while it ran, so
// `backup` refuses to start, and `check` reports, when wal_level is minimal,
// archive_mode is off, or archive_command does not run `pgkeep ... wal-push
// --db NAME` for this database.
#pragma once

#include <string>

#include "common/status.h"
#include "postgres/connection.h"

namespace pgkeep {

struct ArchivingSettings {
  std::string wal_level;
  std::string archive_mode;
  std::string archive_command;
};

Result<ArchivingSettings> ReadArchivingSettings(PgConnection& pg);

// kCheckFailed naming the first problem, with a HINT giving the settings to
// use (`suggested_command` is the archive_command line to suggest).
Status CheckArchivingSettings(const ArchivingSettings& s, const std::string& db_name,
                              const std::string& suggested_command);

}  // namespace pgkeep
