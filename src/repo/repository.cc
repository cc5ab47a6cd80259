#include "repo/repository.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>
#include <unordered_map>

#include "repo/layout.h"

namespace pgkeep {

namespace {

// Valid, and small enough for the store pipeline's 8 MiB read buffers.
bool UsableCdcParams(const CdcParams& p) {
  return ValidCdcParams(p) && p.max_size <= kMaxChunkSize;
}

nlohmann::json SettingsBody(const RepoSettings& s) {
  return {
      {"id", s.id},
      {"version", s.version},
      {"encryption", s.encrypted ? "aes-256-gcm" : "none"},
      {"chunker", {{"min", s.cdc.min_size}, {"avg", s.cdc.avg_size}, {"max", s.cdc.max_size}}},
      {"dump_chunker",
       {{"min", s.dump_cdc.min_size}, {"avg", s.dump_cdc.avg_size}, {"max", s.dump_cdc.max_size}}},
      {"block_size", s.block_size},
      {"created", s.created}};
}

std::string SettingsMac(const MasterKey& key, const nlohmann::json& body) {
  Hasher hasher(key.id_key);
  return HexEncode(hasher.Mac(AsBytes("pgkeep config\n" + body.dump())));
}

Result<std::pair<RepoSettings, nlohmann::json>> ParseConfigObject(const std::string& where,
                                                                  ByteView content) {
  auto bad = [&](const std::string& why) {
    return Status::Error(ErrorCode::kRepoFormat,
                         "repository config \"" + where + "\" is damaged: " + why);
  };
  nlohmann::json j = nlohmann::json::parse(AsString(content), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad("not JSON");
  if (j.value("format", "") != "pgkeep-repository") return bad("not a pgkeep repository config");
  try {
    const auto& body = j.at("body");
    RepoSettings s;
    s.version = body.at("version").get<int>();
    if (s.version > kFormatVersion)
      return Status::Error(ErrorCode::kRepoFormat,
                           "repository \"" + where + "\" has format version " +
                               std::to_string(s.version) + ", this pgkeep reads up to " +
                               std::to_string(kFormatVersion),
                           "upgrade pgkeep");
    s.id = body.at("id").get<std::string>();
    s.encrypted = body.at("encryption").get<std::string>() != "none";
    const auto& c = body.at("chunker");
    s.cdc = {c.at("min").get<uint32_t>(), c.at("avg").get<uint32_t>(), c.at("max").get<uint32_t>()};
    const auto& d = body.at("dump_chunker");
    s.dump_cdc = {d.at("min").get<uint32_t>(), d.at("avg").get<uint32_t>(),
                  d.at("max").get<uint32_t>()};
    s.block_size = body.at("block_size").get<uint32_t>();
    s.created = body.at("created").get<int64_t>();
    if (!UsableCdcParams(s.cdc) || !UsableCdcParams(s.dump_cdc) || s.block_size == 0 ||
        s.block_size % 8192 != 0 || s.block_size > kMaxChunkSize)
      return bad("invalid chunking parameters");
    return std::make_pair(s, j);
  } catch (const nlohmann::json::exception& e) {
    return bad(e.what());
  }
}

// A pack ends with its trailer (at least a tag), the trailer length and the
// end magic after its last blob.
uint64_t PackBytesNeeded(uint64_t blob_end) {
  return blob_end + BlobCodec::kPlainTagSize + 4 + kMagicSize;
}

// Empty when the pack is there and long enough.
std::string PackProblem(const std::string& name,
                        const std::unordered_map<std::string, uint64_t>& present, uint64_t needed,
                        uint64_t chunks) {
  auto it = present.find(name);
  if (it != present.end() && it->second >= needed) return "";
  return "pack \"" + name + "\" named by the index is " +
         (it == present.end() ? std::string("missing")
                              : "shorter than its index says (" + std::to_string(it->second) +
                                    " bytes, at least " + std::to_string(needed) + " expected)") +
         "; its " + std::to_string(chunks) + " chunk(s) count as absent";
}

}  // namespace

Repository::Repository(Storage& storage, const Clock& clock, MasterKey key, RepoSettings settings)
    : storage_(storage), clock_(clock), key_(std::move(key)), settings_(std::move(settings)) {
  stream_chunker_ = std::make_unique<FastCdcChunker>(settings_.cdc, key_.chunker_key);
  dump_chunker_ = std::make_unique<FastCdcChunker>(settings_.dump_cdc, key_.chunker_key);
}

Result<std::unique_ptr<Repository>> Repository::Init(Storage& storage, const Clock& clock,
                                                     const InitOptions& options,
                                                     const std::optional<std::string>& password) {
  auto existing = storage.List("");
  if (!existing.ok()) return existing.status();
  // Key files without a config are what an interrupted init leaves: no
  // repository was ever usable there, so they are removed and init redone.
  bool interrupted_init = !existing->empty() &&
                          std::all_of(existing->begin(), existing->end(), [](const ObjectInfo& o) {
                            return o.name.rfind(kKeysDir, 0) == 0;
                          });
  if (interrupted_init) {
    for (const auto& o : *existing) PGKEEP_RETURN_IF_ERROR(storage.Delete(o.name));
  } else if (!existing->empty()) {
    auto has_config = storage.Exists(kConfigObject);
    bool is_repo = has_config.ok() && *has_config;
    return Status::Error(ErrorCode::kRepoExists,
                         is_repo ? "a repository already exists at \"" + storage.Describe() + "\""
                                 : "\"" + storage.Describe() + "\" is not empty",
                         is_repo ? "use it as it is, or point repository.path elsewhere"
                                 : "choose an empty directory for repository.path");
  }
  if (!UsableCdcParams(options.cdc) || !UsableCdcParams(options.dump_cdc) ||
      options.block_size == 0 || options.block_size % 8192 != 0 ||
      options.block_size > kMaxChunkSize)
    return Status::Error(ErrorCode::kUsage, "invalid chunking parameters");
  MasterKey key = GenerateMasterKey(options.encrypted);
  int64_t now = clock.NowSeconds();
  auto key_file =
      SealKeyFile(key, options.encrypted ? password : std::nullopt, options.scrypt, now);
  if (!key_file.ok()) return key_file.status();

  RepoSettings settings;
  settings.id = HexEncode(RandomBytes(16));
  settings.encrypted = options.encrypted;
  settings.cdc = options.cdc;
  settings.dump_cdc = options.dump_cdc;
  settings.block_size = options.block_size;
  settings.created = now;
  nlohmann::json body = SettingsBody(settings);
  nlohmann::json config = {
      {"format", "pgkeep-repository"}, {"body", body}, {"mac", SettingsMac(key, body)}};
  PGKEEP_RETURN_IF_ERROR(
      storage.Put(std::string(kKeysDir) + HexEncode(RandomBytes(8)), AsBytes(*key_file)));
  PGKEEP_RETURN_IF_ERROR(storage.Put(kConfigObject, AsBytes(config.dump(2) + "\n")));
  return std::unique_ptr<Repository>(new Repository(storage, clock, std::move(key), settings));
}

Result<std::unique_ptr<Repository>> Repository::Open(Storage& storage, const Clock& clock,
                                                     const std::optional<std::string>& password,
                                                     std::optional<bool> expect_encrypted) {
  return OpenWith(storage, clock, expect_encrypted, [&](const RepoSettings& settings) {
    return UnlockMasterKey(storage, settings.encrypted ? password : std::nullopt);
  });
}

Result<std::unique_ptr<Repository>> Repository::OpenWithKey(Storage& storage, const Clock& clock,
                                                            const MasterKey& key,
                                                            std::optional<bool> expect_encrypted) {
  return OpenWith(storage, clock, expect_encrypted,
                  [&](const RepoSettings&) -> Result<MasterKey> { return key; });
}

Result<std::unique_ptr<Repository>> Repository::OpenWith(
    Storage& storage, const Clock& clock, std::optional<bool> expect_encrypted,
    const std::function<Result<MasterKey>(const RepoSettings&)>& unlock) {
  auto content = storage.GetAtMost(kConfigObject, kMaxConfigObjectSize);
  if (!content.ok()) {
    if (content.status().code() == ErrorCode::kNotFound)
      return Status::Error(ErrorCode::kRepoNotFound,
                           "no repository at \"" + storage.Describe() + "\"",
                           "run \"pgkeep init\" to create one, or check repository.path");
    return content.status();
  }
  auto parsed = ParseConfigObject(storage.Describe(), *content);
  if (!parsed.ok()) return parsed.status();
  auto& [settings, json] = *parsed;
  if (expect_encrypted && *expect_encrypted && !settings.encrypted)
    return Status::Error(
        ErrorCode::kConfig,
        "repository \"" + storage.Describe() +
            "\" is not encrypted (initialised with encryption = \"none\"), but the "
            "configuration asks for encryption",
        "set encryption = \"none\" in [repository] to use it unencrypted, or point "
        "repository.path at an encrypted repository");
  if (expect_encrypted && !*expect_encrypted && settings.encrypted)
    return Status::Error(ErrorCode::kConfig,
                         "repository \"" + storage.Describe() +
                             "\" is encrypted, but the configuration says encryption = \"none\"",
                         "remove encryption = \"none\" from [repository] and give the password "
                         "(PGKEEP_REPO_PASSWORD or repository.password_file)");
  auto key = unlock(settings);
  if (!key.ok()) return key.status();
  if (key->encrypted != settings.encrypted ||
      json.value("mac", "") != SettingsMac(*key, json.at("body")))
    return Status::Error(ErrorCode::kRepoFormat,
                         "repository config at \"" + storage.Describe() +
                             "\" does not match its key (modified or damaged)");
  return std::unique_ptr<Repository>(new Repository(storage, clock, std::move(*key), settings));
}

Status Repository::LoadIndex() {
  index_problems_ = {};
  auto listing = storage_.List(kIndexDir);
  if (!listing.ok()) return listing.status();
  // Oldest first, so that pack numbers (and with them "newest copy wins",
  // chunk_index.h) follow the order the index objects were written in.
  std::sort(listing->begin(), listing->end(), [](const ObjectInfo& a, const ObjectInfo& b) {
    return std::tie(a.modified, a.name) < std::tie(b.modified, b.name);
  });
  auto codec = NewCodec();
  // An entry takes at least 36 stored bytes (its random 32-byte id does not
  // compress), so the objects' sizes bound the entry count from above and
  // one reservation suffices: the vector never doubles while loading.
  uint64_t stored = 0;
  for (const auto& object : *listing) {
    // A listed size is only a claim until the object is read: one too large
    // to be an index must not size the reservation below.
    if (object.size > kMaxIndexObjectSize)
      return Status::Error(ErrorCode::kRepoFormat,
                           "index \"" + object.name + "\" is " + std::to_string(object.size) +
                               " bytes, more than an index object can be",
                           "run \"pgkeep verify\"");
    stored += object.size;
  }
  index_.ReserveForLoad(stored / kMinStoredEntrySize + 1);
  for (const auto& object : *listing) {
    // Not pgkeep's (repo/layout.h): never read, never deleted, and no reason
    // to stop a collection, which proves every live chunk is in a real one.
    if (!IsIndexObjectName(object.name)) {
      Warn("\"" + object.name +
           "\" is not a pgkeep object (unknown name); ignored and left in place");
      continue;
    }
    Status s = LoadIndexObject(object.name, *codec);
    if (s.ok()) continue;
    // One unreadable object must not blind the command: what it named is
    // treated as absent (a store writes it again) and the object is kept.
    std::string problem = s.message() + "; skipped";
    index_problems_.unreadable_index.push_back({object.name, problem});
    Warn(problem);
  }
  index_.FinishLoad();
  PGKEEP_RETURN_IF_ERROR(DropMissingPacks());
  return LoadDamageRecords();
}

bool Repository::HasIntactCopy(const ChunkId& id) const {
  if (damaged_chunks_.empty()) return index_.Contains(id);
  for (const auto& location : index_.FindAll(id))
    if (!damaged_chunks_.count(DamagedChunk{location.pack, id})) return true;
  return false;
}

Status Repository::RecordDamagedChunks(const std::vector<DamagedChunk>& found) const {
  if (found.empty()) return Status::Ok();
  nlohmann::json chunks = nlohmann::json::array();
  for (const auto& d : found) chunks.push_back({HexEncode(d.pack), HexEncode(d.chunk)});
  nlohmann::json record = {
      {"version", 1}, {"found", FormatIsoTime(clock_.NowSeconds())}, {"chunks", chunks}};
  Bytes stored = NewCodec()->EncodeObject(AsBytes(record.dump()), kDamagedAad);
  return storage_.Put(kDamagedDir + HexEncode(Sha256(stored)), stored);
}

Status Repository::LoadDamageRecords() {
  auto listing = storage_.List(kDamagedDir);
  if (!listing.ok()) return listing.status();
  auto codec = NewCodec();
  size_t read = 0;
  for (const auto& object : *listing) {
    if (!IsKnownObjectName(object.name)) {
      Warn("\"" + object.name +
           "\" is not a pgkeep object (unknown name); ignored and left in place");
      continue;
    }
    if (++read > kMaxDamageRecords) {
      Warn("more than " + std::to_string(kMaxDamageRecords) + " damage records under " +
           kDamagedDir + "; the rest are ignored (run \"pgkeep verify --read-data --repair\")");
      break;
    }
    // A record that cannot be read only costs deduplication its knowledge
    // of damage; verify --read-data finds the damage again.
    auto problem = [&](const std::string& what) {
      Warn("damage record \"" + object.name + "\" " + what + "; ignored");
    };
    auto stored = storage_.GetAtMost(object.name, kMaxDamageRecordSize);
    if (!stored.ok()) {
      problem("cannot be read: " + stored.status().message());
      continue;
    }
    auto plain = codec->DecodeObject(*stored, kDamagedAad);
    if (!plain.ok()) {
      problem("is damaged: " + plain.status().message());
      continue;
    }
    nlohmann::json j = nlohmann::json::parse(AsString(*plain), nullptr, false);
    if (!j.is_object() || j.value("version", 0) != 1 || !j.contains("chunks") ||
        !j["chunks"].is_array()) {
      problem("is not a damage record");
      continue;
    }
    for (const auto& pair : j["chunks"]) {
      if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string())
        continue;
      auto pack = HexDecode(pair[0].get<std::string>());
      auto chunk = HexDecode(pair[1].get<std::string>());
      if (!pack || !chunk || pack->size() != sizeof(ObjectId) || chunk->size() != sizeof(ChunkId))
        continue;
      DamagedChunk d;
      std::copy(pack->begin(), pack->end(), d.pack.begin());
      std::copy(chunk->begin(), chunk->end(), d.chunk.begin());
      damaged_chunks_.insert(d);
    }
  }
  return Status::Ok();
}

Status Repository::DropMissingPacks() {
  auto listing = storage_.List(kDataDir);
  if (!listing.ok()) return listing.status();
  std::unordered_map<std::string, uint64_t> present;
  for (const auto& o : *listing) present[o.name] = o.size;
  const auto& packs = index_.packs();
  std::vector<uint64_t> needed(packs.size(), 0);
  std::vector<uint64_t> chunks(packs.size(), 0);
  index_.ForEachEntry(
      [&](const ChunkId&, uint32_t pack, uint32_t offset, uint32_t length, uint32_t) {
        needed[pack] = std::max(needed[pack], PackBytesNeeded(uint64_t{offset} + length));
        ++chunks[pack];
      });
  std::vector<bool> dropped(packs.size(), false);
  bool any = false;
  for (size_t p = 0; p < packs.size(); ++p) {
    if (chunks[p] == 0) continue;
    std::string name = PackObjectName(packs[p]);
    std::string problem = PackProblem(name, present, needed[p], chunks[p]);
    if (problem.empty()) continue;
    index_problems_.missing_packs.push_back({name, problem});
    Warn(problem);
    dropped[p] = any = true;
  }
  if (any) index_.DropPacks(dropped);
  return Status::Ok();
}

Result<IndexProblems> Repository::CheckIndex(const std::vector<ObjectInfo>& listing) const {
  IndexProblems problems;
  std::unordered_map<std::string, uint64_t> present;
  std::unordered_map<std::string, std::pair<uint64_t, uint64_t>>
      expected;  // name -> (bytes needed, chunks)
  auto codec = NewCodec();
  for (const auto& o : listing) {
    if (o.name.rfind(kDataDir, 0) == 0) present[o.name] = o.size;
    if (!IsIndexObjectName(o.name)) continue;  // unknown names are warnings (UnknownObjectWarnings)
    auto stored = storage_.Get(o.name);
    auto plain =
        stored.ok() ? codec->DecodeObject(*stored, kIndexAad) : Result<Bytes>(stored.status());
    Result<std::vector<IndexedPack>> packs =
        plain.ok() ? DecodeIndexFile(*plain) : Result<std::vector<IndexedPack>>(plain.status());
    if (!packs.ok()) packs = packs.status().WithContext("index \"" + o.name + "\"");
    if (!packs.ok()) {
      if (packs.status().code() != ErrorCode::kNotFound)  // collected meanwhile
        problems.unreadable_index.push_back({o.name, packs.status().message()});
      continue;
    }
    for (const auto& p : *packs) {
      auto& [needed, chunks] = expected[PackObjectName(p.pack)];
      for (const auto& e : p.entries)
        needed = std::max(needed, PackBytesNeeded(uint64_t{e.offset} + e.length));
      chunks += p.entries.size();
    }
  }
  for (const auto& [name, need] : expected) {
    if (need.second == 0) continue;
    std::string problem = PackProblem(name, present, need.first, need.second);
    if (!problem.empty()) problems.missing_packs.push_back({name, problem});
  }
  std::sort(problems.missing_packs.begin(), problems.missing_packs.end(),
            [](const DamagedObject& a, const DamagedObject& b) { return a.name < b.name; });
  return problems;
}

Status Repository::LoadIndexObject(const std::string& name, BlobCodec& codec) {
  auto stored = storage_.GetAtMost(name, kMaxIndexObjectSize);
  if (!stored.ok()) return stored.status();
  auto plain = codec.DecodeObject(*stored, kIndexAad);
  if (!plain.ok()) return plain.status().WithContext("index \"" + name + "\"");
  auto packs = DecodeIndexFile(*plain);
  if (!packs.ok()) return packs.status().WithContext("index \"" + name + "\"");
  for (const auto& p : *packs) index_.AddLoadedPack(p);
  return Status::Ok();
}

Result<SnapshotList> Repository::ListSnapshots() const {
  auto listing = storage_.List(kSnapshotsDir);
  if (!listing.ok()) return listing.status();
  SnapshotList out;
  for (const auto& object : *listing) {
    std::string id = object.name.substr(std::strlen(kSnapshotsDir));
    // Not pgkeep's: a snapshot can only be decoded under its own id (the
    // AAD), so nothing under another name can be one of ours.
    if (!IsValidSnapshotId(id)) {
      Warn("\"" + object.name +
           "\" is not a pgkeep object (unknown name); ignored and left in place");
      continue;
    }
    auto s = ReadSnapshot(id);
    // Expired between listing and reading (readers take no lock).
    if (!s.ok() && s.status().code() == ErrorCode::kNotFound) continue;
    if (!s.ok()) {
      out.damaged.push_back({object.name, s.status().message() + "; skipped"});
      continue;
    }
    out.snapshots.push_back(std::move(*s));
  }
  for (const auto& d : out.damaged) Warn(d.problem);
  // Ids are only second-precise; the commit time orders snapshots taken
  // within one second, so "latest" is the one committed last.
  std::sort(out.snapshots.begin(), out.snapshots.end(), [](const Snapshot& a, const Snapshot& b) {
    return std::tie(a.commit_micros, a.id) < std::tie(b.commit_micros, b.id);
  });
  return out;
}

Result<Snapshot> Repository::ReadSnapshot(const std::string& id) const {
  if (id == "latest") {
    auto all = ListSnapshots();
    if (!all.ok()) return all.status();
    if (all->snapshots.empty())
      return Status::Error(ErrorCode::kNotFound, all->damaged.empty()
                                                     ? "the repository holds no snapshot yet"
                                                     : "the repository holds no intact snapshot");
    return all->snapshots.back();
  }
  if (!IsValidSnapshotId(id))
    return Status::Error(ErrorCode::kNotFound, "\"" + id + "\" is not a snapshot id",
                         "ids look like 20261123T020000Z-3fa9c2d1; see \"pgkeep list\"");
  auto stored = storage_.GetAtMost(SnapshotObjectName(id), kMaxSnapshotObjectSize);
  if (!stored.ok()) {
    if (stored.status().code() == ErrorCode::kNotFound)
      return Status::Error(ErrorCode::kNotFound, "snapshot \"" + id + "\" does not exist",
                           "see \"pgkeep list\"");
    return stored.status();
  }
  auto plain = NewCodec()->DecodeObject(*stored, "snapshot/" + id);
  if (!plain.ok()) return plain.status().WithContext("snapshot \"" + id + "\"");
  auto s = SnapshotFromJson(std::string(AsString(*plain)));
  if (!s.ok()) return s.status().WithContext("snapshot \"" + id + "\"");
  return s;
}

Status Repository::WriteSnapshot(const Snapshot& snapshot) const {
  // Labels are checked on the command line; a host name or tool output that
  // is not UTF-8 must not lose the backup at its last step, so such bytes
  // are stored as U+FFFD.
  std::string text =
      SnapshotToJson(snapshot, true).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  Bytes stored = NewCodec()->EncodeObject(AsBytes(text), "snapshot/" + snapshot.id);
  return storage_.Put(SnapshotObjectName(snapshot.id), stored);
}

Status Repository::DeleteSnapshot(const std::string& id) const {
  return storage_.Delete(SnapshotObjectName(id));
}

Result<Bytes> Repository::ReadStateObject(const std::string& name) const {
  const std::string object = StateObjectName(name);
  auto stored = storage_.GetAtMost(object, kMaxSmallObjectSize);
  if (!stored.ok()) return stored.status();
  auto plain = NewCodec()->DecodeObject(*stored, object);
  if (!plain.ok()) return plain.status().WithContext("\"" + object + "\"");
  return plain;
}

Status Repository::WriteStateObject(const std::string& name, ByteView plaintext) const {
  const std::string object = StateObjectName(name);
  return storage_.Put(object, NewCodec()->EncodeObject(plaintext, object));
}

Status Repository::WriteDrillReport(const std::string& db, const std::string& id,
                                    ByteView json) const {
  if (json.size() > kMaxDrillReportSize)
    return Status::Error(ErrorCode::kInternal, "drill report " + id + " is larger than " +
                                                   std::to_string(kMaxDrillReportSize) + " bytes");
  const std::string object = DrillReportObjectName(db, id);
  return storage_.PutIfAbsent(object, NewCodec()->EncodeObject(json, object));
}

Result<Bytes> Repository::ReadDrillReport(const std::string& db, const std::string& id) const {
  const std::string object = DrillReportObjectName(db, id);
  auto stored = storage_.GetAtMost(object, kMaxDrillReportSize + 4096);
  if (!stored.ok()) return stored.status();
  auto plain = NewCodec()->DecodeObject(*stored, object);
  if (!plain.ok()) return plain.status().WithContext("\"" + object + "\"");
  return plain;
}

Result<std::vector<std::pair<std::string, std::string>>> Repository::ListDrillReports(
    const std::string& db) const {
  const std::string prefix = db.empty() ? std::string(kDrillsDir) : DrillReportObjectName(db, "");
  auto listing = storage_.List(prefix);
  if (!listing.ok()) return listing.status();
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& o : *listing) {
    std::string rest = o.name.substr(std::strlen(kDrillsDir));
    auto slash = rest.find('/');
    if (slash == std::string::npos || slash == 0) continue;
    std::string id = rest.substr(slash + 1);
    if (!IsValidSnapshotId(id)) continue;
    out.emplace_back(rest.substr(0, slash), id);
  }
  // Ids start with their UTC time: sorting by id is sorting by time.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.second, a.first) < std::tie(b.second, b.first);
  });
  return out;
}

Status Repository::WriteForgetEntry(const std::string& db, const std::string& id,
                                    ByteView json) const {
  if (json.size() > kMaxForgetEntrySize)
    return Status::Error(ErrorCode::kInternal, "forget-log entry " + id + " is larger than " +
                                                   std::to_string(kMaxForgetEntrySize) + " bytes");
  const std::string object = ForgetEntryObjectName(db, id);
  return storage_.PutIfAbsent(object, NewCodec()->EncodeObject(json, object));
}

Result<Bytes> Repository::ReadForgetEntry(const std::string& db, const std::string& id) const {
  const std::string object = ForgetEntryObjectName(db, id);
  auto stored = storage_.GetAtMost(object, kMaxForgetEntrySize + 4096);
  if (!stored.ok()) return stored.status();
  auto plain = NewCodec()->DecodeObject(*stored, object);
  if (!plain.ok()) return plain.status().WithContext("\"" + object + "\"");
  return plain;
}

Result<std::vector<std::string>> Repository::ListForgetEntries(const std::string& db) const {
  auto listing = storage_.List(ForgetEntryObjectName(db, ""));
  if (!listing.ok()) return listing.status();
  std::vector<std::string> ids;
  const size_t prefix = ForgetEntryObjectName(db, "").size();
  for (const auto& o : *listing) {
    std::string id = o.name.substr(prefix);
    if (IsValidSnapshotId(id)) ids.push_back(std::move(id));
  }
  std::sort(ids.begin(), ids.end());  // ids start with their UTC second
  return ids;
}

Status Repository::DeleteForgetEntry(const std::string& db, const std::string& id) const {
  return storage_.Delete(ForgetEntryObjectName(db, id));
}

}  // namespace pgkeep
