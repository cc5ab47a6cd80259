// common/status.h — the one error model of pgkeep.
//
// Every I/O boundary returns a [[nodiscard]] Status or Result<T>. An error
// carries a stable ErrorCode (mapped to a documented process exit code, see
// docs/exit-codes.md), a one-line lowercase message naming the thing that
// failed, and an optional hint telling the user how to fix it. Exceptions are
// used only to abort a whole command (see CommandError) and are turned into a
// Status at the top of the CLI.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pgkeep {

enum class ErrorCode {
  kOk,
  kUsage,         // bad command line
  kConfig,        // bad or missing configuration
  kRepoNotFound,  // no repository at the configured place
  kRepoExists,    // init on an existing repository
  kRepoFormat,    // unsupported or damaged repository structure
  kAuth,          // wrong password, missing key
  kLocked,        // conflicting lock held by another process
  kIo,            // storage or file system failure
  kNoSpace,       // storage full
  kCorrupt,       // data fails its checksum / authentication tag
  kNotFound,      // unknown snapshot, file or object
  kCheckFailed,   // verify/status found problems
  kPostgres,      // PostgreSQL unreachable, refused us, or a statement failed
  kTool,          // an external tool (pg_dump, pg_restore) is missing, too old or failed
  kConflict,      // an archived object exists with other content, or belongs to another cluster
  kInterrupted,   // stopped by SIGINT or SIGTERM after cleaning up what it started
  kInternal,      // a bug: please report
};

// Process exit code for an error code; stable, documented in docs/exit-codes.md.
int ExitCodeFor(ErrorCode code);
// Stable lowercase name used in JSON output ("repo_not_found", ...).
const char* ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(ErrorCode code, std::string message, std::string hint = {}) {
    Status s;
    s.code_ = code;
    s.message_ = std::move(message);
    s.hint_ = std::move(hint);
    return s;
  }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& hint() const { return hint_; }
  // The errno behind an operating-system failure (common/env.h), else 0.
  int os_error() const { return os_error_; }
  Status WithOsError(int err) const {
    Status s = *this;
    s.os_error_ = err;
    return s;
  }

  // Prefixes context to the message: "reading snapshot x: <old message>".
  Status WithContext(const std::string& context) const {
    if (ok()) return *this;
    return Error(code_, context + ": " + message_, hint_).WithOsError(os_error_);
  }
  // "message" or "message\nHINT: hint"; what the CLI prints.
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string hint_;
  int os_error_ = 0;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Thrown only to abandon a whole command; caught in RunCli (cli/app.cc).
struct CommandError {
  Status status;
};

// Abort the current command if `s` is an error.
inline void ThrowIfError(const Status& s) {
  if (!s.ok()) throw CommandError{s};
}
template <typename T>
T ValueOrThrow(Result<T> r) {
  if (!r.ok()) throw CommandError{r.status()};
  return std::move(r).value();
}

}  // namespace pgkeep

#define PGKEEP_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::pgkeep::Status pgkeep_status_ = (expr);        \
    if (!pgkeep_status_.ok()) return pgkeep_status_; \
  } while (0)
