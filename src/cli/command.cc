#include "cli/command.h"

#include "config/secrets.h"
#include "repo/key_cache.h"

namespace pgkeep {

const DatabaseConfig& DatabaseOrThrow(const Config& config, const std::string& name) {
  auto it = config.databases.find(name);
  if (it != config.databases.end()) return it->second;
  std::string known;
  for (const auto& [n, db] : config.databases) known += (known.empty() ? "" : ", ") + n;
  throw CommandError{Status::Error(
      ErrorCode::kUsage, "no database \"" + name + "\" in \"" + config.source + "\"",
      known.empty() ? "add a [database." + name + "] section" : "configured databases: " + known)};
}

Config LoadConfigOrThrow(const CommandContext& ctx) {
  Config config = ValueOrThrow(LoadConfig(*ctx.env, ctx.config_path));
  if (ctx.from_copy.empty()) return config;
  return ValueOrThrow(ConfigForCopy(config, ctx.from_copy));
}

std::optional<std::string> RepositoryPasswordOrThrow(Env& env, const RepositoryConfig& config) {
  if (config.encryption == "none") return std::nullopt;
  return ValueOrThrow(
      ResolveSecret(env, config.password_env, config.password_file, "repository password"));
}

namespace {

// Where earlier versions kept the key cache file ("keys/" beside the state
// database); OpenRepositoryCached deletes what it finds there.
std::string LegacyKeyCacheDir(const Config& config) {
  // With a relative path they wrote no cache file.
  const std::string& state = config.server.state;
  if (state.empty() || state[0] != '/') return "";
  return state.substr(0, state.rfind('/')) + "/keys";
}

}  // namespace

OpenedRepository OpenRepositoryOrThrow(const CommandContext& ctx, std::optional<LockMode> mode,
                                       const std::string& operation, bool load_index) {
  OpenedRepository opened;
  opened.config = LoadConfigOrThrow(ctx);
  auto password = RepositoryPasswordOrThrow(*ctx.env, opened.config.repository);
  opened.storage = ValueOrThrow(ctx.open_storage(opened.config.repository));
  // password is set exactly when the configuration asks for encryption.
  // Through the key cache: scrypt (~0.2 s, by design) once per boot and
  // repository, not once per command (repo/key_cache.h).
  opened.repo = ValueOrThrow(OpenRepositoryCached(*ctx.env, *opened.storage, *ctx.clock, password,
                                                  ctx.keyring, LegacyKeyCacheDir(opened.config),
                                                  password.has_value()));
  opened.repo->set_warning_sink(ctx.warn);
  if (mode)
    opened.lock = ValueOrThrow(
        RepoLock::Acquire(*ctx.env, *opened.storage, *ctx.clock, *mode, operation, ctx.lock_wait));
  if (load_index) ThrowIfError(opened.repo->LoadIndex());
  return opened;
}

}  // namespace pgkeep
