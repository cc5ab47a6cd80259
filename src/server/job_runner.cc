#include "server/job_runner.h"

#include <signal.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace pgkeep {

std::vector<std::string> JobCommandArgs(const ScheduledJob& job) {
  if (job.kind == "full" || job.kind == "incr")
    return {"backup", "--db", job.database, "--type", job.kind};
  if (job.kind == "logical") return {"backup", "--db", job.database};
  if (job.kind == "drill") return {"drill", "--db", job.database};
  if (job.kind == "copy") return {"copy", "--to", job.target};
  if (job.kind == "retention") return {"retention", "run", "--policy", job.target};
  std::vector<std::string> args;
  if (job.kind == "expire") args = {"expire"};
  // A tenth of the packs read back each week: every byte within ~10 weeks.
  if (job.kind == "verify") args = {"verify", "--read-data", "--subset", "10"};
  if (args.empty()) return {job.kind};
  if (!job.target.empty()) args.insert(args.end(), {"--from", job.target});
  return args;
}

JobOutcome RunJobProcess(Env& env, const JobRunOptions& o) {
  JobOutcome out;
  const int64_t started = env.MonotonicMicros();
  SubprocessOptions p;
  p.argv = {o.program, "--config", o.config_path, "--output", "json"};
  p.argv.insert(p.argv.end(), o.args.begin(), o.args.end());
  p.capture_stdout = true;
  p.own_process_group = true;  // a stop reaches pg_dump and the like too
  auto proc = env.StartProcess(p);
  if (!proc.ok()) {
    out.result = "failed";
    out.error = proc.status().message();
    return out;
  }

  // A watcher stops the job at its timeout or when the daemon stops; the
  // main thread reads its output to the end, then reaps it.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::string why;  // "timeout" or "interrupted" once signalled
  std::thread watcher([&] {
    const int64_t deadline = started + int64_t{o.timeout_seconds} * 1000000;
    int64_t killed_at = 0;
    std::unique_lock lock(mu);
    while (!done) {
      cv.wait_for(lock, std::chrono::milliseconds(50));
      if (done) break;
      const int64_t now = env.MonotonicMicros();
      if (why.empty() && (now >= deadline || (o.stop && o.stop->load() != 0))) {
        why = now >= deadline ? "timeout" : "interrupted";
        (*proc)->Signal(SIGTERM);
        killed_at = now;
      } else if (!why.empty() && killed_at > 0 &&
                 now - killed_at > int64_t{o.kill_grace_seconds} * 1000000) {
        (*proc)->Signal(SIGKILL);
        killed_at = 0;
      }
    }
  });
  std::string text;
  uint8_t buf[1 << 16];
  for (;;) {
    auto n = (*proc)->Stdout().Read(buf, sizeof buf);
    if (!n.ok() || *n == 0) break;
    if (text.size() < o.max_output_bytes)
      text.append(reinterpret_cast<const char*>(buf),
                  std::min(*n, o.max_output_bytes - text.size()));
  }
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watcher.join();
  int code = (*proc)->Wait();
  out.exit_code = code;
  out.seconds = static_cast<double>(env.MonotonicMicros() - started) / 1e6;
  out.output = nlohmann::json::parse(text, nullptr, false);
  if (out.output.is_discarded()) out.output = nullptr;
  if (!why.empty()) {
    out.result = why;
    out.error = why == "timeout"
                    ? "stopped after its timeout of " + std::to_string(o.timeout_seconds) + " s"
                    : "stopped: the daemon is shutting down";
  } else {
    out.result = code == 0 ? "ok" : "failed";
    if (code != 0) {
      out.error = (*proc)->ErrorSummary();
      if (out.error.empty()) out.error = "exit " + std::to_string(code);
    }
  }
  return out;
}

}  // namespace pgkeep
