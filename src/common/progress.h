// common/progress.h — how a long operation says what it is doing: one short
// line per step, as the step starts ("copying the data directory",
// "waiting for WAL 000000010000000000000003"). The CLI prints them with
// --progress; the daemon will log them and time a drill's phases by them.
#pragma once

#include <functional>
#include <string>

namespace pgkeep {

// May be empty: nobody listens.
using Progress = std::function<void(const std::string& step)>;

inline void ReportStep(const Progress& progress, const std::string& step) {
  if (progress) progress(step);
}

}  // namespace pgkeep
