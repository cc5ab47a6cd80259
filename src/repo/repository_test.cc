#include "repo/repository.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>

#include "repo/loader.h"
#include "repo/repo_lock.h"
#include "repo/store_session.h"
#include "repo/verifier.h"
#include "storage/fault_storage.h"
#include "storage/posix_storage.h"
#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

const std::string kPassword = "correct horse battery staple";

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("pgkeep-repo-");
    storage_ = std::make_unique<PosixStorage>(env_, dir_);
    InitOptions options;
    options.scrypt = ScryptParams{1 << 10, 8, 1};  // fast for tests; the format records it
    auto repo = Repository::Init(*storage_, clock_, options, kPassword);
    ASSERT_TRUE(repo.ok()) << repo.status().message();
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  std::unique_ptr<Repository> Open(Storage& storage) {
    auto repo = Repository::Open(storage, clock_, kPassword);
    EXPECT_TRUE(repo.ok()) << repo.status().message();
    if (!repo.ok()) return nullptr;
    EXPECT_TRUE((*repo)->LoadIndex().ok());
    return std::move(*repo);
  }

  // Stores named byte strings as one snapshot.
  Result<Snapshot> Store(Storage& storage,
                         const std::vector<std::pair<std::string, const Bytes*>>& files,
                         StoreOptions options = {}) {
    auto repo = Open(storage);
    StoreSession session(*repo, options);
    std::vector<FileEntry> entries;
    for (const auto& [name, data] : files) {
      MemorySource source(*data);
      FileEntry meta;
      meta.path = name;
      auto entry = session.StoreStream(source, repo->stream_chunker(), meta);
      if (!entry.ok()) return entry.status();
      entries.push_back(*entry);
    }
    Snapshot s;
    s.id = NewSnapshotId(clock_.NowSeconds());
    s.kind = "files";
    return session.Commit(s, entries);
  }

  Result<Bytes> Load(const std::string& snapshot_id, const std::string& path) {
    auto repo = Open(*storage_);
    auto snapshot = repo->ReadSnapshot(snapshot_id);
    if (!snapshot.ok()) return snapshot.status();
    Loader loader(*repo);
    auto files = loader.ReadManifest(*snapshot);
    if (!files.ok()) return files.status();
    for (const auto& f : *files)
      if (f.path == path) {
        MemorySink sink;
        PGKEEP_RETURN_IF_ERROR(loader.LoadFile(f, sink));
        return sink.data();
      }
    return Status::Error(ErrorCode::kNotFound, path);
  }

  uint64_t RepoBytes() {
    uint64_t total = 0;
    auto listing = storage_->List("");
    for (const auto& o : *listing) total += o.size;
    return total;
  }

  // Every object with its content: to prove a failed command changed nothing.
  std::map<std::string, Bytes> Contents() {
    std::map<std::string, Bytes> out;
    auto listing = storage_->List("");
    for (const auto& o : *listing) out[o.name] = *storage_->Get(o.name);
    return out;
  }

  VerifyReport Verify(bool read_data) {
    auto repo = Repository::Open(*storage_, clock_, kPassword);
    EXPECT_TRUE(repo.ok());
    auto report = Verifier(**repo).Run(read_data);
    EXPECT_TRUE(report.ok());
    return *report;
  }

  ManualClock clock_;
  std::string dir_;
  PosixEnv env_;
  std::unique_ptr<PosixStorage> storage_;
};

TEST_F(RepositoryTest, StrayOrDamagedKeyFilesBesideAnIntactOneDoNotLockTheOwnerOut) {
  ASSERT_TRUE(storage_->Put("keys/0000000000000000", AsBytes(std::string("{\"kdf\": 7}"))).ok());
  ASSERT_TRUE(storage_->Put("keys/README", AsBytes(std::string("not a key"))).ok());
  ASSERT_TRUE(storage_->Put("keys/ffffffffffffffff", AsBytes(std::string("{"))).ok());
  auto repo = Repository::Open(*storage_, clock_, kPassword);
  EXPECT_TRUE(repo.ok()) << repo.status().message();
  auto wrong = Repository::Open(*storage_, clock_, std::string("nope"));
  EXPECT_EQ(wrong.status().code(), ErrorCode::kAuth) << wrong.status().message();
}

TEST_F(RepositoryTest, DamagedSnapshotIsListedApartAndLatestIsTheNewestIntactOne) {
  Bytes a = testing::MakeText(1000, 1), b = testing::MakeText(1000, 2);
  auto first = Store(*storage_, {{"a", &a}});
  clock_.Advance(1'000'000);
  auto second = Store(*storage_, {{"b", &b}});
  ASSERT_TRUE(first.ok() && second.ok());
  std::string name = SnapshotObjectName(second->id);
  Bytes bytes = *storage_->Get(name);
  bytes[bytes.size() / 2] ^= 1;
  ASSERT_TRUE(storage_->Put(name, bytes).ok());
  ASSERT_TRUE(storage_->Put("snapshots/stray", AsBytes(std::string("x"))).ok());
  auto repo = Open(*storage_);
  std::vector<std::string> warned;
  repo->set_warning_sink([&](const std::string& m) { warned.push_back(m); });
  auto listed = repo->ListSnapshots();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].id, first->id);
  ASSERT_EQ(listed->damaged.size(), 1u) << "the stray file is only warned about";
  EXPECT_EQ(listed->damaged[0].name, name);
  EXPECT_EQ(warned.size(), 2u);
  EXPECT_EQ(repo->ReadSnapshot("latest")->id, first->id);
  EXPECT_EQ(repo->ReadSnapshot(second->id).status().code(), ErrorCode::kCorrupt);
}

TEST_F(RepositoryTest, DeleteSnapshotRemovesOnlyItsObject) {
  Bytes data = testing::MakeText(100000, 1);
  auto kept = Store(*storage_, {{"a", &data}});
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  clock_.Advance(1000000);
  auto gone = Store(*storage_, {{"a", &data}});
  ASSERT_TRUE(gone.ok()) << gone.status().message();
  auto repo = Open(*storage_);
  ASSERT_TRUE(repo->DeleteSnapshot(gone->id).ok());
  EXPECT_EQ(repo->ReadSnapshot(gone->id).status().code(), ErrorCode::kNotFound);
  auto listed = repo->ListSnapshots();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->snapshots.size(), 1u);
  EXPECT_EQ(listed->snapshots[0].id, kept->id);
  EXPECT_EQ(Load(kept->id, "a").value(), data);  // the shared chunks stay
}

TEST_F(RepositoryTest, StateObjectsRoundTripSealedUnderTheirName) {
  auto repo = Open(*storage_);
  EXPECT_EQ(repo->ReadStateObject(kLastExpireState).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(repo->WriteStateObject(kLastExpireState, AsBytes("{\"expired\":2}")).ok());
  auto read = repo->ReadStateObject(kLastExpireState);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(AsString(*read), "{\"expired\":2}");
  // Stored sealed at "state/last-expire", never as plaintext.
  auto stored = storage_->Get("state/last-expire");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(AsString(*stored).find("expired"), std::string::npos);
  // A record copied to another name does not decode there.
  ASSERT_TRUE(storage_->Put("state/other", *stored).ok());
  auto moved = repo->ReadStateObject("other");
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.status().message().find("\"state/other\""), std::string::npos)
      << moved.status().message();
}

TEST_F(RepositoryTest, RoundTripIsBitExactForEverySize) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{8192}, size_t{100} << 20}) {
    SCOPED_TRACE(size);
    Bytes data = testing::MakeText(size, size);
    auto snapshot = Store(*storage_, {{"file", &data}});
    ASSERT_TRUE(snapshot.ok()) << snapshot.status().message();
    EXPECT_EQ(snapshot->stats.bytes, size);
    auto loaded = Load(snapshot->id, "file");
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    EXPECT_TRUE(*loaded == data);
    clock_.Advance(1'000'000);
  }
  EXPECT_TRUE(Verify(true).ok());
}

TEST_F(RepositoryTest, StoringTheSameDataTwiceAddsAlmostNothing) {
  Bytes data = testing::MakeText(200 << 20, 7);
  ASSERT_TRUE(Store(*storage_, {{"a", &data}}).ok());
  uint64_t first = RepoBytes();
  ASSERT_TRUE(Store(*storage_, {{"a", &data}}).ok());
  uint64_t second = RepoBytes() - first;
  EXPECT_LT(second, first / 100) << "second copy added " << second << " of " << first;

  Bytes shifted;
  shifted.reserve(data.size() + 1);
  shifted.push_back('!');
  Append(shifted, data);
  uint64_t before = RepoBytes();
  auto s = Store(*storage_, {{"a", &shifted}});
  ASSERT_TRUE(s.ok());
  uint64_t third = RepoBytes() - before;
  EXPECT_LT(third, first / 20) << "one inserted byte re-stored " << third << " of " << first;
  auto loaded = Load(s->id, "a");
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(*loaded == shifted);
}

TEST_F(RepositoryTest, WrongPasswordIsRefusedAndChangesNothing) {
  Bytes data = testing::MakeText(1 << 20, 1);
  ASSERT_TRUE(Store(*storage_, {{"a", &data}}).ok());
  auto before = Contents();
  auto repo = Repository::Open(*storage_, clock_, std::string("wrong"));
  ASSERT_FALSE(repo.ok());
  EXPECT_EQ(repo.status().code(), ErrorCode::kAuth);
  EXPECT_EQ(repo.status().message(), "wrong password for repository \"" + dir_ + "\"");
  EXPECT_EQ(ExitCodeFor(repo.status().code()), 7);
  auto none = Repository::Open(*storage_, clock_, std::nullopt);
  EXPECT_EQ(none.status().code(), ErrorCode::kAuth);
  EXPECT_TRUE(Contents() == before);
}

TEST_F(RepositoryTest, InitRefusesExistingRepository) {
  InitOptions options;
  auto again = Repository::Init(*storage_, clock_, options, kPassword);
  EXPECT_EQ(again.status().code(), ErrorCode::kRepoExists);
  EXPECT_EQ(again.status().message(), "a repository already exists at \"" + dir_ + "\"");
}

TEST_F(RepositoryTest, FlippedByteIsNamedAndOtherFilesStillLoad) {
  Bytes a = testing::MakeText(3 << 20, 11), b = testing::MakeText(3 << 20, 12),
        c = testing::MakeText(3 << 20, 13);
  auto snapshot = Store(*storage_, {{"a", &a}, {"b", &b}, {"c", &c}});
  ASSERT_TRUE(snapshot.ok());
  // Flip one byte inside the first chunk of "b".
  auto repo = Open(*storage_);
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*snapshot);
  auto loc = *repo->index().Find(files[1].chunks[0]);
  std::string pack = PackObjectName(loc.pack);
  {
    std::fstream f(dir_ + "/" + pack, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(loc.offset + 100);
    char ch;
    f.get(ch);
    f.seekp(loc.offset + 100);
    f.put(static_cast<char>(ch ^ 0x40));
  }
  VerifyReport structural = Verify(false);
  EXPECT_TRUE(structural.ok()) << "a flipped data byte is only visible when reading data";
  VerifyReport report = Verify(true);
  ASSERT_FALSE(report.ok());
  std::string all;
  for (const auto& e : report.errors) all += e + "\n";
  EXPECT_NE(all.find("pack \"" + pack + "\" at offset " + std::to_string(loc.offset)),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("file \"b\": 1 damaged chunk(s)"), std::string::npos) << all;
  EXPECT_EQ(all.find("file \"a\""), std::string::npos) << all;

  EXPECT_TRUE(*Load(snapshot->id, "a") == a);
  EXPECT_TRUE(*Load(snapshot->id, "c") == c);
  auto broken = Load(snapshot->id, "b");
  EXPECT_EQ(broken.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(broken.status().message().find(pack), std::string::npos) << broken.status().message();
}

// A chunk verify found damaged is never deduplicated against again: the
// next backup of the same data stores it anew and restores, verify then
// blames only the old backup, and the damage is recorded once.
TEST_F(RepositoryTest, ChunksFoundDamagedAreStoredAgainByTheNextBackup) {
  Bytes a = testing::MakeText(3 << 20, 31), b = testing::MakeText(3 << 20, 32);
  auto first = Store(*storage_, {{"a", &a}, {"b", &b}});
  ASSERT_TRUE(first.ok());
  auto repo = Open(*storage_);
  Loader loader(*repo);
  auto files = *loader.ReadManifest(*first);
  auto loc = *repo->index().Find(files[1].chunks[0]);
  {
    std::fstream f(dir_ + "/" + PackObjectName(loc.pack),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(loc.offset + 100);
    char ch;
    f.get(ch);
    f.seekp(loc.offset + 100);
    f.put(static_cast<char>(ch ^ 0x40));
  }
  // Before any verify nothing knows: the same data deduplicates completely.
  auto blind = Store(*storage_, {{"b", &b}});
  ASSERT_TRUE(blind.ok());
  EXPECT_EQ(Load(blind->id, "b").status().code(), ErrorCode::kCorrupt);

  VerifyReport report = Verify(true);
  ASSERT_FALSE(report.ok());
  std::string warnings;
  for (const auto& w : report.warnings) warnings += w + "\n";
  EXPECT_NE(warnings.find("recorded 1 damaged chunk(s) under state/damaged/"), std::string::npos)
      << warnings;
  auto records = storage_->List(kDamagedDir);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);

  // The next backup of the same data writes that chunk again, and restores.
  auto after = Store(*storage_, {{"b", &b}});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  auto loaded = Load(after->id, "b");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(*loaded == b);
  // Once stored again, the intact copy is the one every reader finds.
  auto reopened = Open(*storage_);
  EXPECT_TRUE(reopened->HasIntactCopy(files[1].chunks[0]));
  EXPECT_EQ(reopened->damaged_chunks().size(), 1u);

  // verify still names the damaged pack, but no longer the backups whose
  // chunk now has an intact copy; it records nothing twice.
  report = Verify(true);
  std::string all;
  for (const auto& e : report.errors) all += e + "\n";
  EXPECT_NE(all.find("pack \"" + PackObjectName(loc.pack) + "\" at offset"), std::string::npos)
      << all;
  EXPECT_EQ(all.find("snapshot \"" + after->id + "\""), std::string::npos) << all;
  records = storage_->List(kDamagedDir);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->size(), 1u);

  // A damage record that cannot be read is a warning, never a failure.
  ASSERT_TRUE(storage_->Put(std::string(kDamagedDir) + std::string(64, 'a'), AsBytes("junk")).ok());
  std::vector<std::string> seen;
  auto fresh = Repository::Open(*storage_, clock_, kPassword);
  ASSERT_TRUE(fresh.ok());
  (*fresh)->set_warning_sink([&](const std::string& w) { seen.push_back(w); });
  ASSERT_TRUE((*fresh)->LoadIndex().ok());
  EXPECT_EQ((*fresh)->damaged_chunks().size(), 1u);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_NE(seen[0].find("damage record \"state/damaged/aaaa"), std::string::npos) << seen[0];
}

TEST_F(RepositoryTest, FailedWritesNeverLeaveAVisibleHalfSnapshot) {
  Bytes data = testing::MakeText(6 << 20, 21);
  StoreOptions small_packs;
  small_packs.pack_size = 1 << 20;
  FaultStorage full(*storage_);
  full.SetSpaceBudget(2 << 20);
  auto nospace = Store(full, {{"a", &data}}, small_packs);
  EXPECT_EQ(nospace.status().code(), ErrorCode::kNoSpace);
  EXPECT_TRUE(Verify(true).ok());
  // Fail the 1st, 2nd, ... write until a store makes fewer writes than that.
  int failures = 0;
  for (int n = 1;; ++n) {
    SCOPED_TRACE(n);
    FaultStorage faulty(*storage_);
    faulty.FailNthPut(n);
    auto s = Store(faulty, {{"a", &data}}, small_packs);
    if (s.ok()) break;
    ++failures;
    EXPECT_EQ(s.status().code(), ErrorCode::kIo);
    EXPECT_NE(s.status().message().find("injected failure"), std::string::npos);
    auto repo = Open(*storage_);
    EXPECT_TRUE(repo->ListSnapshots()->snapshots.empty());
    EXPECT_TRUE(Verify(true).ok());
  }
  EXPECT_GE(failures, 4) << "packs, index and snapshot are separate writes";
  // A store after the failures succeeds and restores.
  auto good = Store(*storage_, {{"a", &data}}, small_packs);
  ASSERT_TRUE(good.ok());
  EXPECT_TRUE(*Load(good->id, "a") == data);
  EXPECT_TRUE(Verify(true).ok());
}

TEST(UnencryptedRepositoryTest, RoundTripsAndStillChecksumsEverything) {
  std::string dir = testing::MakeTempDir("pgkeep-plain-");
  PosixEnv env;
  PosixStorage storage(env, dir);
  ManualClock clock;
  InitOptions options;
  options.encrypted = false;
  ASSERT_TRUE(Repository::Init(storage, clock, options, std::nullopt).ok());
  auto repo = std::move(*Repository::Open(storage, clock, std::nullopt));
  ASSERT_TRUE(repo->LoadIndex().ok());
  Bytes data = testing::MakeText(3 << 20, 77);
  StoreSession session(*repo, {});
  MemorySource source(data);
  FileEntry meta;
  meta.path = "plain";
  auto entry = session.StoreStream(source, repo->stream_chunker(), meta);
  ASSERT_TRUE(entry.ok());
  Snapshot s;
  s.id = NewSnapshotId(clock.NowSeconds());
  s.kind = "files";
  ASSERT_TRUE(session.Commit(s, {*entry}).ok());
  // The plaintext is visible in the pack (no encryption was asked for)...
  auto listing = storage.List("data/");
  ASSERT_EQ(listing->size(), 1u);
  Bytes pack = *storage.Get((*listing)[0].name);
  EXPECT_EQ(pack[8], kPayloadZstd) << "blobs start with their payload flag, not a nonce";
  // ...and a flipped byte in the snapshot object is still caught.
  std::string snap = "snapshots/" + s.id;
  Bytes obj = *storage.Get(snap);
  obj[obj.size() / 2] ^= 1;
  ASSERT_TRUE(storage.Put(snap, obj).ok());
  auto reopened = std::move(*Repository::Open(storage, clock, std::nullopt));
  auto read = reopened->ReadSnapshot(s.id);
  EXPECT_EQ(read.status().code(), ErrorCode::kCorrupt);
  EXPECT_NE(read.status().message().find("checksum does not match"), std::string::npos)
      << read.status().message();
  testing::RemoveTree(dir);
}

TEST(EncryptionMismatchTest, RefusedInBothDirectionsBeforeAnythingIsWritten) {
  for (bool repo_encrypted : {false, true}) {
    std::string dir = testing::MakeTempDir("pgkeep-mismatch-");
    PosixEnv env;
    PosixStorage storage(env, dir);
    ManualClock clock;
    InitOptions options;
    options.encrypted = repo_encrypted;
    options.scrypt = ScryptParams{1 << 10, 8, 1};
    std::optional<std::string> password;
    if (repo_encrypted) password = kPassword;
    ASSERT_TRUE(Repository::Init(storage, clock, options, password).ok());
    auto before = storage.List("");
    // The client's configuration says the opposite of what init chose:
    // with encryption it has a password, with encryption = "none" it has none.
    std::optional<std::string> client_password;
    if (!repo_encrypted) client_password = kPassword;
    auto opened = Repository::Open(storage, clock, client_password, !repo_encrypted);
    ASSERT_FALSE(opened.ok()) << repo_encrypted;
    EXPECT_EQ(opened.status().code(), ErrorCode::kConfig);
    EXPECT_NE(opened.status().message().find(dir), std::string::npos) << opened.status().message();
    EXPECT_NE(opened.status().message().find(repo_encrypted ? "is encrypted" : "is not encrypted"),
              std::string::npos)
        << opened.status().message();
    EXPECT_NE(opened.status().hint().find("encryption = \"none\""), std::string::npos);
    EXPECT_EQ(storage.List("")->size(), before->size());
    // Matching expectations open.
    EXPECT_TRUE(Repository::Open(storage, clock, password, repo_encrypted).ok());
    testing::RemoveTree(dir);
  }
}

TEST_F(RepositoryTest, KeyFileScryptParametersAreBounded) {
  auto keys = storage_->List("keys/");
  ASSERT_EQ(keys->size(), 1u);
  const std::string name = (*keys)[0].name;
  const Bytes original = *storage_->Get(name);
  // p = 1000 ran for minutes, n = 2^22 with r = 8 took 4 GiB: both refused
  // before scrypt runs; so are parameters of the wrong JSON type.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"p", 1000}, {"n", uint64_t{1} << 22}, {"r", 1024}, {"n", 1000}, {"n", "32768"}}) {
    nlohmann::json j = nlohmann::json::parse(AsString(original));
    j[key] = value;
    ASSERT_TRUE(storage_->Put(name, AsBytes(j.dump())).ok());
    auto started = std::chrono::steady_clock::now();
    auto repo = Repository::Open(*storage_, clock_, kPassword);
    ASSERT_FALSE(repo.ok()) << key;
    EXPECT_EQ(repo.status().code(), ErrorCode::kRepoFormat) << key;
    EXPECT_NE(repo.status().message().find("key file \"" + name + "\""), std::string::npos)
        << repo.status().message();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << key;
  }
  ASSERT_TRUE(storage_->Put(name, original).ok());
  EXPECT_TRUE(Repository::Open(*storage_, clock_, kPassword).ok());
}

// A junk object of absurd size (a sparse file: no disk used) is refused by
// its size, naming it, instead of being allocated.
TEST_F(RepositoryTest, OversizedObjectsAreRefusedNotAllocated) {
  auto sparse = [&](const std::string& name, off_t size) {
    std::string path = dir_ + "/" + name;
    ::mkdir(path.substr(0, path.rfind('/')).c_str(), 0700);
    std::ofstream(path).close();
    ASSERT_EQ(::truncate(path.c_str(), size), 0);
  };
  Bytes data = testing::MakeText(100000, 1);
  auto stored = Store(*storage_, {{"f", &data}});
  ASSERT_TRUE(stored.ok());
  // An 8 GiB "pack": verify --read-data reports it without reading it.
  auto packs = storage_->List("data/");
  std::string pack = (*packs)[0].name;
  sparse(pack, off_t{8} << 30);
  VerifyReport report = Verify(true);
  bool named = false;
  for (const auto& e : report.errors)
    named = named || (e.find(pack) != std::string::npos && e.find("bytes") != std::string::npos);
  EXPECT_TRUE(named) << (report.errors.empty() ? "no errors" : report.errors[0]);

  // A snapshot object of 8 GiB.
  const std::string id = "20260101T000000Z-00000000";
  sparse("snapshots/" + id, off_t{8} << 30);
  auto repo = Repository::Open(*storage_, clock_, kPassword);
  ASSERT_TRUE(repo.ok());
  auto snap = (*repo)->ReadSnapshot(id);
  EXPECT_EQ(snap.status().code(), ErrorCode::kRepoFormat);
  EXPECT_NE(snap.status().message().find("snapshots/" + id), std::string::npos)
      << snap.status().message();
  ::unlink((dir_ + "/snapshots/" + id).c_str());

  // An index object listed at 8 GiB must not size the index reservation.
  sparse("index/" + std::string(64, 'a'), off_t{8} << 30);
  Status loaded = (*repo)->LoadIndex();
  EXPECT_EQ(loaded.code(), ErrorCode::kRepoFormat);
  EXPECT_NE(loaded.message().find("index/" + std::string(64, 'a')), std::string::npos)
      << loaded.message();
  ::unlink((dir_ + "/index/" + std::string(64, 'a')).c_str());

  // A key file of 1 GiB (in place of the real one) and a config of 1 GiB.
  std::string key = (*storage_->List("keys/"))[0].name;
  std::rename((dir_ + "/" + key).c_str(), (dir_ + "/key.real").c_str());
  sparse(key, off_t{1} << 30);
  auto with_big_key = Repository::Open(*storage_, clock_, kPassword);
  EXPECT_EQ(with_big_key.status().code(), ErrorCode::kRepoFormat);
  EXPECT_NE(with_big_key.status().message().find(key), std::string::npos)
      << with_big_key.status().message();
  std::rename((dir_ + "/key.real").c_str(), (dir_ + "/" + key).c_str());
  std::rename((dir_ + "/config").c_str(), (dir_ + "/config.real").c_str());
  sparse("config", off_t{1} << 30);
  auto with_big_config = Repository::Open(*storage_, clock_, kPassword);
  EXPECT_EQ(with_big_config.status().code(), ErrorCode::kRepoFormat);
  EXPECT_NE(with_big_config.status().message().find("\"config\""), std::string::npos)
      << with_big_config.status().message();
  std::rename((dir_ + "/config.real").c_str(), (dir_ + "/config").c_str());
}

TEST_F(RepositoryTest, FileNamesThatAreNotUtf8RoundTrip) {
  Bytes data = testing::MakeText(5000, 3);
  const std::string name = "latin1-caf\xe9/\xff\xfe.bin";
  auto stored = Store(*storage_, {{name, &data}, {"caf\xc3\xa9.txt", &data}});
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  auto loaded = Load(stored->id, name);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(*loaded, data);
  EXPECT_TRUE(Load(stored->id, "caf\xc3\xa9.txt").ok());
  // The manifest line is JSON: the name is kept hex-encoded in path_hex.
  FileEntry f;
  f.path = name;
  std::string line = FileEntryToLine(f);
  EXPECT_NE(line.find("\"path_hex\""), std::string::npos) << line;
  EXPECT_EQ(line.find("\"path\""), std::string::npos) << line;
  EXPECT_EQ(FileEntryFromLine(line)->path, name);
}

TEST_F(RepositoryTest, UnknownSnapshotIsNamed) {
  auto repo = Open(*storage_);
  EXPECT_EQ(repo->ReadSnapshot("20200101T000000Z-00000000").status().message(),
            "snapshot \"20200101T000000Z-00000000\" does not exist");
  EXPECT_EQ(repo->ReadSnapshot("latest").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(repo->ReadSnapshot("../config").status().code(), ErrorCode::kNotFound);
}

TEST_F(RepositoryTest, LocksShareExcludeAndExpire) {
  auto wait = std::chrono::seconds(0);
  auto s1 = RepoLock::Acquire(env_, *storage_, clock_, LockMode::kShared, "store", wait);
  auto s2 = RepoLock::Acquire(env_, *storage_, clock_, LockMode::kShared, "load", wait);
  ASSERT_TRUE(s1.ok() && s2.ok());
  auto ex = RepoLock::Acquire(env_, *storage_, clock_, LockMode::kExclusive, "expire", wait);
  ASSERT_FALSE(ex.ok());
  EXPECT_EQ(ex.status().code(), ErrorCode::kLocked);
  EXPECT_NE(ex.status().message().find("locked shared by \""), std::string::npos)
      << ex.status().message();
  EXPECT_NE(ex.status().message().find("pid " + std::to_string(getpid())), std::string::npos);
  s1->reset();
  s2->reset();
  auto ex2 = RepoLock::Acquire(env_, *storage_, clock_, LockMode::kExclusive, "expire", wait);
  ASSERT_TRUE(ex2.ok());
  EXPECT_EQ(
      RepoLock::Acquire(env_, *storage_, clock_, LockMode::kShared, "store", wait).status().code(),
      ErrorCode::kLocked);
  // A lock whose holder is gone is stale and gets removed.
  ex2->reset();
  ASSERT_TRUE(
      storage_
          ->Put("locks/dead",
                AsBytes(R"({"mode":"exclusive","operation":"expire","pid":999999,"hostname":")" +
                        env_.HostName() + R"(","created":1,"refreshed":)" +
                        std::to_string(clock_.NowSeconds()) + "}"))
          .ok());
  EXPECT_TRUE(RepoLock::Acquire(env_, *storage_, clock_, LockMode::kShared, "store", wait).ok());
  EXPECT_FALSE(*storage_->Exists("locks/dead"));
  // A lock not refreshed for longer than the stale limit is stale too.
  ASSERT_TRUE(
      storage_
          ->Put(
              "locks/old",
              AsBytes(
                  R"({"mode":"exclusive","operation":"expire","pid":1,"hostname":"elsewhere","created":1,"refreshed":)" +
                  std::to_string(clock_.NowSeconds() - RepoLock::kStaleSeconds - 1) + "}"))
          .ok());
  EXPECT_TRUE(RepoLock::Acquire(env_, *storage_, clock_, LockMode::kShared, "store", wait).ok());
}

}  // namespace
}  // namespace pgkeep
