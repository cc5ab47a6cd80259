#include "repo/verifier.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "repo/layout.h"
#include "repo/loader.h"
#include "repo/pins.h"

namespace pgkeep {

namespace {

struct PackCheck {
  ObjectId id{};
  std::string name;
  uint64_t size = 0;
  std::vector<PackEntry> entries;  // as the index describes them
  std::string named_by;            // an index object naming it, for messages
};

}  // namespace

Result<VerifyReport> Verifier::Run(bool read_data, int subset_percent, uint64_t subset_seed) {
  VerifyReport report;
  Storage& storage = repo_.storage();
  auto codec = repo_.NewCodec();

  // 0. Names that are not pgkeep's, key files that would not unlock, pins.
  auto everything = storage.List("");
  if (!everything.ok()) return everything.status();
  report.warnings = UnknownObjectWarnings(*everything);
  for (const auto& o : *everything) {
    if (o.name.rfind(kLocksDir, 0) == 0 && IsKnownObjectName(o.name)) {
      auto content = storage.Get(o.name);
      if (content.ok() && nlohmann::json::parse(AsString(*content), nullptr, false).is_object())
        continue;
      if (!content.ok() && content.status().code() == ErrorCode::kNotFound)
        continue;  // released meanwhile
      report.warnings.push_back("lock \"" + o.name +
                                "\" is damaged or unreadable; it is ignored and never "
                                "deleted (remove it once no pgkeep runs)");
      continue;
    }
    if (o.name.rfind(kKeysDir, 0) != 0 || !IsKnownObjectName(o.name)) continue;
    auto content = storage.Get(o.name);
    nlohmann::json j =
        content.ok() ? nlohmann::json::parse(AsString(*content), nullptr, false) : nlohmann::json();
    if (!j.is_object() || !j.contains("kdf") || !j["kdf"].is_string())
      report.warnings.push_back("key file \"" + o.name + "\" is damaged or unreadable" +
                                (content.ok() ? "" : " (" + content.status().message() + ")") +
                                "; it is skipped when unlocking");
  }
  repo_.set_warning_sink([&report](const std::string& m) { report.errors.push_back(m); });
  auto pins = ReadPins(repo_);  // damaged pins land in errors through the sink
  repo_.set_warning_sink({});
  if (!pins.ok()) report.errors.push_back(pins.status().message());

  // 1. Index objects; remember which index entries point into which pack.
  auto index_listing = storage.List(kIndexDir);
  if (!index_listing.ok()) return index_listing.status();
  std::map<std::string, PackCheck> indexed;  // pack object name -> entries
  uint64_t stored = 0;
  for (const auto& object : *index_listing) stored += object.size;
  repo_.index().ReserveForLoad(stored / kMinStoredEntrySize + 1);
  for (const auto& object : *index_listing) {
    ++report.index_objects;
    auto stored = storage.GetAtMost(object.name, kMaxIndexObjectSize);
    Result<Bytes> plain = stored.ok() ? codec->DecodeObject(*stored, kIndexAad) : stored.status();
    auto packs =
        plain.ok() ? DecodeIndexFile(*plain) : Result<std::vector<IndexedPack>>(plain.status());
    if (!packs.ok()) {
      report.errors.push_back("index \"" + object.name + "\": " + packs.status().message());
      continue;
    }
    for (const auto& p : *packs) {
      repo_.index().AddLoadedPack(p);
      auto& check = indexed[PackObjectName(p.pack)];
      check.id = p.pack;
      check.name = PackObjectName(p.pack);
      if (check.named_by.empty()) check.named_by = object.name;
      check.entries.insert(check.entries.end(), p.entries.begin(), p.entries.end());
    }
  }
  repo_.index().FinishLoad();

  // 2. Packs present versus packs indexed.
  auto pack_listing = storage.List(kDataDir);
  if (!pack_listing.ok()) return pack_listing.status();
  std::unordered_map<std::string, uint64_t> present;
  for (const auto& o : *pack_listing) present[o.name] = o.size;
  for (const auto& [name, size] : present)
    if (!indexed.count(name))
      report.warnings.push_back("pack \"" + name +
                                "\" is in no index (left by an interrupted store or expire; "
                                "unused, the next expire removes it)");
  std::vector<PackCheck*> to_read;
  std::set<std::string> gone;  // missing or short: their chunks count as absent below
  for (auto& [name, check] : indexed) {
    auto it = present.find(name);
    if (it == present.end()) {
      report.errors.push_back("pack \"" + name + "\" named by index \"" + check.named_by +
                              "\" is missing");
      gone.insert(name);
      continue;
    }
    check.size = it->second;
    ++report.packs;
    report.chunks += check.entries.size();
    for (const auto& e : check.entries)
      if (uint64_t{e.offset} + e.length > check.size) {
        report.errors.push_back("pack \"" + name + "\" is shorter than its index says (offset " +
                                std::to_string(e.offset) + ")");
        gone.insert(name);
        break;
      }
    to_read.push_back(&check);
  }

  if (!gone.empty()) {
    std::vector<bool> dropped(repo_.index().packs().size(), false);
    for (size_t p = 0; p < dropped.size(); ++p)
      dropped[p] = gone.count(PackObjectName(repo_.index().packs()[p])) > 0;
    repo_.index().DropPacks(dropped);
  }

  // 3. With --read-data: every byte of every indexed pack (or a random subset).
  std::set<DamagedChunk> damaged;
  if (read_data && subset_percent < 100) {
    std::mt19937_64 rng(subset_seed);
    std::vector<PackCheck*> chosen;
    for (PackCheck* p : to_read)
      if (static_cast<int>(rng() % 100) < subset_percent) chosen.push_back(p);
    to_read = std::move(chosen);
  }
  report.packs_read = read_data ? to_read.size() : 0;
  if (read_data) {
    std::mutex mu;
    std::atomic<size_t> next{0};
    auto work = [&] {
      auto local_codec = repo_.NewCodec();
      Bytes plain;
      for (size_t i; (i = next++) < to_read.size();) {
        const PackCheck& check = *to_read[i];
        std::vector<std::string> errors;
        std::vector<DamagedChunk> bad_chunks;
        // Packs are read whole; one larger than any pack pgkeep writes is
        // refused by its size rather than allocated (GetAtMost).
        auto bytes = storage.GetAtMost(check.name, kMaxPackObjectSize);
        if (!bytes.ok()) {
          errors.push_back(bytes.status().message());
        } else {
          auto trailer = ReadPackTrailer(*bytes, *local_codec);
          if (!trailer.ok())
            errors.push_back("pack \"" + check.name + "\": " + trailer.status().message());
          for (const auto& e : check.entries) {
            plain.clear();
            Status s = uint64_t{e.offset} + e.length > bytes->size()
                           ? Status::Error(ErrorCode::kCorrupt, "blob lies beyond the end")
                           : local_codec->Decode(ByteView(bytes->data() + e.offset, e.length), e.id,
                                                 e.raw_length, plain);
            if (!s.ok()) {
              errors.push_back("pack \"" + check.name + "\" at offset " + std::to_string(e.offset) +
                               " (chunk " + HexEncode(e.id).substr(0, 16) + "): " + s.message());
              bad_chunks.push_back({check.id, e.id});
            }
          }
        }
        std::lock_guard lock(mu);
        report.bytes_read += bytes.ok() ? bytes->size() : 0;
        report.errors.insert(report.errors.end(), errors.begin(), errors.end());
        damaged.insert(bad_chunks.begin(), bad_chunks.end());
      }
    };
    int n = threads_ > 0 ? threads_
                         : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> threads;
    for (int t = 0; t < n; ++t) threads.emplace_back(work);
    for (auto& t : threads) t.join();
  }

  // 4. Snapshots: each must decode and reference only indexed, undamaged chunks.
  auto snap_listing = storage.List(kSnapshotsDir);
  if (!snap_listing.ok()) return snap_listing.status();
  Loader loader(repo_);
  for (const auto& object : *snap_listing) {
    std::string id = object.name.substr(std::strlen(kSnapshotsDir));
    if (!IsValidSnapshotId(id)) continue;  // an unknown name: warned about in step 0
    ++report.snapshots;
    auto snapshot = repo_.ReadSnapshot(id);
    if (!snapshot.ok()) {
      report.errors.push_back(snapshot.status().message());
      continue;
    }
    auto files = loader.ReadManifest(*snapshot);
    if (!files.ok()) {
      report.errors.push_back(files.status().message());
      continue;
    }
    // Bad: every copy the index knows is damaged (another copy may be
    // intact: a store after the damage was recorded wrote it again).
    auto intact = [&](const ChunkId& c) {
      for (const auto& location : repo_.index().FindAll(c))
        if (!damaged.count(DamagedChunk{location.pack, c})) return true;
      return false;
    };
    for (const auto& f : *files) {
      size_t missing = 0, bad = 0;
      for (const auto& c : f.chunks) {
        if (!repo_.index().Contains(c))
          ++missing;
        else if (!damaged.empty() && !intact(c))
          ++bad;
      }
      if (missing)
        report.errors.push_back("snapshot \"" + id + "\" file \"" + f.path + "\": " +
                                std::to_string(missing) + " chunk(s) missing from the repository");
      if (bad)
        report.errors.push_back("snapshot \"" + id + "\" file \"" + f.path + "\": " +
                                std::to_string(bad) + " damaged chunk(s); it cannot be restored");
    }
  }

  // 5. Remember what was found damaged, so the next store writes it again.
  if (!damaged.empty()) {
    PGKEEP_RETURN_IF_ERROR(repo_.LoadDamageRecords());
    std::vector<DamagedChunk> fresh;
    for (const auto& d : damaged)
      if (!repo_.damaged_chunks().count(d)) fresh.push_back(d);
    Status s = repo_.RecordDamagedChunks(fresh);
    if (!s.ok())
      report.warnings.push_back("could not record the damaged chunks (" + s.message() +
                                "); until it is, new backups may reference them");
    else if (!fresh.empty())
      report.warnings.push_back("recorded " + std::to_string(fresh.size()) +
                                " damaged chunk(s) under " + kDamagedDir +
                                ": from now on every backup stores those chunks again");
  }
  return report;
}

}  // namespace pgkeep
