// tests/support/fake_pg.h — a scripted PostgreSQL server for unit tests, after
// pgBackRest's harnessPq.
//
// A test lists, in order, what the code under test must do: connect, send
// these queries (answering each with rows or an error), start a base backup
// (whose tar archives it supplies, failing mid-stream if asked), run pg_dump.
// Anything the code does that is not the next expected step fails the test
// (ADD_FAILURE naming the step expected and the one received) and returns an
// error to the code; steps left over when the connector is destroyed fail it
// too. One ordered script covers every connection, which is what sequential
// code does.
//
// FindTool is not scripted: every program is found as /fake/bin/<name> of the
// server's major version unless the test makes it missing (MissingTool).
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "postgres/pg_connector.h"

namespace pgkeep::testing {

// Rows as text, NULL as std::nullopt.
PgResult Rows(std::vector<std::vector<std::optional<std::string>>> rows,
              std::string command_tag = "SELECT");
inline PgResult OneValue(std::optional<std::string> value) { return Rows({{std::move(value)}}); }

// A tar archive as BASE_BACKUP sends one (ustar, 512-byte blocks, two zero blocks at the end).
class TarBuilder {
 public:
  TarBuilder& File(const std::string& path, const std::string& data, uint32_t mode = 0600);
  TarBuilder& Directory(const std::string& path, uint32_t mode = 0700);
  Bytes Finish() const;

 private:
  void Header(const std::string& path, char type, uint32_t mode, uint64_t size);
  Bytes bytes_;
};

struct FakeArchive {
  BaseBackupArchive archive;
  Bytes tar;
};

// What StartBaseBackup hands out.
struct FakeBaseBackup {
  uint64_t system_identifier = 7000000000000000001;
  std::string start_position = "0/2000028";
  uint32_t timeline = 1;
  std::vector<FakeArchive> archives;
  std::string end_position = "0/2000100";
  // The server fails after this many bytes of archive `fail_archive`
  // (a connection lost mid-stream): Data().Read returns `failure`.
  std::optional<size_t> fail_after_bytes;
  size_t fail_archive = 0;
  Status failure =
      Status::Error(ErrorCode::kPostgres, "could not receive data from server: connection lost");
  // Finish fails with this instead of returning end_position.
  std::optional<Status> finish_failure;
};

// One run of a client program.
struct FakeToolRun {
  std::string program;                     // "pg_dump": argv[0] must end with it
  std::vector<std::string> argv_contains;  // each must be one of the arguments
  std::string output;                      // its standard output
  int exit_code = 0;
  std::string error_summary;  // its first error line
};

class FakePgConnector final : public PgConnector {
 public:
  explicit FakePgConnector(int server_version_num = 150004)
      : server_version_num_(server_version_num) {}
  ~FakePgConnector() override;

  // The script, in order. `sql` matches exactly, or as a prefix when it ends
  // in "...".
  FakePgConnector& ExpectConnect(const std::string& conninfo);
  FakePgConnector& ExpectConnectFailure(const std::string& conninfo, Status failure);
  FakePgConnector& ExpectQuery(const std::string& sql, PgResult result,
                               std::vector<std::string> params = {});
  FakePgConnector& ExpectQueryFailure(const std::string& sql, Status failure,
                                      std::string sqlstate = "");
  FakePgConnector& ExpectExec(const std::string& sql);
  FakePgConnector& ExpectExecFailure(const std::string& sql, Status failure);
  FakePgConnector& ExpectBaseBackup(FakeBaseBackup backup, std::string label_prefix = "pgkeep ");
  FakePgConnector& ExpectBaseBackupFailure(Status failure);
  FakePgConnector& ExpectTool(FakeToolRun run);

  // FindTool fails for `name` as the real one does when nothing is installed.
  void MissingTool(const std::string& name) { missing_tools_.push_back(name); }

  // Every program started, argv as given.
  const std::vector<std::vector<std::string>>& tool_runs() const { return tool_runs_; }
  // True when the whole script was used.
  bool Done() const { return steps_.empty(); }

  // PgConnector
  Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                const std::string& what,
                                                int connect_timeout_seconds = 10) override;
  Result<std::unique_ptr<BaseBackupSource>> StartBaseBackup(const std::string& conninfo,
                                                            const std::string& what,
                                                            const std::string& label) override;
  Result<PgTool> FindTool(const std::string& name, int server_major,
                          const std::string& bin_dir) override;
  Result<std::unique_ptr<PgToolProcess>> RunTool(const PgToolCommand& command) override;

  // For FakePgConnection.
  Result<PgResult> OnQuery(const std::string& sql, const std::vector<std::string>& params,
                           bool exec, std::string& sqlstate);

 private:
  enum class Kind { kConnect, kQuery, kExec, kBaseBackup, kTool };
  struct Step {
    Kind kind;
    std::string text;  // conninfo, sql, label prefix, program
    std::vector<std::string> params;
    PgResult result;
    std::optional<Status> failure;
    std::string sqlstate;
    std::optional<FakeBaseBackup> backup;
    std::optional<FakeToolRun> tool;
  };
  static std::string Describe(const Step& step);
  // The next step if it is of `kind`, else a test failure naming `received`.
  Result<Step> Next(Kind kind, const std::string& received);

  int server_version_num_;
  std::deque<Step> steps_;
  std::vector<std::string> missing_tools_;
  std::vector<std::vector<std::string>> tool_runs_;
};

}  // namespace pgkeep::testing
