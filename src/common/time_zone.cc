#include "common/time_zone.h"

#include <date/tz.h>

#include <exception>
#include <optional>
#include <string_view>

#include "common/bytes.h"
#include "common/env.h"
#include "common/file_io.h"

// date 3.0.1's ptz.h names `hh_mm_ss` unqualified under `using namespace
// date; using namespace std::chrono;`, which C++20's std::chrono::hh_mm_ss
// makes ambiguous; an alias only date has resolves both of its uses.
namespace date {
template <class Duration>
using hh_mm_ss_for_ptz = hh_mm_ss<Duration>;
}  // namespace date
#define hh_mm_ss hh_mm_ss_for_ptz
#include <date/ptz.h>
#undef hh_mm_ss

namespace pgkeep {
namespace {

namespace chr = std::chrono;

constexpr const char* kZoneInfoDir = "/usr/share/zoneinfo";

chr::sys_seconds AsSysSeconds(int64_t unix_seconds) {
  return chr::sys_seconds{chr::seconds{unix_seconds}};
}

// The POSIX TZ string on the TZif file's last line (RFC 8536 section 3.3),
// or nullopt when the file has none or the date library cannot parse it.
std::optional<Posix::time_zone> FooterRule(const Bytes& file) {
  std::string_view text = AsString(file);
  if (text.size() < 2 || text.back() != '\n') return std::nullopt;
  size_t open = text.rfind('\n', text.size() - 2);
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view footer = text.substr(open + 1, text.size() - open - 2);
  if (footer.empty()) return std::nullopt;
  try {
    return Posix::time_zone(std::string(footer));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

struct TimeZone::Rules {
  const date::time_zone* zone = nullptr;  // owned by the date library's database, never freed
  chr::sys_seconds last_transition;
  std::optional<Posix::time_zone> after_last;
};

TimeZone::TimeZone(std::string name, std::unique_ptr<const Rules> rules)
    : name_(std::move(name)), rules_(std::move(rules)) {}
TimeZone::TimeZone(TimeZone&&) noexcept = default;
TimeZone& TimeZone::operator=(TimeZone&&) noexcept = default;
TimeZone::~TimeZone() = default;

TimeZone TimeZone::Utc() { return TimeZone("UTC", nullptr); }

Result<TimeZone> TimeZone::Load(const std::string& name) {
  if (name == "UTC") return Utc();
  auto rules = std::make_unique<Rules>();
  try {
    rules->zone = date::locate_zone(name);
  } catch (const std::exception&) {
    // locate_zone throws std::runtime_error for a name the database lacks.
    return Status::Error(ErrorCode::kConfig, "unknown time zone \"" + name + "\"",
                         "use an IANA time zone name such as \"Europe/Berlin\" or \"UTC\" (see " +
                             std::string(kZoneInfoDir) + ")");
  }
  rules->last_transition = rules->zone->get_info(date::sys_days{date::year{9999} / 12 / 31}).begin;
  std::string path = std::string(kZoneInfoDir) + "/" + name;
  // The system's tz database is read straight from disk, as the date library
  // reads it (date::locate_zone above): a fixed system resource, not data a
  // test needs to replace. TZif files are a few KiB.
  PosixEnv env;
  auto file = ReadWholeFile(env, path, 1 << 20);
  if (!file.ok()) {
    return Status::Error(ErrorCode::kConfig,
                         "time zone \"" + name + "\": " + file.status().message(),
                         "reinstall the system's tzdata package");
  }
  rules->after_last = FooterRule(*file);
  return TimeZone(name, std::move(rules));
}

int32_t TimeZone::UtcOffsetAt(int64_t unix_seconds) const {
  if (!rules_) return 0;
  chr::sys_seconds t = AsSysSeconds(unix_seconds);
  if (t >= rules_->last_transition && rules_->after_last) {
    return static_cast<int32_t>(rules_->after_last->get_info(t).offset.count());
  }
  return static_cast<int32_t>(rules_->zone->get_info(t).offset.count());
}

chr::year_month_day TimeZone::LocalDateAt(int64_t unix_seconds) const {
  auto local = AsSysSeconds(unix_seconds) + chr::seconds{UtcOffsetAt(unix_seconds)};
  return chr::year_month_day{chr::floor<chr::days>(local)};
}

}  // namespace pgkeep
