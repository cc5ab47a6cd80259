// retention/retention.h — which backups to keep: calendar (GFS) rules, a
// minimum-count floor and pins. The user-facing semantics, with worked
// examples, are in docs/retention.md; this header is the contract for code.
//
// ApplyRetention is a function of its arguments only: the clock is the `now`
// argument, the backups are given, nothing is deleted here. Its only contact
// with the outside world is reading the system time zone database through
// common/time_zone.h (read-only, no environment variables) when
// rules.timezone is not "UTC". Safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace pgkeep {

struct BackupRecord {
  std::string id;
  int64_t time = 0;  // unix seconds, when the backup ended
  bool successful = true;
  // The caller resolves `pin --until DATE`: pinned is true only while the pin
  // is in force at `now`.
  bool pinned = false;
};

// Unset counts mean "no such rule"; a count of 0 is a rule that keeps nothing.
struct RetentionRules {
  std::optional<int> last, daily, weekly, monthly, yearly;
  int64_t within_seconds = 0;    // 0: no `within` rule
  int min_keep = 3;              // the newest N successful backups are never expired
  std::string timezone = "UTC";  // IANA name; calendar days, weeks, months, years are local to it
};

struct RetentionDecision {
  std::string id;
  bool keep = false;
  // Keeping: every reason, in this order: "daily 2026-11-20", "weekly 2026-W47",
  // "monthly 2026-11", "yearly 2026", "last 2" (the 2nd newest), "within 7d",
  // "min_keep", "pinned"; with no rule set, "no retention rules" (then
  // "pinned" if pinned).
  // Expiring: exactly one of "matches no rule", "failed backup".
  std::vector<std::string> reasons;
};

// Decides every record, returning decisions in the order of `records`.
//
// Only successful backups are counted, walked newest to oldest (ties: larger
// id first):
//   last N     keeps the N newest;
//   daily N    keeps the newest backup of each of the N most recent local
//              calendar days that have a successful backup (days without one
//              do not use up the budget); weekly (ISO 8601 weeks), monthly and
//              yearly likewise;
//   within D   keeps those with time > now - D;
//   min_keep N keeps the N newest whatever else the rules say.
// Failed backups are never kept by a rule or min_keep. Pinned backups (failed
// or not) are always kept. With no rule set (all counts unset, within 0)
// nothing is expired. So expiring a backup needs a newer successful one: a run
// of failures can never reduce the kept successful backups.
//
// Failure: kConfig for an unknown time zone (named in the message) or a
// negative count or duration; kInternal for a record time or `now` outside
// the years 1-9999. Then no decision is returned.
Result<std::vector<RetentionDecision>> ApplyRetention(const std::vector<BackupRecord>& records,
                                                      const RetentionRules& rules, int64_t now);

// Converts a database's `retention` table. Failure: kConfig for a `within`
// that is not a duration or an unknown `timezone`, the message naming the key.
Result<RetentionRules> RulesFromConfig(const RetentionConfig& config);

}  // namespace pgkeep
