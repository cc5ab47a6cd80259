// tests/support/text_data.h — deterministic, text-like test data (chat-log
// lines of pseudo-words), generated fast enough to stream gigabytes. Equal
// seeds give equal bytes; the content does not repeat, so it neither
// deduplicates against itself nor compresses absurdly well.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/stream.h"

namespace pgkeep::testing {

class TextSource final : public ByteSource {
 public:
  TextSource(uint64_t total_bytes, uint64_t seed);
  Result<size_t> Read(uint8_t* buf, size_t n) override;

 private:
  void NextLine();
  uint64_t Rand();

  uint64_t remaining_;
  uint64_t state_;
  std::vector<std::string> words_;
  std::string line_;
  size_t line_pos_ = 0;
  uint64_t line_no_ = 0;
};

// `n` bytes of text-like data.
Bytes MakeText(size_t n, uint64_t seed);

}  // namespace pgkeep::testing
