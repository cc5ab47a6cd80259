// common/clock.h — the time source, injected so tests can use a manual clock
// whose sleeping only moves it forward (no test waits for time to pass).
// Code that has an Env (common/env.h) may use its time instead; code that
// only has a repository (repo/) uses the repository's Clock.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgkeep {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch, UTC. Thread-safe.
  virtual int64_t NowMicros() const = 0;
  int64_t NowSeconds() const { return NowMicros() / 1000000; }
  // Never goes backwards; for durations and deadlines. Thread-safe.
  virtual int64_t MonotonicMicros() const = 0;
  // Blocks the calling thread for `micros` (a ManualClock advances instead).
  virtual void SleepForMicros(int64_t micros) const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMicros() const override;
  int64_t MonotonicMicros() const override;
  void SleepForMicros(int64_t micros) const override;
};

// A clock that moves only when told to; for tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t micros = 1'700'000'000'000'000) : now_(micros) {}
  int64_t NowMicros() const override { return now_.load(); }
  int64_t MonotonicMicros() const override { return now_.load(); }
  // Returns at once, the clock moved `micros` on.
  void SleepForMicros(int64_t micros) const override { now_ += micros > 0 ? micros : 0; }
  void Advance(int64_t micros) { now_ += micros; }
  void Set(int64_t micros) { now_ = micros; }

 private:
  mutable std::atomic<int64_t> now_;
};

// "2026-11-23T05:09:38Z" (seconds precision, UTC).
std::string FormatIsoTime(int64_t unix_seconds);
// The seconds of "2026-11-23T05:09:38Z" or "2026-11-23T05:09:38.123Z" (UTC,
// fractions dropped), as object stores write times; nullopt otherwise.
std::optional<int64_t> ParseIsoTime(std::string_view text);
// "20261123T050938Z": compact, sortable, used inside snapshot ids.
std::string FormatCompactTime(int64_t unix_seconds);
// A span for people: "45 s", "12 min", "36 h", "9 d" (rounded down; the
// unit changes at twice its size, so "90 s" stays seconds).
std::string FormatSpan(int64_t seconds);

}  // namespace pgkeep
