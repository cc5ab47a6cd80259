#include "support/text_data.h"

#include <algorithm>
#include <cstring>

namespace pgkeep::testing {

namespace {
constexpr int kVocabulary = 8000;
constexpr const char* kSyllables[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "an", "el",
                                      "is", "or", "un", "be", "co", "da", "fe", "gi", "ho", "ju"};
}  // namespace

TextSource::TextSource(uint64_t total_bytes, uint64_t seed)
    : remaining_(total_bytes), state_(seed * 0x9E3779B97F4A7C15ull + 1) {
  uint64_t vocab_state = 42;  // the vocabulary is the same for every seed
  for (int i = 0; i < kVocabulary; ++i) {
    vocab_state ^= vocab_state << 13;
    vocab_state ^= vocab_state >> 7;
    vocab_state ^= vocab_state << 17;
    std::string w;
    int syllables = 1 + static_cast<int>(vocab_state % 4);
    for (int s = 0; s < syllables; ++s) w += kSyllables[(vocab_state >> (8 + 5 * s)) % 20];
    words_.push_back(w);
  }
}

uint64_t TextSource::Rand() {
  state_ ^= state_ << 13;
  state_ ^= state_ >> 7;
  state_ ^= state_ << 17;
  return state_;
}

void TextSource::NextLine() {
  uint64_t r = Rand();
  line_.clear();
  char head[96];
  std::snprintf(head, sizeof head, "%llu\t2026-%02d-%02d %02d:%02d:%02d\torg-%u\tvisitor-%u\t",
                static_cast<unsigned long long>(++line_no_), 1 + static_cast<int>(r % 12),
                1 + static_cast<int>((r >> 4) % 28), static_cast<int>((r >> 9) % 24),
                static_cast<int>((r >> 14) % 60), static_cast<int>((r >> 20) % 60),
                static_cast<unsigned>((r >> 26) % 500), static_cast<unsigned>((r >> 35) % 100000));
  line_ += head;
  int words = 3 + static_cast<int>((r >> 52) % 30);
  for (int i = 0; i < words; ++i) {
    uint64_t w = Rand();
    // Zipf-like: most words come from the first few hundred.
    size_t idx = (w % 4 == 0) ? w % kVocabulary : (w >> 8) % 300;
    line_ += words_[idx];
    line_ += (i + 1 == words) ? ".\n" : " ";
  }
  line_pos_ = 0;
}

Result<size_t> TextSource::Read(uint8_t* buf, size_t n) {
  size_t done = 0;
  while (done < n && remaining_ > 0) {
    if (line_pos_ == line_.size()) NextLine();
    size_t take = std::min<uint64_t>({n - done, line_.size() - line_pos_, remaining_});
    std::memcpy(buf + done, line_.data() + line_pos_, take);
    line_pos_ += take;
    done += take;
    remaining_ -= take;
  }
  return done;
}

Bytes MakeText(size_t n, uint64_t seed) {
  Bytes out(n);
  TextSource source(n, seed);
  size_t done = 0;
  while (done < n) done += *source.Read(out.data() + done, n - done);
  return out;
}

}  // namespace pgkeep::testing
