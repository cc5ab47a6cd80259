// repo/snapshot.h — what a snapshot records.
//
// A snapshot object (snapshots/<id>, object-framed JSON) holds metadata and
// the chunk list of its manifest. The manifest is a JSON-lines stream, one
// line per file, stored through the same chunk pipeline as data, so a big file
// list is deduplicated between snapshots like any other stream:
//   {"path":"base/5/16384","mode":384,"size":8192,"mtime":1700000000,
//    "chunks":["<64 hex>",...]}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "repo/format.h"
#include "repo/snapshot_meta.h"

namespace pgkeep {

struct FileEntry {
  std::string path;
  uint32_t mode = 0644;
  uint64_t size = 0;
  int64_t mtime = 0;
  std::vector<ChunkId> chunks;
};

struct SnapshotStats {
  uint64_t files = 0;
  uint64_t bytes = 0;         // plaintext bytes in the snapshot
  uint64_t chunks = 0;        // chunk references
  uint64_t new_chunks = 0;    // chunks of its files this snapshot added
  uint64_t stored_bytes = 0;  // stored (compressed, encrypted) bytes of those chunks
};

struct Snapshot {
  std::string id;    // "20261123T051200Z-3fa9c2d1": sortable by start time
  std::string kind;  // "files" now; "full", "incr", "logical" with backups
  std::string label;
  std::string hostname;
  int64_t start_time = 0;  // unix seconds
  int64_t stop_time = 0;
  int64_t commit_micros = 0;  // when it became visible: orders snapshots ("latest")
  nlohmann::json meta = nlohmann::json::object();  // kind-specific metadata
  SnapshotStats stats;
  std::vector<ChunkId> manifest;  // chunks of the JSON-lines file list
};

inline std::string SnapshotDatabase(const Snapshot& s) { return s.meta.value(kMetaDatabase, ""); }

inline bool IsPhysicalKind(const std::string& kind) { return kind == "full" || kind == "incr"; }

std::string NewSnapshotId(int64_t unix_seconds);
bool IsValidSnapshotId(const std::string& id);

nlohmann::json SnapshotToJson(const Snapshot& s, bool with_manifest);
Result<Snapshot> SnapshotFromJson(const std::string& text);

std::string FileEntryToLine(const FileEntry& f);
Result<FileEntry> FileEntryFromLine(std::string_view line);

}  // namespace pgkeep
