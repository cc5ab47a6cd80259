#include "support/fake_pg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace pgkeep::testing {

namespace {

constexpr size_t kBlock = 512;

Status Unexpected(const std::string& what) {
  return Status::Error(ErrorCode::kInternal, "fake server: unexpected " + what);
}

bool SqlMatches(const std::string& expected, const std::string& sent) {
  if (expected.size() >= 3 && expected.compare(expected.size() - 3, 3, "...") == 0)
    return sent.compare(0, expected.size() - 3, expected, 0, expected.size() - 3) == 0;
  return expected == sent;
}

class FakeConnection final : public PgConnection {
 public:
  FakeConnection(FakePgConnector& server, std::string conninfo, int version)
      : server_(server), conninfo_(std::move(conninfo)), version_(version) {}
  Result<PgResult> Query(const std::string& sql, const std::vector<std::string>& params) override {
    return server_.OnQuery(sql, params, false, sqlstate_);
  }
  Status Exec(const std::string& sql) override {
    auto r = server_.OnQuery(sql, {}, true, sqlstate_);
    return r.ok() ? Status::Ok() : r.status();
  }
  int ServerVersionNum() const override { return version_; }
  std::string Describe() const override { return RedactConninfo(conninfo_); }
  std::string LastSqlState() const override { return sqlstate_; }

 private:
  FakePgConnector& server_;
  std::string conninfo_;
  int version_;
  std::string sqlstate_;
};

class FakeBaseBackupSource final : public BaseBackupSource {
 public:
  explicit FakeBaseBackupSource(FakeBaseBackup b) : b_(std::move(b)), data_(this) {}
  uint64_t system_identifier() const override { return b_.system_identifier; }
  const std::string& start_position() const override { return b_.start_position; }
  uint32_t timeline() const override { return b_.timeline; }
  Result<std::optional<BaseBackupArchive>> NextArchive() override {
    ++current_;
    pos_ = 0;
    if (static_cast<size_t>(current_) >= b_.archives.size())
      return std::optional<BaseBackupArchive>();
    return std::optional<BaseBackupArchive>(b_.archives[current_].archive);
  }
  ByteSource& Data() override { return data_; }
  Result<std::string> Finish() override {
    if (b_.finish_failure) return *b_.finish_failure;
    return b_.end_position;
  }

 private:
  class Reader final : public ByteSource {
   public:
    explicit Reader(FakeBaseBackupSource* s) : s_(s) {}
    Result<size_t> Read(uint8_t* buf, size_t n) override { return s_->ReadData(buf, n); }

   private:
    FakeBaseBackupSource* s_;
  };
  Result<size_t> ReadData(uint8_t* buf, size_t n) {
    if (current_ < 0 || static_cast<size_t>(current_) >= b_.archives.size()) return size_t{0};
    const Bytes& tar = b_.archives[current_].tar;
    size_t end = tar.size();
    bool failing = b_.fail_after_bytes && b_.fail_archive == static_cast<size_t>(current_);
    if (failing) end = std::min(end, *b_.fail_after_bytes);
    if (pos_ >= end) {
      if (failing) return b_.failure;
      return size_t{0};
    }
    size_t take = std::min(n, end - pos_);
    std::memcpy(buf, tar.data() + pos_, take);
    pos_ += take;
    return take;
  }

  FakeBaseBackup b_;
  long current_ = -1;
  size_t pos_ = 0;
  Reader data_;
};

class FakeProcess final : public PgToolProcess {
 public:
  explicit FakeProcess(FakeToolRun run) : run_(std::move(run)), source_(AsBytes(run_.output)) {}
  ByteSource& Stdout() override { return source_; }
  int Wait() override { return killed_ ? 128 + 9 : run_.exit_code; }
  void Kill() override { killed_ = true; }
  std::string ErrorSummary() const override { return run_.error_summary; }

 private:
  FakeToolRun run_;
  MemorySource source_;
  bool killed_ = false;
};

}  // namespace

PgResult Rows(std::vector<std::vector<std::optional<std::string>>> rows, std::string command_tag) {
  PgResult r;
  for (auto& row : rows) r.rows.push_back(PgRow{std::move(row)});
  r.command_tag = std::move(command_tag);
  return r;
}

void TarBuilder::Header(const std::string& path, char type, uint32_t mode, uint64_t size) {
  Bytes b(kBlock, 0);
  auto put = [&](size_t off, const std::string& s) {
    std::memcpy(b.data() + off, s.data(), s.size());
  };
  auto octal = [&](size_t off, size_t len, uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(len - 1),
                  static_cast<unsigned long long>(v));
    put(off, buf);
  };
  put(0, path);
  octal(100, 8, mode);
  octal(108, 8, 26);
  octal(116, 8, 26);
  octal(124, 12, size);
  octal(136, 12, 1700000000);
  b[156] = static_cast<uint8_t>(type);
  put(257, std::string("ustar\0"
                       "00",
                       8));
  put(148, "        ");
  unsigned sum = 0;
  for (uint8_t c : b) sum += c;
  char chk[8];
  std::snprintf(chk, sizeof chk, "%06o", sum);
  std::memcpy(b.data() + 148, chk, 7);
  Append(bytes_, b);
}

TarBuilder& TarBuilder::File(const std::string& path, const std::string& data, uint32_t mode) {
  Header(path, '0', mode, data.size());
  Append(bytes_, AsBytes(data));
  bytes_.resize(bytes_.size() + (kBlock - data.size() % kBlock) % kBlock, 0);
  return *this;
}

TarBuilder& TarBuilder::Directory(const std::string& path, uint32_t mode) {
  Header(path, '5', mode, 0);
  return *this;
}

Bytes TarBuilder::Finish() const {
  Bytes out = bytes_;
  out.resize(out.size() + 2 * kBlock, 0);
  return out;
}

FakePgConnector::~FakePgConnector() {
  for (const auto& s : steps_)
    ADD_FAILURE() << "fake server: expected but never happened: " << Describe(s);
}

FakePgConnector& FakePgConnector::ExpectConnect(const std::string& conninfo) {
  steps_.push_back(
      Step{Kind::kConnect, conninfo, {}, {}, std::nullopt, "", std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectConnectFailure(const std::string& conninfo,
                                                       Status failure) {
  steps_.push_back(
      Step{Kind::kConnect, conninfo, {}, {}, std::move(failure), "", std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectQuery(const std::string& sql, PgResult result,
                                              std::vector<std::string> params) {
  steps_.push_back(Step{Kind::kQuery, sql, std::move(params), std::move(result), std::nullopt, "",
                        std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectQueryFailure(const std::string& sql, Status failure,
                                                     std::string sqlstate) {
  steps_.push_back(Step{Kind::kQuery,
                        sql,
                        {},
                        {},
                        std::move(failure),
                        std::move(sqlstate),
                        std::nullopt,
                        std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectExec(const std::string& sql) {
  steps_.push_back(Step{Kind::kExec, sql, {}, {}, std::nullopt, "", std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectExecFailure(const std::string& sql, Status failure) {
  steps_.push_back(
      Step{Kind::kExec, sql, {}, {}, std::move(failure), "", std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectBaseBackup(FakeBaseBackup backup,
                                                   std::string label_prefix) {
  steps_.push_back(Step{Kind::kBaseBackup,
                        std::move(label_prefix),
                        {},
                        {},
                        std::nullopt,
                        "",
                        std::move(backup),
                        std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectBaseBackupFailure(Status failure) {
  steps_.push_back(
      Step{Kind::kBaseBackup, "", {}, {}, std::move(failure), "", std::nullopt, std::nullopt});
  return *this;
}
FakePgConnector& FakePgConnector::ExpectTool(FakeToolRun run) {
  std::string program = run.program;
  steps_.push_back(
      Step{Kind::kTool, program, {}, {}, std::nullopt, "", std::nullopt, std::move(run)});
  return *this;
}

std::string FakePgConnector::Describe(const Step& s) {
  switch (s.kind) {
    case Kind::kConnect:
      return "connect to \"" + s.text + "\"";
    case Kind::kQuery:
      return "query \"" + s.text + "\"";
    case Kind::kExec:
      return "exec \"" + s.text + "\"";
    case Kind::kBaseBackup:
      return "BASE_BACKUP";
    case Kind::kTool:
      return "run " + s.text;
  }
  return "?";
}

Result<FakePgConnector::Step> FakePgConnector::Next(Kind kind, const std::string& received) {
  if (steps_.empty()) {
    ADD_FAILURE() << "fake server: script ended, but the code did: " << received;
    return Unexpected(received);
  }
  if (steps_.front().kind != kind) {
    ADD_FAILURE() << "fake server: expected " << Describe(steps_.front())
                  << ", but the code did: " << received;
    return Unexpected(received);
  }
  Step s = std::move(steps_.front());
  steps_.pop_front();
  return s;
}

Result<std::unique_ptr<PgConnection>> FakePgConnector::Connect(const std::string& conninfo,
                                                               const std::string&, int) {
  auto step = Next(Kind::kConnect, "connect to \"" + conninfo + "\"");
  if (!step.ok()) return step.status();
  if (step->text != conninfo) {
    ADD_FAILURE() << "fake server: expected a connection to \"" << step->text << "\", got \""
                  << conninfo << "\"";
    return Unexpected("conninfo \"" + conninfo + "\"");
  }
  if (step->failure) return *step->failure;
  return std::unique_ptr<PgConnection>(
      std::make_unique<FakeConnection>(*this, conninfo, server_version_num_));
}

Result<PgResult> FakePgConnector::OnQuery(const std::string& sql,
                                          const std::vector<std::string>& params, bool exec,
                                          std::string& sqlstate) {
  sqlstate.clear();
  auto step = Next(exec ? Kind::kExec : Kind::kQuery, (exec ? "exec \"" : "query \"") + sql + "\"");
  if (!step.ok()) return step.status();
  if (!SqlMatches(step->text, sql)) {
    ADD_FAILURE() << "fake server: expected " << Describe(*step) << ", got \"" << sql << "\"";
    return Unexpected("statement \"" + sql + "\"");
  }
  if (!exec && step->params != params) {
    ADD_FAILURE() << "fake server: parameters of \"" << sql << "\" differ from the script";
    return Unexpected("parameters");
  }
  if (step->failure) {
    sqlstate = step->sqlstate;
    return *step->failure;
  }
  return step->result;
}

Result<std::unique_ptr<BaseBackupSource>> FakePgConnector::StartBaseBackup(
    const std::string&, const std::string&, const std::string& label) {
  auto step = Next(Kind::kBaseBackup, "BASE_BACKUP ( LABEL '" + label + "' )");
  if (!step.ok()) return step.status();
  if (step->failure) return *step->failure;
  EXPECT_EQ(label.rfind(step->text, 0), 0u) << "label \"" << label << "\"";
  return std::unique_ptr<BaseBackupSource>(
      std::make_unique<FakeBaseBackupSource>(std::move(*step->backup)));
}

Result<PgTool> FakePgConnector::FindTool(const std::string& name, int server_major,
                                         const std::string&) {
  if (std::find(missing_tools_.begin(), missing_tools_.end(), name) != missing_tools_.end())
    return Status::Error(ErrorCode::kTool, name + " was not found",
                         "install postgresql-client-" + std::to_string(server_major));
  return PgTool{"/fake/bin/" + name, server_major,
                name + " (PostgreSQL) " + std::to_string(server_major) + ".4"};
}

Result<std::unique_ptr<PgToolProcess>> FakePgConnector::RunTool(const PgToolCommand& command) {
  tool_runs_.push_back(command.argv);
  std::string program = command.argv.empty() ? "" : command.argv[0];
  auto step = Next(Kind::kTool, "run " + program);
  if (!step.ok()) return step.status();
  const FakeToolRun& run = *step->tool;
  bool named =
      program.size() >= run.program.size() &&
      program.compare(program.size() - run.program.size(), run.program.size(), run.program) == 0;
  if (!named) {
    ADD_FAILURE() << "fake server: expected a run of " << run.program << ", got " << program;
    return Unexpected("program " + program);
  }
  for (const auto& arg : run.argv_contains)
    if (std::find(command.argv.begin(), command.argv.end(), arg) == command.argv.end())
      ADD_FAILURE() << run.program << " was run without " << arg;
  return std::unique_ptr<PgToolProcess>(std::make_unique<FakeProcess>(run));
}

}  // namespace pgkeep::testing
