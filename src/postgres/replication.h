// postgres/replication.h — a base backup over the streaming replication
// protocol (BASE_BACKUP), for servers whose data directory is not on this host.
//
// The server does what pg_backup_start/pg_backup_stop do, skips the files it
// documents as excluded, and sends every tablespace as a tar archive inside
// one COPY stream (PostgreSQL 15's protocol: each CopyData message starts with
// a type byte: 'n' new archive, 'd' archive data, 'p' progress). backup_label
// and tablespace_map arrive as files of the main archive. Page checksums are
// left to the client (VERIFY_CHECKSUMS false), so both acquisition paths check
// them the same way.
//
// Thread safety: one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/stream.h"
#include "postgres/pg_connector.h"

struct pg_conn;
struct pg_result;

namespace pgkeep {

class BaseBackupStream final : public BaseBackupSource {
 public:
  // Connects in replication mode, identifies the system and sends BASE_BACKUP
  // (fast checkpoint, no WAL; the caller waits for the WAL to be archived).
  // kPostgres on failure, with the server's message.
  static Result<std::unique_ptr<BaseBackupStream>> Start(const std::string& conninfo,
                                                         const std::string& what,
                                                         const std::string& label);
  ~BaseBackupStream() override;
  BaseBackupStream(const BaseBackupStream&) = delete;
  BaseBackupStream& operator=(const BaseBackupStream&) = delete;

  uint64_t system_identifier() const override { return system_identifier_; }
  const std::string& start_position() const override { return start_position_; }
  uint32_t timeline() const override { return timeline_; }

  // nullopt once the COPY stream has ended.
  Result<std::optional<BaseBackupArchive>> NextArchive() override;
  ByteSource& Data() override { return data_; }
  // Reads the end position, which may follow the end of COPY.
  Result<std::string> Finish() override;

 private:
  class ArchiveData final : public ByteSource {
   public:
    explicit ArchiveData(BaseBackupStream* s) : stream_(s) {}
    Result<size_t> Read(uint8_t* buf, size_t n) override;

   private:
    BaseBackupStream* stream_;
  };

  BaseBackupStream() : data_(this) {}
  // Fetches the next CopyData message into msg_; false at the end of COPY.
  Result<bool> NextMessage();
  Status Failure(const std::string& during);

  pg_conn* conn_ = nullptr;
  pg_result* end_result_ = nullptr;  // the end position, when it came with the end of COPY
  std::string what_;
  uint64_t system_identifier_ = 0;
  std::string start_position_;
  uint32_t timeline_ = 0;
  char* msg_ = nullptr;  // current CopyData message (PQfreemem)
  size_t msg_len_ = 0;
  size_t msg_pos_ = 0;  // read position within a 'd' message's payload
  bool in_archive_ = false;
  bool copy_done_ = false;
  std::optional<BaseBackupArchive> pending_;  // an 'n' message seen while reading data
  ArchiveData data_;
};

}  // namespace pgkeep
