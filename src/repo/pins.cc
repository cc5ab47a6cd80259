#include "repo/pins.h"

#include <cstring>
#include <nlohmann/json.hpp>

namespace pgkeep {

Result<std::map<std::string, Pin>> ReadPins(const Repository& repo) {
  auto listing = repo.storage().List(kPinsDir);
  if (!listing.ok()) return listing.status();
  std::map<std::string, Pin> pins;
  auto codec = repo.NewCodec();
  for (const auto& object : *listing) {
    std::string id = object.name.substr(std::strlen(kPinsDir));
    auto stored = repo.storage().GetAtMost(object.name, kMaxSmallObjectSize);
    if (!stored.ok()) {
      if (stored.status().code() == ErrorCode::kNotFound) continue;  // unpinned meanwhile
      return stored.status();
    }
    auto plain = codec->DecodeObject(*stored, "pin/" + id);
    if (!plain.ok()) return plain.status().WithContext("pin \"" + object.name + "\"");
    nlohmann::json j = nlohmann::json::parse(AsString(*plain), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::Error(ErrorCode::kCorrupt, "pin \"" + object.name + "\" is damaged");
    Pin pin;
    pin.snapshot = id;
    if (j.contains("until") && j["until"].is_number_integer()) pin.until = j["until"].get<int64_t>();
    pin.note = j.value("note", "");
    pin.created = j.value("created", int64_t{0});
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
  return repo.storage().Put(kPinsDir + pin.snapshot, stored);
}

Status RemovePin(const Repository& repo, const std::string& snapshot) {
  return repo.storage().Delete(kPinsDir + snapshot);
}

}  // namespace pgkeep
