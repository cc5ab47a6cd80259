#include "common/bytes.h"

#include <malloc.h>
#include <sys/mman.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <new>

namespace pgkeep {

namespace {
constexpr size_t kHugePage = 2 << 20;
// Released large buffers kept for the next allocation of the same rounded
// size: their pages are already in, and a loop that allocates and frees a
// buffer pays for the faults once (glibc's heap did that for such sizes
// before they got mappings of their own).
constexpr size_t kKeptBytes = 32 << 20;
size_t HugeRounded(size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

struct KeptMappings {
  std::mutex mu;
  std::multimap<size_t, void*> by_size;
  size_t bytes = 0;
};
KeptMappings& Kept() {
  static KeptMappings* kept = new KeptMappings();  // never destroyed: used until exit
  return *kept;
}
}  // namespace

void KeepSmallBuffersInTheHeap() {
  // Setting either turns off glibc's sliding thresholds. 16 MiB of free
  // memory at a heap's top is kept before it is trimmed.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kLargeBufferBytes));
  mallopt(M_TRIM_THRESHOLD, 16 << 20);
}

void* AllocateLargeBuffer(size_t bytes) {
  const size_t size = HugeRounded(bytes);
  {
    KeptMappings& kept = Kept();
    std::lock_guard<std::mutex> lock(kept.mu);
    if (auto it = kept.by_size.find(size); it != kept.by_size.end()) {
      void* p = it->second;
      kept.by_size.erase(it);
      kept.bytes -= size;
      return p;
    }
  }
  // Mapped one huge page larger, then trimmed to a 2 MiB boundary: the
  // kernel backs only aligned ranges with huge pages.
  void* raw =
      ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) ::munmap(raw, aligned - start);
  if (const size_t tail = start + size + kHugePage - (aligned + size); tail > 0)
    ::munmap(reinterpret_cast<void*>(aligned + size), tail);
  void* p = reinterpret_cast<void*>(aligned);
  (void)::madvise(p, size, MADV_HUGEPAGE);  // a hint: refused, pages stay 4 KiB
  return p;
}

void FreeLargeBuffer(void* p, size_t bytes) {
  const size_t size = HugeRounded(bytes);
  {
    KeptMappings& kept = Kept();
    std::lock_guard<std::mutex> lock(kept.mu);
    if (kept.bytes + size <= kKeptBytes) {
      kept.by_size.emplace(size, p);
      kept.bytes += size;
      return;
    }
  }
  ::munmap(p, size);
}

std::string HexEncode(ByteView data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

bool IsValidUtf8(std::string_view text) {
  size_t i = 0, n = text.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07;
    else
      return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += len;
  }
  return true;
}

std::string FormatBytes(uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int unit = 0;
  while (v >= 1024 && unit < 5) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(n));
  else
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

}  // namespace pgkeep
