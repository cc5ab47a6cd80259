#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace pgkeep {

namespace {
constexpr size_t kStderrKeep = 64 * 1024;
constexpr size_t kStderrHead = 16 * 1024;

}  // namespace

std::unique_ptr<Subprocess> Subprocess::Adopt(pid_t pid, int stdout_fd, int stderr_fd,
                                              std::string program) {
  std::unique_ptr<Subprocess> p(new Subprocess());
  p->program_ = std::move(program);
  p->pid_ = pid;
  p->stdout_fd_ = stdout_fd;
  p->stdout_source_ = FdSource(stdout_fd, p->program_ + " output");
  Subprocess* raw = p.get();
  p->stderr_reader_ = std::thread([raw, stderr_fd] {
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(stderr_fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (raw->stderr_head_.size() < kStderrHead)
        raw->stderr_head_.append(
            buf, std::min(static_cast<size_t>(n), kStderrHead - raw->stderr_head_.size()));
      raw->stderr_.append(buf, static_cast<size_t>(n));
      if (raw->stderr_.size() > 2 * kStderrKeep)
        raw->stderr_.erase(0, raw->stderr_.size() - kStderrKeep);
    }
    ::close(stderr_fd);
  });
  return p;
}

int Subprocess::Wait() {
  if (!reaped_ && pid_ > 0) {
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  if (stderr_reader_.joinable()) stderr_reader_.join();
  if (stdout_fd_ >= 0) {
    ::close(stdout_fd_);
    stdout_fd_ = -1;
  }
  return exit_code_;
}

int Subprocess::WaitOrCancel(const std::atomic<int>* cancel, int grace_seconds, bool* cancelled) {
  *cancelled = false;
  if (cancel == nullptr || reaped_ || pid_ <= 0) return Wait();
  // Polled: a signal handler only sets the flag, so nothing interrupts waitpid.
  int64_t killed_at = -1;
  for (int64_t waited_ms = 0;; waited_ms += 20) {
    int status = 0;
    pid_t got = waitpid(pid_, &status, WNOHANG);
    if (got == pid_) {
      reaped_ = true;
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return Wait();
    }
    if (got < 0 && errno != EINTR) return Wait();
    if (!*cancelled && cancel->load() != 0) {
      *cancelled = true;
      ::kill(pid_, SIGTERM);
      killed_at = waited_ms;
    } else if (*cancelled && killed_at >= 0 && waited_ms - killed_at > grace_seconds * 1000) {
      ::kill(pid_, SIGKILL);
      killed_at = -1;
    }
    ::usleep(20 * 1000);
  }
}

void Subprocess::Signal(int sig) {
  if (!reaped_ && pid_ > 0) ::kill(group_ ? -pid_ : pid_, sig);
}

void Subprocess::Kill() {
  if (!reaped_ && pid_ > 0) ::kill(pid_, SIGKILL);
}

Subprocess::~Subprocess() {
  Kill();
  Wait();
}

std::string Subprocess::StderrText() const {
  return stderr_.size() > kStderrKeep ? stderr_.substr(stderr_.size() - kStderrKeep) : stderr_;
}

std::string Subprocess::LastStderrLine() const {
  // Tools print the error, then context ("Command was: ..."): prefer the
  // last line that says "error", else the last non-empty line.
  std::string best, last;
  size_t pos = 0;
  while (pos < stderr_.size()) {
    size_t nl = stderr_.find('\n', pos);
    std::string line = stderr_.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? stderr_.size() : nl + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.pop_back();
    if (line.empty()) continue;
    last = line;
    if (line.find("error") != std::string::npos || line.find("ERROR") != std::string::npos ||
        line.find("FATAL") != std::string::npos)
      best = line;
  }
  return best.empty() ? last : best;
}

std::string Subprocess::ErrorSummary() const {
  // The head holds the first error unless the child wrote more than it
  // before failing; then the kept tail is the best there is.
  std::string first = FirstErrorLines(stderr_head_);
  if (first.empty()) first = FirstErrorLines(StderrText());
  return first.empty() ? LastStderrLine() : first;
}

namespace {

bool Contains(std::string_view line, std::string_view what) {
  return line.find(what) != std::string_view::npos;
}

bool IsErrorLine(std::string_view line) {
  return Contains(line, "error:") || Contains(line, "ERROR:") || Contains(line, "FATAL:") ||
         Contains(line, "PANIC:");
}

bool IsContextLine(std::string_view line) {
  // After a prefix or none: "psql:f.sql:3: DETAIL:  ...", the server log's
  // "... UTC [7] STATEMENT:  ...", PostgreSQL 15 tools' "pg_dump: detail: ...".
  for (std::string_view tag :
       {"DETAIL:", "HINT:", "CONTEXT:", "STATEMENT:", "detail:", "hint:", "Command was:", "LINE "})
    for (size_t p = line.find(tag); p != std::string_view::npos; p = line.find(tag, p + 1))
      if (p == 0 || line[p - 1] == ' ' || line[p - 1] == '\t') return true;
  return false;
}

}  // namespace

std::string FirstErrorLines(const std::string& text, size_t max_length) {
  std::string out;
  bool in_error = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t'))
      line.pop_back();
    if (line.empty()) continue;
    if (!in_error) {
      if (!IsErrorLine(line)) continue;
      in_error = true;
      out = line;
    } else if (IsContextLine(line)) {
      out += "; " + line;
    } else {
      break;  // the next message: a consequence, not the cause
    }
  }
  if (out.size() > max_length) {
    // Cut on a character boundary, never inside a UTF-8 sequence.
    size_t cut = max_length;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xc0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

}  // namespace pgkeep
