#include "retention/retention.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <tuple>

#include "common/time_zone.h"

namespace pgkeep {
namespace {

namespace chr = std::chrono;

constexpr int64_t kDay = 86400;
// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years a backup can have.
constexpr int64_t kMinTime = -62135596800;
constexpr int64_t kMaxTime = 253402300799;

// ---------------------------------------------------------------------------
// Calendar periods.

std::string DayKey(chr::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
  return buf;
}

// ISO 8601: weeks start on Monday and belong to the year of their Thursday.
std::string WeekKey(chr::year_month_day d) {
  chr::sys_days day{d};
  chr::sys_days thursday = day - chr::days{chr::weekday{day}.iso_encoding() - 1} + chr::days{3};
  chr::year year = chr::year_month_day{thursday}.year();
  auto week = (thursday - chr::sys_days{year / chr::January / 1}).count() / 7 + 1;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-W%02d", static_cast<int>(year), static_cast<int>(week));
  return buf;
}

std::string MonthKey(chr::year_month_day d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u", static_cast<int>(d.year()),
                static_cast<unsigned>(d.month()));
  return buf;
}

std::string YearKey(chr::year_month_day d) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d", static_cast<int>(d.year()));
  return buf;
}

// "7d", "36h", "90m", "45s": the largest unit that divides exactly (weeks are
// shown as days, the unit people say retention in).
std::string FormatDuration(int64_t seconds) {
  for (auto [unit, suffix] : {std::pair<int64_t, char>{kDay, 'd'}, {3600, 'h'}, {60, 'm'}}) {
    if (seconds % unit == 0) return std::to_string(seconds / unit) + suffix;
  }
  return std::to_string(seconds) + "s";
}

Status CheckRules(const RetentionRules& rules) {
  struct Count {
    const char* name;
    std::optional<int> value;
  };
  for (const auto& [name, value] :
       {Count{"last", rules.last}, Count{"daily", rules.daily}, Count{"weekly", rules.weekly},
        Count{"monthly", rules.monthly}, Count{"yearly", rules.yearly},
        Count{"min_keep", rules.min_keep}}) {
    if (value && *value < 0) {
      return Status::Error(ErrorCode::kConfig, "retention " + std::string(name) +
                                                   " must not be negative, not " +
                                                   std::to_string(*value));
    }
  }
  if (rules.within_seconds < 0) {
    return Status::Error(ErrorCode::kConfig, "retention within must not be negative");
  }
  return Status::Ok();
}

bool HasAnyRule(const RetentionRules& r) {
  return r.last || r.daily || r.weekly || r.monthly || r.yearly || r.within_seconds > 0;
}

}  // namespace

Result<std::vector<RetentionDecision>> ApplyRetention(const std::vector<BackupRecord>& records,
                                                      const RetentionRules& rules, int64_t now) {
  PGKEEP_RETURN_IF_ERROR(CheckRules(rules));
  auto zone = TimeZone::Load(rules.timezone);
  if (!zone.ok()) return zone.status();
  for (const BackupRecord& r : records) {
    if (r.time < kMinTime || r.time > kMaxTime) {
      return Status::Error(ErrorCode::kInternal, "backup \"" + r.id + "\" has an impossible time " +
                                                     std::to_string(r.time));
    }
  }
  if (now < kMinTime || now > kMaxTime) {
    return Status::Error(ErrorCode::kInternal, "impossible current time " + std::to_string(now));
  }

  std::vector<std::vector<std::string>> reasons(records.size());
  if (!HasAnyRule(rules)) {
    for (auto& r : reasons) r.push_back("no retention rules");
  } else {
    // Successful backups, newest first; the id breaks ties so the result
    // does not depend on the order the caller listed them in.
    std::vector<size_t> order;
    for (size_t i = 0; i < records.size(); ++i) {
      if (records[i].successful) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&records](size_t a, size_t b) {
      return std::tie(records[a].time, records[a].id) > std::tie(records[b].time, records[b].id);
    });
    std::vector<chr::year_month_day> local(records.size());
    for (size_t i : order) {
      local[i] = zone->LocalDateAt(records[i].time);
    }

    struct Period {
      const char* rule;
      std::optional<int> count;
      std::string (*key)(chr::year_month_day);
    };
    for (const Period& p :
         {Period{"daily", rules.daily, DayKey}, Period{"weekly", rules.weekly, WeekKey},
          Period{"monthly", rules.monthly, MonthKey}, Period{"yearly", rules.yearly, YearKey}}) {
      if (!p.count) continue;
      // Only periods that have a successful backup are counted, so days (or
      // weeks, ...) of failures never push good backups out of the window.
      std::set<std::string> seen;
      for (size_t i : order) {
        if (seen.size() >= static_cast<size_t>(*p.count)) break;
        std::string key = p.key(local[i]);
        if (seen.insert(key).second) reasons[i].push_back(std::string(p.rule) + " " + key);
      }
    }
    for (size_t rank = 0; rank < order.size(); ++rank) {
      size_t i = order[rank];
      if (rules.last && rank < static_cast<size_t>(*rules.last)) {
        reasons[i].push_back("last " + std::to_string(rank + 1));
      }
      if (rules.within_seconds > 0 && records[i].time > now - rules.within_seconds) {
        reasons[i].push_back("within " + FormatDuration(rules.within_seconds));
      }
      if (rank < static_cast<size_t>(rules.min_keep)) reasons[i].push_back("min_keep");
    }
  }

  std::vector<RetentionDecision> decisions;
  decisions.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    RetentionDecision d;
    d.id = records[i].id;
    d.reasons = std::move(reasons[i]);
    if (records[i].pinned) d.reasons.push_back("pinned");
    d.keep = !d.reasons.empty();
    if (!d.keep) d.reasons.push_back(records[i].successful ? "matches no rule" : "failed backup");
    decisions.push_back(std::move(d));
  }
  return decisions;
}

Result<RetentionRules> RulesFromConfig(const RetentionConfig& config) {
  RetentionRules rules;
  rules.last = config.last;
  rules.daily = config.daily;
  rules.weekly = config.weekly;
  rules.monthly = config.monthly;
  rules.yearly = config.yearly;
  rules.min_keep = config.min_keep;
  if (!config.within.empty()) {
    auto seconds = ParseDurationSeconds(config.within);
    if (!seconds.ok()) return seconds.status().WithContext("retention.within");
    rules.within_seconds = *seconds;
  }
  PGKEEP_RETURN_IF_ERROR(CheckRules(rules));
  auto zone = TimeZone::Load(config.timezone);
  if (!zone.ok()) return zone.status().WithContext("retention.timezone");
  rules.timezone = config.timezone;
  return rules;
}

}  // namespace pgkeep
