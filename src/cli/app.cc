#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "cli/command_table.h"
#include "storage/posix_storage.h"

namespace pgkeep {

namespace {

// restore_command contract (CommandSpec::failure_stops_recovery): PostgreSQL reads exit 1..125 as
// "no such file" and ends recovery there as if the WAL were complete. Any failure other than
// absence (unreadable repository, damaged object, ...) must stop recovery
// instead, which an exit status above 125 does (docs/exit-codes.md).
constexpr int kWalFetchFailedExit = 126;

// Messages and outputs quote what users and repositories hold (paths,
// labels, arguments), which need not be UTF-8; nlohmann::json would throw
// on it, and inside PrintError that ends the process. Invalid bytes become
// U+FFFD instead.
std::string DumpJson(const nlohmann::json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Warnings about damaged or unknown objects a command skipped, each once.
class WarningLog {
 public:
  void Add(const std::string& message) {
    std::lock_guard lock(mu_);
    if (std::find(messages_.begin(), messages_.end(), message) == messages_.end())
      messages_.push_back(message);
  }
  std::vector<std::string> Take() {
    std::lock_guard lock(mu_);
    return std::move(messages_);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> messages_;
};

// Text mode: on stderr, so they never mix with data or a report on stdout.
void PrintWarnings(const std::vector<std::string>& warnings, bool json) {
  if (json) return;
  for (const auto& w : warnings) std::cerr << "pgkeep: warning: " << w << "\n";
}

// JSON mode: a "warnings" array (merged with one a command already has).
void AddWarnings(nlohmann::json& j, const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  auto& list = j["warnings"];
  if (!list.is_array()) list = nlohmann::json::array();
  for (const auto& w : warnings)
    if (std::find(list.begin(), list.end(), w) == list.end()) list.push_back(w);
}

void PrintError(const Status& status, bool json, const std::vector<std::string>& warnings = {}) {
  PrintWarnings(warnings, json);
  if (json) {
    nlohmann::json j = {{"ok", false},
                        {"error",
                         {{"code", ErrorCodeName(status.code())},
                          {"exit_code", ExitCodeFor(status.code())},
                          {"message", status.message()},
                          {"hint", status.hint()}}}};
    AddWarnings(j, warnings);
    std::cout << DumpJson(j) << std::endl;
  }
  std::cerr << "pgkeep: error: " << status.message() << "\n";
  if (!status.hint().empty()) std::cerr << "HINT: " << status.hint() << "\n";
}

}  // namespace

int RunCli(int argc, char** argv, CommandContext ctx) {
  CLI::App app{"pgkeep keeps PostgreSQL data safe and proves it.", "pgkeep"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "pgkeep 0.1.0 (repository format 1)");
  std::string output = "text";
  int lock_wait = 0;
  app.add_option("--config", ctx.config_path,
                 "configuration file (default: $PGKEEP_CONFIG, else /etc/pgkeep/pgkeep.toml)");
  app.add_option("--output", output, "output format")->check(CLI::IsMember({"text", "json"}));
  bool progress = false;
  app.add_flag("--progress", progress,
               "print each step of the command on stderr as it starts, with the seconds since "
               "the start");
  app.add_option("--lock-wait", lock_wait, "seconds to wait for a conflicting lock (default 0)")
      ->check(CLI::NonNegativeNumber);

  struct Defined {
    const CommandSpec* spec;
    CLI::App* sub;
    CommandRunner run;
  };
  std::vector<Defined> commands;
  for (const CommandSpec& spec : CommandTable()) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    commands.push_back({&spec, sub, spec.define(*sub)});
  }
  // Commands that read backups can read them from a copy target.
  std::string from_copy;
  for (const char* name : {"list", "info", "verify", "restore", "drill", "expire", "status",
                           "wal-fetch", "load", "pin", "unpin"}) {
    for (Defined& d : commands)
      if (d.spec->name == std::string(name))
        d.sub->add_option("--from", from_copy,
                          "work on the repository of [[copy]] target NAME instead of "
                          "[repository] (its own retention applies)");
  }

  bool json = false;
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--output=json" ||
          (arg == "--output" && i + 1 < argc && std::string(argv[i + 1]) == "json"))
        json = true;
    }
    PrintError(Status::Error(ErrorCode::kUsage, e.what(), "see \"pgkeep --help\""), json);
    return ExitCodeFor(ErrorCode::kUsage);
  }
  json = output == "json";
  ctx.lock_wait = std::chrono::seconds(lock_wait);
  ctx.from_copy = from_copy;
  WarningLog warnings;
  ctx.warn = [&warnings](const std::string& message) { warnings.Add(message); };
  if (progress && !ctx.progress) {
    Env* env = ctx.env;
    int64_t started = env->MonotonicMicros();
    ctx.progress = [env, started](const std::string& step) {
      char elapsed[32];
      std::snprintf(elapsed, sizeof elapsed, "%7.1f s", (env->MonotonicMicros() - started) / 1e6);
      std::cerr << "pgkeep: " << elapsed << "  " << step << std::endl;
    };
  }

  // require_subcommand(1): exactly one was parsed.
  const Defined& command = *std::find_if(commands.begin(), commands.end(),
                                         [](const Defined& c) { return c.sub->parsed(); });
  const int failure_exit = command.spec->failure_stops_recovery ? kWalFetchFailedExit : 0;
  try {
    CommandOutput out = command.run(ctx);
    std::vector<std::string> warned = warnings.Take();
    PrintWarnings(warned, json);
    AddWarnings(out.json, warned);
    if (json) {
      // With data on stdout, the JSON report goes to stderr.
      (out.data_on_stdout ? std::cerr : std::cout) << DumpJson(out.json) << std::endl;
    } else if (out.data_on_stdout || out.result != ErrorCode::kOk) {
      std::cerr << out.text;  // stdout carries data, or the text reports problems
    } else {
      std::cout << out.text;
    }
    return ExitCodeFor(out.result);
  } catch (const CommandError& e) {
    PrintError(e.status, json, warnings.Take());
    return failure_exit ? failure_exit : ExitCodeFor(e.status.code());
  } catch (const std::exception& e) {
    PrintError(Status::Error(ErrorCode::kInternal, std::string("internal error: ") + e.what(),
                             "please report this as a bug"),
               json, warnings.Take());
    return failure_exit ? failure_exit : ExitCodeFor(ErrorCode::kInternal);
  }
}

}  // namespace pgkeep
