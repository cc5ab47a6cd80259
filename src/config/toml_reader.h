// config/toml_reader.h — the TOML half of the configuration reader: parsing
// text into a document, and typed access to its tables that records every
// problem and keeps the one to report (config.h says which). The schema, the
// keys and what they mean, is config.cc's; this file knows nothing of it.
//
// Internal to config/: nothing outside it includes this header.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <toml.hpp>
#include <utility>
#include <vector>

#include "common/env.h"
#include "common/status.h"

namespace pgkeep::config_internal {

// std::map keeps iteration order deterministic, so which of several equally
// ranked problems is reported never depends on hashing.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;

// A kConfig error.
Status ConfigError(std::string message, std::string hint = {});

// `s` in double quotes, as messages show names and values.
std::string Quote(std::string_view s);

// "a string", "an integer", ...: the type of `v` as messages name it.
std::string TypeName(const Value& v);

// The line `v` starts on; 0 for null.
inline uint32_t LineOf(const Value* v) { return v == nullptr ? 0 : v->location().line(); }

// Parses `text`. Failure: kConfig "<source_name>:<line>: invalid TOML: ...",
// never quoting the offending line, which could hold a secret.
Result<Value> ParseToml(const std::string& text, const std::string& source_name);

// Whole-file read with errno-based messages (kIo); `limit` guards against
// pointing a *_file key at a device or a huge file by mistake.
Result<std::string> ReadSmallFile(Env& env, const std::string& path, size_t limit);

// Severity of a problem, most fundamental first: a misspelt key usually
// *causes* a later "missing key" problem, so that one must not be reported.
enum class Phase { kShape, kValue, kRelation };

// Collects problems and keeps the one to report.
class Checker {
 public:
  explicit Checker(std::string source) : source_(std::move(source)) {}

  // `line` 0 means "no useful line"; such problems rank after located ones.
  void Fail(Phase phase, uint32_t line, std::string message, std::string hint = {});

  Status ToStatus() const;

 private:
  struct Problem {
    Phase phase;
    uint32_t order;
    uint32_t line;
    std::string message;
    std::string hint;
  };
  std::string source_;
  std::optional<Problem> best_;
};

// Typed access to one TOML table. Every key asked for is remembered as known;
// Finish() reports the rest as unknown, so the list of valid keys is exactly
// the set of keys the code reads.
class TableReader {
 public:
  // The document root (empty `path`) has no useful line of its own.
  TableReader(Checker& checker, const Value& table, std::string path)
      : checker_(checker), table_(table), path_(std::move(path)) {}

  Checker& checker() { return checker_; }
  uint32_t line() const { return path_.empty() ? 0 : LineOf(&table_); }
  std::string Path(std::string_view key) const;

  const Value* Get(std::string_view key);

  void WrongType(std::string_view key, const Value& v, std::string_view expected);

  void Fail(Phase phase, std::string_view key, std::string problem, std::string hint = {});

  std::string String(std::string_view key, std::string fallback = {});

  bool Bool(std::string_view key, bool fallback);

  std::optional<int64_t> IntIn(std::string_view key, int64_t lo, int64_t hi);

  std::string OneOf(std::string_view key, std::initializer_list<std::string_view> choices,
                    std::string fallback);

  std::string Duration(std::string_view key, std::string fallback);

  std::vector<std::string> StringList(std::string_view key);

  std::map<std::string, std::string> StringMap(std::string_view key);

  const Value* SubTable(std::string_view key);

  // Both [[key]] sections and `key = [ {...}, ... ]`; null if absent or wrong.
  const std::vector<Value>* TableArray(std::string_view key);

  // Secrets are only ever referenced, so an inline one is rejected outright
  // (without echoing its value).
  void RejectInlineSecret(std::string_view key);

  // Reads KEY_env / KEY_file, at most one of which may be set. Returns
  // {env, file}; `default_env` is used when neither is set.
  std::pair<std::string, std::string> EnvOrFile(std::string_view key, std::string default_env = {});

  void RequireNonEmpty(std::string_view key, const std::string& value, std::string when = {});

  void Finish();

 private:
  Checker& checker_;
  const Value& table_;
  std::string path_;
  std::vector<std::string> known_;
  std::vector<std::string> secrets_;
};

}  // namespace pgkeep::config_internal
