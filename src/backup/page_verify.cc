#include "backup/page_verify.h"

#include <cstring>

#include "backup/page_checksum.h"

namespace pgkeep {

namespace {
constexpr size_t kStageSize = 1 << 20;  // 128 pages per read
}

PageCheckingSource::PageCheckingSource(ByteSource& inner, std::string file, uint32_t segment_no,
                                       uint64_t start_lsn, Reread reread, PageCheckStats* stats)
    : inner_(inner),
      file_(std::move(file)),
      segment_no_(segment_no),
      start_lsn_(start_lsn),
      reread_(std::move(reread)),
      stats_(stats) {}

void PageCheckingSource::CheckPage(uint8_t* page, uint64_t page_in_file) {
  if (PageIsNew(page) || PageLsn(page) >= start_lsn_) return;
  uint32_t blkno = segment_no_ * kBlocksPerSegment + static_cast<uint32_t>(page_in_file);
  ++stats_->pages_checked;
  uint16_t computed = PageChecksum(page, blkno);
  if (computed == PageStoredChecksum(page)) return;
  Bytes again(kPageSize);
  if (reread_) {
    // Cannot read it again (truncated meanwhile): not verifiable, and WAL
    // replay rewrites whatever changed; not a corrupt page.
    if (!reread_(page_in_file, again.data())) return;
    if (PageIsNew(again.data()) || PageLsn(again.data()) >= start_lsn_ ||
        PageChecksum(again.data(), blkno) == PageStoredChecksum(again.data())) {
      std::memcpy(page, again.data(),
                  kPageSize);  // torn by a concurrent write: keep the clean copy
      return;
    }
  }
  stats_->corrupt.push_back({file_, blkno, PageStoredChecksum(page), computed});
}

Status PageCheckingSource::Fill() {
  offset_ += staged_.size();
  staged_.resize(kStageSize);
  size_t have = 0;
  while (have < kStageSize) {
    auto n = inner_.Read(staged_.data() + have, kStageSize - have);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      eof_ = true;
      break;
    }
    have += *n;
  }
  staged_.resize(have);
  staged_pos_ = 0;
  for (size_t p = 0; p + kPageSize <= have; p += kPageSize)
    CheckPage(staged_.data() + p, (offset_ + p) / kPageSize);
  return Status::Ok();
}

Result<size_t> PageCheckingSource::Read(uint8_t* buf, size_t n) {
  if (staged_pos_ == staged_.size()) {
    if (eof_) return size_t{0};
    PGKEEP_RETURN_IF_ERROR(Fill());
    if (staged_.empty()) return size_t{0};
  }
  size_t take = std::min(n, staged_.size() - staged_pos_);
  std::memcpy(buf, staged_.data() + staged_pos_, take);
  staged_pos_ += take;
  return take;
}

bool ShouldCheckPages(const std::string& path, uint32_t* segment_no) {
  return IsChecksummedRelationFile(path, segment_no);
}

}  // namespace pgkeep
