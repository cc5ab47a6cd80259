// ParseExpectation and ExpectationHolds: the forms a drill's user check
// accepts, exact decimal comparison, NULL and text.
#include "config/expectation.h"

#include <gtest/gtest.h>

namespace pgkeep {
namespace {

bool Holds(const std::string& expect, const std::optional<std::string>& value) {
  auto e = ParseExpectation(expect);
  EXPECT_TRUE(e.ok()) << expect << ": " << e.status().ToString();
  return e.ok() && ExpectationHolds(*e, value);
}

TEST(ExpectationTest, NumbersCompareAsExactDecimals) {
  EXPECT_TRUE(Holds(">= 1", "1"));
  EXPECT_TRUE(Holds(">= 1", "12"));
  EXPECT_FALSE(Holds(">= 1", "0"));
  EXPECT_TRUE(Holds("= 0", "0"));
  EXPECT_TRUE(Holds("= 0", "0.000"));
  EXPECT_TRUE(Holds("= 0", "-0"));
  EXPECT_TRUE(Holds("=0.3", "0.30"));
  EXPECT_FALSE(Holds("= 0.3", "0.30000000000000004"));  // no float rounding
  EXPECT_TRUE(Holds("< 10", "9.999999999999999999999"));
  EXPECT_TRUE(Holds("> -5", "-4.5"));
  EXPECT_FALSE(Holds("> -5", "-5.5"));
  EXPECT_TRUE(Holds("<= 100", "0100"));
  EXPECT_TRUE(Holds("!= 3", "4"));
  EXPECT_TRUE(Holds("<> 3", "4"));
  EXPECT_TRUE(Holds("> 99999999999999999999", "100000000000000000000"));  // beyond int64
  EXPECT_TRUE(Holds("> 1000", "1e+20"));                                  // float8 prints exponents
  EXPECT_FALSE(Holds(">= 1", "abc"));  // not a number never meets a numeric comparison
  EXPECT_FALSE(Holds(">= 1", std::nullopt));
}

TEST(ExpectationTest, NaNAndHexMeetNoNumericComparison) {
  for (const char* expect : {"<= 1", ">= 1", "= 0", "< 0", "> 0", "!= 5"}) {
    EXPECT_FALSE(Holds(expect, "NaN")) << expect;  // numeric and float8 columns print it
    EXPECT_FALSE(Holds(expect, "nan")) << expect;
  }
  EXPECT_FALSE(Holds("= 16", "0x10"));
  EXPECT_FALSE(Holds(">= 1", "inf"));
  EXPECT_TRUE(Holds(">= 1", "Infinity"));  // as PostgreSQL prints it
  EXPECT_TRUE(Holds("< 0", "-Infinity"));
}

TEST(ExpectationTest, TextAndNull) {
  EXPECT_TRUE(Holds("= 'ok'", "ok"));
  EXPECT_FALSE(Holds("= 'ok'", "OK"));
  EXPECT_TRUE(Holds("!= 'ok'", "bad"));
  EXPECT_TRUE(Holds("= 'it''s'", "it's"));
  EXPECT_TRUE(Holds("= ''", ""));
  EXPECT_FALSE(Holds("= ''", std::nullopt));
  EXPECT_TRUE(Holds("is null", std::nullopt));
  EXPECT_FALSE(Holds("IS NULL", "x"));
  EXPECT_TRUE(Holds("  is   not  null ", "x"));
  EXPECT_FALSE(Holds("is not null", std::nullopt));
}

TEST(ExpectationTest, MalformedExpectationsNameTheProblem) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"", "it is empty"}, Case{"1", "it does not start with a comparison"},
                        Case{">= ", "nothing to compare with"},
                        Case{">= ten", "\"ten\" is not a number (quote text: '...')"},
                        Case{">= +1", "\"+1\" is not a number (quote text: '...')"},
                        Case{">= 1.", "\"1.\" is not a number (quote text: '...')"},
                        Case{"< 'a'", "text compares only with =, != or <>"},
                        Case{"= 'open", "the quoted text is not closed"},
                        Case{"= 'a' or 1=1", "something follows the quoted text"},
                        Case{"is nul", "after \"is\" comes \"null\" or \"not null\""}}) {
    auto e = ParseExpectation(c.text);
    ASSERT_FALSE(e.ok()) << c.text;
    EXPECT_EQ(e.status().code(), ErrorCode::kConfig);
    EXPECT_EQ(e.status().message(),
              "expect \"" + std::string(c.text) + "\" is not an expectation: " + c.why);
    EXPECT_EQ(e.status().hint(),
              "write \"= 0\", \">= 1\", \"!= 'x'\", \"is null\" or \"is not null\"");
  }
}

}  // namespace
}  // namespace pgkeep
