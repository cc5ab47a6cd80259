#include "server/dashboard.h"

#include <map>

namespace pgkeep {

const StaticFile* DashboardFile(const std::string& path) {
  static const std::map<std::string, StaticFile> files = [] {
    std::map<std::string, StaticFile> out;
    for (const EmbeddedFile& f : DashboardFiles())
      out[f.path] = StaticFile{f.content_type, std::string(f.data, f.size)};
    return out;
  }();
  auto it = files.find(path);
  return it == files.end() ? nullptr : &it->second;
}

}  // namespace pgkeep
