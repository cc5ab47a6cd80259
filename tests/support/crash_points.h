// tests/support/crash_points.h — runs an operation once per sync point,
// crashing it there (common/fault_env.h), for tests that prove what survives.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "common/fault_env.h"

namespace pgkeep::testing {

// For point = 1, 2, ...: copies directory `seed` to `work` (replacing it),
// runs `operation` through a FaultEnv whose `point`-th sync crashes, drops
// everything not yet synced and calls `check`, which looks at what a
// rebooted machine would find in `work`. Stops after the first run that
// ends before reaching its crash point (every sync point has been tried)
// or at the first failed check. Returns the number of crash points tried.
inline int CrashAtEverySyncPoint(Env& real, const std::string& seed, const std::string& work,
                                 const std::function<void(Env&)>& operation,
                                 const std::function<void()>& check) {
  for (int point = 1;; ++point) {
    SCOPED_TRACE("crash at sync point " + std::to_string(point));
    std::filesystem::remove_all(work);
    std::filesystem::copy(
        seed, work,
        std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
    FaultEnv fault(real);
    fault.CrashAtSync(point);
    operation(fault);
    bool crashed = fault.crashed();
    Status dropped = fault.DropUnsyncedData();
    EXPECT_TRUE(dropped.ok()) << dropped.ToString();
    check();
    if (::testing::Test::HasFailure()) return point;
    if (!crashed) {
      std::printf("[  crash   ] tried %d sync points\n", point - 1);
      return point - 1;
    }
  }
}

}  // namespace pgkeep::testing
