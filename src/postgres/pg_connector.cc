#include "postgres/pg_connector.h"

#include "common/subprocess.h"
#include "postgres/replication.h"

namespace pgkeep {

namespace {

class SubprocessTool final : public PgToolProcess {
 public:
  explicit SubprocessTool(std::unique_ptr<Subprocess> p) : p_(std::move(p)) {}
  ByteSource& Stdout() override { return p_->Stdout(); }
  int Wait() override { return p_->Wait(); }
  int WaitOrCancel(const std::atomic<int>* cancel, bool* cancelled) override {
    return p_->WaitOrCancel(cancel, 10, cancelled);
  }
  void Kill() override { p_->Kill(); }
  std::string ErrorSummary() const override { return p_->ErrorSummary(); }

 private:
  std::unique_ptr<Subprocess> p_;
};

}  // namespace

Result<std::unique_ptr<PgConnection>> LibpqConnector::Connect(const std::string& conninfo,
                                                              const std::string& what,
                                                              int connect_timeout_seconds) {
  return ConnectPostgres(conninfo, what, connect_timeout_seconds);
}

Result<std::unique_ptr<BaseBackupSource>> LibpqConnector::StartBaseBackup(
    const std::string& conninfo, const std::string& what, const std::string& label) {
  auto stream = BaseBackupStream::Start(conninfo, what, label);
  if (!stream.ok()) return stream.status();
  return std::unique_ptr<BaseBackupSource>(std::move(*stream));
}

Result<PgTool> LibpqConnector::FindTool(const std::string& name, int server_major,
                                        const std::string& bin_dir) {
  return FindPgTool(name, server_major, bin_dir);
}

Result<std::unique_ptr<PgToolProcess>> LibpqConnector::RunTool(const PgToolCommand& command) {
  SubprocessOptions options{command.argv, {}, command.capture_stdout, ""};
  options.drop_env = command.drop_env;
  options.stop_with_parent = true;  // each caller waits for its tool
  auto proc = env_.StartProcess(options);
  if (!proc.ok()) return proc.status();
  return std::unique_ptr<PgToolProcess>(std::make_unique<SubprocessTool>(std::move(*proc)));
}

}  // namespace pgkeep
