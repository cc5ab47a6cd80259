#include "postgres/replication.h"

#include <cstring>

#include "postgres/libpq_connect.h"

namespace pgkeep {

namespace {

// An 'n' message: the archive's name and tablespace location, NUL-terminated.
BaseBackupArchive ParseNewArchive(const char* msg, size_t len) {
  BaseBackupArchive a;
  a.name = std::string(msg + 1, strnlen(msg + 1, len - 1));
  size_t second = 1 + a.name.size() + 1;
  if (second < len)
    a.tablespace_location = std::string(msg + second, strnlen(msg + second, len - second));
  return a;
}

struct ResultCloser {
  PGresult* r;
  ~ResultCloser() { PQclear(r); }
};

}  // namespace

BaseBackupStream::~BaseBackupStream() {
  if (msg_) PQfreemem(msg_);
  if (end_result_) PQclear(end_result_);
  if (conn_) PQfinish(conn_);
}

Status BaseBackupStream::Failure(const std::string& during) {
  return Status::Error(ErrorCode::kPostgres, during + " failed on " + what_ + ": " +
                                                 CondensePgError(PQerrorMessage(conn_)));
}

Result<std::unique_ptr<BaseBackupStream>> BaseBackupStream::Start(const std::string& conninfo,
                                                                  const std::string& what,
                                                                  const std::string& label) {
  std::unique_ptr<BaseBackupStream> s(new BaseBackupStream());
  s->what_ = what;
  auto conn = OpenLibpqConnection(conninfo, what + " (replication connection)", 10, "true");
  if (!conn.ok()) {
    Status st = conn.status();
    return Status::Error(st.code(), st.message(),
                         "without pgdata, backups stream over the replication protocol: the role "
                         "needs REPLICATION and pg_hba.conf a \"replication\" line; or set pgdata "
                         "to read the files locally");
  }
  s->conn_ = *conn;
  PQsetNoticeProcessor(
      s->conn_, [](void*, const char*) {}, nullptr);  // NOTICEs are not errors

  {
    ResultCloser id{PQexec(s->conn_, "IDENTIFY_SYSTEM")};
    if (PQresultStatus(id.r) != PGRES_TUPLES_OK || PQntuples(id.r) != 1)
      return s->Failure("IDENTIFY_SYSTEM");
    s->system_identifier_ = std::strtoull(PQgetvalue(id.r, 0, 0), nullptr, 10);
  }
  std::string quoted;
  for (char c : label) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  std::string command = "BASE_BACKUP ( LABEL '" + quoted +
                        "', CHECKPOINT 'fast', WAIT false, MANIFEST 'no', TABLESPACE_MAP true, "
                        "VERIFY_CHECKSUMS false )";
  if (!PQsendQuery(s->conn_, command.c_str())) return s->Failure("BASE_BACKUP");
  {
    ResultCloser start{PQgetResult(s->conn_)};
    if (PQresultStatus(start.r) != PGRES_TUPLES_OK || PQntuples(start.r) != 1 ||
        PQnfields(start.r) < 2)
      return s->Failure("BASE_BACKUP");
    s->start_position_ = PQgetvalue(start.r, 0, 0);
    s->timeline_ = static_cast<uint32_t>(std::strtoul(PQgetvalue(start.r, 0, 1), nullptr, 10));
  }
  {
    ResultCloser tablespaces{PQgetResult(s->conn_)};
    if (PQresultStatus(tablespaces.r) != PGRES_TUPLES_OK) return s->Failure("BASE_BACKUP");
  }
  {
    ResultCloser copy{PQgetResult(s->conn_)};
    if (PQresultStatus(copy.r) != PGRES_COPY_OUT) return s->Failure("BASE_BACKUP");
  }
  return s;
}

Result<bool> BaseBackupStream::NextMessage() {
  if (msg_) {
    PQfreemem(msg_);
    msg_ = nullptr;
  }
  if (copy_done_) return false;
  int n = PQgetCopyData(conn_, &msg_, 0);
  if (n > 0) {
    msg_len_ = static_cast<size_t>(n);
    msg_pos_ = 1;
    return true;
  }
  msg_ = nullptr;
  if (n == -2) return Failure("receiving the base backup");
  copy_done_ = true;
  // After CopyDone the server may send the end position right away (no
  // CommandComplete for the COPY itself): keep it for Finish.
  PGresult* next = PQgetResult(conn_);
  ExecStatusType st = PQresultStatus(next);
  if (st == PGRES_TUPLES_OK) {
    end_result_ = next;
    return false;
  }
  PQclear(next);
  if (st != PGRES_COMMAND_OK) return Failure("the base backup");
  return false;
}

Result<std::optional<BaseBackupArchive>> BaseBackupStream::NextArchive() {
  while (!pending_) {
    auto more = NextMessage();
    if (!more.ok()) return more.status();
    if (!*more) {
      in_archive_ = false;
      return std::optional<BaseBackupArchive>();
    }
    if (msg_[0] != 'n') continue;  // data of a skipped archive, progress
    pending_ = ParseNewArchive(msg_, msg_len_);
  }
  auto a = std::move(pending_);
  pending_.reset();
  in_archive_ = true;
  return a;
}

Result<size_t> BaseBackupStream::ArchiveData::Read(uint8_t* buf, size_t n) {
  BaseBackupStream& s = *stream_;
  while (s.in_archive_) {
    if (s.msg_ && s.msg_[0] == 'd' && s.msg_pos_ < s.msg_len_) {
      size_t take = std::min(n, s.msg_len_ - s.msg_pos_);
      std::memcpy(buf, s.msg_ + s.msg_pos_, take);
      s.msg_pos_ += take;
      return take;
    }
    auto more = s.NextMessage();
    if (!more.ok()) return more.status();
    if (!*more) {
      s.in_archive_ = false;
      break;
    }
    if (s.msg_[0] == 'n') {
      s.pending_ = ParseNewArchive(s.msg_, s.msg_len_);
      s.in_archive_ = false;
    }
  }
  return size_t{0};
}

Result<std::string> BaseBackupStream::Finish() {
  while (!copy_done_) {
    auto more = NextMessage();
    if (!more.ok()) return more.status();
  }
  ResultCloser end{end_result_ ? end_result_ : PQgetResult(conn_)};
  end_result_ = nullptr;
  if (PQresultStatus(end.r) != PGRES_TUPLES_OK || PQntuples(end.r) != 1)
    return Failure("finishing the base backup");
  std::string end_position = PQgetvalue(end.r, 0, 0);
  while (PGresult* r = PQgetResult(conn_)) {
    ExecStatusType st = PQresultStatus(r);
    PQclear(r);
    if (st == PGRES_FATAL_ERROR) return Failure("finishing the base backup");
  }
  return end_position;
}

}  // namespace pgkeep
