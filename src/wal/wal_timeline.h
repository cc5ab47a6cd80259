// wal/wal_timeline.h — what the archived WAL of one database allows:
// continuity (gaps), the point-in-time recovery window, and which segments
// retention may remove.
//
// Recovery from backup B replays every segment from B's start segment on, so
// on B's timeline a missing segment after it ends every recovery from B (and
// from older backups) there. The PITR window is therefore:
//   latest   the archive time of the last segment of the unbroken run that
//            starts at the newest backup's start segment (approximate: the
//            last transaction in it committed before it was archived)
//   earliest the stop time of the oldest backup from whose start segment the
//            run is unbroken up to that last segment
// A gap in the middle moves `earliest` forward to the first backup after it.
// Only the newest backup's timeline is followed; segments on other timelines
// are checked for gaps but not joined into the window.
//
// Pure functions over names and times: cheap to test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "repo/snapshot.h"
#include "storage/storage.h"

namespace pgkeep {

struct ArchivedSegment {
  std::string name;
  uint32_t timeline = 0;
  uint64_t segment_no = 0;
  int64_t archived_time = 0;  // object write time (unix seconds), 0 if unknown
  uint64_t stored_bytes = 0;
};

struct WalBackupPoint {
  std::string id;
  uint32_t timeline = 0;
  uint64_t start_segment = 0;
  uint64_t stop_segment = 0;
  int64_t stop_time = 0;  // when it became consistent
};

struct WalGap {
  uint32_t timeline = 0;
  std::string first_missing;
  std::string last_missing;
  uint64_t count = 0;
};

struct PitrWindow {
  std::string from_backup;  // the oldest backup recovery can start from
  int64_t earliest = 0;
  int64_t latest = 0;
  std::string last_segment;  // end of the unbroken run
};

struct WalAnalysis {
  uint64_t segments = 0;
  std::string last_segment;  // newest archived segment (any timeline)
  int64_t last_archived_time = 0;
  std::vector<WalGap> gaps;
  // None when the newest backup's own WAL is not all archived (from its
  // start segment through its stop segment).
  std::optional<PitrWindow> window;
};

// `backups` in commit order (as WalBackupPoints returns them): it breaks ties
// between backups that ended in the same second.
WalAnalysis AnalyzeWal(std::vector<ArchivedSegment> segments,
                       const std::vector<WalBackupPoint>& backups);

// The physical backups of `db` among `snapshots`, oldest first.
std::vector<WalBackupPoint> WalBackupPoints(const std::vector<Snapshot>& snapshots,
                                            const std::string& db);

// Segments (not history, .backup or .partial files) archived for `db`.
Result<std::vector<ArchivedSegment>> ListArchivedSegments(Storage& storage, const std::string& db);
// The same from a listing already at hand (of the whole repository, say).
std::vector<ArchivedSegment> ArchivedSegmentsIn(const std::vector<ObjectInfo>& listing,
                                                const std::string& db);

// WAL files of `db` that no recovery from `oldest_kept` or later can need:
// segments (and .backup/.partial files) before its start segment on its
// timeline or an older one. History files are always kept. Returns object names.
Result<std::vector<ObjectInfo>> ObsoleteWalObjects(Storage& storage, const std::string& db,
                                                   const WalBackupPoint& oldest_kept);

}  // namespace pgkeep
