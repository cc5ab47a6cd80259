// serve: the daemon (server/daemon.h), until SIGTERM or SIGINT; SIGHUP
// reloads the configuration.
#include <atomic>
#include <cstdio>

#include "cli/commands.h"
#include "server/daemon.h"
#include "server/dashboard.h"

namespace pgkeep {

CommandOutput RunServe(const CommandContext& ctx, const ServeArgs& args) {
  Config config = LoadConfigOrThrow(ctx);
  if (ctx.alert_transport == nullptr)
    throw CommandError(Status::Error(ErrorCode::kInternal, "serve needs an alert transport"));
  static std::atomic<int> stop{0};
  static std::atomic<int> reload{0};
  ctx.env->CatchInterrupts(&stop);
  ctx.env->CatchHangups(&reload);
  DaemonOptions options;
  options.program = ValueOrThrow(ctx.env->ExecutablePath());
  options.config_path = config.source;
  options.host = ctx.env->HostName();
  options.job_timeout_seconds = args.job_timeout_seconds;
  options.stop_grace_seconds = args.stop_grace_seconds;
  const Clock* clock = ctx.clock;
  options.log = [clock](const std::string& line) {
    std::string text = FormatIsoTime(clock->NowSeconds()) + " pgkeep serve: " + line + "\n";
    std::fputs(text.c_str(), stderr);
    std::fflush(stderr);
  };
  options.static_file = DashboardFile;
  options.load_config = [&ctx] { return LoadConfig(*ctx.env, ctx.config_path); };
  ThrowIfError(RunDaemon(*ctx.env, *ctx.clock, *ctx.pg, *ctx.alert_transport, config, options,
                         {&stop, &reload}));
  CommandOutput out;
  out.json = {{"ok", true}, {"stopped_by_signal", stop.load()}};
  return out;
}

}  // namespace pgkeep
