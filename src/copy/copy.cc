#include "copy/copy.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_set>

#include "repo/format.h"
#include "repo/keys.h"
#include "repo/loader.h"
#include "repo/pack.h"
#include "repo/pins.h"
#include "repo/repo_lock.h"
#include "repo/snapshot_meta.h"
#include "retention/retention.h"

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

// The ids among `candidates` that the target's retention would keep beside
// what it holds (`there`): the rules of each database as the target's
// configuration has them (a [[copy]]'s own retention, else the database's),
// its pins, and the candidates' parents, which the kept ones build on. A
// database the target's configuration lacks keeps every candidate.
Result<std::set<std::string>> KeptThere(const Repository& mirror,
                                        const std::vector<Snapshot>& there,
                                        const std::vector<const Snapshot*>& candidates,
                                        const std::map<std::string, DatabaseConfig>& databases,
                                        int64_t now) {
  auto pins = ReadPins(mirror);
  if (!pins.ok()) return pins.status();
  std::map<std::string, std::vector<const Snapshot*>> by_database;
  for (const Snapshot& s : there) by_database[SnapshotDatabase(s)].push_back(&s);
  std::set<std::string> candidate_ids, kept;
  for (const Snapshot* s : candidates) {
    by_database[SnapshotDatabase(*s)].push_back(s);
    candidate_ids.insert(s->id);
  }
  for (const auto& [database, snapshots] : by_database) {
    auto db = databases.find(database);
    if (db == databases.end()) {
      for (const Snapshot* s : snapshots) kept.insert(s->id);
      continue;
    }
    auto rules = RulesFromConfig(db->second.retention);
    if (!rules.ok()) return rules.status();
    std::vector<BackupRecord> records;
    for (const Snapshot* s : snapshots) {
      // Ordered by commit time, as expire orders them (ids are second-precise).
      char order_key[32];
      std::snprintf(order_key, sizeof order_key, "%020lld",
                    static_cast<long long>(s->commit_micros));
      auto pin = pins->find(s->id);
      records.push_back(
          {order_key, s->stop_time, true, pin != pins->end() && pin->second.HoldsAt(now)});
    }
    auto decisions = ApplyRetention(records, *rules, now);
    if (!decisions.ok()) return decisions.status();
    for (size_t i = 0; i < snapshots.size(); ++i)
      if ((*decisions)[i].keep) kept.insert(snapshots[i]->id);
  }
  // What a kept candidate builds on goes too.
  std::map<std::string, const Snapshot*> by_id;
  for (const Snapshot* s : candidates) by_id[s->id] = s;
  std::vector<std::string> todo(kept.begin(), kept.end());
  while (!todo.empty()) {
    auto it = by_id.find(todo.back());
    todo.pop_back();
    if (it == by_id.end()) continue;
    const std::string parent = it->second->meta.value(kMetaParent, "");
    if (!parent.empty() && kept.insert(parent).second) todo.push_back(parent);
  }
  std::set<std::string> out;
  for (const std::string& id : kept)
    if (candidate_ids.count(id)) out.insert(id);
  return out;
}

// Copies the WAL of each database from `wal_from` (a segment name) on, with
// the cluster identity and timeline histories, skipping what `there` lists.
Status CopyWal(Storage& from, Storage& target, const std::map<std::string, std::string>& wal_from,
               const Progress& step, CopyReport& report) {
  for (const auto& [db, start] : wal_from) {
    if (step) step("copying the WAL of database \"" + db + "\" from " + start);
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
  return Status::Ok();
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
  // Index objects are written before the snapshots that need them, so an
  // index read after the listing covers every snapshot listed, including
  // one committed since the command started.
  PGKEEP_RETURN_IF_ERROR(source.LoadIndex());
  auto selected = Select(*listing, options);
  if (!selected.ok()) return selected.status();

  // What the target holds: its snapshots, its packs, and which chunks its
  // own index names. A pack can be there while no index names it (a copy
  // cut off between the packs and their index) or names only some of its
  // chunks (the target's expire dropped the dead ones): such chunks are
  // indexed again, never assumed.
  auto mirror = Repository::OpenWithKey(target, clock, source.key());
  if (!mirror.ok()) return mirror.status().WithContext("copy target \"" + target.Describe() + "\"");
  (*mirror)->set_warning_sink(
      [&source](const std::string& warning) { source.Warn("copy target: " + warning); });
  PGKEEP_RETURN_IF_ERROR((*mirror)->LoadIndex());
  auto target_snapshots = (*mirror)->ListSnapshots();
  if (!target_snapshots.ok()) return target_snapshots.status();
  std::set<std::string> on_target;
  for (const Snapshot& s : target_snapshots->snapshots) on_target.insert(s.id);
  auto packs_there = Names(target, kDataDir);
  if (!packs_there.ok()) return packs_there.status();

  std::vector<const Snapshot*> to_copy;
  for (const Snapshot& s : *selected) {
    if (on_target.count(s.id))
      report.present.push_back(s.id);
    else
      to_copy.push_back(&s);
  }
  if (options.backup.empty() && options.target_databases) {
    auto kept = KeptThere(**mirror, target_snapshots->snapshots, to_copy, *options.target_databases,
                          clock.NowSeconds());
    if (!kept.ok()) return kept.status();
    std::vector<const Snapshot*> sent;
    for (const Snapshot* s : to_copy) {
      if (kept->count(s->id))
        sent.push_back(s);
      else
        report.skipped_by_retention.push_back(s->id);
    }
    to_copy = std::move(sent);
  }

  // The WAL goes before the backups that need it, so a backup on the target
  // is restorable from the moment it is listed there: from the oldest
  // selected physical backup's start on (those the target has included, so
  // its recovery window keeps up between backups).
  std::map<std::string, std::string> wal_from;
  std::set<std::string> dbs;
  const std::set<std::string> skipped(report.skipped_by_retention.begin(),
                                      report.skipped_by_retention.end());
  for (const Snapshot& s : *selected) {
    const std::string db = SnapshotDatabase(s);
    dbs.insert(db);
    if (!IsPhysicalKind(s.kind) || skipped.count(s.id)) continue;
    const std::string start = s.meta.value(kMetaStartWal, "");
    if (!wal_from.count(db) || start < wal_from[db]) wal_from[db] = start;
  }
  PGKEEP_RETURN_IF_ERROR(CopyWal(from, target, wal_from, options.progress, report));

  auto codec = source.NewCodec();
  Loader loader(source);
  std::unordered_set<ChunkId, ChunkIdHash> indexed_now;
  std::set<std::string> packs_counted;  // as present, once each
  for (const Snapshot* s : to_copy) {
    step("copying backup " + s->id);
    std::vector<ChunkId> chunks(s->manifest.begin(), s->manifest.end());
    auto files = loader.ReadManifest(*s);
    if (!files.ok()) return files.status().WithContext("backup " + s->id);
    for (const FileEntry& f : *files) chunks.insert(chunks.end(), f.chunks.begin(), f.chunks.end());
    std::set<std::string> packs, lacking;  // every pack it uses; those the target's index lacks
    for (const ChunkId& id : chunks) {
      auto where = source.index().Find(id);
      if (!where)
        return Status::Error(ErrorCode::kCheckFailed,
                             "backup " + s->id + " uses chunk " + HexEncode(id).substr(0, 16) +
                                 ", which is in no index; nothing of it was copied",
                             "run \"pgkeep verify\"");
      const std::string pack = PackObjectName(where->pack);
      packs.insert(pack);
      if (!indexed_now.count(id) && !(*mirror)->HasIntactCopy(id)) lacking.insert(pack);
    }
    for (const std::string& pack : packs)
      if (!lacking.count(pack) && packs_counted.insert(pack).second) ++report.packs_present;
    std::vector<IndexedPack> indexed;
    for (const std::string& pack : lacking) {
      auto bytes = from.GetAtMost(pack, kMaxPackObjectSize);
      if (!bytes.ok()) return bytes.status();
      auto entries = ReadPackTrailer(*bytes, *codec);
      if (!entries.ok()) return entries.status().WithContext("pack \"" + pack + "\"");
      if (packs_there->count(pack)) {
        ++report.packs_indexed;  // there, but not (wholly) in the target's index
      } else {
        PGKEEP_RETURN_IF_ERROR(target.Put(pack, *bytes));
        packs_there->insert(pack);
        report.bytes_copied += bytes->size();
        ++report.packs_copied;
      }
      auto id = HexDecode(pack.substr(pack.rfind('/') + 1));
      if (!id || id->size() != ObjectId().size())
        return Status::Error(ErrorCode::kInternal, "pack name \"" + pack + "\" is not an id");
      IndexedPack ip;
      std::copy(id->begin(), id->end(), ip.pack.begin());
      for (const PackEntry& e : *entries) indexed_now.insert(e.id);
      ip.entries = std::move(*entries);
      indexed.push_back(std::move(ip));
    }
    // The index naming the packs goes before the snapshot that needs them.
    if (!indexed.empty()) {
      Bytes stored = codec->EncodeObject(EncodeIndexFile(indexed), kIndexAad);
      PGKEEP_RETURN_IF_ERROR(target.Put(IndexObjectName(Sha256(stored)), stored));
    }
    PGKEEP_RETURN_IF_ERROR(
        CopyObject(from, target, SnapshotObjectName(s->id), kMaxSnapshotObjectSize, report));
    report.copied.push_back(s->id);
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
