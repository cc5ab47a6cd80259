#include "config/toml_reader.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <sstream>
#include <tuple>

#include "common/file_io.h"
#include "config/config.h"

namespace pgkeep::config_internal {
namespace {

std::string JoinQuoted(std::initializer_list<std::string_view> items) {
  std::string out;
  size_t i = 0;
  for (std::string_view item : items) {
    if (i > 0) out += (i + 1 == items.size()) ? (items.size() == 2 ? " or " : ", or ") : ", ";
    out += Quote(item);
    ++i;
  }
  return out;
}

bool SameLetter(char a, char b) {
  return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
}

// Optimal string alignment distance: a transposed pair counts as one edit,
// which is the most common typo in key names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = SameLetter(a[i - 1], b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && SameLetter(a[i - 1], b[j - 2]) && SameLetter(a[i - 2], b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

// The closest candidate within two edits; two-letter words need a closer
// match so that "to" is not offered for "ab".
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = (word.size() <= 2 ? 1 : 2) + 1;
  for (const auto& c : candidates) {
    size_t dist = EditDistance(word, c);
    if (dist < best_distance) {
      best_distance = dist;
      best = c;
    }
  }
  return best;
}

// toml11 reports syntax errors as a multi-line excerpt of the file. Keep the
// headline and the annotation under the caret, never the quoted source line,
// which could hold a secret.
std::string CondenseSyntaxError(const std::string& what) {
  std::string head = what.substr(0, what.find('\n'));
  if (head.rfind("[error] ", 0) == 0) head.erase(0, 8);
  if (head.rfind("toml::", 0) == 0) {
    size_t colon = head.find(": ");
    head = colon == std::string::npos ? std::string() : head.substr(colon + 2);
  }
  std::string note;
  std::istringstream lines(what);
  for (std::string line; std::getline(lines, line);) {
    // Annotation lines have nothing but spaces before the gutter bar; quoted
    // source lines have a line number there.
    size_t bar = line.find('|');
    if (bar == std::string::npos || line.find_first_not_of(' ') != bar) continue;
    size_t mark = line.find("^--- ");
    if (mark != std::string::npos) {
      note = line.substr(mark + 5);
    } else if ((mark = line.find("~ ", bar)) != std::string::npos) {
      note = line.substr(mark + 2);
    }
  }
  while (!head.empty() && (head.back() == ' ' || head.back() == '.')) head.pop_back();
  if (head.empty()) return note.empty() ? "invalid TOML" : "invalid TOML: " + note;
  if (note.empty() || note == "here") return "invalid TOML: " + head;
  return "invalid TOML: " + head + " (" + note + ")";
}

}  // namespace

Status ConfigError(std::string message, std::string hint) {
  return Status::Error(ErrorCode::kConfig, std::move(message), std::move(hint));
}

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string TypeName(const Value& v) {
  switch (v.type()) {
    case toml::value_t::string:
      return "a string";
    case toml::value_t::integer:
      return "an integer";
    case toml::value_t::floating:
      return "a float";
    case toml::value_t::boolean:
      return "a boolean";
    case toml::value_t::table:
      return "a table";
    case toml::value_t::array:
      return "an array";
    default:
      return "a date/time";
  }
}

Result<Value> ParseToml(const std::string& text, const std::string& source_name) {
  try {
    std::istringstream in(text);
    return toml::parse<toml::discard_comments, std::map, std::vector>(in, source_name);
  } catch (const toml::exception& e) {
    return ConfigError(source_name + ":" + std::to_string(e.location().line()) + ": " +
                       CondenseSyntaxError(e.what()));
  } catch (const std::exception& e) {
    return ConfigError(source_name + ": invalid TOML: " + CondenseSyntaxError(e.what()));
  }
}

Result<std::string> ReadSmallFile(Env& env, const std::string& path, size_t limit) {
  auto data = ReadWholeFile(env, path, limit);
  if (data.ok()) return std::string(AsString(*data));
  int err = data.status().os_error();
  if (err == EFBIG)
    return Status::Error(ErrorCode::kIo, "larger than " + std::to_string(limit >> 10) + " KiB");
  return Status::Error(ErrorCode::kIo, err != 0 ? std::strerror(err) : data.status().message());
}

void Checker::Fail(Phase phase, uint32_t line, std::string message, std::string hint) {
  uint32_t order = line == 0 ? UINT32_MAX : line;
  if (best_ && std::tie(best_->phase, best_->order) <= std::tie(phase, order)) return;
  best_ = Problem{phase, order, line, std::move(message), std::move(hint)};
}

Status Checker::ToStatus() const {
  if (!best_) return Status::Ok();
  std::string where = source_;
  if (best_->line != 0) where += ":" + std::to_string(best_->line);
  return ConfigError(where + ": " + best_->message, best_->hint);
}

std::string TableReader::Path(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const Value* TableReader::Get(std::string_view key) {
  known_.emplace_back(key);
  const auto& table = table_.as_table();
  auto it = table.find(std::string(key));
  return it == table.end() ? nullptr : &it->second;
}

void TableReader::WrongType(std::string_view key, const Value& v, std::string_view expected) {
  checker_.Fail(
      Phase::kShape, LineOf(&v),
      "key " + Quote(Path(key)) + " must be " + std::string(expected) + ", not " + TypeName(v));
}

void TableReader::Fail(Phase phase, std::string_view key, std::string problem, std::string hint) {
  const Value* v = Get(key);
  checker_.Fail(phase, v ? LineOf(v) : line(), "key " + Quote(Path(key)) + " " + problem,
                std::move(hint));
}

std::string TableReader::String(std::string_view key, std::string fallback) {
  const Value* v = Get(key);
  if (v == nullptr) return fallback;
  if (!v->is_string()) {
    WrongType(key, *v, "a string");
    return fallback;
  }
  return v->as_string().str;
}

bool TableReader::Bool(std::string_view key, bool fallback) {
  const Value* v = Get(key);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) {
    WrongType(key, *v, "true or false");
    return fallback;
  }
  return v->as_boolean();
}

std::optional<int64_t> TableReader::IntIn(std::string_view key, int64_t lo, int64_t hi) {
  const Value* v = Get(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_integer()) {
    WrongType(key, *v, "an integer");
    return std::nullopt;
  }
  int64_t n = v->as_integer();
  if (lo == 0 && n < 0) {
    Fail(Phase::kValue, key, "must not be negative, not " + std::to_string(n));
  } else if (n < lo || n > hi) {
    Fail(Phase::kValue, key,
         "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", not " +
             std::to_string(n));
  } else {
    return n;
  }
  return std::nullopt;
}

std::string TableReader::OneOf(std::string_view key,
                               std::initializer_list<std::string_view> choices,
                               std::string fallback) {
  const Value* v = Get(key);
  std::string s = String(key, fallback);
  if (v == nullptr || !v->is_string()) return s;
  if (std::find(choices.begin(), choices.end(), s) != choices.end()) return s;
  std::vector<std::string> names(choices.begin(), choices.end());
  auto close = ClosestMatch(s, names);
  Fail(Phase::kValue, key, "must be " + JoinQuoted(choices) + ", not " + Quote(s),
       close ? "did you mean " + Quote(*close) + "?" : "");
  return fallback;
}

std::string TableReader::Duration(std::string_view key, std::string fallback) {
  const Value* v = Get(key);
  std::string s = String(key, fallback);
  if (v == nullptr || !v->is_string()) return s;
  auto seconds = ParseDurationSeconds(s);
  if (seconds.ok() && *seconds > 0) return s;
  Fail(Phase::kValue, key,
       "must be a duration like \"36h\", \"7d\", \"90m\" or \"30s\", not " + Quote(s));
  return fallback;
}

std::vector<std::string> TableReader::StringList(std::string_view key) {
  std::vector<std::string> out;
  const Value* v = Get(key);
  if (v == nullptr) return out;
  if (!v->is_array()) {
    WrongType(key, *v, "an array of strings");
    return out;
  }
  for (const auto& item : v->as_array()) {
    if (!item.is_string()) {
      checker_.Fail(Phase::kShape, LineOf(&item),
                    "key " + Quote(Path(key)) + " must hold only strings, not " + TypeName(item));
      return {};
    }
    out.push_back(item.as_string().str);
  }
  return out;
}

std::map<std::string, std::string> TableReader::StringMap(std::string_view key) {
  std::map<std::string, std::string> out;
  const Value* v = SubTable(key);
  if (v == nullptr) return out;
  for (const auto& [name, item] : v->as_table()) {
    if (!item.is_string()) {
      WrongType(std::string(key) + "." + name, item, "a string");
      continue;
    }
    out[name] = item.as_string().str;
  }
  return out;
}

const Value* TableReader::SubTable(std::string_view key) {
  const Value* v = Get(key);
  if (v != nullptr && !v->is_table()) {
    WrongType(key, *v, "a table");
    return nullptr;
  }
  return v;
}

const std::vector<Value>* TableReader::TableArray(std::string_view key) {
  const Value* v = Get(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    checker_.Fail(Phase::kShape, LineOf(v),
                  "key " + Quote(Path(key)) + " must be an array of tables, not " + TypeName(*v),
                  "write each entry as a [[" + Path(key) + "]] section");
    return nullptr;
  }
  for (const auto& item : v->as_array()) {
    if (!item.is_table()) {
      checker_.Fail(Phase::kShape, LineOf(&item),
                    "key " + Quote(Path(key)) + " must hold only tables, not " + TypeName(item));
      return nullptr;
    }
  }
  return &v->as_array();
}

void TableReader::RejectInlineSecret(std::string_view key) {
  const Value* v = Get(key);
  known_.pop_back();  // handled, but not to be offered as a valid key
  secrets_.emplace_back(key);
  if (v == nullptr) return;
  std::string k(key);
  checker_.Fail(Phase::kShape, LineOf(v), "inline secret " + Quote(Path(key)) + " is not allowed",
                "use " + k + "_env = \"VARIABLE\" or " + k + "_file = \"/path/to/file\" instead");
}

std::pair<std::string, std::string> TableReader::EnvOrFile(std::string_view key,
                                                           std::string default_env) {
  RejectInlineSecret(key);
  std::string env_key = std::string(key) + "_env";
  std::string file_key = std::string(key) + "_file";
  const Value* env = Get(env_key);
  const Value* file = Get(file_key);
  std::string env_name = String(env_key);
  std::string file_name = String(file_key);
  if (env && env->is_string() && env_name.empty()) Fail(Phase::kValue, env_key, "is empty");
  if (file && file->is_string() && file_name.empty()) Fail(Phase::kValue, file_key, "is empty");
  if (env && file) {
    checker_.Fail(
        Phase::kValue, std::max(LineOf(env), LineOf(file)),
        "keys " + Quote(Path(env_key)) + " and " + Quote(Path(file_key)) + " are both set",
        "keep only one of them");
  }
  if (!env && !file) env_name = std::move(default_env);
  return {env_name, file_name};
}

void TableReader::RequireNonEmpty(std::string_view key, const std::string& value,
                                  std::string when) {
  if (!value.empty()) return;
  const Value* v = Get(key);
  if (v != nullptr && !v->is_string()) return;  // already reported as a wrong type
  if (v != nullptr) {
    Fail(Phase::kValue, key, "must not be empty");
  } else {
    checker_.Fail(Phase::kRelation, line(),
                  "key " + Quote(Path(key)) + " is required" + (when.empty() ? "" : " " + when));
  }
}

void TableReader::Finish() {
  for (const auto& [key, v] : table_.as_table()) {
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    if (std::find(secrets_.begin(), secrets_.end(), key) != secrets_.end()) continue;
    std::vector<std::string> known(known_.begin(), known_.end());
    std::sort(known.begin(), known.end());
    known.erase(std::unique(known.begin(), known.end()), known.end());
    auto close = ClosestMatch(key, known);
    std::string hint;
    if (close) {
      hint = "did you mean " + Quote(*close) + "?";
    } else {
      hint = "valid keys" + (path_.empty() ? std::string() : " in " + path_) + ": ";
      for (size_t i = 0; i < known.size(); ++i) hint += (i ? ", " : "") + known[i];
    }
    checker_.Fail(Phase::kShape, LineOf(&v), "unknown key " + Quote(Path(key)), hint);
  }
}

}  // namespace pgkeep::config_internal
