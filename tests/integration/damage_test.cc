// The damage table: for each kind of repository object and each kind of
// damage, what list, status, verify, load of an unaffected backup, store and
// expire do (issue 9, sections 2 and 3).
//
// Every row starts from a copy of one base repository (store snapshots, no
// PostgreSQL needed) holding backups A (pinned), B and C, and the stored bytes
// of a backup X that was since removed with its pack and index object (the
// "older copies" that the replay rows put back). The damage always hits A's
// objects or a repository-wide one, so C stays unaffected where anything can.
//
// What every row must show: nothing crashes (no exit >= 128, no internal
// error 70), the damaged object is named, C loads (by id and as "latest")
// unless the damage is to the config or the only key, a backup stored after
// the damage is restorable (or the damage is repaired and then it is), and
// expire deletes no pack that was there before (only the replayed X pack,
// which is garbage).
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/bytes.h"
#include "support/process.h"
#include "support/text_data.h"

namespace pgkeep {
namespace {

namespace fs = std::filesystem;
using testing::ProcessResult;
using testing::RunProcess;

enum class Object { kPack, kIndex, kSnapshot, kPin, kKey, kConfig, kLock, kState };
enum class Damage { kFlip, kTruncate, kDelete, kUnreadable, kStray, kReplay };

const char* ObjectName(Object o) {
  switch (o) {
    case Object::kPack:
      return "pack";
    case Object::kIndex:
      return "index";
    case Object::kSnapshot:
      return "snapshot";
    case Object::kPin:
      return "pin";
    case Object::kKey:
      return "key";
    case Object::kConfig:
      return "config";
    case Object::kLock:
      return "lock";
    case Object::kState:
      return "state";
  }
  return "?";
}
const char* DamageName(Damage d) {
  switch (d) {
    case Damage::kFlip:
      return "flip";
    case Damage::kTruncate:
      return "truncate";
    case Damage::kDelete:
      return "delete";
    case Damage::kUnreadable:
      return "unreadable";
    case Damage::kStray:
      return "stray";
    case Damage::kReplay:
      return "replay";
  }
  return "?";
}

struct Row {
  Object object;
  Damage damage;
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), {});
}
void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}
std::set<std::string> Files(const std::string& root, const std::string& sub) {
  std::set<std::string> out;
  if (!fs::exists(root + "/" + sub)) return out;
  for (auto& e : fs::recursive_directory_iterator(root + "/" + sub))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), root).string());
  return out;
}
std::string OnlyNew(const std::set<std::string>& before, const std::set<std::string>& after) {
  std::vector<std::string> fresh;
  for (const auto& f : after)
    if (!before.count(f)) fresh.push_back(f);
  EXPECT_EQ(fresh.size(), 1u);
  return fresh.empty() ? "" : fresh[0];
}
std::string AsText(const Bytes& b) { return std::string(b.begin(), b.end()); }

// The base repository, built once for all rows.
struct Base {
  std::string dir;
  std::string a, b, c;  // snapshot ids
  std::string a_pack, a_index, key;
  std::string x_pack, x_index, x_snapshot;  // relative names of the removed backup's objects
  std::string data_a, data_c;
};
Base* base = nullptr;

class DamageTest : public ::testing::TestWithParam<Row> {
 protected:
  static std::vector<std::string> EnvFor(const std::string& dir) {
    return {"PGKEEP_CONFIG=" + dir + "/pgkeep.toml", "PGKEEP_REPO_PASSWORD=damage-pass"};
  }
  static void WriteConfig(const std::string& dir) {
    std::ofstream(dir + "/pgkeep.toml") << "[repository]\npath = \"" << dir << "/repo\"\n";
  }
  static ProcessResult Run(const std::string& dir, std::vector<std::string> args,
                           const std::string& input = "", const std::string& user = "") {
    args.insert(args.begin(), PGKEEP_BINARY);
    return RunProcess(args, input, EnvFor(dir), user);
  }
  static std::string StoreId(const ProcessResult& r) {
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_object() ? j["snapshot"].value("id", "") : "";
  }

  static void SetUpTestSuite() {
    base = new Base;
    base->dir = testing::MakeTempDir("pgkeep-damage-base-");
    const std::string& d = base->dir;
    WriteConfig(d);
    ASSERT_EQ(Run(d, {"init"}).exit_code, 0);
    base->key = *Files(d + "/repo", "keys").begin();
    base->data_a = AsText(testing::MakeText(3 << 20, 11));
    base->data_c = AsText(testing::MakeText(3 << 20, 14));
    auto packs = Files(d + "/repo", "data"), index = Files(d + "/repo", "index");
    base->a = StoreId(Run(d, {"--output", "json", "store", "-", "--name", "a.txt"}, base->data_a));
    base->a_pack = OnlyNew(packs, Files(d + "/repo", "data"));
    base->a_index = OnlyNew(index, Files(d + "/repo", "index"));
    packs = Files(d + "/repo", "data"), index = Files(d + "/repo", "index");
    std::string x = StoreId(Run(d, {"--output", "json", "store", "-", "--name", "x.txt"},
                                AsText(testing::MakeText(3 << 20, 12))));
    base->x_pack = OnlyNew(packs, Files(d + "/repo", "data"));
    base->x_index = OnlyNew(index, Files(d + "/repo", "index"));
    base->x_snapshot = "snapshots/" + x;
    base->b = StoreId(Run(d, {"--output", "json", "store", "-", "--name", "b.txt"},
                          AsText(testing::MakeText(3 << 20, 13))));
    base->c = StoreId(Run(d, {"--output", "json", "store", "-", "--name", "c.txt"}, base->data_c));
    ASSERT_EQ(Run(d, {"pin", base->a, "--note", "first"}).exit_code, 0);
    // The older copies: X's objects, and the first pin and last-expire record.
    fs::create_directories(d + "/old");
    for (const auto& name : {base->x_pack, base->x_index, base->x_snapshot}) {
      fs::copy_file(d + "/repo/" + name, d + "/old/" + fs::path(name).filename().string());
      fs::remove(d + "/repo/" + name);  // X is gone, as after an expire collected it
    }
    fs::copy_file(d + "/repo/pins/" + base->a, d + "/old/pin");
    ASSERT_EQ(Run(d, {"pin", base->a, "--note", "second"}).exit_code, 0);
    ProcessResult expire = Run(d, {"expire"});
    ASSERT_EQ(expire.exit_code, 0) << expire.err;
    fs::copy_file(d + "/repo/state/last-expire", d + "/old/state");
    ASSERT_EQ(Run(d, {"expire"}).exit_code, 0);
    ProcessResult verify = Run(d, {"verify", "--read-data"});
    ASSERT_EQ(verify.exit_code, 0) << verify.out << verify.err;
    // A lock some other host left behind (stale: never refreshed; the first
    // command that locks removes it, unless it is damaged).
    WriteAll(
        d + "/repo/locks/00000000000000aa",
        R"({"created":1,"hostname":"elsewhere","mode":"shared","operation":"store","pid":1,"refreshed":1,"version":1})"
        "\n");
  }
  static void TearDownTestSuite() {
    testing::RemoveTree(base->dir);
    delete base;
    base = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(base, nullptr);
    dir_ = testing::MakeTempDir("pgkeep-damage-");
    WriteConfig(dir_);
    ASSERT_EQ(RunProcess({"cp", "-a", base->dir + "/repo", dir_ + "/repo"}).exit_code, 0);
  }
  void TearDown() override { testing::RemoveTree(dir_); }

  // The object a row damages, relative to the repository.
  std::string Target(Object o) const {
    switch (o) {
      case Object::kPack:
        return base->a_pack;
      case Object::kIndex:
        return base->a_index;
      case Object::kSnapshot:
        return kSnapshots + base->a;
      case Object::kPin:
        return "pins/" + base->a;
      case Object::kKey:
        return base->key;
      case Object::kConfig:
        return "config";
      case Object::kLock:
        return "locks/00000000000000aa";
      case Object::kState:
        return "state/last-expire";
    }
    return "";
  }
  // What the replay row puts back: an older copy of an object of that kind.
  std::pair<std::string, std::string> Replay(Object o) const {  // (old copy, where it goes)
    switch (o) {
      case Object::kPack:
        return {"old/" + fs::path(base->x_pack).filename().string(), base->x_pack};
      case Object::kIndex:
        return {"old/" + fs::path(base->x_index).filename().string(), base->x_index};
      case Object::kSnapshot:
        return {"old/" + fs::path(base->x_snapshot).filename().string(), base->x_snapshot};
      case Object::kPin:
        return {"old/pin", "pins/" + base->a};
      case Object::kState:
        return {"old/state", "state/last-expire"};
      default:
        return {"", ""};
    }
  }
  // Returns the name messages must mention ("" when nothing can name it).
  // Snapshots are named by their id, as everywhere in pgkeep's output.
  std::string Apply(const Row& row) {
    std::string named = ApplyDamage(row);
    if (named.rfind(kSnapshots, 0) == 0 && row.damage != Damage::kStray)
      named = named.substr(strlen(kSnapshots));
    return named;
  }
  static constexpr char kSnapshots[] = "snapshots/";
  std::string ApplyDamage(const Row& row) {
    std::string repo = dir_ + "/repo/";
    std::string target = Target(row.object);
    EXPECT_TRUE(fs::exists(repo + target)) << target;
    switch (row.damage) {
      case Damage::kFlip: {
        std::string bytes = ReadAll(repo + target);
        // 0x80: binary objects fail their tag, JSON ones their UTF-8 or syntax.
        bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x80);
        WriteAll(repo + target, bytes);
        return target;
      }
      case Damage::kTruncate: {
        std::string bytes = ReadAll(repo + target);
        WriteAll(repo + target, bytes.substr(0, bytes.size() / 2));
        return target;
      }
      case Damage::kDelete:
        fs::remove(repo + target);
        return "";
      case Damage::kUnreadable:
        EXPECT_EQ(RunProcess({"chown", "-R", "postgres:postgres", dir_}).exit_code, 0);
        ::chmod(dir_.c_str(), 0755);
        ::chmod((repo + target).c_str(), 0);
        return target;
      case Damage::kStray: {
        std::string folder = fs::path(target).parent_path().string();
        std::string stray = (folder.empty() ? "" : folder + "/") + "stray.tmp-copy";
        WriteAll(repo + stray, "not a pgkeep object\n");
        return stray;
      }
      case Damage::kReplay: {
        auto [from, to] = Replay(row.object);
        fs::create_directories(fs::path(repo + to).parent_path());
        fs::copy_file(base->dir + "/" + from, repo + to, fs::copy_options::overwrite_existing);
        // A replayed pin or last-expire record is a valid older object: no
        // pgkeep can tell it from the current one (docs/repository-format.md).
        return row.object == Object::kPin || row.object == Object::kState ? "" : to;
      }
    }
    return "";
  }

  std::string dir_;
};

// An exit that is a crash or a bug, never acceptable.
void ExpectNoCrash(const ProcessResult& r, const std::string& what) {
  EXPECT_LT(r.exit_code, 128) << what << ": killed by a signal\n" << r.err;
  EXPECT_NE(r.exit_code, 70) << what << ": internal error\n" << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << what << "\n" << r.err;
}

TEST_P(DamageTest, CommandsSurviveAndNameTheDamage) {
  const Row row = GetParam();
  if (row.damage == Damage::kUnreadable && ::getpwnam("postgres") == nullptr)
    GTEST_SKIP()
        << "the unreadable rows run pgkeep as the postgres OS user (root reads mode 000 files)";
  const std::string user = row.damage == Damage::kUnreadable ? "postgres" : "";
  const std::string named = Apply(row);
  // The config and the only key are needed to open the repository at all.
  const bool essential =
      (row.object == Object::kConfig || row.object == Object::kKey) && row.damage != Damage::kStray;
  auto run = [&](std::vector<std::string> args, const std::string& input = "") {
    ProcessResult r = Run(dir_, args, input, user);
    std::string what;
    for (const auto& a : args) what += a + " ";
    ExpectNoCrash(r, what);
    return r;
  };
  auto names = [&](const ProcessResult& r, const std::string& what) {
    if (named.empty()) return;
    EXPECT_NE((r.out + r.err).find(named), std::string::npos)
        << what << " must name \"" << named << "\"\n"
        << r.out << r.err;
  };

  ProcessResult list = run({"list"});
  ProcessResult status = run({"status"});
  ProcessResult verify = run({"verify", "--read-data"});
  if (essential) {
    // Nothing works without them; each command says why, naming the object.
    for (const ProcessResult* r : {&list, &status, &verify}) {
      EXPECT_TRUE(r->exit_code == 4 || r->exit_code == 6 || r->exit_code == 7 || r->exit_code == 9)
          << r->exit_code << "\n"
          << r->err;
      if (row.damage != Damage::kDelete) names(*r, "an essential object's damage");
    }
    return;
  }
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find(base->c), std::string::npos) << list.out;
  EXPECT_TRUE(status.exit_code == 0 || status.exit_code == 1) << status.err;
  EXPECT_TRUE(verify.exit_code == 0 || verify.exit_code == 1) << verify.err;
  names(verify, "verify");

  // What must be found, not just survived.
  const bool breaks_a = row.damage == Damage::kFlip || row.damage == Damage::kTruncate ||
                        row.damage == Damage::kUnreadable;
  const bool indexed_data = row.object == Object::kPack || row.object == Object::kIndex ||
                            row.object == Object::kSnapshot;
  if ((indexed_data && (breaks_a || row.damage == Damage::kDelete) &&
       !(row.object == Object::kSnapshot && row.damage == Damage::kDelete)) ||
      (row.object == Object::kPin && breaks_a) ||
      (row.damage == Damage::kReplay &&
       (row.object == Object::kIndex || row.object == Object::kSnapshot))) {
    EXPECT_EQ(verify.exit_code, 1) << verify.out << verify.err;
  }
  if (row.object == Object::kSnapshot && breaks_a) {
    // JSON: the intact snapshots, and the damaged one among "warnings".
    ProcessResult json = run({"--output", "json", "list"});
    auto j = nlohmann::json::parse(json.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << json.out;
    EXPECT_EQ(j["snapshots"].size(), 2u) << json.out;
    ASSERT_TRUE(j["warnings"].is_array()) << json.out;
    EXPECT_NE(j["warnings"].dump().find(named), std::string::npos) << json.out;
  }
  if ((row.object == Object::kSnapshot || row.object == Object::kIndex) && breaks_a) {
    EXPECT_EQ(status.exit_code, 1) << status.out;
    names(status, "status");
    if (row.object == Object::kSnapshot) names(list, "list");
  }
  if (row.object == Object::kPack &&
      (row.damage == Damage::kTruncate || row.damage == Damage::kDelete)) {
    EXPECT_EQ(status.exit_code, 1) << status.out;
  }
  if (row.object == Object::kIndex && row.damage == Damage::kReplay) {
    EXPECT_EQ(status.exit_code, 1) << status.out;
  }
  if (row.damage == Damage::kStray) {
    EXPECT_NE((list.err + status.err).find(named), std::string::npos)
        << "unknown files are warned about\n"
        << list.err << status.err;
  }

  // The unaffected backup, by id and as "latest".
  for (const std::string& id : {base->c, std::string("latest")}) {
    ProcessResult load = run({"load", id, "--stdout", "--file", "c.txt"});
    EXPECT_EQ(load.exit_code, 0) << id << "\n" << load.err;
    EXPECT_TRUE(load.out == base->data_c) << id;
  }

  // A backup made after the damage, of A's data: deduplication must not lean
  // on chunks that are gone.
  std::string d = StoreId(run({"--output", "json", "store", "-", "--name", "a.txt"}, base->data_a));
  ProcessResult load_d = run({"load", d, "--stdout", "--file", "a.txt"});
  bool repaired = false;
  if (row.object == Object::kPack &&
      (row.damage == Damage::kFlip || row.damage == Damage::kUnreadable)) {
    // The pack is listed whole, so nothing told the store it was damaged;
    // the load names it, and a repair makes the next store write it again.
    if (load_d.exit_code != 0) {
      names(load_d, "load of a backup sharing a damaged chunk");
      if (row.damage == Damage::kFlip) {
        ProcessResult repair = run({"verify", "--read-data", "--repair"});
        repaired = true;
        EXPECT_NE((repair.out + repair.err).find("left out of the index"), std::string::npos)
            << repair.out << repair.err;
        std::string e =
            StoreId(run({"--output", "json", "store", "-", "--name", "a.txt"}, base->data_a));
        for (const std::string& id : {e, d}) {
          ProcessResult again = run({"load", id, "--stdout", "--file", "a.txt"});
          EXPECT_EQ(again.exit_code, 0) << id << " after repair\n" << again.err;
          EXPECT_TRUE(again.out == base->data_a) << id;
        }
      }
    }
  } else {
    EXPECT_EQ(load_d.exit_code, 0) << load_d.err;
    EXPECT_TRUE(load_d.out == base->data_a);
  }

  // Expire: never deletes what was there, except garbage nothing names.
  std::set<std::string> packs_before = Files(dir_ + "/repo", "data");
  ProcessResult expire = run({"expire"});
  EXPECT_TRUE(expire.exit_code == 0 || expire.exit_code == 1) << expire.err;
  std::set<std::string> packs_after = Files(dir_ + "/repo", "data");
  if (row.damage == Damage::kStray) {
    EXPECT_EQ(expire.exit_code, 0) << "an unknown file never stops a collection\n"
                                   << expire.out << expire.err;
    EXPECT_TRUE(fs::exists(dir_ + "/repo/" + named)) << "an unknown file is never deleted";
  }
  // A pack whose only index was deleted is named by nothing. When the store
  // after the damage wrote every live chunk it held again (it may hold
  // only A's), it is garbage and expire deletes it (CI saw this once); when
  // not, the collection is refused. The loads below prove nothing live
  // went with it.
  const bool unindexed_is_garbage = row.object == Object::kIndex && row.damage == Damage::kDelete;
  for (const auto& p : packs_before)
    // A repair takes the damaged blob out of the index, which may leave its
    // pack under half live: repacking it (checked copies) is allowed then.
    if (!repaired && !unindexed_is_garbage &&
        !(row.damage == Damage::kReplay && row.object == Object::kPack && p == base->x_pack)) {
      EXPECT_TRUE(packs_after.count(p)) << "expire deleted " << p << "\n"
                                        << expire.out << expire.err;
    }
  if (row.object == Object::kSnapshot && breaks_a) {
    EXPECT_EQ(expire.exit_code, 1) << "garbage collection must be skipped\n" << expire.out;
    EXPECT_TRUE(fs::exists(dir_ + "/repo/" + Target(row.object))) << "a damaged snapshot is kept";
  }
  for (const std::string& id : {base->b, base->c}) {
    ProcessResult load = run({"load", id, "--stdout"});  // one file each
    EXPECT_EQ(load.exit_code, 0) << id << " after expire\n" << load.err;
  }
  if (load_d.exit_code == 0 || repaired) {
    ProcessResult load = run({"load", d, "--stdout"});
    EXPECT_EQ(load.exit_code, 0) << "the backup made after the damage, after expire\n" << load.err;
  }
}

std::vector<Row> AllRows() {
  std::vector<Row> rows;
  for (Object o : {Object::kPack, Object::kIndex, Object::kSnapshot, Object::kPin, Object::kKey,
                   Object::kConfig, Object::kLock, Object::kState})
    for (Damage d : {Damage::kFlip, Damage::kTruncate, Damage::kDelete, Damage::kUnreadable,
                     Damage::kStray, Damage::kReplay})
      // Key files, the config and locks are never rewritten with other
      // content, so an older copy of one is the same bytes: no replay row.
      if (d != Damage::kReplay || (o != Object::kKey && o != Object::kConfig && o != Object::kLock))
        rows.push_back({o, d});
  return rows;
}

INSTANTIATE_TEST_SUITE_P(Table, DamageTest, ::testing::ValuesIn(AllRows()),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           return std::string(ObjectName(info.param.object)) + "_" +
                                  DamageName(info.param.damage);
                         });

}  // namespace
}  // namespace pgkeep
