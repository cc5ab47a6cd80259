#include "config/secrets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "config/toml_reader.h"

namespace pgkeep {

using config_internal::ConfigError;
using config_internal::Quote;
using config_internal::ReadSmallFile;

namespace {

constexpr size_t kMaxSecretBytes = 64 << 10;

}  // namespace

Result<std::string> ResolveSecret(Env& env, const std::string& env_name,
                                  const std::string& file_path, const std::string& what) {
  if (env_name.empty() && file_path.empty()) {
    return ConfigError(what + ": no environment variable or file configured",
                       "set the matching *_env or *_file key in the config file");
  }
  if (!env_name.empty() && !file_path.empty()) {
    return ConfigError(what + ": both environment variable " + Quote(env_name) + " and file " +
                           Quote(file_path) + " are configured",
                       "keep only one of them");
  }
  if (!env_name.empty()) {
    std::optional<std::string> value = env.GetEnvVar(env_name);
    if (!value || value->empty()) {
      return Status::Error(ErrorCode::kAuth,
                           what + ": environment variable " + Quote(env_name) +
                               (!value ? " is not set" : " is empty"),
                           "export " + env_name + " before running pgkeep");
    }
    return *value;
  }
  auto data = ReadSmallFile(env, file_path, kMaxSecretBytes);
  if (!data.ok()) {
    return Status::Error(
        ErrorCode::kAuth,
        what + ": cannot read file " + Quote(file_path) + ": " + data.status().message(),
        "check the path and that pgkeep's user may read it");
  }
  // Like ssh with private keys: a secret others on the host can read is no
  // secret, and saying nothing would let it stay that way.
  auto info = env.Stat(file_path);
  if (info.ok() && (info->mode & (S_IRGRP | S_IROTH)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info->mode & 07777));
    return ConfigError(
        what + ": file " + Quote(file_path) + " is readable by group or others (mode " + mode + ")",
        "chmod 600 " + file_path);
  }
  std::string secret = std::move(*data);
  if (!secret.empty() && secret.back() == '\n') {
    secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
  }
  if (secret.empty()) {
    return Status::Error(ErrorCode::kAuth, what + ": file " + Quote(file_path) + " is empty");
  }
  return secret;
}

std::vector<std::string> RepositoryEnvNames(const RepositoryConfig& repository) {
  std::vector<std::string> names;
  if (!repository.password_env.empty()) names.push_back(repository.password_env);
  if (repository.s3) {
    for (const std::string& n : {repository.s3->access_key_env, repository.s3->secret_key_env})
      if (!n.empty()) names.push_back(n);
  }
  return names;
}

std::vector<std::string> SecretEnvNames(const Config& config) {
  std::vector<std::string> names = {"PGKEEP_REPO_PASSWORD", config.repository.password_env};
  if (config.repository.s3) {
    names.push_back(config.repository.s3->access_key_env);
    names.push_back(config.repository.s3->secret_key_env);
  }
  for (const auto& copy : config.copies) {
    if (!copy.s3) continue;
    names.push_back(copy.s3->access_key_env);
    names.push_back(copy.s3->secret_key_env);
  }
  for (const auto& key : config.server.api_keys) names.push_back(key.key_env);
  names.push_back(config.server.internal_key_env);
  std::vector<std::string> out;
  for (auto& n : names)
    if (!n.empty() && std::find(out.begin(), out.end(), n) == out.end())
      out.push_back(std::move(n));
  return out;
}

}  // namespace pgkeep
