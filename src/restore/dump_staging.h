// restore/dump_staging.h — a custom-format dump that pg_dump streamed into a
// pipe, staged into a file that parallel pg_restore reads at its best.
//
// A logical backup streams pg_dump's output into the repository, so two
// things pg_restore would like are missing from it:
//   - the data positions in the table of contents: pg_dump writes them only
//     when its output is seekable, and without them a parallel pg_restore
//     reads through the data to find each table;
//   - sizable data chunks: an uncompressed streamed dump holds one chunk per
//     row, and pg_restore sends each chunk to the server as its own COPY
//     message (2 million messages for 2 million rows).
// DumpStager is the sink the dump is loaded into: it copies the header and
// the table of contents as they are, rewrites each table's data as chunks of
// up to kStagedChunkBytes (the same bytes, fewer and larger chunks; pg_restore
// streams them to COPY or lo_write whatever their boundaries), and once the
// last byte is in, writes every data position into the table of contents in
// place (each position field has a fixed size, so nothing else moves). One
// pass, nothing read back. The format is pg_dump's (pg_backup_archiver.c,
// pg_backup_custom.c): archive versions 1.12 to 1.16.
//
// A dump it does not recognise (another version, compressed, positions
// already set, a table of contents larger than kMaxTocBytes) is copied
// byte for byte: pg_restore reads it as before, only slower. A dump whose
// data does not parse once recognised makes Write fail with kCorrupt; the
// caller stages it again as it is (StageDump below does).
//
// Thread safety: one object per dump, one thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "common/stream.h"

namespace pgkeep {

inline constexpr size_t kStagedChunkBytes = 256 * 1024;
inline constexpr size_t kMaxTocBytes = 256 * 1024 * 1024;

// One table's data in the staged file, for a loader of its own
// (restore/table_load.h).
struct StagedTableData {
  int64_t dump_id = 0;
  std::string schema, table;   // the entry's namespace and tag
  std::string copy_statement;  // "COPY schema.table (columns) FROM stdin;"
  uint64_t offset = 0;         // its first chunk's length field
  uint64_t bytes = 0;          // the COPY data in all its chunks
};

struct DumpStaging {
  int offsets_added = 0;        // table-of-contents entries given a data position
  uint64_t chunks_read = 0;     // data chunks (length, bytes) in the streamed dump
  uint64_t chunks_written = 0;  // data chunks in the staged file
  bool rewritten = false;       // false: copied byte for byte
  // When rewritten: the dump's integer size (chunk lengths are pg_dump
  // integers), every entry's dump id in table-of-contents order, each
  // table's data, and the settings pg_restore opens each session with (the
  // ENCODING, STDSTRINGS and SEARCHPATH entries).
  int int_size = 0;
  std::vector<int64_t> toc_order;
  std::vector<StagedTableData> table_data;
  std::string session_sql;
};

class DumpStager final : public ByteSink {
 public:
  // Writes to `out` (which must support WriteAt) from its current end, which
  // must be offset 0.
  explicit DumpStager(WritableFile& out);
  Status Write(ByteView data) override;
  // After the last Write: pending bytes written, positions filled in.
  Result<DumpStaging> Finish();
  // True once the dump's data failed to parse (the kCorrupt of Write or
  // Finish came from here, not from the source).
  bool malformed() const { return malformed_; }

 private:
  enum class Phase { kHeader, kData, kCopy };
  enum class Step { kBlockType, kBlockId, kObjectId, kChunkLength, kChunkData };

  Status TryParseHeader(bool final);
  Status Data(ByteView data);
  // Collects one integer of pg_dump's (sign byte, int_size bytes) across
  // writes; consumes from `data`, returns true when complete.
  bool TakeInt(ByteView& data, int64_t* value, bool* malformed);
  Status Emit(ByteView data);
  Status EmitInt(int64_t v);
  Status FlushBlock();
  Status FlushOut();
  Status Malformed(const std::string& what);

  WritableFile& out_;
  Phase phase_ = Phase::kHeader;
  std::vector<uint8_t> header_;  // header + table of contents, until parsed
  size_t next_attempt_ = 4096;
  int int_size_ = 0;
  int offset_size_ = 0;
  std::map<int64_t, uint64_t> field_of_;                  // dump id -> position of its offset flag
  std::map<int64_t, StagedTableData> table_entries_;      // TABLE DATA entries, by dump id
  StagedTableData current_;                               // the data block being staged
  std::vector<std::pair<uint64_t, uint64_t>> positions_;  // flag position, block position

  Step step_ = Step::kBlockType;
  uint8_t block_type_ = 0;
  std::vector<uint8_t> pending_int_;
  uint64_t chunk_left_ = 0;
  std::vector<uint8_t> block_;  // coalesced chunk bytes not yet written
  std::vector<uint8_t> out_buf_;
  uint64_t in_pos_ = 0;   // bytes consumed (for messages)
  uint64_t out_pos_ = 0;  // bytes emitted, buffered or written
  DumpStaging result_;
  bool malformed_ = false;
};

}  // namespace pgkeep
