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

struct pg_conn;
struct pg_result;

namespace pgkeep {

struct BaseBackupArchive {
  std::string name;                 // "base.tar" for the main data directory, "<oid>.tar" else
  std::string tablespace_location;  // empty for the main data directory
};

class BaseBackupStream {
 public:
  // Connects in replication mode, identifies the system and sends BASE_BACKUP
  // (fast checkpoint, no WAL; the caller waits for the WAL to be archived).
  // kPostgres on failure, with the server's message.
  static Result<std::unique_ptr<BaseBackupStream>> Start(const std::string& conninfo,
                                                          const std::string& what,
                                                          const std::string& label);
  ~BaseBackupStream();
  BaseBackupStream(const BaseBackupStream&) = delete;
  BaseBackupStream& operator=(const BaseBackupStream&) = delete;

  uint64_t system_identifier() const { return system_identifier_; }
  // The start position as the server prints it ("0/3000028").
  const std::string& start_position() const { return start_position_; }
  uint32_t timeline() const { return timeline_; }

  // Advances to the next archive (skipping unread data of the current one);
  // nullopt once the COPY stream has ended.
  Result<std::optional<BaseBackupArchive>> NextArchive();
  // The current archive's tar bytes; ends (Read returns 0) where it ends.
  ByteSource& Data() { return data_; }
  // After the last archive: reads the end position, returned as printed.
  Result<std::string> Finish();

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
