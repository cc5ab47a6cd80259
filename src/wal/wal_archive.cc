#include "wal/wal_archive.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/file_io.h"
#include "wal/wal_names.h"

namespace pgkeep {

namespace {

constexpr size_t kSysIdOffset = 24;    // xlp_sysid in the long page header
constexpr size_t kSegSizeOffset = 32;  // xlp_seg_size
constexpr uint16_t kLongHeaderFlag = 0x0002;

template <typename T>
T Load(const Bytes& data, size_t offset) {
  T v;
  std::memcpy(&v, data.data() + offset, sizeof v);
  return v;
}

// The cluster a segment belongs to, from its first page's long header.
Result<uint64_t> SegmentSystemId(const Bytes& data, const std::string& name) {
  if (data.size() != kWalSegmentSize)
    return Status::Error(ErrorCode::kUsage,
                         "\"" + name + "\" is " + std::to_string(data.size()) +
                             " bytes; WAL segments are " + std::to_string(kWalSegmentSize),
                         "pgkeep supports the default 16 MiB wal_segment_size");
  if (!(Load<uint16_t>(data, 2) & kLongHeaderFlag) ||
      Load<uint32_t>(data, kSegSizeOffset) != kWalSegmentSize)
    return Status::Error(ErrorCode::kCorrupt,
                         "\"" + name + "\" does not start with a WAL segment header");
  return Load<uint64_t>(data, kSysIdOffset);
}

}  // namespace

std::string WalObjectName(const std::string& db, const std::string& file_name) {
  if (ClassifyWalFileName(file_name) == WalFileKind::kHistory) return WalPrefix(db) + file_name;
  return WalPrefix(db) + file_name.substr(0, 16) + "/" + file_name;
}

Result<std::optional<uint64_t>> ReadClusterIdentity(Repository& repo, const std::string& db) {
  auto stored = repo.storage().Get(WalClusterObjectName(db));
  if (!stored.ok()) {
    if (stored.status().code() == ErrorCode::kNotFound) return std::optional<uint64_t>();
    return stored.status();
  }
  auto plain = repo.NewCodec()->DecodeObject(*stored, WalClusterObjectName(db));
  if (!plain.ok()) return plain.status().WithContext("\"" + WalClusterObjectName(db) + "\"");
  nlohmann::json j = nlohmann::json::parse(AsString(*plain), nullptr, false);
  if (!j.is_object() || !j.contains("system_identifier"))
    return Status::Error(ErrorCode::kRepoFormat, "\"" + WalClusterObjectName(db) + "\" is damaged");
  return std::optional<uint64_t>(std::stoull(j["system_identifier"].get<std::string>()));
}

Status CheckClusterIdentity(Repository& repo, const std::string& db, uint64_t system_id,
                            const std::string& source) {
  auto recorded = ReadClusterIdentity(repo, db);
  if (!recorded.ok()) return recorded.status();
  if (*recorded) {
    if (**recorded == system_id) return Status::Ok();
    return Status::Error(ErrorCode::kConflict,
                         source + " belongs to PostgreSQL cluster " + std::to_string(system_id) +
                             ", but database \"" + db + "\" in the repository holds cluster " +
                             std::to_string(**recorded),
                         "each [database.NAME] must point at one cluster; a new cluster (initdb, "
                         "pg_upgrade) needs a new NAME");
  }
  nlohmann::json j = {{"system_identifier", std::to_string(system_id)},
                      {"recorded", repo.clock().NowSeconds()}};
  Bytes sealed = repo.NewCodec()->EncodeObject(AsBytes(j.dump()), WalClusterObjectName(db));
  Status put = repo.storage().PutIfAbsent(WalClusterObjectName(db), sealed);
  if (put.code() != ErrorCode::kConflict) return put;
  // Another process recorded an identity first: it must be this one.
  return CheckClusterIdentity(repo, db, system_id, source);
}

Result<WalPushResult> PushWalFile(Env& env, Repository& repo, const std::string& db,
                                  const std::string& path, int compression_level) {
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  auto kind = ClassifyWalFileName(name);
  if (!kind)
    return Status::Error(ErrorCode::kUsage, "\"" + name + "\" is not a WAL file name",
                         "archive_command passes %p, the path of a file under pg_wal");
  auto data = ReadWholeFile(env, path);
  if (!data.ok()) return data.status();
  if (*kind == WalFileKind::kSegment) {
    auto sysid = SegmentSystemId(*data, name);
    if (!sysid.ok()) return sysid.status();
    PGKEEP_RETURN_IF_ERROR(CheckClusterIdentity(repo, db, *sysid, "WAL segment " + name));
  }
  std::string object = WalObjectName(db, name);
  // One 16 MiB segment, waited for by the archiver: compress it on every core.
  auto codec = repo.NewCodec(
      compression_level, static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u)));
  WalPushResult result;
  result.bytes = data->size();
  auto conflict = [&] {
    return Status::Error(
        ErrorCode::kConflict,
        "WAL file " + name + " is already archived for database \"" + db +
            "\" with different content",
        "is another cluster, or a restored copy, archiving under the same [database." + db +
            "] name? nothing was overwritten");
  };
  // What is archived under `object` compared with ours: nullopt when the copy
  // there no longer decodes (damaged).
  auto same_as_archived = [&]() -> Result<std::optional<bool>> {
    auto existing = repo.storage().Get(object);
    if (!existing.ok()) return existing.status();
    result.stored_bytes = existing->size();
    auto plain = codec->DecodeObject(*existing, object);
    if (!plain.ok()) return std::optional<bool>();
    return std::optional<bool>(*plain == *data);
  };
  auto present = repo.storage().Exists(object);
  if (!present.ok()) return present.status();
  if (*present) {
    auto same = same_as_archived();
    if (!same.ok() && same.status().code() != ErrorCode::kNotFound) return same.status();
    if (same.ok() && *same) {
      if (!**same) return conflict();
      result.already_archived = true;
      return result;
    }
    // A damaged copy is worth nothing: the intact one replaces it. (Two
    // pushes of different content racing over a damaged copy could both
    // succeed here; each re-reads what it wrote below.)
    if (same.ok()) result.replaced_damaged = true;
  }
  Bytes sealed = codec->EncodeObject(*data, object);
  result.stored_bytes = sealed.size();
  if (result.replaced_damaged) {
    PGKEEP_RETURN_IF_ERROR(repo.storage().Put(object, sealed));
    auto same = same_as_archived();
    if (!same.ok()) return same.status();
    if (!*same || !**same) return conflict();
    return result;
  }
  // Put-if-absent: of two pushes of one name racing, exactly one stores; the
  // other compares with what won, so different content is never lost silently.
  Status put = repo.storage().PutIfAbsent(object, sealed);
  if (put.ok()) return result;
  if (put.code() != ErrorCode::kConflict) return put;
  auto same = same_as_archived();
  if (!same.ok()) return same.status();
  if (!*same || !**same) return conflict();
  result.already_archived = true;
  return result;
}

Status FetchWalFile(Env& env, Repository& repo, const std::string& db, const std::string& name,
                    const std::string& dest) {
  if (!ClassifyWalFileName(name))
    return Status::Error(ErrorCode::kUsage, "\"" + name + "\" is not a WAL file name",
                         "restore_command passes %f %p");
  std::string object = WalObjectName(db, name);
  auto stored = repo.storage().Get(object);
  if (!stored.ok()) {
    if (stored.status().code() == ErrorCode::kNotFound)
      return Status::Error(
          ErrorCode::kNotFound,
          "WAL file " + name + " is not in the repository for database \"" + db + "\"");
    return stored.status();
  }
  auto plain = repo.NewCodec()->DecodeObject(*stored, object);
  if (!plain.ok()) return plain.status().WithContext("WAL object \"" + object + "\"");
  return WriteFileAtomically(env, dest, *plain, 0600);
}

Result<std::vector<std::string>> CheckWalObjects(Repository& repo, const std::string& db,
                                                 uint64_t* bytes_read) {
  auto listing = repo.storage().List(WalPrefix(db));
  if (!listing.ok()) return listing.status();
  auto codec = repo.NewCodec();
  std::vector<std::string> problems;
  for (const auto& o : *listing) {
    auto stored = repo.storage().Get(o.name);
    if (!stored.ok()) {
      problems.push_back("WAL object \"" + o.name + "\": " + stored.status().message());
      continue;
    }
    *bytes_read += stored->size();
    auto plain = codec->DecodeObject(*stored, o.name);
    if (!plain.ok())
      problems.push_back("WAL object \"" + o.name + "\": " + plain.status().message());
  }
  return problems;
}

Result<std::vector<std::string>> ListWalFiles(Storage& storage, const std::string& db) {
  auto listing = storage.List(WalPrefix(db));
  if (!listing.ok()) return listing.status();
  std::vector<std::string> names;
  for (const auto& o : *listing) {
    std::string base = o.name.substr(o.name.rfind('/') + 1);
    if (ClassifyWalFileName(base)) names.push_back(base);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Status WaitForArchivedWal(Env& env, Repository& repo, const std::string& db,
                          const std::string& name, int timeout_seconds,
                          const std::atomic<int>* cancel) {
  int64_t deadline = env.MonotonicMicros() + int64_t{timeout_seconds} * 1000000;
  for (;;) {
    if (cancel && cancel->load() != 0)
      return Status::Error(ErrorCode::kInterrupted,
                           "interrupted while waiting for WAL segment " + name);
    auto exists = repo.storage().Exists(WalObjectName(db, name));
    if (!exists.ok()) return exists.status();
    if (*exists) return Status::Ok();
    if (env.MonotonicMicros() >= deadline)
      return Status::Error(
          ErrorCode::kCheckFailed,
          "WAL segment " + name + " did not reach the repository within " +
              std::to_string(timeout_seconds) + " s",
          "archive_command is failing or slow: see the server log and SELECT * FROM "
          "pg_stat_archiver");
    env.SleepForMicros(100 * 1000);
  }
}

}  // namespace pgkeep
