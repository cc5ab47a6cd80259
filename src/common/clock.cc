#include "common/clock.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

namespace pgkeep {

int64_t SystemClock::NowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t SystemClock::MonotonicMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void SystemClock::SleepForMicros(int64_t micros) const {
  if (micros > 0) std::this_thread::sleep_for(std::chrono::microseconds(micros));
}

namespace {
std::string FormatTime(int64_t unix_seconds, const char* format) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}
}  // namespace

std::string FormatIsoTime(int64_t unix_seconds) {
  return FormatTime(unix_seconds, "%Y-%m-%dT%H:%M:%SZ");
}
std::optional<int64_t> ParseIsoTime(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char tail = 0;
  const std::string copy(text.substr(0, 32));
  if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &tail) !=
      7)
    return std::nullopt;
  if (tail != 'Z' && tail != '.') return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const auto days =
      std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(mo) / std::chrono::day(d));
  return days.time_since_epoch().count() * 86400LL + h * 3600 + mi * 60 + sec;
}
std::string FormatCompactTime(int64_t unix_seconds) {
  return FormatTime(unix_seconds, "%Y%m%dT%H%M%SZ");
}

std::string FormatSpan(int64_t seconds) {
  if (seconds < 120) return std::to_string(seconds) + " s";
  if (seconds < 2 * 3600) return std::to_string(seconds / 60) + " min";
  if (seconds < 2 * 86400) return std::to_string(seconds / 3600) + " h";
  return std::to_string(seconds / 86400) + " d";
}

}  // namespace pgkeep
