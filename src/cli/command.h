// cli/command.h — what every command receives and returns.
//
// Commands never print: they return a CommandOutput holding both the JSON
// document (the stable, documented shape behind --output json) and the text a
// person reads. Failures abort through CommandError (common/status.h), which
// RunCli (cli/app.cc) turns into a one-line message, a HINT and a documented exit code.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/env.h"
#include "common/keyring.h"
#include "common/progress.h"
#include "config/config.h"
#include "notify/channel.h"
#include "postgres/pg_connector.h"
#include "repo/repo_lock.h"
#include "repo/repository.h"
#include "storage/storage.h"

namespace pgkeep {

struct CommandOutput {
  nlohmann::json json = nlohmann::json::object();
  std::string text;
  ErrorCode result = ErrorCode::kOk;  // non-ok: the command ran but found problems
  // Standard output carried data (load --stdout): the report goes to stderr.
  bool data_on_stdout = false;
};

// Everything that varies between runs, injected by main() or by tests.
struct CommandContext {
  std::string config_path;
  // --from NAME: the command works on [[copy]] target NAME's repository
  // (ConfigForCopy) instead of [repository].
  std::string from_copy;
  std::chrono::seconds lock_wait{0};
  const Clock* clock = nullptr;
  // Files, child processes, monotonic time and sleeping (common/env.h);
  // required: main() sets a PosixEnv, tests an EnvWrapper or FaultEnv.
  Env* env = nullptr;
  // Every PostgreSQL connection, base backup stream and client program
  // (pg_dump, pg_restore, pg_ctl) goes through it; required.
  PgConnector* pg = nullptr;
  // Where wal-push and wal-fetch cache the unwrapped master key
  // (repo/key_cache.h); null: no cache, every open pays for scrypt.
  Keyring* keyring = nullptr;
  // Where alerts go out (notify/channel.h): webhooks and SMTP; required by
  // serve only. main() sets a CurlTransport.
  Transport* alert_transport = nullptr;
  // Opens the storage a repository config points at.
  std::function<Result<std::unique_ptr<Storage>>(const RepositoryConfig&)> open_storage;
  // Hears each step of a long command as it starts (common/progress.h);
  // RunCli prints them on stderr with --progress. May be empty.
  Progress progress;
  // Receives warnings about damaged or unknown objects a command skipped
  // (Repository::set_warning_sink); RunCli prints them. May be empty.
  std::function<void(const std::string&)> warn;
};

// An opened repository with its storage and lock, released together.
struct OpenedRepository {
  Config config;
  std::unique_ptr<Storage> storage;
  std::unique_ptr<Repository> repo;
  std::unique_ptr<RepoLock> lock;
};

// Loads the configuration and opens its repository under a lock; aborts the
// command (CommandError) on failure. The master key comes from the host's
// key cache when it holds it (repo/key_cache.h).
// `mode` nullopt: no lock, for commands that only read metadata and cope
// with objects vanishing meanwhile (status), or that run once per WAL file
// (wal-push, wal-fetch: no lock, no index).
OpenedRepository OpenRepositoryOrThrow(const CommandContext& ctx, std::optional<LockMode> mode,
                                       const std::string& operation, bool load_index);
Config LoadConfigOrThrow(const CommandContext& ctx);
// The [database.NAME] section, or a usage error listing the configured ones.
const DatabaseConfig& DatabaseOrThrow(const Config& config, const std::string& name);

// The repository password per config; nullopt when encryption = "none".
std::optional<std::string> RepositoryPasswordOrThrow(Env& env, const RepositoryConfig& config);

}  // namespace pgkeep
