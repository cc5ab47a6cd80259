#include "wal/wal_names.h"

#include <cstdio>

namespace pgkeep {

namespace {

constexpr uint64_t kSegmentsPerId = 0x100000000ull / kWalSegmentSize;

bool IsUpperHex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

std::optional<uint64_t> Hex(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0) return std::nullopt;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace

std::optional<uint64_t> ParseLsn(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || slash > 8 || text.size() - slash - 1 > 8)
    return std::nullopt;
  auto hi = Hex(text.substr(0, slash));
  auto lo = Hex(text.substr(slash + 1));
  if (!hi || !lo) return std::nullopt;
  return *hi << 32 | *lo;
}

std::string FormatLsn(uint64_t lsn) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

std::optional<WalFileKind> ClassifyWalFileName(std::string_view name) {
  if (name.size() == 16 && name.substr(8) == ".history" && IsUpperHex(name.substr(0, 8)))
    return WalFileKind::kHistory;
  if (name.size() < 24 || !IsUpperHex(name.substr(0, 24))) return std::nullopt;
  std::string_view rest = name.substr(24);
  if (rest.empty()) return WalFileKind::kSegment;
  if (rest == ".partial") return WalFileKind::kPartial;
  if (rest.size() == 16 && rest[0] == '.' && IsUpperHex(rest.substr(1, 8)) &&
      rest.substr(9) == ".backup")
    return WalFileKind::kBackupHistory;
  return std::nullopt;
}

std::string WalSegmentName(uint32_t timeline, uint64_t segment_no) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline,
                static_cast<unsigned>(segment_no / kSegmentsPerId),
                static_cast<unsigned>(segment_no % kSegmentsPerId));
  return buf;
}

std::string WalSegmentNameForLsn(uint32_t timeline, uint64_t lsn) {
  return WalSegmentName(timeline, lsn / kWalSegmentSize);
}

bool ParseWalSegmentName(std::string_view name, uint32_t* timeline, uint64_t* segment_no) {
  if (name.size() < 24 || !IsUpperHex(name.substr(0, 24))) return false;
  auto tli = Hex(name.substr(0, 8)), log = Hex(name.substr(8, 8)), seg = Hex(name.substr(16, 8));
  if (!tli || !log || !seg || *seg >= kSegmentsPerId) return false;
  *timeline = static_cast<uint32_t>(*tli);
  *segment_no = *log * kSegmentsPerId + *seg;
  return true;
}

}  // namespace pgkeep
