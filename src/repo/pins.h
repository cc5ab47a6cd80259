// repo/pins.h — pinned snapshots: never expired while the pin holds.
//
// A pin is a small object pins/<snapshot id>, framed like every metadata
// object (encrypted, aad "pin/<id>"): {"snapshot", "until" (unix seconds or
// null for "forever"), "note", "created"}. Pinning again replaces it;
// unpinning deletes it. Snapshots themselves stay immutable.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "repo/repository.h"

namespace pgkeep {

struct Pin {
  std::string snapshot;
  std::optional<int64_t> until;  // unix seconds; nullopt: until unpinned
  std::string note;
  int64_t created = 0;
  bool HoldsAt(int64_t now) const { return !until || *until > now; }
};

// Every pin, keyed by snapshot id. A pin that cannot be read or decoded is
// warned about and read as holding until unpinned: what it said is unknown,
// and the safe reading of a damaged pin is that it keeps its snapshot. Names
// that are not snapshot ids are warned about and ignored. Fails only when
// the listing fails.
Result<std::map<std::string, Pin>> ReadPins(const Repository& repo);
Status WritePin(const Repository& repo, const Pin& pin);
// Removing a pin that does not exist succeeds.
Status RemovePin(const Repository& repo, const std::string& snapshot);

// `pgkeep pin` and `backup --pin` as a library call.
struct PinRequest {
  std::string snapshot;  // id or "latest"
  std::string until;     // a date for ParsePinDate; empty: until unpinned
  std::string note;
};
// Pins a snapshot that exists (kNotFound otherwise), created at the
// repository clock's time; kUsage when `until` is not a date or not later
// than now. Returns the pin written.
Result<Pin> PinSnapshot(const Repository& repo, const PinRequest& request);
// `pgkeep unpin`: kNotFound when `snapshot` is not pinned. Works on the pin
// alone, so a pin whose snapshot is gone can still be removed.
Status UnpinSnapshot(const Repository& repo, const std::string& snapshot);
// "2026-12-01" or "2026-12-01T10:00:00Z" (UTC) as unix seconds; kUsage otherwise.
Result<int64_t> ParsePinDate(const std::string& text);

}  // namespace pgkeep
