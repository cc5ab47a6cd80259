#include "restore/dump_offsets.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

namespace pgkeep {

namespace {

constexpr int Version(int major, int minor, int rev) { return (major * 256 + minor) * 256 + rev; }

// Offset flags (pg_backup_archiver.h) and block types (pg_backup_custom.c).
constexpr uint8_t kOffsetNotSet = 1;
constexpr uint8_t kOffsetSet = 2;
constexpr uint8_t kBlockData = 1;
constexpr uint8_t kBlockLargeObjects = 3;
constexpr size_t kReadBuffer = 1 << 16;

// Sequential reads over a ReadableFile with the position known; every read
// past the end or out of bounds makes it fail (and stay failed).
class Reader {
 public:
  explicit Reader(ReadableFile& file) : file_(file), size_(file.Size()) {}
  uint64_t pos() const { return pos_; }
  bool failed() const { return failed_ || !error_.ok(); }
  const Status& error() const { return error_; }
  bool AtEnd() const { return pos_ == size_; }

  std::optional<uint8_t> Byte() {
    uint8_t b;
    if (!Bytes(&b, 1)) return std::nullopt;
    return b;
  }
  // pg_dump's integer: a sign byte, then `int_size` bytes, least significant first.
  std::optional<int64_t> Int(int int_size) {
    auto sign = Byte();
    uint8_t raw[8];
    if (!sign || *sign > 1 || !Bytes(raw, static_cast<size_t>(int_size))) return fail();
    uint64_t v = 0;
    for (int i = int_size - 1; i >= 0; --i) v = (v << 8) | raw[i];
    if (v > static_cast<uint64_t>(INT64_MAX)) return fail();
    return *sign ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }
  // A string: its length as an integer (-1: NULL), then its bytes; skipped.
  // Returns false at a NULL string, true otherwise.
  std::optional<bool> SkipString(int int_size) {
    auto len = Int(int_size);
    if (!len) return std::nullopt;
    if (*len == -1) return false;
    if (*len < 0 || !Skip(static_cast<uint64_t>(*len))) return std::nullopt;
    return true;
  }
  std::optional<std::string> String(int int_size, size_t max) {
    auto len = Int(int_size);
    if (!len || *len < 0 || static_cast<uint64_t>(*len) > max) return failstr();
    std::string s(static_cast<size_t>(*len), '\0');
    if (!Bytes(reinterpret_cast<uint8_t*>(s.data()), s.size())) return failstr();
    return s;
  }
  bool Skip(uint64_t n) {
    if (failed() || n > size_ - pos_) {
      failed_ = true;
      return false;
    }
    pos_ += n;
    return true;
  }
  // Through a buffer: a streamed dump holds one small chunk per row, and a
  // read per integer would cost a system call each.
  bool Bytes(uint8_t* out, size_t n) {
    if (failed() || n > size_ - pos_) {
      failed_ = true;
      return false;
    }
    while (n > 0) {
      if (pos_ < buf_start_ || pos_ >= buf_start_ + buf_.size()) {
        buf_.resize(kReadBuffer);
        auto got = file_.ReadAt(pos_, buf_.data(), buf_.size());
        if (!got.ok()) {
          error_ = got.status();
          return false;
        }
        if (*got == 0) {
          failed_ = true;
          return false;
        }
        buf_.resize(*got);
        buf_start_ = pos_;
      }
      size_t offset = static_cast<size_t>(pos_ - buf_start_);
      size_t take = std::min(n, buf_.size() - offset);
      std::memcpy(out, buf_.data() + offset, take);
      out += take;
      n -= take;
      pos_ += take;
    }
    return true;
  }

 private:
  std::nullopt_t fail() {
    failed_ = true;
    return std::nullopt;
  }
  std::optional<std::string> failstr() {
    failed_ = true;
    return std::nullopt;
  }
  ReadableFile& file_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::vector<uint8_t> buf_;
  uint64_t buf_start_ = 0;
  bool failed_ = false;
  Status error_;
};

struct TocOffset {
  int64_t dump_id = 0;
  uint64_t field_pos = 0;  // where its flag byte is
};

}  // namespace

Result<int> AddDumpDataOffsets(ReadableFile& in, WritableFile& out) {
  Reader r(in);
  auto unknown = [&]() -> Result<int> {
    if (!r.error().ok()) return r.error();
    return 0;
  };
  char magic[5];
  if (!r.Bytes(reinterpret_cast<uint8_t*>(magic), 5) || std::memcmp(magic, "PGDMP", 5) != 0)
    return unknown();
  auto vmaj = r.Byte(), vmin = r.Byte(), vrev = r.Byte();
  auto int_size = r.Byte(), off_size = r.Byte(), format = r.Byte();
  if (r.failed() || !vmaj || !vmin || !vrev || !int_size || !off_size || !format) return unknown();
  const int version = Version(*vmaj, *vmin, *vrev);
  if (version < Version(1, 12, 0) || version > Version(1, 16, 0)) return unknown();
  if (*int_size < 1 || *int_size > 8 || *off_size < 1 || *off_size > 8 || *format != 1)
    return unknown();
  const int isz = *int_size;
  // Compression: an integer level before 1.15, an algorithm byte since.
  if (version < Version(1, 15, 0)) {
    auto level = r.Int(isz);
    if (!level || *level != 0) return unknown();
  } else {
    auto algorithm = r.Byte();
    if (!algorithm || *algorithm != 0) return unknown();
  }
  for (int i = 0; i < 7; ++i)  // creation time: sec, min, hour, mday, mon, year, isdst
    if (!r.Int(isz)) return unknown();
  for (int i = 0; i < 3; ++i)  // database name, server version, pg_dump version
    if (!r.SkipString(isz)) return unknown();

  auto count = r.Int(isz);
  if (!count || *count < 0 || static_cast<uint64_t>(*count) > in.Size()) return unknown();
  std::vector<TocOffset> unset;
  std::map<int64_t, size_t> by_id;
  for (int64_t i = 0; i < *count; ++i) {
    auto dump_id = r.Int(isz);
    if (!dump_id || !r.Int(isz)) return unknown();  // dumpId, hadDumper
    // tableoid, oid, tag, desc
    for (int k = 0; k < 4; ++k)
      if (!r.SkipString(isz)) return unknown();
    if (!r.Int(isz)) return unknown();  // section
    // defn, dropStmt, copyStmt, namespace, tablespace, tableam, owner, withOids
    for (int k = 0; k < 8; ++k)
      if (!r.SkipString(isz)) return unknown();
    for (;;) {  // dependencies, ending with a NULL string
      auto more = r.SkipString(isz);
      if (!more) return unknown();
      if (!*more) break;
    }
    uint64_t field = r.pos();
    auto flag = r.Byte();
    if (!flag || !r.Skip(*off_size)) return unknown();
    if (*flag == kOffsetSet) return unknown();  // written to a file: nothing to do
    if (*flag == kOffsetNotSet) {
      by_id[*dump_id] = unset.size();
      unset.push_back({*dump_id, field});
    }
  }

  // The data blocks, in order, to the end of the file.
  std::vector<std::pair<size_t, uint64_t>> found;  // index in `unset`, block position
  while (!r.AtEnd()) {
    uint64_t block = r.pos();
    auto type = r.Byte();
    auto dump_id = r.Int(isz);
    if (!type || !dump_id || (*type != kBlockData && *type != kBlockLargeObjects)) return unknown();
    auto it = by_id.find(*dump_id);
    if (it == by_id.end()) return unknown();
    found.emplace_back(it->second, block);
    // Chunks (a length, then that many bytes) ending with a zero length; a
    // large-objects block is a series of (oid, chunks) ending with oid 0.
    int objects = *type == kBlockLargeObjects ? -1 : 1;
    while (objects != 0) {
      if (*type == kBlockLargeObjects) {
        auto oid = r.Int(isz);
        if (!oid) return unknown();
        if (*oid == 0) break;
      }
      for (;;) {
        auto len = r.Int(isz);
        if (!len || *len < 0) return unknown();
        if (*len == 0) break;
        if (!r.Skip(static_cast<uint64_t>(*len))) return unknown();
      }
      if (objects > 0) --objects;
    }
  }
  if (r.failed()) return unknown();

  for (const auto& [index, block] : found) {
    uint8_t field[9];
    field[0] = kOffsetSet;
    for (int b = 0; b < *off_size; ++b) field[1 + b] = static_cast<uint8_t>(block >> (8 * b));
    PGKEEP_RETURN_IF_ERROR(
        out.WriteAt(unset[index].field_pos, ByteView(field, static_cast<size_t>(1 + *off_size))));
  }
  return static_cast<int>(found.size());
}

}  // namespace pgkeep
