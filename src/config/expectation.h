// config/expectation.h — what a drill's user check expects of the single
// value its SQL returns ([[database.NAME.check]] expect = ">= 1").
//
//   expect := ws* ( cmp ws* number | eqop ws* quoted | "is" ws+ ["not" ws+] "null" ) ws*
//   cmp    := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//   eqop   := "=" | "!=" | "<>"
//   number := ["-"] digit+ ["." digit+]
//   quoted := "'" ( any but "'" | "''" )* "'"
//
// Numbers compare as exact decimals (so 0.1 + 0.2 style rounding never
// decides a check); a value PostgreSQL prints in exponent form ("1e+20",
// float8) compares as a double. Pure: no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pgkeep {

struct Expectation {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kIsNull, kIsNotNull };
  Op op = Op::kEq;
  bool numeric = false;  // compare as numbers (else as text, only = and !=)
  std::string operand;   // the number as written, or the unquoted text
  std::string text;      // the expectation as written, trimmed
};

// kConfig naming what is wrong, with a HINT listing the forms.
Result<Expectation> ParseExpectation(std::string_view text);

// Whether `value` (nullopt: SQL NULL) meets `e`. A NULL meets only "is null";
// a value that is not a number never meets a numeric comparison.
bool ExpectationHolds(const Expectation& e, const std::optional<std::string>& value);

}  // namespace pgkeep
