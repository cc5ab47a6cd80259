// backup/page_verify.h — checking data page checksums while a relation file
// streams into the repository.
//
// PageCheckingSource passes a file's bytes through unchanged (apart from a
// page that re-reads clean) and checks every whole 8 KiB page on the way:
//   - new pages (pd_upper == 0) and pages whose LSN is at or after the backup's
//     start LSN are skipped: they are being written, and WAL replay rewrites them;
//   - a mismatch is read again once (`reread`, local files only): a page torn
//     by a concurrent write reads clean the second time, and that copy is kept;
//   - a page still wrong is reported as corrupt (file and block) and kept as is,
//     so the backup holds exactly what the server has.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/stream.h"

namespace pgkeep {

struct CorruptPage {
  std::string file;
  uint32_t block = 0;  // block number within the relation (segment * 131072 + page in file)
  uint16_t expected = 0;
  uint16_t found = 0;
};

struct PageCheckStats {
  uint64_t pages_checked = 0;
  std::vector<CorruptPage> corrupt;
};

class PageCheckingSource final : public ByteSource {
 public:
  // Reads `file` page `page_in_file` again into `page`; false if it cannot.
  using Reread = std::function<bool(uint64_t page_in_file, uint8_t* page)>;

  PageCheckingSource(ByteSource& inner, std::string file, uint32_t segment_no, uint64_t start_lsn,
                     Reread reread, PageCheckStats* stats);
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  Status Fill();
  void CheckPage(uint8_t* page, uint64_t page_in_file);

  ByteSource& inner_;
  std::string file_;
  uint32_t segment_no_;
  uint64_t start_lsn_;
  Reread reread_;
  PageCheckStats* stats_;
  Bytes staged_;
  size_t staged_pos_ = 0;
  uint64_t offset_ = 0;  // file offset of staged_[0]
  bool eof_ = false;
};

// Whether pages of `path` (relative to the data directory) are checked, and
// its segment number.
bool ShouldCheckPages(const std::string& path, uint32_t* segment_no);

}  // namespace pgkeep
