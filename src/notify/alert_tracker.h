// notify/alert_tracker.h — when to tell people: a change of health, told
// once per channel, with the reason in words.
//
// Each evaluation passes every condition the daemon watches (a key such as
// "database/main/health", firing or not, why). For every (channel, key) the
// tracker remembers what that channel was last told. A notification is due
// when the condition differs from it: "firing" when it goes wrong,
// "recovered" when it is well again. Nothing is sent while nothing changes
// (deduplicated), and a (channel, key) is told at most once per
// `min_interval_seconds` (rate-limited: a flapping condition sends its
// latest state when the interval has passed, not every flap). A condition
// seen for the first time while well sends nothing. A failed send changes
// nothing, so it is tried again at the next evaluation after the interval.
//
// The remembered states are AlertState rows of the state database
// (state/state_store.h), keyed "<channel id>|<key>" (AlertChannel::id, stable
// when channels are added or reordered), so a restart neither
// repeats an alert nor forgets one that is open.
//
// Thread safety: none; the daemon's monitor thread owns it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "state/state_store.h"

namespace pgkeep {

struct AlertCondition {
  std::string key;       // stable: "database/<db>/health", "repository/damaged", ...
  std::string database;  // empty for the repository
  bool firing = false;
  std::string reason;  // why it fires, or what is well again; one line
};

struct AlertEvent {
  std::string key;
  std::string database;
  bool firing = false;  // false: recovered
  std::string reason;
  int64_t at = 0;
  int64_t since = 0;  // when it started firing (for a recovery: how long it lasted)
};

class AlertTracker {
 public:
  AlertTracker(std::map<std::string, AlertState> saved, int64_t min_interval_seconds);

  struct Due {
    std::string channel;
    AlertEvent event;
  };
  // What each channel should be told now about `conditions`.
  std::vector<Due> Evaluate(const std::vector<std::string>& channels,
                            const std::vector<AlertCondition>& conditions, int64_t now) const;
  // Records that `due` was delivered; returns the state row to save.
  AlertState Delivered(const Due& due);
  // Records a failed delivery (counts against the rate limit).
  void Failed(const Due& due, int64_t now);

  // Keys (without the channel) that are firing for at least one channel.
  std::vector<AlertState> Open() const;

 private:
  std::map<std::string, AlertState> states_;  // "<channel>|<key>"
  std::map<std::string, int64_t> last_attempt_;
  int64_t min_interval_;
};

}  // namespace pgkeep
