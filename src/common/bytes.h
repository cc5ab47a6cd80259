// common/bytes.h — byte buffers, views, hex and little-endian helpers.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgkeep {

// Large buffers (kLargeBufferBytes and up) come from mappings of their own
// on 2 MiB boundaries that ask for transparent huge pages. Each fresh 4 KiB
// page of a buffer faults in on first touch, and on a virtual machine a
// fault can cost ~12 us: 40-50 ms for one 16 MiB WAL segment read into a
// new buffer, measured on the 2-core VM, against ~1.5 ms when huge pages
// back it. Where the kernel gives no huge pages it is an ordinary mapping.
// Up to 32 MiB of released buffers are kept and handed out again for the
// same rounded size. Thread-safe; AllocateLargeBuffer throws std::bad_alloc
// when the memory is not there.
inline constexpr size_t kLargeBufferBytes = 2 << 20;
void* AllocateLargeBuffer(size_t bytes);
void FreeLargeBuffer(void* p, size_t bytes);

// Below kLargeBufferBytes, glibc's heap, told to keep what it is given
// back: by default each allocation of 128 KiB or more (a buffer growing
// through 256 KiB, 512 KiB, 1 MiB...) is a fresh mapping whose every page
// faults in, and freed heap memory goes back to the kernel. Called once, by
// main, before any thread starts.
void KeepSmallBuffersInTheHeap();

// Growing a buffer does not zero the new bytes: the pipelines resize a
// buffer and then overwrite it (decompress, decrypt, read), and zeroing it
// first would cost a full extra pass over every byte.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  T* allocate(size_t n) {
    if (n * sizeof(T) >= kLargeBufferBytes)
      return static_cast<T*>(AllocateLargeBuffer(n * sizeof(T)));
    return std::allocator<T>::allocate(n);
  }
  void deallocate(T* p, size_t n) noexcept {
    if (n * sizeof(T) >= kLargeBufferBytes)
      FreeLargeBuffer(p, n * sizeof(T));
    else
      std::allocator<T>::deallocate(p, n);
  }
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsString(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

std::string HexEncode(ByteView data);
// Returns nullopt unless `hex` is an even-length string of [0-9a-fA-F].
std::optional<Bytes> HexDecode(std::string_view hex);

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates,
// nothing above U+10FFFF): what JSON output and the repository's JSON
// objects can hold as a string.
bool IsValidUtf8(std::string_view text);

inline void PutU32(Bytes& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void PutU64(Bytes& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline uint32_t GetU32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
inline uint64_t GetU64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
// (resize + memcpy would copy faster than insert, which constructs byte by
// byte through the allocator, but g++ 12 at -O3 reports a false
// -Wstringop-overflow in resize's reallocation. Reserve large buffers
// first: growing through many sizes costs more than the copy.)
inline void Append(Bytes& out, ByteView data) { out.insert(out.end(), data.begin(), data.end()); }

// Human-readable size: "1.5 MiB".
std::string FormatBytes(uint64_t n);

}  // namespace pgkeep
