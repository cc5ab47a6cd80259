// common/clock.h — the time source, injected so tests can use a manual clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace pgkeep {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC. Thread-safe.
  virtual int64_t NowMicros() const = 0;
  int64_t NowSeconds() const { return NowMicros() / 1000000; }
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t micros = 1'700'000'000'000'000) : now_(micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  void Advance(int64_t micros) { now_ += micros; }
  void Set(int64_t micros) { now_ = micros; }

 private:
  std::atomic<int64_t> now_;
};

// "2026-11-23T05:09:38Z" (seconds precision, UTC).
std::string FormatIsoTime(int64_t unix_seconds);
// "20261123T050938Z": compact, sortable, used inside snapshot ids.
std::string FormatCompactTime(int64_t unix_seconds);

}  // namespace pgkeep
