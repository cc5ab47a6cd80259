// common/subprocess.h — a running external program (pg_dump, pg_restore),
// started by Env::StartProcess (common/env.h),
// with its standard output streamed to us.
//
// No shell is involved: argv goes to execve as is (argv[0] must be a path),
// so nothing in it is interpreted. Secrets must travel in the environment (PGPASSWORD), never in
// argv, where `ps` would show them; and a child sees only the secrets it
// needs: `drop_env` removes the ones pgkeep itself read (the repository
// password and every other *_env secret the configuration names) from what
// it inherits. Standard error is collected in the background (the first
// 16 KiB and the last 64 KiB) so a chatty child can never block on it.
//
// Thread safety: one thread at a time per Subprocess.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/stream.h"

namespace pgkeep {

struct SubprocessOptions {
  std::vector<std::string> argv;
  std::vector<std::string> extra_env;  // "KEY=VALUE", added to our environment
  bool capture_stdout = true;          // else stdout goes to /dev/null
  std::string stdin_file;              // empty: /dev/null
  std::vector<std::string> drop_env;   // names of variables the child must not inherit
  // The child leads a process group of its own, and Signal reaches the
  // whole group (its own children too, which could otherwise keep its
  // output pipes open after it is gone).
  bool own_process_group = false;
  // The child gets SIGTERM when the thread that started it ends, and so
  // when pgkeep is killed (PR_SET_PDEATHSIG): no pg_restore or pg_dump
  // goes on alone after a kill -9. Only for a child the starting thread
  // waits for; runuser and sudo pass SIGTERM on to their own child. (A
  // thread that ends within microseconds of the fork may end unseen; a
  // whole pgkeep that does is seen: the child finds itself adopted.)
  bool stop_with_parent = false;
};

class Subprocess {
 public:
  // Children are started by Env::StartProcess (common/env.h), which calls
  // Adopt; kTool there if the program cannot be started.
  //
  // Takes over a started child (Env implementations call this): `stdout_fd`
  // (-1 when not captured) and `stderr_fd` are the read ends of its pipes,
  // now owned by the Subprocess, which collects standard error from here on.
  static std::unique_ptr<Subprocess> Adopt(pid_t pid, int stdout_fd, int stderr_fd,
                                           std::string program);
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // The child's standard output (when captured); ends when the child closes it.
  ByteSource& Stdout() { return stdout_source_; }
  // Waits for the child; returns its exit code (128 + signal if killed).
  int Wait();
  void Kill();
  // Sends `sig` (to its process group with own_process_group) if the child
  // has not been reaped. Safe from another thread
  // only while no thread is in Wait/WaitOrCancel (the pid stays ours until
  // the child is reaped).
  void Signal(int sig);
  // Waits like Wait, but when `*cancel` becomes non-zero sends SIGTERM (a
  // tool such as pg_restore then stops its workers and cancels their
  // queries), and SIGKILL after `grace_seconds`. Returns the exit code and
  // sets *cancelled. `cancel` may be null (plain Wait).
  int WaitOrCancel(const std::atomic<int>* cancel, int grace_seconds, bool* cancelled);
  // What the child wrote to standard error (its last 64 KiB); call after Wait.
  std::string StderrText() const;
  // The last line of standard error that reports an error (else the last
  // non-empty line), for one-line messages.
  std::string LastStderrLine() const;
  // Why the child failed, in one line: FirstErrorLines of its standard
  // error (the start of it is kept for this), else LastStderrLine.
  std::string ErrorSummary() const;
  const std::string& program() const { return program_; }
  void set_process_group(bool group) { group_ = group; }

 private:
  Subprocess() : stdout_source_(-1, "") {}

  pid_t pid_ = -1;
  bool group_ = false;
  bool reaped_ = false;
  int exit_code_ = -1;
  int stdout_fd_ = -1;
  FdSource stdout_source_;
  std::string program_;
  std::thread stderr_reader_;
  std::string stderr_;
  std::string stderr_head_;  // the first kStderrHead bytes: where the first error is
};

// The first error a tool reported, in one line of at most `max_length`
// bytes: the first line holding "error:", "ERROR:", "FATAL:" or "PANIC:",
// joined with "; " to the context lines right after it ("DETAIL:",
// "HINT:", "CONTEXT:", "STATEMENT:", "Command was:", "LINE n:"). Tools
// report the first failure and then its consequences ("a worker process
// died unexpectedly", "errors ignored on restore"), so the first is the
// cause. Empty when no line looks like an error.
std::string FirstErrorLines(const std::string& stderr_text, size_t max_length = 1000);

}  // namespace pgkeep
