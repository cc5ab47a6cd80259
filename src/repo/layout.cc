#include "repo/layout.h"

#include <algorithm>
#include <cstring>

#include "repo/format.h"
#include "repo/snapshot.h"

namespace pgkeep {

namespace {

bool IsLowerHex(std::string_view s, size_t length) {
  return s.size() == length && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

bool IsPackObjectName(const std::string& name) {
  if (!StartsWith(name, kDataDir)) return false;
  std::string_view rest(name);
  rest.remove_prefix(std::strlen(kDataDir));
  return rest.size() == 2 + 1 + 64 && rest[2] == '/' && IsLowerHex(rest.substr(3), 64) &&
         rest.substr(0, 2) == rest.substr(3, 2);
}

bool IsIndexObjectName(const std::string& name) {
  return StartsWith(name, kIndexDir) &&
         IsLowerHex(std::string_view(name).substr(std::strlen(kIndexDir)), 64);
}

bool IsKnownObjectName(const std::string& name) {
  auto tail = [&](const char* dir) { return name.substr(std::strlen(dir)); };
  if (name == kConfigObject) return true;
  if (StartsWith(name, kKeysDir)) return IsLowerHex(tail(kKeysDir), 16);
  if (StartsWith(name, kLocksDir)) return IsLowerHex(tail(kLocksDir), 16);
  if (StartsWith(name, kDataDir)) return IsPackObjectName(name);
  if (StartsWith(name, kIndexDir)) return IsIndexObjectName(name);
  if (StartsWith(name, kSnapshotsDir)) return IsValidSnapshotId(tail(kSnapshotsDir));
  if (StartsWith(name, kPinsDir)) return IsValidSnapshotId(tail(kPinsDir));
  if (StartsWith(name, kDamagedDir)) return IsLowerHex(tail(kDamagedDir), 64);
  if (StartsWith(name, kStateDir)) return name == StateObjectName(kLastExpireState);
  for (const char* dir : {kDrillsDir, kForgetDir}) {
    if (!StartsWith(name, dir)) continue;
    const size_t begin = std::strlen(dir);
    auto slash = name.find('/', begin);
    return slash != std::string::npos && slash > begin && IsValidSnapshotId(name.substr(slash + 1));
  }
  if (StartsWith(name, kWalDir)) {
    const size_t begin = std::strlen(kWalDir);
    auto slash = name.find('/', begin);
    return slash != std::string::npos && slash > begin && slash + 1 < name.size();
  }
  return false;
}

std::vector<std::string> UnknownObjectWarnings(const std::vector<ObjectInfo>& listing) {
  std::vector<std::string> out;
  for (const auto& o : listing)
    if (!IsKnownObjectName(o.name))
      out.push_back("\"" + o.name +
                    "\" is not a pgkeep object (unknown name); ignored and left in place");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace pgkeep
