// Step 1 of a physical restore: the request checked before anything is opened.
#include <ctime>
#include <regex>

#include "restore/physical_restore_steps.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace physical_restore_internal {

Status Usage(const std::string& message, const std::string& hint) {
  return Status::Error(ErrorCode::kUsage, message, hint);
}

std::string FormatMicrosUtc(int64_t micros) {
  time_t secs = static_cast<time_t>(micros / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06lld+00", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1000000));
  return buf;
}

// Empty or absent: fine. Anything else is refused.
Result<bool> DirectoryIsEmpty(Env& env, const std::string& dir) {
  auto names = env.ListDir(dir);
  if (!names.ok()) {
    int err = names.status().os_error();
    if (err == ENOENT) return true;
    if (err == ENOTDIR) return Usage("\"" + dir + "\" is not a directory");
    return OsError("open directory", dir, err);
  }
  return names->empty();
}

}  // namespace physical_restore_internal

using namespace physical_restore_internal;

Result<TargetTime> ParseTargetTime(const std::string& text) {
  static const std::regex re(
      R"(^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.(\d{1,6}))?\s*(Z|UTC|[+-]\d{2}(:?\d{2})?)?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re))
    return Usage("--target-time \"" + text + "\" is not a time",
                 "write it as \"2026-11-23 14:05:00+00\" (UTC when no zone is given)");
  struct tm tm = {};
  tm.tm_year = std::stoi(m[1]) - 1900;
  tm.tm_mon = std::stoi(m[2]) - 1;
  tm.tm_mday = std::stoi(m[3]);
  tm.tm_hour = std::stoi(m[4]);
  tm.tm_min = std::stoi(m[5]);
  tm.tm_sec = std::stoi(m[6]);
  if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
      tm.tm_min > 59 || tm.tm_sec > 60)
    return Usage("--target-time \"" + text + "\" is not a valid time");
  struct tm asked = tm;
  time_t t = timegm(&tm);
  struct tm back;
  gmtime_r(&t, &back);
  // timegm normalises "February 31" to March 3: such a date is no date.
  if (back.tm_year != asked.tm_year || back.tm_mon != asked.tm_mon ||
      back.tm_mday != asked.tm_mday || back.tm_hour != asked.tm_hour ||
      back.tm_min != asked.tm_min || back.tm_sec != asked.tm_sec)
    return Usage("--target-time \"" + text + "\" is not a valid time");
  int64_t secs = static_cast<int64_t>(t);
  std::string frac = m[8].matched ? m[8].str() : "";
  while (frac.size() < 6) frac += '0';
  int64_t micros = secs * 1000000 + std::stoll(frac);
  std::string zone = m[9].matched ? m[9].str() : "";
  if (!zone.empty() && zone != "Z" && zone != "UTC") {
    int sign = zone[0] == '-' ? -1 : 1;
    std::string digits;
    for (char c : zone.substr(1))
      if (c != ':') digits += c;
    int hours = std::stoi(digits.substr(0, 2)),
        minutes = digits.size() > 2 ? std::stoi(digits.substr(2)) : 0;
    if (hours > 15 || minutes > 59)
      return Usage("--target-time \"" + text + "\" has an invalid time zone offset");
    int offset = hours * 3600 + minutes * 60;
    micros -= sign * int64_t{offset} * 1000000;
  }
  return TargetTime{micros, FormatMicrosUtc(micros)};
}

Status CheckPhysicalRestoreRequest(Env& env, const PhysicalRestoreOptions& o) {
  int targets =
      !o.target_time.empty() + !o.target_lsn.empty() + !o.target_name.empty() + !o.target.empty();
  if (targets > 1)
    return Usage("give at most one of --target-time, --target-lsn, --target-name and --target");
  if (!o.target.empty() && o.target != "latest" && o.target != "immediate")
    return Usage("--target must be \"latest\" or \"immediate\", not \"" + o.target + "\"");
  if (!o.target_time.empty()) {
    auto t = ParseTargetTime(o.target_time);
    if (!t.ok()) return t.status();
  }
  if (o.target_name.size() > 63 || o.target_name.find_first_of("\r\n") != std::string::npos)
    return Usage(
        "--target-name must be one line of at most 63 bytes, as pg_create_restore_point allows");
  if (!o.target_lsn.empty() && !ParseLsn(o.target_lsn))
    return Usage("--target-lsn \"" + o.target_lsn + "\" is not an LSN",
                 "write it as PostgreSQL does: 0/3000028");
  if (o.pgdata.empty()) return Usage("--pgdata DIR is required for a physical restore");
  if (o.pgdata[0] != '/')
    return Usage("--pgdata must be an absolute path, not \"" + o.pgdata + "\"");
  auto empty = DirectoryIsEmpty(env, o.pgdata);
  if (!empty.ok()) return empty.status();
  if (!*empty)
    return Usage("--pgdata \"" + o.pgdata + "\" is not empty",
                 "restore into a new or empty directory; pgkeep never overwrites a data directory");
  if (o.port < 0 || o.port > 65535) return Usage("--port must be 1..65535");
  if (!o.target_timeline.empty() && o.target_timeline != "latest" &&
      (o.target_timeline.size() > 10 ||
       o.target_timeline.find_first_not_of("0123456789") != std::string::npos ||
       std::stoull(o.target_timeline) == 0 || std::stoull(o.target_timeline) > UINT32_MAX))
    return Usage("--target-timeline must be a timeline number or \"latest\", not \"" +
                 o.target_timeline + "\"");
  if (!o.target_timeline.empty() && o.target == "immediate")
    return Usage(
        "--target immediate ends recovery with the backup: --target-timeline does not apply");
  for (const auto& [oid, dir] : o.tablespace_map)
    if (oid.empty() || dir.empty() || dir[0] != '/' ||
        oid.find_first_not_of("0123456789") != std::string::npos)
      return Usage("--tablespace-map takes OID=/absolute/dir, not \"" + oid + "=" + dir + "\"");
  return Status::Ok();
}

bool IsInPlaceRestore(Env& env, const std::string& pgdata, const std::string& configured) {
  if (configured.empty()) return false;
  auto canonical = [&env](const std::string& path) {
    std::string p = path;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    auto real = env.RealPath(p);
    return real.ok() ? *real : p;
  };
  return canonical(pgdata) == canonical(configured);
}

}  // namespace pgkeep
