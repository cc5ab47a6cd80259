#include "backup/archiving.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

const std::string kSuggested = "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db main %p";

ArchivingSettings WithCommand(const std::string& command) { return {"replica", "on", command}; }

TEST(CheckArchivingSettingsTest, AcceptsCommandsThatPushToThisDatabase) {
  for (const std::string& command : {
           kSuggested,
           std::string("/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db=main %p"),
           std::string("/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db 'main' %p"),
           std::string("/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db \"main\" %p"),
           std::string("/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db='main' %p"),
           std::string("pgkeep wal-push %p --db main"),
           std::string("pgkeep wal-push --db\tmain\t%p"),
       }) {
    SCOPED_TRACE(command);
    Status s = CheckArchivingSettings(WithCommand(command), "main", kSuggested);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
}

TEST(CheckArchivingSettingsTest, AcceptsEveryWalLevelButMinimalAndBothArchiveModes) {
  for (const auto& s : {ArchivingSettings{"replica", "on", kSuggested},
                        ArchivingSettings{"logical", "on", kSuggested},
                        ArchivingSettings{"replica", "always", kSuggested}}) {
    SCOPED_TRACE(s.wal_level + " " + s.archive_mode);
    Status st = CheckArchivingSettings(s, "main", kSuggested);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

TEST(CheckArchivingSettingsTest, AcceptsDatabaseNamesWithADash) {
  const std::string suggested =
      "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db app-prod %p";
  Status s = CheckArchivingSettings(WithCommand(suggested), "app-prod", suggested);
  EXPECT_TRUE(s.ok()) << s.ToString();

  for (const std::string command :
       {"/usr/bin/pgkeep wal-push --db app-prodx %p", "/usr/bin/pgkeep wal-push --db app %p",
        "/usr/bin/pgkeep wal-push --db appXprod %p"}) {
    SCOPED_TRACE(command);
    Status st = CheckArchivingSettings(WithCommand(command), "app-prod", suggested);
    EXPECT_EQ(st.code(), ErrorCode::kCheckFailed);
  }
  // And the other way round: "app" is not satisfied by "--db app-prod".
  Status other = CheckArchivingSettings(WithCommand(suggested), "app", suggested);
  EXPECT_EQ(other.code(), ErrorCode::kCheckFailed);
}

struct RejectCase {
  ArchivingSettings settings;
  std::string message;  // expected exactly
  std::string hint;     // expected exactly
};

TEST(CheckArchivingSettingsTest, NamesTheFirstProblemWithAHint) {
  const std::string conf_hint =
      "in postgresql.conf: wal_level = replica, archive_mode = on, archive_command = '" +
      kSuggested + "'";
  const RejectCase cases[] = {
      {{"minimal", "on", kSuggested},
       "wal_level is minimal on database \"main\": WAL cannot rebuild a base backup",
       conf_hint + ", then restart PostgreSQL"},
      // wal_level is checked before archive_mode.
      {{"minimal", "off", ""},
       "wal_level is minimal on database \"main\": WAL cannot rebuild a base backup",
       conf_hint + ", then restart PostgreSQL"},
      {{"replica", "off", kSuggested},
       "archive_mode is off on database \"main\": without archived WAL a physical backup cannot be "
       "restored",
       conf_hint + ", then restart PostgreSQL"},
      {{"replica", "on", ""},
       "archive_command is not set on database \"main\"",
       conf_hint + ", then SELECT pg_reload_conf()"},
      {{"replica", "on", "(disabled)"},
       "archive_command is not set on database \"main\"",
       conf_hint + ", then SELECT pg_reload_conf()"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.settings.wal_level + "/" + c.settings.archive_mode + "/" +
                 c.settings.archive_command);
    Status s = CheckArchivingSettings(c.settings, "main", kSuggested);
    EXPECT_EQ(s.code(), ErrorCode::kCheckFailed);
    EXPECT_EQ(s.message(), c.message);
    EXPECT_EQ(s.hint(), c.hint);
  }
}

TEST(CheckArchivingSettingsTest, RejectsCommandsThatDoNotPushThisDatabase) {
  for (const std::string command : {
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db mainx %p",
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db other %p",
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db=mainx %p",
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push --db xmain %p",
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-fetch --db main %f %p",
           "/usr/bin/pgkeep --config /etc/pgkeep.toml wal-push %p",
           "cp %p /mnt/archive/%f",
           "test ! -f /mnt/archive/%f && cp %p /mnt/archive/%f",
       }) {
    SCOPED_TRACE(command);
    Status s = CheckArchivingSettings(WithCommand(command), "main", kSuggested);
    EXPECT_EQ(s.code(), ErrorCode::kCheckFailed);
    EXPECT_EQ(
        s.message(),
        "archive_command on database \"main\" does not archive to pgkeep for this database: " +
            command);
    EXPECT_EQ(s.hint(), "set archive_command = '" + kSuggested + "', then SELECT pg_reload_conf()");
  }
}

TEST(CheckArchivingSettingsTest, ToStringShowsMessageAndHint) {
  Status s = CheckArchivingSettings(WithCommand("cp %p /mnt/archive/%f"), "main", kSuggested);
  EXPECT_EQ(
      s.ToString(),
      "archive_command on database \"main\" does not archive to pgkeep for this database: cp %p "
      "/mnt/archive/%f\nHINT: set archive_command = '" +
          kSuggested + "', then SELECT pg_reload_conf()");
}

}  // namespace
}  // namespace pgkeep
