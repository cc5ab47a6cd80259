#include "restore/table_load.h"

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

#include "postgres/connection.h"

namespace pgkeep {

namespace {

// Staged chunks are kStagedChunkBytes; a length beyond this is damage.
constexpr uint64_t kMaxChunkBytes = 64 << 20;
// A part's error when it stopped because another failed.
constexpr char kStoppedByAnother[] = "stopped: another part failed";
// What one COPY message carries.
constexpr size_t kPieceBytes = 256 * 1024;
// The settings pg_restore gives every session besides the dump's own.
constexpr char kSessionSql[] =
    "SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0; "
    "SET row_security = off; ";

struct Chunk {
  uint64_t file_offset = 0;     // its first byte in the staged file
  uint64_t payload_offset = 0;  // its first byte in the table's COPY data
  uint64_t size = 0;
};

Status ReadExactly(ReadableFile& file, uint64_t offset, uint8_t* buf, size_t n) {
  while (n > 0) {
    auto got = file.ReadAt(offset, buf, n);
    if (!got.ok()) return got.status();
    if (*got == 0)
      return Status::Error(ErrorCode::kCorrupt, "the staged dump ends inside a table's data");
    offset += *got;
    buf += *got;
    n -= *got;
  }
  return Status::Ok();
}

// The table's chunks: (length, bytes) pairs up to a length of 0.
Result<std::vector<Chunk>> ReadChunks(ReadableFile& file, const StagedTableData& data,
                                      int int_size) {
  auto bad = [&](const std::string& why) {
    return Status::Error(ErrorCode::kCorrupt,
                         "the staged data of " + data.schema + "." + data.table + ": " + why);
  };
  if (int_size < 1 || int_size > 8) return bad("integer size " + std::to_string(int_size));
  std::vector<Chunk> chunks;
  const size_t width = 1 + static_cast<size_t>(int_size);
  uint64_t pos = data.offset, payload = 0;
  for (;;) {
    uint8_t raw[9];
    PGKEEP_RETURN_IF_ERROR(ReadExactly(file, pos, raw, width));
    uint64_t length = 0;
    for (size_t b = width - 1; b >= 1; --b) length = (length << 8) | raw[b];
    if (raw[0] != 0 || length > kMaxChunkBytes || pos + width + length > file.Size())
      return bad("a chunk length at byte " + std::to_string(pos) + " is out of bounds");
    pos += width;
    if (length == 0) break;
    chunks.push_back({pos, payload, length});
    pos += length;
    payload += length;
  }
  if (payload != data.bytes)
    return bad(std::to_string(payload) + " bytes where staging wrote " +
               std::to_string(data.bytes));
  return chunks;
}

// Bytes [begin, end) of the table's COPY data, a piece at a time.
class RangeReader {
 public:
  RangeReader(ReadableFile& file, const std::vector<Chunk>& chunks, uint64_t begin, uint64_t end)
      : file_(file), chunks_(chunks), pos_(begin), end_(end) {}

  // An empty view after the last byte.
  Result<ByteView> Next() {
    if (pos_ >= end_) return ByteView();
    while (chunks_[index_].payload_offset + chunks_[index_].size <= pos_) ++index_;
    const Chunk& c = chunks_[index_];
    const uint64_t within = pos_ - c.payload_offset;
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>({kPieceBytes, c.size - within, end_ - pos_}));
    buf_.resize(n);
    PGKEEP_RETURN_IF_ERROR(ReadExactly(file_, c.file_offset + within, buf_.data(), n));
    pos_ += n;
    return ByteView(buf_.data(), n);
  }
  uint64_t pos() const { return pos_; }

 private:
  ReadableFile& file_;
  const std::vector<Chunk>& chunks_;
  uint64_t pos_;
  const uint64_t end_;
  size_t index_ = 0;
  Bytes buf_;
};

// Where the row holding byte `at` ends (just past its newline), or `total`.
Result<uint64_t> RowEnd(ReadableFile& file, const std::vector<Chunk>& chunks, uint64_t at,
                        uint64_t total) {
  RangeReader reader(file, chunks, at, total);
  for (;;) {
    const uint64_t start = reader.pos();
    auto piece = reader.Next();
    if (!piece.ok()) return piece.status();
    if (piece->empty()) return total;
    auto newline = std::find(piece->begin(), piece->end(), uint8_t{'\n'});
    if (newline != piece->end()) return start + static_cast<uint64_t>(newline - piece->begin()) + 1;
  }
}

}  // namespace

Result<TableLoad> LoadTableInParts(Env& env, PgConnector& connector, const std::string& conninfo,
                                   const std::string& what, const std::string& path,
                                   const StagedTableData& data, int int_size,
                                   const std::string& session_sql, int parts,
                                   const std::atomic<int>* cancel) {
  auto file = env.NewReadableFile(path);
  if (!file.ok()) return file.status();
  auto chunks = ReadChunks(**file, data, int_size);
  if (!chunks.ok()) return chunks.status();
  const uint64_t total = data.bytes;

  // The ranges: cut after the row that holds each 1/parts of the bytes.
  std::vector<uint64_t> cuts = {0};
  for (int k = 1; k < parts; ++k) {
    const uint64_t at = total / static_cast<uint64_t>(parts) * static_cast<uint64_t>(k);
    if (at <= cuts.back()) continue;
    auto end = RowEnd(**file, *chunks, at, total);
    if (!end.ok()) return end.status();
    if (*end >= total) break;
    cuts.push_back(*end);
  }
  cuts.push_back(total);
  const size_t n = cuts.size() - 1;

  // Connections and files opened here, one per part, before any thread.
  std::vector<std::unique_ptr<PgConnection>> conns;
  std::vector<std::unique_ptr<ReadableFile>> files;
  for (size_t i = 0; i < n; ++i) {
    auto conn = connector.Connect(conninfo, what);
    if (!conn.ok()) return conn.status();
    PGKEEP_RETURN_IF_ERROR((*conn)->Exec(kSessionSql + session_sql));
    conns.push_back(std::move(*conn));
    auto f = env.NewReadableFile(path);
    if (!f.ok()) return f.status();
    files.push_back(std::move(*f));
  }

  std::atomic<bool> failed{false};
  std::vector<Status> statuses(n);
  std::vector<int64_t> rows(n, 0);
  const std::string table = data.schema + "." + data.table;
  auto run = [&](size_t i) {
    RangeReader reader(*files[i], *chunks, cuts[i], cuts[i + 1]);
    auto loaded = conns[i]->CopyIn(data.copy_statement, [&]() -> Result<ByteView> {
      if (cancel && cancel->load() != 0)
        return Status::Error(ErrorCode::kInterrupted, "interrupted while loading " + table);
      if (failed.load()) return Status::Error(ErrorCode::kInterrupted, kStoppedByAnother);
      return reader.Next();
    });
    if (loaded.ok()) {
      rows[i] = *loaded;
    } else {
      statuses[i] = loaded.status();
      failed = true;
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(run, i);
  run(0);
  for (auto& t : threads) t.join();
  // The first failure that is not another part's stop.
  for (const Status& s : statuses)
    if (!s.ok() && s.message() != kStoppedByAnother)
      return s.WithContext("loading " + table + " in " + std::to_string(n) + " parts");
  TableLoad out;
  out.parts = static_cast<int>(n);
  out.bytes = total;
  for (int64_t r : rows) out.rows += r;
  return out;
}

}  // namespace pgkeep
