#include "notify/alert_tracker.h"

#include <algorithm>

namespace pgkeep {

AlertTracker::AlertTracker(std::map<std::string, AlertState> saved, int64_t min_interval_seconds)
    : states_(std::move(saved)), min_interval_(min_interval_seconds) {}

std::vector<AlertTracker::Due> AlertTracker::Evaluate(const std::vector<std::string>& channels,
                                                      const std::vector<AlertCondition>& conditions,
                                                      int64_t now) const {
  std::vector<Due> due;
  for (const std::string& channel : channels) {
    for (const AlertCondition& c : conditions) {
      const std::string id = channel + "|" + c.key;
      auto it = states_.find(id);
      const bool told_firing = it != states_.end() && it->second.firing;
      if (c.firing == told_firing) continue;
      int64_t last = it != states_.end() ? it->second.last_sent : 0;
      if (auto a = last_attempt_.find(id); a != last_attempt_.end())
        last = std::max(last, a->second);
      if (last > 0 && now - last < min_interval_) continue;
      AlertEvent e;
      e.key = c.key;
      e.database = c.database;
      e.firing = c.firing;
      e.reason = c.reason;
      e.at = now;
      e.since = c.firing || it == states_.end() ? now : it->second.since;
      due.push_back({channel, std::move(e)});
    }
  }
  return due;
}

AlertState AlertTracker::Delivered(const Due& due) {
  AlertState& s = states_[due.channel + "|" + due.event.key];
  s.key = due.channel + "|" + due.event.key;
  s.firing = due.event.firing;
  s.since = due.event.firing ? due.event.at : s.since;
  s.last_sent = due.event.at;
  s.reason = due.event.reason;
  last_attempt_.erase(s.key);
  return s;
}

void AlertTracker::Failed(const Due& due, int64_t now) {
  last_attempt_[due.channel + "|" + due.event.key] = now;
}

std::vector<AlertState> AlertTracker::Open() const {
  std::map<std::string, AlertState> open;
  for (const auto& [id, s] : states_) {
    if (!s.firing) continue;
    AlertState a = s;
    a.key = id.substr(id.find('|') + 1);
    open.emplace(a.key, a);
  }
  std::vector<AlertState> out;
  for (auto& [key, s] : open) out.push_back(std::move(s));
  return out;
}

}  // namespace pgkeep
