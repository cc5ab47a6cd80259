// postgres/pg_connector.h — the one door to PostgreSQL: SQL connections, the
// replication protocol's base backup, and PostgreSQL's client programs.
//
// Operations (backup, restore, monitor, check) take a PgConnector instead of
// calling libpq or starting pg_dump themselves, so unit tests can script a
// server (tests/support/fake_pg.h, after pgBackRest's harnessPq). main()
// wires LibpqConnector; nothing outside postgres/ calls libpq.
//
// Thread safety: a connector keeps no state between calls; LibpqConnector may
// be used from any thread. What it returns is used by one thread at a time.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "common/stream.h"
#include "postgres/connection.h"
#include "postgres/pg_tools.h"

namespace pgkeep {

struct BaseBackupArchive {
  std::string name;                 // "base.tar" for the main data directory, "<oid>.tar" else
  std::string tablespace_location;  // empty for the main data directory
};

// A base backup in progress (postgres/replication.h has the protocol): the
// server's start position, then one tar archive per tablespace, then the end
// position. Destroying it before Finish abandons the backup on the server.
class BaseBackupSource {
 public:
  virtual ~BaseBackupSource() = default;
  virtual uint64_t system_identifier() const = 0;
  // The start position as the server prints it ("0/3000028").
  virtual const std::string& start_position() const = 0;
  virtual uint32_t timeline() const = 0;
  // Advances to the next archive (skipping unread data of the current one);
  // nullopt once every archive was sent.
  virtual Result<std::optional<BaseBackupArchive>> NextArchive() = 0;
  // The current archive's tar bytes; ends (Read returns 0) where it ends.
  virtual ByteSource& Data() = 0;
  // After the last archive: the end position, as printed.
  virtual Result<std::string> Finish() = 0;
};

// One run of a PostgreSQL client program (pg_dump, pg_restore, psql).
struct PgToolCommand {
  std::vector<std::string> argv;      // argv[0]: the program's path (from FindTool)
  bool capture_stdout = true;         // else its output is discarded
  std::vector<std::string> drop_env;  // secrets the program must not inherit (SecretEnvNames)
};

class PgToolProcess {
 public:
  // Destroying a process that still runs kills it.
  virtual ~PgToolProcess() = default;
  // Its standard output (when captured); ends when the program closes it.
  virtual ByteSource& Stdout() = 0;
  // Waits for the program; its exit code (128 + signal if killed).
  virtual int Wait() = 0;
  // Wait, stopping the program (SIGTERM, then SIGKILL after 10 s) once
  // `*cancel` is non-zero; *cancelled says it was. Programs that cannot be
  // stopped (fakes) just wait.
  virtual int WaitOrCancel(const std::atomic<int>* /*cancel*/, bool* cancelled) {
    *cancelled = false;
    return Wait();
  }
  virtual void Kill() = 0;
  // Why it failed, in one line (the first error on its standard error); after Wait.
  virtual std::string ErrorSummary() const = 0;
};

class PgConnector {
 public:
  virtual ~PgConnector() = default;

  // An SQL connection; see ConnectPostgres (postgres/connection.h) for the
  // conninfo, `what` and the errors.
  virtual Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                        const std::string& what,
                                                        int connect_timeout_seconds = 10) = 0;

  // Connects in replication mode and starts BASE_BACKUP with `label` (fast
  // checkpoint, no WAL). kPostgres with the server's message on failure.
  virtual Result<std::unique_ptr<BaseBackupSource>> StartBaseBackup(const std::string& conninfo,
                                                                    const std::string& what,
                                                                    const std::string& label) = 0;

  // A client program `name` of at least `server_major`; see FindPgTool.
  virtual Result<PgTool> FindTool(const std::string& name, int server_major,
                                  const std::string& bin_dir) = 0;

  // Starts a program FindTool returned. kTool if it cannot be started. The
  // program gets SIGTERM if the calling thread ends first (pgkeep killed),
  // so wait for it on the thread that started it.
  virtual Result<std::unique_ptr<PgToolProcess>> RunTool(const PgToolCommand& command) = 0;
};

// The real one: libpq and the system's PostgreSQL programs, which it starts
// through `env` (Env::StartProcess).
class LibpqConnector final : public PgConnector {
 public:
  explicit LibpqConnector(Env& env) : env_(env) {}
  Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                const std::string& what,
                                                int connect_timeout_seconds = 10) override;
  Result<std::unique_ptr<BaseBackupSource>> StartBaseBackup(const std::string& conninfo,
                                                            const std::string& what,
                                                            const std::string& label) override;
  Result<PgTool> FindTool(const std::string& name, int server_major,
                          const std::string& bin_dir) override;
  Result<std::unique_ptr<PgToolProcess>> RunTool(const PgToolCommand& command) override;

 private:
  Env& env_;
};

}  // namespace pgkeep
