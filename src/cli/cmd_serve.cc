// serve: the daemon (server/daemon.h), until SIGTERM or SIGINT.
#include <atomic>
#include <cstdio>

#include "cli/commands.h"
#include "server/daemon.h"

namespace pgkeep {

CommandOutput RunServe(const CommandContext& ctx, const ServeArgs& args) {
  Config config = LoadConfigOrThrow(ctx);
  static std::atomic<int> stop{0};
  ctx.env->CatchInterrupts(&stop);
  DaemonOptions options;
  options.program = ValueOrThrow(ctx.env->ExecutablePath());
  options.config_path = config.source;
  options.job_timeout_seconds = args.job_timeout_seconds;
  options.stop_grace_seconds = args.stop_grace_seconds;
  const Clock* clock = ctx.clock;
  options.log = [clock](const std::string& line) {
    std::string text = FormatIsoTime(clock->NowSeconds()) + " pgkeep serve: " + line + "\n";
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  };
  ThrowIfError(RunDaemon(*ctx.env, *ctx.clock, config, options, &stop));
  CommandOutput out;
  out.json = {{"ok", true}, {"stopped_by_signal", stop.load()}};
  return out;
}

}  // namespace pgkeep
