// backup/page_checksum.cc — PostgreSQL page checksum and relation file names.
#include "backup/page_checksum.h"

#include <array>
#include <cstring>
#include <vector>

namespace pgkeep {
namespace {

// The algorithm's fixed shape: changing any of these changes every checksum.
constexpr size_t kLanes = 32;
constexpr uint32_t kFnvPrime = 16777619;
constexpr size_t kChecksumOffset = 8;  // pd_checksum follows the 8-byte pd_lsn
constexpr size_t kUpperOffset = 14;    // pd_upper follows pd_checksum, pd_flags, pd_lower

// The lanes' initial states, from PostgreSQL's checksum_impl.h.
constexpr std::array<uint32_t, kLanes> kLaneSeeds = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756,
};

// FNV-1a on a 32-bit word, plus a xor of the high bits shifted down because
// plain FNV-1a lets high input bits reach only high output bits.
inline uint32_t Mix(uint32_t lane, uint32_t word) {
  uint32_t t = lane ^ word;
  return (t * kFnvPrime) ^ (t >> 17);
}

template <typename T>
T LoadNative(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whether `name` is <relfilenode>[_fork][.segment]; sets *segment_no.
bool ParseRelationFileName(std::string_view name, uint32_t* segment_no) {
  uint32_t segment = 0;
  size_t dot = name.find('.');
  if (dot != std::string_view::npos) {
    std::string_view digits = name.substr(dot + 1);
    if (!AllDigits(digits)) return false;
    uint64_t n = 0;
    for (char c : digits) {
      n = n * 10 + static_cast<uint64_t>(c - '0');
      // Block numbers are 32-bit, so no relation reaches segment 32768.
      if (n * kBlocksPerSegment > UINT32_MAX) return false;
    }
    segment = static_cast<uint32_t>(n);
    name = name.substr(0, dot);
  }
  size_t underscore = name.find('_');
  if (underscore != std::string_view::npos) {
    std::string_view fork = name.substr(underscore + 1);
    if (fork != "fsm" && fork != "vm" && fork != "init") return false;
    name = name.substr(0, underscore);
  }
  // Digits only also rules out temporary relations (t3_16384), pg_control,
  // pg_filenode.map, pg_internal.init, PG_VERSION and config_exec_params.
  if (!AllDigits(name)) return false;
  *segment_no = segment;
  return true;
}

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  for (;;) {
    size_t slash = path.find('/');
    parts.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return parts;
    path.remove_prefix(slash + 1);
  }
}

}  // namespace

uint16_t PageChecksum(const uint8_t* page, uint32_t blkno) {
  std::array<uint32_t, kLanes> lanes = kLaneSeeds;
  for (size_t row = 0; row < kPageSize; row += kLanes * sizeof(uint32_t)) {
    for (size_t j = 0; j < kLanes; ++j) {
      size_t off = row + j * sizeof(uint32_t);
      // pd_checksum (bytes 8-9) lies in word 2 of row 0; it counts as zero.
      uint32_t word = LoadNative<uint32_t>(page + off);
      if (off == kChecksumOffset) {
        std::memset(reinterpret_cast<uint8_t*>(&word), 0, sizeof(uint16_t));
      }
      lanes[j] = Mix(lanes[j], word);
    }
  }
  uint32_t folded = 0;
  for (uint32_t lane : lanes) folded ^= Mix(Mix(lane, 0), 0);
  folded ^= blkno;
  // 1..65535, so that 0 never looks like a checksum.
  return static_cast<uint16_t>(folded % 65535 + 1);
}

uint16_t PageStoredChecksum(const uint8_t* page) {
  return LoadNative<uint16_t>(page + kChecksumOffset);
}

uint64_t PageLsn(const uint8_t* page) {
  uint64_t xlogid = LoadNative<uint32_t>(page);
  uint64_t xrecoff = LoadNative<uint32_t>(page + 4);
  return (xlogid << 32) | xrecoff;
}

bool PageIsNew(const uint8_t* page) { return LoadNative<uint16_t>(page + kUpperOffset) == 0; }

bool PageIsAllZero(const uint8_t* page) {
  for (size_t i = 0; i < kPageSize; ++i) {
    if (page[i] != 0) return false;
  }
  return true;
}

bool IsChecksummedRelationFile(std::string_view path, uint32_t* segment_no) {
  std::vector<std::string_view> parts = SplitPath(path);
  bool relation_dir = false;
  if (parts[0] == "global") {
    relation_dir = parts.size() == 2;
  } else if (parts[0] == "base") {
    relation_dir = parts.size() == 3 && AllDigits(parts[1]);
  } else if (parts[0] == "pg_tblspc") {
    // pg_tblspc/<tablespace oid>/PG_<major>_<catversion>/<database oid>/<file>
    relation_dir = parts.size() == 5 && AllDigits(parts[1]) && parts[2].starts_with("PG_") &&
                   AllDigits(parts[3]);
  }
  return relation_dir && ParseRelationFileName(parts.back(), segment_no);
}

}  // namespace pgkeep
