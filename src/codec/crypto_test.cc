#include "codec/crypto.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

TEST(CryptoTest, HmacSha256MatchesRfc4231Case2) {
  Hasher hasher(AsBytes("Jefe"));
  Digest d = hasher.Mac(AsBytes("what do ya want for nothing?"));
  EXPECT_EQ(HexEncode(d), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A second message through the same keyed context must not carry state over.
  EXPECT_EQ(HexEncode(hasher.Mac(AsBytes("what do ya want for nothing?"))), HexEncode(d));
}

TEST(CryptoTest, Sha256OfAbc) {
  EXPECT_EQ(HexEncode(Sha256(AsBytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoTest, ScryptMatchesRfc7914Vector) {
  auto key = DeriveKeyScrypt("password", AsBytes("NaCl"), ScryptParams{1024, 8, 16}, 64);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(HexEncode(*key).substr(0, 32), "fdbabe1c9d3472007856e7190d01e9fe");
}

TEST(CryptoTest, AeadRoundTripAndTamperDetection) {
  Bytes key = RandomBytes(32);
  Aead aead(key);
  Bytes sealed;
  aead.Seal(AsBytes("hello, backups"), AsBytes("aad"), sealed);
  ASSERT_EQ(sealed.size(), 14 + Aead::kOverhead);
  Bytes plain;
  ASSERT_TRUE(aead.Open(sealed, AsBytes("aad"), plain).ok());
  EXPECT_EQ(AsString(plain), "hello, backups");

  struct Case {
    const char* name;
    size_t flip;  // byte index to flip, or SIZE_MAX for wrong aad
  };
  for (Case c : {Case{"nonce", 0}, Case{"ciphertext", 13}, Case{"tag", sealed.size() - 1},
                 Case{"aad", SIZE_MAX}}) {
    Bytes bad = sealed;
    if (c.flip != SIZE_MAX) bad[c.flip] ^= 1;
    Bytes out;
    Status s = aead.Open(bad, AsBytes(c.flip == SIZE_MAX ? "other" : "aad"), out);
    EXPECT_EQ(s.code(), ErrorCode::kCorrupt) << c.name;
    EXPECT_TRUE(out.empty()) << c.name;
  }
}

TEST(CryptoTest, NoncesDiffer) {
  Aead aead(RandomBytes(32));
  Bytes a, b;
  aead.Seal(AsBytes("same"), {}, a);
  aead.Seal(AsBytes("same"), {}, b);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace pgkeep
