#include "repo/snapshot.h"

#include <cstring>

#include "codec/crypto.h"
#include "common/clock.h"

namespace pgkeep {

namespace {
std::string IdHex(const ChunkId& id) { return HexEncode(id); }
bool ParseId(const nlohmann::json& j, ChunkId& id) {
  if (!j.is_string()) return false;
  auto bytes = HexDecode(j.get<std::string>());
  if (!bytes || bytes->size() != id.size()) return false;
  std::memcpy(id.data(), bytes->data(), id.size());
  return true;
}
}  // namespace

std::string NewSnapshotId(int64_t unix_seconds) {
  return FormatCompactTime(unix_seconds) + "-" + HexEncode(RandomBytes(4));
}

bool IsValidSnapshotId(const std::string& id) {
  if (id.size() != 25 || id[8] != 'T' || id[15] != 'Z' || id[16] != '-') return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 15 || i == 16) continue;
    char c = id[i];
    bool ok = i < 16 ? (c >= '0' && c <= '9') : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    if (!ok) return false;
  }
  return true;
}

nlohmann::json SnapshotToJson(const Snapshot& s, bool with_manifest) {
  nlohmann::json j;
  j["version"] = kFormatVersion;
  j["id"] = s.id;
  j["kind"] = s.kind;
  j["label"] = s.label;
  j["hostname"] = s.hostname;
  j["start_time"] = FormatIsoTime(s.start_time);
  j["stop_time"] = FormatIsoTime(s.stop_time);
  j["start_unix"] = s.start_time;
  j["stop_unix"] = s.stop_time;
  j["commit_micros"] = s.commit_micros;
  j["meta"] = s.meta;
  j["stats"] = {{"files", s.stats.files},
                {"bytes", s.stats.bytes},
                {"chunks", s.stats.chunks},
                {"new_chunks", s.stats.new_chunks},
                {"stored_bytes", s.stats.stored_bytes}};
  if (with_manifest) {
    auto& m = j["manifest"] = nlohmann::json::array();
    for (const auto& id : s.manifest) m.push_back(IdHex(id));
  }
  return j;
}

Result<Snapshot> SnapshotFromJson(const std::string& text) {
  auto bad = [](const std::string& why) {
    return Status::Error(ErrorCode::kCorrupt, "snapshot metadata is damaged: " + why);
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  try {
    if (j.at("version").get<int>() > kFormatVersion)
      return Status::Error(ErrorCode::kRepoFormat, "snapshot written by a newer pgkeep",
                           "upgrade pgkeep to read this repository");
    Snapshot s;
    s.id = j.at("id").get<std::string>();
    s.kind = j.at("kind").get<std::string>();
    s.label = j.value("label", "");
    s.hostname = j.value("hostname", "");
    s.start_time = j.at("start_unix").get<int64_t>();
    s.stop_time = j.at("stop_unix").get<int64_t>();
    s.commit_micros = j.value("commit_micros", s.stop_time * 1000000);
    s.meta = j.value("meta", nlohmann::json::object());
    const auto& st = j.at("stats");
    s.stats = {st.at("files").get<uint64_t>(), st.at("bytes").get<uint64_t>(),
               st.at("chunks").get<uint64_t>(), st.at("new_chunks").get<uint64_t>(),
               st.at("stored_bytes").get<uint64_t>()};
    for (const auto& m : j.at("manifest")) {
      ChunkId id;
      if (!ParseId(m, id)) return bad("bad manifest chunk id");
      s.manifest.push_back(id);
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

std::string FileEntryToLine(const FileEntry& f) {
  nlohmann::json j;
  // File names are bytes; JSON strings are UTF-8. A name that is not UTF-8
  // is kept exactly, hex-encoded, in "path_hex" instead of "path".
  if (IsValidUtf8(f.path))
    j["path"] = f.path;
  else
    j["path_hex"] = HexEncode(AsBytes(f.path));
  j["mode"] = f.mode;
  j["size"] = f.size;
  j["mtime"] = f.mtime;
  auto& chunks = j["chunks"] = nlohmann::json::array();
  for (const auto& id : f.chunks) chunks.push_back(IdHex(id));
  return j.dump() + "\n";
}

Result<FileEntry> FileEntryFromLine(std::string_view line) {
  auto bad = [] { return Status::Error(ErrorCode::kCorrupt, "manifest line is damaged"); };
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad();
  try {
    FileEntry f;
    if (j.contains("path_hex")) {
      auto raw = HexDecode(j.at("path_hex").get<std::string>());
      if (!raw) return bad();
      f.path.assign(AsString(*raw));
    } else {
      f.path = j.at("path").get<std::string>();
    }
    f.mode = j.at("mode").get<uint32_t>();
    f.size = j.at("size").get<uint64_t>();
    f.mtime = j.at("mtime").get<int64_t>();
    for (const auto& c : j.at("chunks")) {
      ChunkId id;
      if (!ParseId(c, id)) return bad();
      f.chunks.push_back(id);
    }
    return f;
  } catch (const nlohmann::json::exception&) {
    return bad();
  }
}

}  // namespace pgkeep
