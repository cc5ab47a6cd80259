// tests/support/clock_env.h — the real Env, with time from a Clock: under a
// ManualClock, sleeping moves the clock on and returns at once, so waiting
// loops (WAL arrival, a server starting) run without waiting.
#pragma once

#include "common/clock.h"
#include "common/env.h"

namespace pgkeep::testing {

class ClockEnv final : public EnvWrapper {
 public:
  ClockEnv(Env& target, const Clock& clock) : EnvWrapper(target), clock_(clock) {}
  int64_t NowMicros() override { return clock_.NowMicros(); }
  int64_t MonotonicMicros() override { return clock_.MonotonicMicros(); }
  void SleepForMicros(int64_t micros) override { clock_.SleepForMicros(micros); }

 private:
  const Clock& clock_;
};

}  // namespace pgkeep::testing
