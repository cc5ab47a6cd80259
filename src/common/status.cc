#include "common/status.h"

namespace pgkeep {

namespace {
struct CodeInfo {
  ErrorCode code;
  int exit_code;
  const char* name;
};
// Keep in sync with docs/exit-codes.md; the numbers are a public contract.
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kOk, 0, "ok"},
    {ErrorCode::kCheckFailed, 1, "check_failed"},
    {ErrorCode::kUsage, 2, "usage"},
    {ErrorCode::kConfig, 3, "config"},
    {ErrorCode::kRepoNotFound, 4, "repo_not_found"},
    {ErrorCode::kRepoExists, 5, "repo_exists"},
    {ErrorCode::kRepoFormat, 6, "repo_format"},
    {ErrorCode::kAuth, 7, "auth"},
    {ErrorCode::kLocked, 8, "locked"},
    {ErrorCode::kIo, 9, "io"},
    {ErrorCode::kNoSpace, 10, "no_space"},
    {ErrorCode::kCorrupt, 11, "corrupt"},
    {ErrorCode::kNotFound, 12, "not_found"},
    {ErrorCode::kPostgres, 13, "postgres"},
    {ErrorCode::kTool, 14, "tool"},
    {ErrorCode::kConflict, 15, "conflict"},
    {ErrorCode::kInterrupted, 130, "interrupted"},
    {ErrorCode::kInternal, 70, "internal"},
};
}  // namespace

int ExitCodeFor(ErrorCode code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c.exit_code;
  return 70;
}

const char* ErrorCodeName(ErrorCode code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c.name;
  return "internal";
}

std::string Status::ToString() const {
  if (hint_.empty()) return message_;
  return message_ + "\nHINT: " + hint_;
}

}  // namespace pgkeep
