// backup/tar_reader.h — pulls entries out of a tar stream as PostgreSQL's
// BASE_BACKUP sends it, without holding any file in memory.
//
// Reads ustar headers (POSIX "ustar\0" with its prefix field, GNU "ustar  "
// and pre-POSIX headers), GNU 'L'/'K' long name and long link entries, and
// sizes in octal or GNU base-256. Other entry types, pax 'x'/'g' included,
// are returned as they are with their data unread: PostgreSQL does not write
// them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "common/stream.h"

namespace pgkeep {

struct TarEntry {
  std::string path;  // without a leading "./"; directories without trailing '/'
  char type =
      '0';  // '0' regular file (also for '\0'), '5' directory, '2' symlink; others passed through
  uint32_t mode = 0;
  uint64_t size = 0;  // data bytes (0 for non-files)
  int64_t mtime = 0;  // seconds since the epoch
  std::string link_target;
};

// Not thread-safe. Does not own `source`, which must outlive the reader.
// A damaged or truncated stream is kCorrupt with a message starting
// "<what>: " and naming the stream offset; an error of `source` itself is
// returned as it is. Errors are sticky: once one is returned, Next() and
// Data() keep returning it.
class TarReader {
 public:
  // `what` names the stream in errors ("base backup stream").
  TarReader(ByteSource& source, std::string what);
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, skipping any unread data (and padding) of the previous one;
  // nullopt at the end-of-archive marker (two zero blocks; a single zero block
  // followed by EOF, or clean EOF at a header boundary, also ends it), and on
  // every call after that. Errors: EOF inside a header, data or padding; a bad
  // header checksum or numeric field; a zero block followed by a header.
  Result<std::optional<TarEntry>> Next();

  // Reads the current entry's data: exactly entry.size bytes in total, then 0
  // (also before the first Next() and after the end). EOF before entry.size
  // bytes is a kCorrupt error. The reference stays valid for the reader's life.
  ByteSource& Data() { return data_; }

 private:
  class DataSource final : public ByteSource {
   public:
    explicit DataSource(TarReader& reader) : reader_(reader) {}
    Result<size_t> Read(uint8_t* buf, size_t n) override { return reader_.ReadData(buf, n); }

   private:
    TarReader& reader_;
  };

  Result<size_t> ReadData(uint8_t* buf, size_t n);
  // Reads until `n` bytes or EOF; returns how many were read.
  Result<size_t> ReadUpTo(uint8_t* buf, size_t n);
  // Reads a whole 512-byte block; false at a clean EOF before its first byte.
  Result<bool> ReadBlock(uint8_t* block, const char* where);
  // Skips the rest of the current entry: its unread data and its padding.
  Status SkipRest();
  // Reads the data of a GNU 'L'/'K' entry of `size` bytes as a string.
  Result<std::string> ReadLongName(uint64_t size);
  Status Fail(std::string message);

  ByteSource& source_;
  std::string what_;
  DataSource data_{*this};
  uint64_t offset_ = 0;        // stream bytes consumed so far
  uint64_t data_left_ = 0;     // unread data bytes of the current entry
  uint64_t padding_left_ = 0;  // padding after the current entry's data
  std::string current_path_;   // for error messages about the current entry's data
  bool at_end_ = false;
  Status failed_;
  Bytes skip_buffer_;
};

}  // namespace pgkeep
