// bench/gen_text.cc — writes N MiB of the benchmarks' text-like data to stdout.
//   gen_text MIB [SEED]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "support/text_data.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gen_text MIB [SEED]\n");
    return 2;
  }
  uint64_t bytes = std::strtoull(argv[1], nullptr, 10) << 20;
  uint64_t seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1;
  pgkeep::testing::TextSource source(bytes, seed);
  std::vector<uint8_t> buf(1 << 20);
  for (;;) {
    size_t n = *source.Read(buf.data(), buf.size());
    if (n == 0) return 0;
    for (size_t done = 0; done < n;) {
      ssize_t w = ::write(STDOUT_FILENO, buf.data() + done, n - done);
      if (w <= 0) return 1;
      done += static_cast<size_t>(w);
    }
  }
}
