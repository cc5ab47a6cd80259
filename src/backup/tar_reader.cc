// backup/tar_reader.cc — tar header parsing and the entry/data state machine.
#include "backup/tar_reader.h"

#include <algorithm>
#include <cstring>
#include <string_view>

namespace pgkeep {
namespace {

constexpr size_t kBlockSize = 512;
// GNU long names are read into memory; PostgreSQL paths stay far below this,
// and the cap keeps a damaged size field from allocating gigabytes.
constexpr uint64_t kMaxLongName = 64 * 1024;
constexpr size_t kSkipBufferSize = 64 * 1024;

// Header field offsets and lengths (POSIX ustar; GNU shares the first 345 bytes).
constexpr size_t kNameOff = 0, kNameLen = 100;
constexpr size_t kModeOff = 100, kModeLen = 8;
constexpr size_t kSizeOff = 124, kSizeLen = 12;
constexpr size_t kMtimeOff = 136, kMtimeLen = 12;
constexpr size_t kChksumOff = 148, kChksumLen = 8;
constexpr size_t kTypeOff = 156;
constexpr size_t kLinkOff = 157, kLinkLen = 100;
constexpr size_t kMagicOff = 257;
constexpr size_t kPrefixOff = 345, kPrefixLen = 155;

uint64_t PaddingFor(uint64_t size) { return (kBlockSize - size % kBlockSize) % kBlockSize; }

bool IsZeroBlock(const uint8_t* block) {
  return std::all_of(block, block + kBlockSize, [](uint8_t b) { return b == 0; });
}

// A NUL-terminated field, or all `len` bytes when it has no NUL.
std::string FieldString(const uint8_t* f, size_t len) {
  const uint8_t* end = std::find(f, f + len, uint8_t{0});
  return std::string(reinterpret_cast<const char*>(f), static_cast<size_t>(end - f));
}

// Octal digits, optionally space-led and space- or NUL-terminated (an empty
// field is 0), or GNU base-256: high bit of the first byte set, the rest a
// big-endian two's complement number whose sign is bit 6 of the first byte.
std::optional<int64_t> ParseNumber(const uint8_t* f, size_t len) {
  if (f[0] & 0x80) {
    uint8_t first = f[0] & 0x7F;
    bool negative = (first & 0x40) != 0;
    if (negative) first |= 0x80;
    uint8_t extension = negative ? 0xFF : 0x00;
    uint64_t v = 0;
    for (size_t i = 0; i < len; ++i) {
      uint8_t b = i == 0 ? first : f[i];
      if (i + 8 < len) {  // beyond 64 bits: only sign extension may appear
        if (b != extension) return std::nullopt;
        continue;
      }
      v = (v << 8) | b;
    }
    auto result = static_cast<int64_t>(v);
    if ((result < 0) != negative) return std::nullopt;
    return result;
  }
  size_t i = 0;
  while (i < len && f[i] == ' ') ++i;
  int64_t v = 0;  // at most 12 octal digits: 36 bits
  for (; i < len && f[i] >= '0' && f[i] <= '7'; ++i) v = v * 8 + (f[i] - '0');
  for (; i < len; ++i) {
    if (f[i] != ' ' && f[i] != '\0') return std::nullopt;
  }
  return v;
}

Status BadHeader(const std::string& what) {
  return Status::Error(ErrorCode::kCorrupt, "bad tar header " + what);
}

// The header's own fields; the caller applies GNU long names and "./".
Result<TarEntry> ParseHeader(const uint8_t* block) {
  auto stored = ParseNumber(block + kChksumOff, kChksumLen);
  if (!stored) return BadHeader("checksum field");
  // The checksum field counts as eight spaces. Some old writers summed
  // signed chars, so that sum is accepted too.
  int64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlockSize; ++i) {
    bool in_field = i >= kChksumOff && i < kChksumOff + kChksumLen;
    unsigned_sum += in_field ? ' ' : block[i];
    signed_sum += in_field ? ' ' : static_cast<int8_t>(block[i]);
  }
  if (*stored != unsigned_sum && *stored != signed_sum) return BadHeader("checksum");

  TarEntry entry;
  entry.path = FieldString(block + kNameOff, kNameLen);
  // Only POSIX ustar has a prefix; GNU keeps other fields (atime, ...) there.
  if (std::memcmp(block + kMagicOff, "ustar\0", 6) == 0) {
    std::string prefix = FieldString(block + kPrefixOff, kPrefixLen);
    if (!prefix.empty()) entry.path = prefix + "/" + entry.path;
  }
  entry.type = block[kTypeOff] == '\0' ? '0' : static_cast<char>(block[kTypeOff]);
  auto mode = ParseNumber(block + kModeOff, kModeLen);
  if (!mode || *mode < 0 || *mode > UINT32_MAX) return BadHeader("mode field");
  entry.mode = static_cast<uint32_t>(*mode);
  auto size = ParseNumber(block + kSizeOff, kSizeLen);
  if (!size || *size < 0) return BadHeader("size field");
  entry.size = static_cast<uint64_t>(*size);
  auto mtime = ParseNumber(block + kMtimeOff, kMtimeLen);
  if (!mtime) return BadHeader("mtime field");
  entry.mtime = *mtime;
  entry.link_target = FieldString(block + kLinkOff, kLinkLen);
  return entry;
}

std::string NormalizePath(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  while (path.starts_with("./") && path.size() > 2) path.erase(0, 2);
  return path;
}

}  // namespace

TarReader::TarReader(ByteSource& source, std::string what)
    : source_(source), what_(std::move(what)) {}

Result<std::optional<TarEntry>> TarReader::Next() {
  if (!failed_.ok()) return failed_;
  if (at_end_) return std::optional<TarEntry>();
  PGKEEP_RETURN_IF_ERROR(SkipRest());

  std::optional<std::string> long_name;
  std::optional<std::string> long_link;
  for (;;) {
    uint64_t header_offset = offset_;
    uint8_t block[kBlockSize];
    Result<bool> got = ReadBlock(block, "a tar header");
    if (!got.ok()) return got.status();
    bool end = !*got;
    if (!end && IsZeroBlock(block)) {
      got = ReadBlock(block, "the end-of-archive marker");
      if (!got.ok()) return got.status();
      if (*got && !IsZeroBlock(block)) {
        return Fail("zero block at offset " + std::to_string(header_offset) +
                    " is followed by more headers");
      }
      end = true;
    }
    if (end) {
      if (long_name || long_link) {
        return Fail("archive ends after a long name entry at offset " +
                    std::to_string(header_offset));
      }
      at_end_ = true;
      return std::optional<TarEntry>();
    }

    Result<TarEntry> parsed = ParseHeader(block);
    if (!parsed.ok()) {
      return Fail(parsed.status().message() + " at offset " + std::to_string(header_offset));
    }
    TarEntry entry = std::move(parsed).value();
    data_left_ = entry.size;
    padding_left_ = PaddingFor(entry.size);
    current_path_ = entry.path;
    if (entry.type == 'L' || entry.type == 'K') {
      Result<std::string> name = ReadLongName(entry.size);
      if (!name.ok()) return name.status();
      (entry.type == 'L' ? long_name : long_link) = std::move(name).value();
      PGKEEP_RETURN_IF_ERROR(SkipRest());
      continue;
    }
    if (long_name) entry.path = std::move(*long_name);
    if (long_link) entry.link_target = std::move(*long_link);
    entry.path = NormalizePath(std::move(entry.path));
    current_path_ = entry.path;
    return std::optional<TarEntry>(std::move(entry));
  }
}

Result<size_t> TarReader::ReadData(uint8_t* buf, size_t n) {
  if (!failed_.ok()) return failed_;
  if (data_left_ == 0 || n == 0) return size_t{0};
  size_t want = static_cast<size_t>(std::min<uint64_t>(n, data_left_));
  Result<size_t> got = source_.Read(buf, want);
  if (!got.ok()) {
    failed_ = got.status();
    return failed_;
  }
  if (*got == 0) {
    return Fail("truncated in the data of \"" + current_path_ + "\" at offset " +
                std::to_string(offset_));
  }
  offset_ += *got;
  data_left_ -= *got;
  return *got;
}

Result<size_t> TarReader::ReadUpTo(uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    Result<size_t> got = source_.Read(buf + done, n - done);
    if (!got.ok()) {
      failed_ = got.status();
      return failed_;
    }
    if (*got == 0) break;
    done += *got;
    offset_ += *got;
  }
  return done;
}

Result<bool> TarReader::ReadBlock(uint8_t* block, const char* where) {
  uint64_t start = offset_;
  Result<size_t> got = ReadUpTo(block, kBlockSize);
  if (!got.ok()) return got.status();
  if (*got == 0) return false;
  if (*got < kBlockSize) {
    return Fail(std::string("truncated in ") + where + " at offset " + std::to_string(start));
  }
  return true;
}

Status TarReader::SkipRest() {
  if (data_left_ > 0 && skip_buffer_.empty()) skip_buffer_.resize(kSkipBufferSize);
  while (data_left_ > 0) {
    Result<size_t> got = ReadData(skip_buffer_.data(), skip_buffer_.size());
    if (!got.ok()) return got.status();
  }
  uint8_t padding[kBlockSize];
  size_t want = static_cast<size_t>(padding_left_);
  padding_left_ = 0;
  Result<size_t> got = ReadUpTo(padding, want);
  if (!got.ok()) return got.status();
  if (*got < want) {
    return Fail("truncated in the padding after \"" + current_path_ + "\" at offset " +
                std::to_string(offset_));
  }
  return Status::Ok();
}

Result<std::string> TarReader::ReadLongName(uint64_t size) {
  if (size == 0 || size > kMaxLongName) {
    return Fail("bad tar header size field of a long name entry at offset " +
                std::to_string(offset_ - kBlockSize));
  }
  std::string name(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < name.size()) {
    Result<size_t> got =
        ReadData(reinterpret_cast<uint8_t*>(name.data()) + done, name.size() - done);
    if (!got.ok()) return got.status();
    done += *got;
  }
  name.resize(std::strlen(name.c_str()));  // the name is NUL-terminated within its data
  return name;
}

Status TarReader::Fail(std::string message) {
  failed_ = Status::Error(ErrorCode::kCorrupt, what_ + ": " + message);
  return failed_;
}

}  // namespace pgkeep
