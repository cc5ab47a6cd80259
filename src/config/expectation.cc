#include "config/expectation.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace pgkeep {

namespace {

constexpr char kForms[] = "write \"= 0\", \">= 1\", \"!= 'x'\", \"is null\" or \"is not null\"";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool IsPlainDecimal(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    for (char c : d)
      if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    return true;
  };
  if (whole.empty() || !digits(whole)) return false;
  return dot == std::string_view::npos || (!frac.empty() && digits(frac));
}

// -1, 0 or 1 as a < b, a == b, a > b, for two plain decimals.
int CompareDecimals(std::string_view a, std::string_view b) {
  auto split = [](std::string_view s, bool& negative, std::string& whole, std::string& frac) {
    negative = !s.empty() && s[0] == '-';
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
    size_t dot = s.find('.');
    whole = std::string(s.substr(0, dot));
    frac = dot == std::string_view::npos ? "" : std::string(s.substr(dot + 1));
    whole.erase(0, std::min(whole.find_first_not_of('0'), whole.size()));
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    if (whole.empty() && frac.empty()) negative = false;  // -0 is 0
  };
  bool na, nb;
  std::string wa, fa, wb, fb;
  split(a, na, wa, fa);
  split(b, nb, wb, fb);
  if (na != nb) return na ? -1 : 1;
  int magnitude = 0;
  if (wa.size() != wb.size()) {
    magnitude = wa.size() < wb.size() ? -1 : 1;
  } else if (int c = wa.compare(wb); c != 0) {
    magnitude = c < 0 ? -1 : 1;
  } else {
    size_t n = std::max(fa.size(), fb.size());
    fa.resize(n, '0');
    fb.resize(n, '0');
    int f = fa.compare(fb);
    magnitude = f < 0 ? -1 : (f > 0 ? 1 : 0);
  }
  return na ? -magnitude : magnitude;
}

// A float as PostgreSQL prints one ("1.5e+20", "-Infinity"); NaN, hex and
// anything else strtod would take are not numbers a check can hold for.
std::optional<double> AsDouble(const std::string& s) {
  if (s == "Infinity") return HUGE_VAL;
  if (s == "-Infinity") return -HUGE_VAL;
  if (s.empty() || s.find_first_not_of("0123456789.eE+-") != std::string::npos) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return d;
}

}  // namespace

Result<Expectation> ParseExpectation(std::string_view text) {
  Expectation e;
  std::string_view s = Trim(text);
  e.text = std::string(s);
  auto bad = [&](const std::string& why) -> Status {
    return Status::Error(ErrorCode::kConfig,
                         "expect \"" + std::string(text) + "\" is not an expectation: " + why,
                         kForms);
  };
  if (s.empty()) return bad("it is empty");
  std::string lower;
  for (char c : s) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("is", 0) == 0 && lower.size() > 2 &&
      std::isspace(static_cast<unsigned char>(lower[2]))) {
    std::string_view rest = Trim(std::string_view(lower).substr(2));
    bool negated = false;
    if (rest.rfind("not", 0) == 0 && rest.size() > 3 &&
        std::isspace(static_cast<unsigned char>(rest[3]))) {
      negated = true;
      rest = Trim(rest.substr(3));
    }
    if (rest != "null") return bad("after \"is\" comes \"null\" or \"not null\"");
    e.op = negated ? Expectation::Op::kIsNotNull : Expectation::Op::kIsNull;
    return e;
  }
  struct OpText {
    std::string_view text;
    Expectation::Op op;
  };
  // Two-character operators first, so "<=" is not read as "<" then "=".
  static constexpr OpText kOps[] = {{"<=", Expectation::Op::kLe}, {">=", Expectation::Op::kGe},
                                    {"!=", Expectation::Op::kNe}, {"<>", Expectation::Op::kNe},
                                    {"=", Expectation::Op::kEq},  {"<", Expectation::Op::kLt},
                                    {">", Expectation::Op::kGt}};
  const OpText* found = nullptr;
  for (const auto& o : kOps)
    if (s.substr(0, o.text.size()) == o.text) {
      found = &o;
      break;
    }
  if (!found) return bad("it does not start with a comparison");
  e.op = found->op;
  std::string_view operand = Trim(s.substr(found->text.size()));
  if (operand.empty()) return bad("nothing to compare with");
  if (operand.front() == '\'') {
    if (e.op != Expectation::Op::kEq && e.op != Expectation::Op::kNe)
      return bad("text compares only with =, != or <>");
    std::string value;
    size_t i = 1;
    bool closed = false;
    for (; i < operand.size(); ++i) {
      if (operand[i] != '\'') {
        value += operand[i];
        continue;
      }
      if (i + 1 < operand.size() && operand[i + 1] == '\'') {
        value += '\'';
        ++i;
        continue;
      }
      closed = true;
      break;
    }
    if (!closed) return bad("the quoted text is not closed");
    if (i + 1 != operand.size()) return bad("something follows the quoted text");
    e.operand = value;
    return e;
  }
  if (!IsPlainDecimal(operand) || operand.front() == '+')
    return bad("\"" + std::string(operand) + "\" is not a number (quote text: '...')");
  e.numeric = true;
  e.operand = std::string(operand);
  return e;
}

bool ExpectationHolds(const Expectation& e, const std::optional<std::string>& value) {
  if (e.op == Expectation::Op::kIsNull) return !value.has_value();
  if (e.op == Expectation::Op::kIsNotNull) return value.has_value();
  if (!value) return false;
  int c = 0;
  if (e.numeric) {
    std::string v(Trim(*value));
    if (IsPlainDecimal(v)) {
      c = CompareDecimals(v, e.operand);
    } else {
      auto a = AsDouble(v), b = AsDouble(e.operand);
      if (!a || !b) return false;
      c = *a < *b ? -1 : (*a > *b ? 1 : 0);
    }
  } else {
    c = *value == e.operand ? 0 : 1;
  }
  switch (e.op) {
    case Expectation::Op::kEq:
      return c == 0;
    case Expectation::Op::kNe:
      return c != 0;
    case Expectation::Op::kLt:
      return c < 0;
    case Expectation::Op::kLe:
      return c <= 0;
    case Expectation::Op::kGt:
      return c > 0;
    case Expectation::Op::kGe:
      return c >= 0;
    default:
      return false;
  }
}

}  // namespace pgkeep
