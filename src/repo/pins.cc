#include "repo/pins.h"

#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

namespace pgkeep {

Result<std::map<std::string, Pin>> ReadPins(const Repository& repo) {
  auto listing = repo.storage().List(kPinsDir);
  if (!listing.ok()) return listing.status();
  std::map<std::string, Pin> pins;
  auto codec = repo.NewCodec();
  for (const auto& object : *listing) {
    std::string id = object.name.substr(std::strlen(kPinsDir));
    if (!IsValidSnapshotId(id)) {
      repo.Warn("\"" + object.name + "\" is not a pin (unknown name); ignored");
      continue;
    }
    Pin pin;
    pin.snapshot = id;
    auto damaged = [&](const std::string& why) {
      repo.Warn("pin \"" + object.name + "\" is damaged (" + why +
                "); its backup is kept as if pinned until unpinned");
      pin.note = "damaged pin";
      pins[id] = pin;
    };
    auto stored = repo.storage().GetAtMost(object.name, kMaxSmallObjectSize);
    if (!stored.ok()) {
      if (stored.status().code() == ErrorCode::kNotFound) continue;  // unpinned meanwhile
      damaged(stored.status().message());
      continue;
    }
    auto plain = codec->DecodeObject(*stored, "pin/" + id);
    if (!plain.ok()) {
      damaged(plain.status().message());
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(AsString(*plain), nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      damaged("not a JSON object");
      continue;
    }
    if (j.contains("until") && j["until"].is_number_integer())
      pin.until = j["until"].get<int64_t>();
    if (j.contains("note") && j["note"].is_string()) pin.note = j["note"].get<std::string>();
    if (j.contains("created") && j["created"].is_number_integer())
      pin.created = j["created"].get<int64_t>();
    pins[id] = pin;
  }
  return pins;
}

Status WritePin(const Repository& repo, const Pin& pin) {
  nlohmann::json j = {{"version", kFormatVersion},
                      {"snapshot", pin.snapshot},
                      {"until", pin.until ? nlohmann::json(*pin.until) : nlohmann::json()},
                      {"note", pin.note},
                      {"created", pin.created}};
  Bytes stored = repo.NewCodec()->EncodeObject(AsBytes(j.dump()), "pin/" + pin.snapshot);
  return repo.storage().Put(PinObjectName(pin.snapshot), stored);
}

Status RemovePin(const Repository& repo, const std::string& snapshot) {
  return repo.storage().Delete(PinObjectName(snapshot));
}

Result<Pin> PinSnapshot(const Repository& repo, const PinRequest& request) {
  auto s = repo.ReadSnapshot(request.snapshot);
  if (!s.ok()) return s.status();
  Pin pin;
  pin.snapshot = s->id;
  pin.note = request.note;
  pin.created = repo.clock().NowSeconds();
  if (!request.until.empty()) {
    auto until = ParsePinDate(request.until);
    if (!until.ok()) return until.status();
    if (*until <= pin.created)
      return Status::Error(ErrorCode::kUsage, "--until " + request.until + " is in the past",
                           "give a future date, or no --until to pin until unpinned");
    pin.until = *until;
  }
  PGKEEP_RETURN_IF_ERROR(WritePin(repo, pin));
  return pin;
}

Status UnpinSnapshot(const Repository& repo, const std::string& snapshot) {
  auto pins = ReadPins(repo);
  if (!pins.ok()) return pins.status();
  if (!pins->count(snapshot))
    return Status::Error(ErrorCode::kNotFound, "backup \"" + snapshot + "\" is not pinned",
                         "see \"pgkeep expire --dry-run\" for what is pinned");
  return RemovePin(repo, snapshot);
}

Result<int64_t> ParsePinDate(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  if (!end || *end)
    return Status::Error(ErrorCode::kUsage, "\"" + text + "\" is not a date",
                         "use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace pgkeep
