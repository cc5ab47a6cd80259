// wal/wal_names.h — WAL positions and file names as PostgreSQL writes them.
//
// An LSN is printed "X/Y" (high and low 32 bits in hex). With 16 MiB
// segments, segment number n on timeline t is the file
//   TTTTTTTT XXXXXXXX YYYYYYYY   (t, n / 256, n % 256; 8 hex digits each)
// Other files the archiver hands over: "TTTTTTTT.history" (timeline switch),
// "<segment>.XXXXXXXX.backup" (backup history) and "<segment>.partial".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgkeep {

constexpr uint64_t kWalSegmentSize = 16u << 20;  // PostgreSQL's default; others are refused

enum class WalFileKind { kSegment, kHistory, kBackupHistory, kPartial };

std::optional<uint64_t> ParseLsn(std::string_view text);
std::string FormatLsn(uint64_t lsn);

// The kind of an archivable file name, nullopt for anything else.
std::optional<WalFileKind> ClassifyWalFileName(std::string_view name);

std::string WalSegmentName(uint32_t timeline, uint64_t segment_no);
// The segment holding `lsn` on `timeline`.
std::string WalSegmentNameForLsn(uint32_t timeline, uint64_t lsn);
// Timeline and segment number of a segment name (first 24 characters of any
// WAL file name but a history file).
bool ParseWalSegmentName(std::string_view name, uint32_t* timeline, uint64_t* segment_no);

}  // namespace pgkeep
