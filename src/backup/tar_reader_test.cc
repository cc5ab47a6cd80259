#include "backup/tar_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace pgkeep {
namespace {

constexpr size_t kBlock = 512;

// One tar header as a test wants to write it; Block() renders it.
struct Header {
  std::string name;
  char type = '0';
  uint32_t mode = 0600;
  uint64_t size = 0;
  int64_t mtime = 1700000000;
  std::string link;
  std::string prefix;               // POSIX ustar only
  bool gnu = false;                 // "ustar  \0" magic instead of "ustar\0" "00"
  const char* raw_size = nullptr;   // 12 bytes written as-is over the size field
  const char* raw_mtime = nullptr;  // 12 bytes written as-is over the mtime field
  int checksum_delta = 0;

  Bytes Block() const {
    Bytes b(kBlock, 0);
    auto put = [&](size_t off, std::string_view s) {
      std::memcpy(b.data() + off, s.data(), s.size());
    };
    auto octal = [&](size_t off, size_t len, uint64_t v) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%0*llo", static_cast<int>(len - 1),
                    static_cast<unsigned long long>(v));
      put(off, buf);  // digits then the NUL already in place
    };
    put(0, name);
    octal(100, 8, mode);
    octal(108, 8, 26);  // uid
    octal(116, 8, 26);  // gid
    octal(124, 12, size);
    octal(136, 12, static_cast<uint64_t>(mtime));
    if (raw_size) std::memcpy(b.data() + 124, raw_size, 12);
    if (raw_mtime) std::memcpy(b.data() + 136, raw_mtime, 12);
    b[156] = static_cast<uint8_t>(type);
    put(157, link);
    if (gnu) {
      put(257, std::string_view("ustar  \0", 8));
    } else {
      put(257, std::string_view("ustar\0"
                                "00",
                                8));
      put(345, prefix);
    }
    put(265, "postgres");
    put(297, "postgres");
    put(148, "        ");
    unsigned sum = 0;
    for (uint8_t c : b) sum += c;
    char chk[8];
    std::snprintf(chk, sizeof chk, "%06o", sum + checksum_delta);
    put(148, std::string_view(chk, 7));  // six digits, NUL, and the space left in place
    return b;
  }
};

// Builds an archive the way tar lays it out: header, data, zero padding.
class TarBuilder {
 public:
  TarBuilder& Add(const Header& h, std::string_view data = {}) {
    Append(bytes_, h.Block());
    Append(bytes_, AsBytes(data));
    bytes_.resize(bytes_.size() + (kBlock - data.size() % kBlock) % kBlock, 0);
    return *this;
  }
  TarBuilder& File(std::string name, std::string_view data) {
    return Add(Header{.name = std::move(name), .size = data.size()}, data);
  }
  // A GNU 'L' entry: the next header's name is `name`.
  TarBuilder& LongName(const std::string& name, char type = 'L') {
    std::string data = name + '\0';
    return Add(
        Header{.name = "././@LongLink", .type = type, .mode = 0, .size = data.size(), .gnu = true},
        data);
  }
  TarBuilder& ZeroBlocks(size_t n) {
    bytes_.resize(bytes_.size() + n * kBlock, 0);
    return *this;
  }
  TarBuilder& End() { return ZeroBlocks(2); }
  const Bytes& bytes() const { return bytes_; }

 private:
  Bytes bytes_;
};

// Hands out at most `piece` bytes per Read, as a pipe or socket may.
class TrickleSource final : public ByteSource {
 public:
  TrickleSource(ByteView data, size_t piece) : data_(data), piece_(piece) {}
  Result<size_t> Read(uint8_t* buf, size_t n) override {
    size_t take = std::min({n, piece_, data_.size() - pos_});
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }

 private:
  ByteView data_;
  size_t piece_;
  size_t pos_ = 0;
};

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 23);
  return s;
}

std::string ReadAll(ByteSource& source, size_t piece = 4096) {
  std::string out;
  std::vector<uint8_t> buf(piece);
  for (;;) {
    Result<size_t> got = source.Read(buf.data(), buf.size());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok() || *got == 0) return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *got);
  }
}

TarEntry NextEntry(TarReader& reader) {
  auto next = reader.Next();
  EXPECT_TRUE(next.ok()) << next.status().ToString();
  if (!next.ok() || !next.value()) {
    ADD_FAILURE() << "expected another entry";
    return TarEntry{};
  }
  return *next.value();
}

void ExpectEnd(TarReader& reader) {
  auto next = reader.Next();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_FALSE(next.value().has_value()) << "unexpected entry " << next.value()->path;
}

void ExpectCorrupt(const Status& status, const std::string& message) {
  EXPECT_EQ(status.code(), ErrorCode::kCorrupt) << status.ToString();
  EXPECT_EQ(status.message(), message);
}

// The shapes a base backup has: small and block-sized files, an empty one,
// directories with "./" and a trailing '/', a tablespace symlink.
Bytes SampleArchive() {
  TarBuilder t;
  t.File("backup_label", "START WAL LOCATION: 0/2000028\n")
      .Add(Header{.name = "./base/", .type = '5', .mode = 0700})
      .File("base/1/PG_VERSION", "")
      .File("base/1/1259", Pattern(512))
      .File("base/1/1259_fsm", Pattern(513))
      .Add(Header{.name = "pg_tblspc/16400", .type = '2', .mode = 0777, .link = "/srv/ts"})
      .Add(Header{.name = "global/pg_control", .type = '\0', .size = 3}, "xyz")
      .End();
  return t.bytes();
}

TEST(TarReaderTest, ReadsEntriesAndTheirData) {
  Bytes archive = SampleArchive();
  MemorySource source(archive);
  TarReader reader(source, "base backup stream");

  TarEntry e = NextEntry(reader);
  EXPECT_EQ(e.path, "backup_label");
  EXPECT_EQ(e.type, '0');
  EXPECT_EQ(e.mode, 0600u);
  EXPECT_EQ(e.mtime, 1700000000);
  EXPECT_EQ(e.size, 30u);
  EXPECT_EQ(ReadAll(reader.Data()), "START WAL LOCATION: 0/2000028\n");

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "base");
  EXPECT_EQ(e.type, '5');
  EXPECT_EQ(e.mode, 0700u);
  EXPECT_EQ(e.size, 0u);
  EXPECT_EQ(ReadAll(reader.Data()), "");

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "base/1/PG_VERSION");
  EXPECT_EQ(e.size, 0u);
  EXPECT_EQ(ReadAll(reader.Data()), "");

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "base/1/1259");
  EXPECT_EQ(e.size, 512u);
  EXPECT_EQ(ReadAll(reader.Data()), Pattern(512));

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "base/1/1259_fsm");
  EXPECT_EQ(e.size, 513u);
  EXPECT_EQ(ReadAll(reader.Data()), Pattern(513));

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "pg_tblspc/16400");
  EXPECT_EQ(e.type, '2');
  EXPECT_EQ(e.link_target, "/srv/ts");
  EXPECT_EQ(e.size, 0u);

  e = NextEntry(reader);
  EXPECT_EQ(e.path, "global/pg_control");
  EXPECT_EQ(e.type, '0');  // a pre-POSIX '\0' type is a regular file
  EXPECT_EQ(ReadAll(reader.Data()), "xyz");

  ExpectEnd(reader);
  ExpectEnd(reader);  // and stays at the end
  EXPECT_EQ(ReadAll(reader.Data()), "");
}

TEST(TarReaderTest, NextSkipsUnreadAndPartlyReadData) {
  Bytes archive = SampleArchive();
  MemorySource source(archive);
  TarReader reader(source, "base backup stream");
  std::vector<std::string> paths;
  for (int i = 0;; ++i) {
    auto next = reader.Next();
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    if (!next.value()) break;
    paths.push_back(next.value()->path);
    if (i == 4) {  // read 100 of the 513 bytes, leave the rest
      uint8_t buf[100];
      ASSERT_EQ(*reader.Data().Read(buf, sizeof buf), 100u);
    }
  }
  EXPECT_EQ(paths,
            (std::vector<std::string>{"backup_label", "base", "base/1/PG_VERSION", "base/1/1259",
                                      "base/1/1259_fsm", "pg_tblspc/16400", "global/pg_control"}));
}

TEST(TarReaderTest, ReadsDataInSmallPiecesFromATricklingSource) {
  Bytes archive = SampleArchive();
  for (size_t source_piece : {size_t{1}, size_t{7}, size_t{511}, size_t{100000}}) {
    TrickleSource source(archive, source_piece);
    TarReader reader(source, "base backup stream");
    std::string fsm;
    for (;;) {
      auto next = reader.Next();
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      if (!next.value()) break;
      if (next.value()->path == "base/1/1259_fsm") fsm = ReadAll(reader.Data(), 7);
    }
    EXPECT_EQ(fsm, Pattern(513)) << "source piece " << source_piece;
  }
}

TEST(TarReaderTest, ReadsLongNamesAndPrefix) {
  std::string long_dir = "pg_tblspc/16400/PG_15_202209061/" + std::string(80, 'd');
  std::string long_name = long_dir + "/16384_vm";
  std::string long_target = "/" + std::string(120, 't');
  TarBuilder t;
  t.LongName(long_name)
      .Add(Header{.name = long_name.substr(0, 100), .size = 4, .gnu = true}, "data")
      .LongName(long_target, 'K')
      .Add(Header{
          .name = "pg_tblspc/16401", .type = '2', .link = long_target.substr(0, 100), .gnu = true})
      .Add(Header{.name = "16384_vm", .size = 1, .prefix = long_dir}, "v")
      // In GNU headers the prefix area holds other fields and is not a name.
      .Add(Header{.name = "short", .gnu = true})
      .End();
  MemorySource source(t.bytes());
  TarReader reader(source, "base backup stream");

  TarEntry e = NextEntry(reader);
  EXPECT_EQ(e.path, long_name);
  EXPECT_EQ(ReadAll(reader.Data()), "data");
  e = NextEntry(reader);
  EXPECT_EQ(e.path, "pg_tblspc/16401");
  EXPECT_EQ(e.link_target, long_target);
  e = NextEntry(reader);
  EXPECT_EQ(e.path, long_dir + "/16384_vm");
  EXPECT_EQ(ReadAll(reader.Data()), "v");
  e = NextEntry(reader);
  EXPECT_EQ(e.path, "short");
  ExpectEnd(reader);
}

TEST(TarReaderTest, ParsesBase256Numbers) {
  // 8 GiB + 3 does not fit 11 octal digits; GNU tar writes it in base-256.
  const char size[12] = {'\x80', 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0x03};
  const char mtime[12] = {'\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF',
                          '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xF6'};  // -10
  TarBuilder t;
  t.Add(Header{.name = "base/5/16384", .raw_size = size, .raw_mtime = mtime});
  MemorySource source(t.bytes());
  TarReader reader(source, "base backup stream");
  TarEntry e = NextEntry(reader);
  EXPECT_EQ(e.size, (uint64_t{2} << 32) + 3);
  EXPECT_EQ(e.mtime, -10);
}

TEST(TarReaderTest, RejectsBadNumbers) {
  const char negative_size[12] = {'\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF',
                                  '\xFF', '\xFF', '\xFF', '\xFF', '\xFF', '\xFF'};
  const char too_big[12] = {'\x80', 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0, 0};  // 2^64
  const char not_octal[12] = {'1', '2', '9', 0, 0, 0, 0, 0, 0, 0, 0, 0};
  for (const char* field : {negative_size, too_big, not_octal}) {
    TarBuilder t;
    t.File("backup_label", "x").Add(Header{.name = "base/5/16384", .raw_size = field}).End();
    MemorySource source(t.bytes());
    TarReader reader(source, "base backup stream");
    NextEntry(reader);
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: bad tar header size field at offset 1024");
  }
}

TEST(TarReaderTest, BadHeaderChecksumIsCorruptAndSticky) {
  TarBuilder t;
  t.File("backup_label", "x").Add(Header{.name = "base/5/1", .checksum_delta = 1}).End();
  MemorySource source(t.bytes());
  TarReader reader(source, "base backup stream");
  NextEntry(reader);
  ExpectCorrupt(reader.Next().status(),
                "base backup stream: bad tar header checksum at offset 1024");
  ExpectCorrupt(reader.Next().status(),
                "base backup stream: bad tar header checksum at offset 1024");
  uint8_t buf[1];
  ExpectCorrupt(reader.Data().Read(buf, 1).status(),
                "base backup stream: bad tar header checksum at offset 1024");
}

TEST(TarReaderTest, TruncatedStreamsAreCorrupt) {
  Bytes archive = SampleArchive();  // backup_label header at 0, data at 512..541
  auto cut = [&](size_t n) { return Bytes(archive.begin(), archive.begin() + n); };

  {  // EOF inside the data, seen by Data()
    Bytes part = cut(520);
    MemorySource source(part);
    TarReader reader(source, "base backup stream");
    NextEntry(reader);
    uint8_t buf[64];
    EXPECT_EQ(*reader.Data().Read(buf, sizeof buf), 8u);
    ExpectCorrupt(reader.Data().Read(buf, sizeof buf).status(),
                  "base backup stream: truncated in the data of \"backup_label\" at offset 520");
  }
  {  // EOF inside the data, seen by Next() skipping it
    Bytes part = cut(520);
    MemorySource source(part);
    TarReader reader(source, "base backup stream");
    NextEntry(reader);
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: truncated in the data of \"backup_label\" at offset 520");
  }
  {  // EOF inside the padding
    Bytes part = cut(600);
    MemorySource source(part);
    TarReader reader(source, "base backup stream");
    NextEntry(reader);
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: truncated in the padding after \"backup_label\" at "
                  "offset 600");
  }
  {  // EOF inside a header
    Bytes part = cut(1024 + 100);
    MemorySource source(part);
    TarReader reader(source, "base backup stream");
    NextEntry(reader);
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: truncated in a tar header at offset 1024");
  }
  {  // EOF inside a long name's data
    TarBuilder t;
    t.LongName(std::string(300, 'n'));
    Bytes part(t.bytes().begin(), t.bytes().begin() + 512 + 200);
    MemorySource source(part);
    TarReader reader(source, "base backup stream");
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: truncated in the data of \"././@LongLink\" at offset 712");
  }
  {  // a long name with no entry after it
    TarBuilder t;
    t.LongName("x").End();
    MemorySource source(t.bytes());
    TarReader reader(source, "base backup stream");
    ExpectCorrupt(reader.Next().status(),
                  "base backup stream: archive ends after a long name entry at offset 1024");
  }
}

TEST(TarReaderTest, EndOfArchiveForms) {
  struct Case {
    const char* name;
    Bytes archive;
  };
  TarBuilder clean_eof, one_zero_block, two_zero_blocks, record_padding, empty;
  clean_eof.File("a", "1");
  one_zero_block.File("a", "1").ZeroBlocks(1);
  two_zero_blocks.File("a", "1").ZeroBlocks(2);
  record_padding.File("a", "1").ZeroBlocks(17);  // tar pads to 10 KiB records
  for (const Case& c :
       {Case{"clean eof", clean_eof.bytes()}, Case{"one zero block", one_zero_block.bytes()},
        Case{"two zero blocks", two_zero_blocks.bytes()},
        Case{"record padding", record_padding.bytes()}}) {
    SCOPED_TRACE(c.name);
    MemorySource source(c.archive);
    TarReader reader(source, "base backup stream");
    EXPECT_EQ(NextEntry(reader).path, "a");
    ExpectEnd(reader);
  }
  MemorySource nothing(empty.bytes());
  TarReader reader(nothing, "base backup stream");
  ExpectEnd(reader);
}

TEST(TarReaderTest, LoneZeroBlockBeforeAHeaderIsCorrupt) {
  TarBuilder t;
  t.File("a", "1").ZeroBlocks(1).File("b", "2").End();
  MemorySource source(t.bytes());
  TarReader reader(source, "base backup stream");
  NextEntry(reader);
  ExpectCorrupt(reader.Next().status(),
                "base backup stream: zero block at offset 1024 is followed by more headers");
}

TEST(TarReaderTest, DataIsEmptyBeforeTheFirstEntry) {
  Bytes archive = SampleArchive();
  MemorySource source(archive);
  TarReader reader(source, "base backup stream");
  EXPECT_EQ(ReadAll(reader.Data()), "");
  EXPECT_EQ(NextEntry(reader).path, "backup_label");
}

}  // namespace
}  // namespace pgkeep
