// backup/page_checksum.h — PostgreSQL data page checksums and the page header
// fields a physical backup needs, so a backup can tell a torn or corrupt page
// from a good one while copying relation files.
//
// The checksum is PostgreSQL's (storage/checksum_impl.h): the 8 KiB page read
// as native-endian 32-bit words in 32 parallel FNV-1a-style lanes, with
// pd_checksum counted as zero, then mixed with the absolute block number.
// Pages are read in the byte order of the machine that wrote them, which is
// the machine pgkeep runs on for a local data directory.
//
// All functions are pure; `page` must point at kPageSize readable bytes (any
// alignment). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pgkeep {

constexpr size_t kPageSize = 8192;              // BLCKSZ
constexpr uint32_t kBlocksPerSegment = 131072;  // RELSEG_SIZE: 1 GiB segment files

// The checksum PostgreSQL stores in pd_checksum for `page` at absolute block
// number `blkno` (segment number * kBlocksPerSegment + block index in the
// segment file). Never 0. Meaningless for new pages (see PageIsNew).
uint16_t PageChecksum(const uint8_t* page, uint32_t blkno);

// pd_checksum as stored in the page.
uint16_t PageStoredChecksum(const uint8_t* page);
// pd_lsn: xlogid (high 32 bits) then xrecoff (low 32 bits), both native-endian.
uint64_t PageLsn(const uint8_t* page);
// pd_upper == 0: PostgreSQL treats such a page as new and never checksums it;
// an all-zero page (left by relation extension) is new and valid.
bool PageIsNew(const uint8_t* page);
bool PageIsAllZero(const uint8_t* page);

// Whether `path`, relative to the data directory and '/'-separated, is a
// relation file whose pages carry checksums: base/<db>/<file>,
// global/<file> or pg_tblspc/<oid>/<version dir>/<db>/<file>, where <file>
// is a relfilenode number with an optional _fsm, _vm or _init fork suffix and
// an optional .N segment number. Temporary relations (t<digits>_<digits>) and
// the non-relation files living beside relations (pg_control,
// pg_filenode.map, pg_internal.init, PG_VERSION, ...) are not. On success
// sets *segment_no to N, or 0 when there is no segment suffix.
bool IsChecksummedRelationFile(std::string_view path, uint32_t* segment_no);

}  // namespace pgkeep
