#include "restore/dump_staging.h"

#include <algorithm>
#include <cstring>
#include <optional>

namespace pgkeep {

namespace {

constexpr int Version(int major, int minor, int rev) { return (major * 256 + minor) * 256 + rev; }

// Offset flags (pg_backup_archiver.h) and block types (pg_backup_custom.c).
constexpr uint8_t kOffsetNotSet = 1;
constexpr uint8_t kOffsetSet = 2;
constexpr uint8_t kBlockData = 1;
constexpr uint8_t kBlockLargeObjects = 3;
constexpr size_t kOutBuffer = 1 << 20;

// Reads the header and table of contents from memory. Running off the end
// means "not all of it has arrived yet" (short()), anything else that does
// not parse means "not a dump we understand" (failed()).
class HeaderReader {
 public:
  explicit HeaderReader(ByteView bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }
  bool short_read() const { return short_; }
  bool failed() const { return failed_ || short_; }

  std::optional<uint8_t> Byte() {
    if (failed()) return std::nullopt;
    if (pos_ >= bytes_.size()) return Short();
    return bytes_[pos_++];
  }
  // pg_dump's integer: a sign byte, then `int_size` bytes, least significant first.
  std::optional<int64_t> Int(int int_size) {
    auto sign = Byte();
    if (!sign) return std::nullopt;
    if (*sign > 1) return Fail();
    if (bytes_.size() - pos_ < static_cast<size_t>(int_size)) return Short();
    uint64_t v = 0;
    for (int i = int_size - 1; i >= 0; --i) v = (v << 8) | bytes_[pos_ + static_cast<size_t>(i)];
    pos_ += static_cast<size_t>(int_size);
    if (v > static_cast<uint64_t>(INT64_MAX)) return Fail();
    return *sign ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }
  // A string (its length, -1 for NULL, then its bytes), skipped. Returns
  // false at a NULL string.
  std::optional<bool> SkipString(int int_size) { return String(int_size, nullptr); }
  // The same, kept in `out` (if not null; "" for NULL).
  std::optional<bool> String(int int_size, std::string* out) {
    auto len = Int(int_size);
    if (!len) return std::nullopt;
    if (*len == -1) return false;
    if (*len < 0) return Fail();
    const uint64_t at = pos_;
    if (!Skip(static_cast<uint64_t>(*len))) return std::nullopt;
    if (out) out->assign(reinterpret_cast<const char*>(bytes_.data() + at), pos_ - at);
    return true;
  }
  bool Skip(uint64_t n) {
    if (failed()) return false;
    if (n > bytes_.size() - pos_) {
      Short();
      return false;
    }
    pos_ += n;
    return true;
  }

 private:
  std::nullopt_t Short() {
    short_ = true;
    return std::nullopt;
  }
  std::nullopt_t Fail() {
    failed_ = true;
    return std::nullopt;
  }
  ByteView bytes_;
  size_t pos_ = 0;
  bool short_ = false;
  bool failed_ = false;
};

enum class HeaderParse { kShort, kUnknown, kParsed };

struct ParsedHeader {
  int int_size = 0;
  int offset_size = 0;
  uint64_t end = 0;                      // where the first data block starts
  std::map<int64_t, uint64_t> field_of;  // dump id -> offset flag position
  std::vector<int64_t> order;            // every dump id, in order
  std::map<int64_t, StagedTableData> table_data;
  std::string session_sql;
};

HeaderParse ParseHeader(ByteView bytes, ParsedHeader& h) {
  HeaderReader r(bytes);
  auto verdict = [&]() { return r.short_read() ? HeaderParse::kShort : HeaderParse::kUnknown; };
  if (bytes.size() >= 5 && std::memcmp(bytes.data(), "PGDMP", 5) != 0) return HeaderParse::kUnknown;
  if (!r.Skip(5)) return verdict();
  auto vmaj = r.Byte(), vmin = r.Byte(), vrev = r.Byte();
  auto int_size = r.Byte(), off_size = r.Byte(), format = r.Byte();
  if (!vmaj || !vmin || !vrev || !int_size || !off_size || !format) return verdict();
  const int version = Version(*vmaj, *vmin, *vrev);
  if (version < Version(1, 12, 0) || version > Version(1, 16, 0)) return HeaderParse::kUnknown;
  if (*int_size < 1 || *int_size > 8 || *off_size < 1 || *off_size > 8 || *format != 1)
    return HeaderParse::kUnknown;
  const int isz = *int_size;
  // Compression: an integer level before 1.15, an algorithm byte since.
  if (version < Version(1, 15, 0)) {
    auto level = r.Int(isz);
    if (!level) return verdict();
    if (*level != 0) return HeaderParse::kUnknown;
  } else {
    auto algorithm = r.Byte();
    if (!algorithm) return verdict();
    if (*algorithm != 0) return HeaderParse::kUnknown;
  }
  for (int i = 0; i < 7; ++i)  // creation time: sec, min, hour, mday, mon, year, isdst
    if (!r.Int(isz)) return verdict();
  for (int i = 0; i < 3; ++i)  // database name, server version, pg_dump version
    if (!r.SkipString(isz)) return verdict();

  auto count = r.Int(isz);
  if (!count) return verdict();
  if (*count < 0 || static_cast<uint64_t>(*count) > kMaxTocBytes) return HeaderParse::kUnknown;
  for (int64_t i = 0; i < *count; ++i) {
    auto dump_id = r.Int(isz);
    if (!dump_id || !r.Int(isz)) return verdict();  // dumpId, hadDumper
    std::string tag, desc, defn, copy, ns;
    // tableoid, oid, tag, desc, section, defn, dropStmt, copyStmt,
    // namespace, tablespace, tableam (since 1.14), owner, withOids
    if (!r.SkipString(isz) || !r.SkipString(isz) || !r.String(isz, &tag) || !r.String(isz, &desc) ||
        !r.Int(isz) || !r.String(isz, &defn) || !r.SkipString(isz) || !r.String(isz, &copy) ||
        !r.String(isz, &ns) || !r.SkipString(isz))
      return verdict();
    for (int k = version >= Version(1, 14, 0) ? 0 : 1; k < 3; ++k)
      if (!r.SkipString(isz)) return verdict();
    h.order.push_back(*dump_id);
    if (desc == "TABLE DATA" && !copy.empty())
      h.table_data[*dump_id] = {*dump_id, ns, tag, copy, 0, 0};
    else if (desc == "ENCODING" || desc == "STDSTRINGS" || desc == "SEARCHPATH")
      h.session_sql += defn;
    for (;;) {  // dependencies, ending with a NULL string
      auto more = r.SkipString(isz);
      if (!more) return verdict();
      if (!*more) break;
    }
    uint64_t field = r.pos();
    auto flag = r.Byte();
    if (!flag || !r.Skip(*off_size)) return verdict();
    if (*flag == kOffsetSet) return HeaderParse::kUnknown;  // written to a file: keep it
    if (*flag == kOffsetNotSet) h.field_of[*dump_id] = field;
  }
  h.int_size = isz;
  h.offset_size = *off_size;
  h.end = r.pos();
  return HeaderParse::kParsed;
}

}  // namespace

DumpStager::DumpStager(WritableFile& out) : out_(out) { out_buf_.reserve(kOutBuffer); }

Status DumpStager::Malformed(const std::string& what) {
  malformed_ = true;
  return Status::Error(ErrorCode::kCorrupt, "the dump's data does not parse at byte " +
                                                std::to_string(in_pos_) + ": " + what);
}

Status DumpStager::FlushOut() {
  if (out_buf_.empty()) return Status::Ok();
  Status s = out_.Write(ByteView(out_buf_.data(), out_buf_.size()));
  out_buf_.clear();
  return s;
}

Status DumpStager::Emit(ByteView data) {
  out_pos_ += data.size();
  if (out_buf_.size() + data.size() > kOutBuffer) {
    PGKEEP_RETURN_IF_ERROR(FlushOut());
    if (data.size() >= kOutBuffer) return out_.Write(data);
  }
  out_buf_.insert(out_buf_.end(), data.begin(), data.end());
  return Status::Ok();
}

Status DumpStager::EmitInt(int64_t v) {
  uint8_t raw[9];
  uint64_t magnitude = v < 0 ? static_cast<uint64_t>(-v) : static_cast<uint64_t>(v);
  raw[0] = v < 0 ? 1 : 0;
  for (int b = 0; b < int_size_; ++b) raw[1 + b] = static_cast<uint8_t>(magnitude >> (8 * b));
  return Emit(ByteView(raw, static_cast<size_t>(1 + int_size_)));
}

Status DumpStager::FlushBlock() {
  if (block_.empty()) return Status::Ok();
  PGKEEP_RETURN_IF_ERROR(EmitInt(static_cast<int64_t>(block_.size())));
  PGKEEP_RETURN_IF_ERROR(Emit(ByteView(block_.data(), block_.size())));
  ++result_.chunks_written;
  current_.bytes += block_.size();
  block_.clear();
  return Status::Ok();
}

Status DumpStager::TryParseHeader(bool final) {
  ParsedHeader h;
  HeaderParse verdict = ParseHeader(ByteView(header_.data(), header_.size()), h);
  if (verdict == HeaderParse::kShort && !final && header_.size() <= kMaxTocBytes)
    return Status::Ok();  // more to come
  if (verdict != HeaderParse::kParsed) {
    // Not ours to improve: copied as it is.
    phase_ = Phase::kCopy;
    std::vector<uint8_t> all = std::move(header_);
    header_.clear();
    return Emit(ByteView(all.data(), all.size()));
  }
  phase_ = Phase::kData;
  result_.rewritten = true;
  int_size_ = h.int_size;
  offset_size_ = h.offset_size;
  field_of_ = std::move(h.field_of);
  table_entries_ = std::move(h.table_data);
  result_.int_size = h.int_size;
  result_.toc_order = std::move(h.order);
  result_.session_sql = std::move(h.session_sql);
  std::vector<uint8_t> all = std::move(header_);
  header_.clear();
  PGKEEP_RETURN_IF_ERROR(Emit(ByteView(all.data(), h.end)));
  in_pos_ = h.end;
  return Data(ByteView(all.data() + h.end, all.size() - h.end));
}

bool DumpStager::TakeInt(ByteView& data, int64_t* value, bool* malformed) {
  const size_t need = 1 + static_cast<size_t>(int_size_);
  size_t take = std::min(need - pending_int_.size(), data.size());
  pending_int_.insert(pending_int_.end(), data.begin(), data.begin() + take);
  data = data.subspan(take);
  in_pos_ += take;
  if (pending_int_.size() < need) return false;
  uint64_t v = 0;
  for (size_t i = need - 1; i >= 1; --i) v = (v << 8) | pending_int_[i];
  *malformed = pending_int_[0] > 1 || v > static_cast<uint64_t>(INT64_MAX);
  *value = pending_int_[0] ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  pending_int_.clear();
  return true;
}

Status DumpStager::Data(ByteView data) {
  while (!data.empty()) {
    int64_t v = 0;
    bool malformed = false;
    switch (step_) {
      case Step::kBlockType:
        block_type_ = data[0];
        data = data.subspan(1);
        ++in_pos_;
        if (block_type_ != kBlockData && block_type_ != kBlockLargeObjects)
          return Malformed("unknown block type " + std::to_string(block_type_));
        step_ = Step::kBlockId;
        break;
      case Step::kBlockId: {
        if (!TakeInt(data, &v, &malformed)) break;
        auto field = field_of_.find(v);
        if (malformed || field == field_of_.end())
          return Malformed("a data block for unknown entry " + std::to_string(v));
        PGKEEP_RETURN_IF_ERROR(FlushOut());  // keeps out_pos_ exact for the position
        positions_.emplace_back(field->second, out_pos_);
        PGKEEP_RETURN_IF_ERROR(Emit(ByteView(&block_type_, 1)));
        PGKEEP_RETURN_IF_ERROR(EmitInt(v));
        current_ = StagedTableData{};
        if (auto entry = table_entries_.find(v);
            block_type_ == kBlockData && entry != table_entries_.end()) {
          current_ = entry->second;
          current_.offset = out_pos_;
        }
        step_ = block_type_ == kBlockData ? Step::kChunkLength : Step::kObjectId;
        break;
      }
      case Step::kObjectId:  // large objects: (oid, chunks) until oid 0
        if (!TakeInt(data, &v, &malformed)) break;
        if (malformed || v < 0) return Malformed("a large object id " + std::to_string(v));
        PGKEEP_RETURN_IF_ERROR(EmitInt(v));
        step_ = v == 0 ? Step::kBlockType : Step::kChunkLength;
        break;
      case Step::kChunkLength:
        if (!TakeInt(data, &v, &malformed)) break;
        if (malformed || v < 0) return Malformed("a chunk length " + std::to_string(v));
        if (v == 0) {  // the end of a table's data, or of one large object
          PGKEEP_RETURN_IF_ERROR(FlushBlock());
          PGKEEP_RETURN_IF_ERROR(EmitInt(0));
          if (block_type_ == kBlockData && current_.dump_id != 0)
            result_.table_data.push_back(std::move(current_));
          step_ = block_type_ == kBlockData ? Step::kBlockType : Step::kObjectId;
        } else {
          chunk_left_ = static_cast<uint64_t>(v);
          ++result_.chunks_read;
          step_ = Step::kChunkData;
        }
        break;
      case Step::kChunkData: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, data.size()));
        take = std::min(take, kStagedChunkBytes - block_.size());
        block_.insert(block_.end(), data.begin(), data.begin() + take);
        data = data.subspan(take);
        in_pos_ += take;
        chunk_left_ -= take;
        if (block_.size() == kStagedChunkBytes) PGKEEP_RETURN_IF_ERROR(FlushBlock());
        if (chunk_left_ == 0) step_ = Step::kChunkLength;
        break;
      }
    }
  }
  return Status::Ok();
}

Status DumpStager::Write(ByteView data) {
  switch (phase_) {
    case Phase::kCopy:
      in_pos_ += data.size();
      return Emit(data);
    case Phase::kData:
      return Data(data);
    case Phase::kHeader:
      header_.insert(header_.end(), data.begin(), data.end());
      if (header_.size() < next_attempt_) return Status::Ok();
      next_attempt_ = header_.size() * 2;  // parse attempts stay linear in the size
      return TryParseHeader(false);
  }
  return Status::Ok();
}

Result<DumpStaging> DumpStager::Finish() {
  if (phase_ == Phase::kHeader) PGKEEP_RETURN_IF_ERROR(TryParseHeader(true));
  if (phase_ == Phase::kData && (step_ != Step::kBlockType || !pending_int_.empty()))
    return Malformed("the dump ends inside a data block");
  PGKEEP_RETURN_IF_ERROR(FlushOut());
  for (const auto& [field, block] : positions_) {
    uint8_t raw[9];
    raw[0] = kOffsetSet;
    for (int b = 0; b < offset_size_; ++b) raw[1 + b] = static_cast<uint8_t>(block >> (8 * b));
    PGKEEP_RETURN_IF_ERROR(
        out_.WriteAt(field, ByteView(raw, static_cast<size_t>(1 + offset_size_))));
  }
  result_.offsets_added = static_cast<int>(positions_.size());
  return result_;
}

}  // namespace pgkeep
