#include "copy/copy.h"

#include <algorithm>
#include <map>
#include <set>

#include "repo/format.h"
#include "repo/keys.h"
#include "repo/loader.h"
#include "repo/pack.h"
#include "repo/repo_lock.h"
#include "repo/snapshot_meta.h"

namespace pgkeep {

namespace {

Result<std::set<std::string>> Names(Storage& storage, const std::string& prefix) {
  auto listing = storage.List(prefix);
  if (!listing.ok()) return listing.status();
  std::set<std::string> names;
  for (const ObjectInfo& o : *listing) names.insert(o.name);
  return names;
}

// Makes an empty target a mirror of the source (keys first, config last, as
// init does), or checks that it is one. With `password`, the target's key
// file is the source's master key sealed under it; otherwise the source's
// key files are copied as they are.
Result<bool> MirrorOrCheck(Repository& source, Storage& target, const Clock& clock,
                           const std::optional<std::string>& password) {
  Storage& from = source.storage();
  auto source_config = from.GetAtMost(kConfigObject, kMaxConfigObjectSize);
  if (!source_config.ok()) return source_config.status();
  auto target_config = target.GetAtMost(kConfigObject, kMaxConfigObjectSize);
  if (target_config.ok()) {
    if (*target_config != *source_config)
      return Status::Error(ErrorCode::kConflict,
                           "copy target \"" + target.Describe() +
                               "\" holds another repository, not a copy of \"" + from.Describe() +
                               "\"",
                           "point the copy at an empty directory or bucket prefix");
    if (!password) return false;
    // The copy's own password must still open it: a copy nobody can unlock
    // is no copy.
    auto key = UnlockMasterKey(target, password);
    if (!key.ok()) return key.status().WithContext("copy target \"" + target.Describe() + "\"");
    if (MasterKeyBytes(*key) != MasterKeyBytes(source.key()))
      return Status::Error(ErrorCode::kConflict, "copy target \"" + target.Describe() +
                                                     "\" opens with another master key");
    return false;
  }
  if (target_config.status().code() != ErrorCode::kNotFound) return target_config.status();
  if (password) {
    auto sealed = SealKeyFile(source.key(), password, ScryptParams{}, clock.NowSeconds());
    if (!sealed.ok()) return sealed.status().WithContext("the copy's password");
    PGKEEP_RETURN_IF_ERROR(
        target.Put(std::string(kKeysDir) + HexEncode(RandomBytes(8)), AsBytes(*sealed)));
  } else {
    auto keys = from.List(kKeysDir);
    if (!keys.ok()) return keys.status();
    for (const ObjectInfo& k : *keys) {
      auto bytes = from.GetAtMost(k.name, kMaxKeyFileSize);
      if (!bytes.ok()) return bytes.status();
      PGKEEP_RETURN_IF_ERROR(target.Put(k.name, *bytes));
    }
  }
  PGKEEP_RETURN_IF_ERROR(target.Put(kConfigObject, *source_config));
  return true;
}

// The snapshots to copy: per database, every intact backup or the one
// asked for, with the parents an incremental builds on.
Result<std::vector<Snapshot>> Select(const SnapshotList& all, const CopyOptions& o) {
  std::map<std::string, const Snapshot*> by_id;
  for (const Snapshot& s : all.snapshots) by_id[s.id] = &s;
  std::set<std::string> chosen;
  auto wanted_db = [&](const Snapshot& s) {
    const std::string db = SnapshotDatabase(s);
    if (db.empty()) return false;  // `store` snapshots belong to no database
    return o.databases.empty() ||
           std::find(o.databases.begin(), o.databases.end(), db) != o.databases.end();
  };
  if (o.backup.empty()) {
    for (const Snapshot& s : all.snapshots)
      if (wanted_db(s)) chosen.insert(s.id);
  } else if (o.backup == "latest") {
    std::map<std::string, const Snapshot*> newest;  // snapshots are oldest first
    for (const Snapshot& s : all.snapshots)
      if (wanted_db(s)) newest[SnapshotDatabase(s)] = &s;
    for (const auto& [db, s] : newest) chosen.insert(s->id);
  } else {
    if (!by_id.count(o.backup))
      return Status::Error(ErrorCode::kNotFound, "no backup \"" + o.backup + "\" in the repository",
                           "see \"pgkeep list\"");
    chosen.insert(o.backup);
  }
  // An incremental needs its parents.
  std::vector<std::string> todo(chosen.begin(), chosen.end());
  while (!todo.empty()) {
    const Snapshot* s = by_id[todo.back()];
    todo.pop_back();
    const std::string parent = s->meta.value(kMetaParent, "");
    if (parent.empty() || chosen.count(parent)) continue;
    if (!by_id.count(parent))
      return Status::Error(
          ErrorCode::kCheckFailed,
          "backup " + s->id + " builds on " + parent + ", which is not in the repository",
          "run \"pgkeep verify\"");
    chosen.insert(parent);
    todo.push_back(parent);
  }
  std::vector<Snapshot> out;
  for (const Snapshot& s : all.snapshots)
    if (chosen.count(s.id)) out.push_back(s);
  return out;
}

Status CopyObject(Storage& source, Storage& target, const std::string& name, uint64_t max_size,
                  CopyReport& report) {
  auto bytes = source.GetAtMost(name, max_size);
  if (!bytes.ok()) return bytes.status();
  report.bytes_copied += bytes->size();
  return target.Put(name, *bytes);
}

}  // namespace

Result<CopyReport> CopyBackups(Env& env, Repository& source, Storage& target, const Clock& clock,
                               const CopyOptions& options) {
  CopyReport report;
  auto step = [&](const std::string& what) {
    if (options.progress) options.progress(what);
  };
  Storage& from = source.storage();
  auto mirrored = MirrorOrCheck(source, target, clock, options.target_password);
  if (!mirrored.ok()) return mirrored.status();
  report.initialized = *mirrored;
  auto lock = RepoLock::Acquire(env, target, clock, LockMode::kShared, "copy", options.lock_wait);
  if (!lock.ok()) return lock.status();

  auto listing = source.ListSnapshots();
  if (!listing.ok()) return listing.status();
  auto selected = Select(*listing, options);
  if (!selected.ok()) return selected.status();
  auto on_target = Names(target, kSnapshotsDir);
  if (!on_target.ok()) return on_target.status();
  auto packs_there = Names(target, kDataDir);
  if (!packs_there.ok()) return packs_there.status();

  auto codec = source.NewCodec();
  Loader loader(source);
  std::vector<IndexedPack> indexed;
  std::set<std::string> packs_done;
  for (const Snapshot& s : *selected) {
    const std::string object = SnapshotObjectName(s.id);
    if (on_target->count(object)) {
      report.present.push_back(s.id);
      continue;
    }
    step("copying backup " + s.id);
    std::vector<ChunkId> chunks(s.manifest.begin(), s.manifest.end());
    auto files = loader.ReadManifest(s);
    if (!files.ok()) return files.status().WithContext("backup " + s.id);
    for (const FileEntry& f : *files) chunks.insert(chunks.end(), f.chunks.begin(), f.chunks.end());
    std::set<std::string> packs;
    for (const ChunkId& id : chunks) {
      auto where = source.index().Find(id);
      if (!where)
        return Status::Error(ErrorCode::kCheckFailed,
                             "backup " + s.id + " uses chunk " + HexEncode(id).substr(0, 16) +
                                 ", which is in no index; nothing of it was copied",
                             "run \"pgkeep verify\"");
      packs.insert(PackObjectName(where->pack));
    }
    for (const std::string& pack : packs) {
      if (packs_done.count(pack)) continue;
      packs_done.insert(pack);
      if (packs_there->count(pack)) {
        ++report.packs_present;
        continue;
      }
      auto bytes = from.GetAtMost(pack, kMaxPackObjectSize);
      if (!bytes.ok()) return bytes.status();
      auto entries = ReadPackTrailer(*bytes, *codec);
      if (!entries.ok()) return entries.status().WithContext("pack \"" + pack + "\"");
      PGKEEP_RETURN_IF_ERROR(target.Put(pack, *bytes));
      report.bytes_copied += bytes->size();
      ++report.packs_copied;
      auto id = HexDecode(pack.substr(pack.rfind('/') + 1));
      if (!id || id->size() != ObjectId().size())
        return Status::Error(ErrorCode::kInternal, "pack name \"" + pack + "\" is not an id");
      IndexedPack ip;
      std::copy(id->begin(), id->end(), ip.pack.begin());
      ip.entries = std::move(*entries);
      indexed.push_back(std::move(ip));
    }
    // The index naming the new packs goes before the snapshot that needs them.
    if (!indexed.empty()) {
      Bytes stored = codec->EncodeObject(EncodeIndexFile(indexed), kIndexAad);
      PGKEEP_RETURN_IF_ERROR(target.Put(IndexObjectName(Sha256(stored)), stored));
      indexed.clear();
    }
    PGKEEP_RETURN_IF_ERROR(CopyObject(from, target, object, kMaxSnapshotObjectSize, report));
    report.copied.push_back(s.id);
  }

  // WAL from the oldest selected physical backup's start on, per database;
  // drill reports and forget-log entries of every selected database.
  std::map<std::string, std::string> wal_from;
  std::set<std::string> dbs;
  for (const Snapshot& s : *selected) {
    const std::string db = SnapshotDatabase(s);
    dbs.insert(db);
    if (!IsPhysicalKind(s.kind)) continue;
    const std::string start = s.meta.value(kMetaStartWal, "");
    if (!wal_from.count(db) || start < wal_from[db]) wal_from[db] = start;
  }
  for (const auto& [db, start] : wal_from) {
    step("copying the WAL of database \"" + db + "\" from " + start);
    auto have = Names(from, WalPrefix(db));
    if (!have.ok()) return have.status();
    auto there = Names(target, WalPrefix(db));
    if (!there.ok()) return there.status();
    for (const std::string& name : *have) {
      if (there->count(name)) continue;
      const std::string file = name.substr(name.rfind('/') + 1);
      const bool always =
          name == WalClusterObjectName(db) || file.find(".history") != std::string::npos;
      if (!always && file.substr(0, 24) < start) continue;
      PGKEEP_RETURN_IF_ERROR(CopyObject(from, target, name, 64 << 20, report));
      ++report.wal_copied;
    }
  }
  // Drill reports and the forget log (restores from the copy re-apply it).
  for (const std::string& db : dbs) {
    struct Kind {
      std::string prefix;
      uint64_t bound;
      uint64_t* copied;
    };
    for (const Kind& kind :
         {Kind{DrillReportObjectName(db, ""), kMaxDrillReportSize + 4096, &report.reports_copied},
          Kind{ForgetEntryObjectName(db, ""), kMaxForgetEntrySize + 4096,
               &report.forget_entries_copied}}) {
      const std::string& prefix = kind.prefix;
      auto have = Names(from, prefix);
      if (!have.ok()) return have.status();
      auto there = Names(target, prefix);
      if (!there.ok()) return there.status();
      for (const std::string& name : *have) {
        if (there->count(name)) continue;
        PGKEEP_RETURN_IF_ERROR(CopyObject(from, target, name, kind.bound, report));
        ++*kind.copied;
      }
    }
  }
  return report;
}

}  // namespace pgkeep
