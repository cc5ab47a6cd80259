#include "config/secrets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

#include "config/toml_reader.h"

namespace pgkeep {

using config_internal::ConfigError;
using config_internal::Quote;
using config_internal::ReadSmallFile;

namespace {

constexpr size_t kMaxSecretBytes = 64 << 10;

// The variables holding an S3 target's credentials.
std::vector<std::string> S3EnvNames(const S3Config& s3) {
  std::vector<std::string> names = {s3.access_key_env, s3.secret_key_env, s3.session_token_env};
  if (s3.default_credentials) names.push_back("AWS_SESSION_TOKEN");
  return names;
}

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

namespace {

std::string Trim(std::string_view text) {
  const char* blanks = " \t\r";
  const size_t begin = text.find_first_not_of(blanks);
  if (begin == std::string_view::npos) return "";
  return std::string(text.substr(begin, text.find_last_not_of(blanks) - begin + 1));
}

// The key = value pairs of section [name] of INI text (the AWS shared
// credentials file), or nullopt when it has no such section; also the
// names of the sections it has.
std::optional<std::map<std::string, std::string>> IniSection(const std::string& text,
                                                             const std::string& name,
                                                             std::vector<std::string>& sections) {
  std::optional<std::map<std::string, std::string>> found;
  bool inside = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = Trim(std::string_view(text).substr(pos, end - pos));
    pos = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      const std::string section = Trim(std::string_view(line).substr(1, line.size() - 2));
      sections.push_back(section);
      inside = section == name;
      if (inside && !found) found.emplace();
      continue;
    }
    const size_t eq = line.find('=');
    if (!inside || eq == std::string::npos) continue;
    (*found)[Trim(std::string_view(line).substr(0, eq))] =
        Trim(std::string_view(line).substr(eq + 1));
  }
  return found;
}

Result<S3Secrets> FromProfile(Env& env, const std::string& profile, const std::string& file) {
  auto text = ReadSmallFile(env, file, kMaxSecretBytes);
  if (!text.ok())
    return Status::Error(ErrorCode::kAuth,
                         "S3 credentials: cannot read the shared credentials file " + Quote(file) +
                             ": " + text.status().message(),
                         "check credentials_file (or $AWS_SHARED_CREDENTIALS_FILE) and that "
                         "pgkeep's user may read it");
  std::vector<std::string> sections;
  auto values = IniSection(*text, profile, sections);
  if (!values) {
    std::string names;
    for (const std::string& n : sections) names += (names.empty() ? "" : ", ") + n;
    return Status::Error(ErrorCode::kAuth,
                         "S3 credentials: profile " + Quote(profile) + " is not in " + Quote(file),
                         names.empty() ? "the file has no [profile] section"
                                       : "profiles there: " + names.substr(0, 200));
  }
  S3Secrets c;
  c.source = "profile " + Quote(profile) + " of " + Quote(file);
  for (auto [key, out] : {std::pair{"aws_access_key_id", &c.access_key},
                          std::pair{"aws_secret_access_key", &c.secret_key},
                          std::pair{"aws_session_token", &c.session_token}}) {
    auto it = values->find(key);
    if (it != values->end()) *out = it->second;
  }
  if (c.access_key.empty() || c.secret_key.empty())
    return Status::Error(ErrorCode::kAuth,
                         "S3 credentials: " + c.source + " has no " +
                             (c.access_key.empty() ? "aws_access_key_id" : "aws_secret_access_key"),
                         "pgkeep reads static keys (and aws_session_token); role_arn, "
                         "credential_process and SSO profiles are not supported");
  return c;
}

}  // namespace

Result<S3Secrets> ResolveS3Credentials(Env& env, const S3Config& s3) {
  auto shared_file = [&] {
    if (!s3.credentials_file.empty()) return s3.credentials_file;
    auto named = env.GetEnvVar("AWS_SHARED_CREDENTIALS_FILE");
    if (named && !named->empty()) return *named;
    auto home = env.GetEnvVar("HOME");
    return (home && !home->empty() ? *home : std::string()) + "/.aws/credentials";
  };
  if (!s3.profile.empty()) return FromProfile(env, s3.profile, shared_file());
  if (s3.default_credentials) {
    auto key = env.GetEnvVar(s3.access_key_env);
    if ((!key || key->empty()) && env.Stat(shared_file()).ok()) {
      auto profile = env.GetEnvVar("AWS_PROFILE");
      return FromProfile(env, profile && !profile->empty() ? *profile : "default", shared_file());
    }
  }
  S3Secrets c;
  auto access = ResolveSecret(env, s3.access_key_env, s3.access_key_file, "S3 access key");
  if (!access.ok())
    return s3.default_credentials
               ? Status::Error(access.status().code(), access.status().message(),
                               "export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set "
                               "profile = \"NAME\" (or $AWS_PROFILE) with a shared "
                               "credentials file, or set access_key_env / access_key_file")
               : access.status();
  auto secret = ResolveSecret(env, s3.secret_key_env, s3.secret_key_file, "S3 secret key");
  if (!secret.ok()) return secret.status();
  c.access_key = std::move(*access);
  c.secret_key = std::move(*secret);
  c.source =
      s3.access_key_env.empty() ? "file " + Quote(s3.access_key_file) : "$" + s3.access_key_env;
  if (!s3.session_token_env.empty() || !s3.session_token_file.empty()) {
    auto token =
        ResolveSecret(env, s3.session_token_env, s3.session_token_file, "S3 session token");
    if (!token.ok()) return token.status();
    c.session_token = std::move(*token);
  } else if (s3.default_credentials) {
    c.session_token = env.GetEnvVar("AWS_SESSION_TOKEN").value_or("");
  }
  return c;
}

std::vector<std::string> RepositoryEnvNames(const RepositoryConfig& repository) {
  std::vector<std::string> names;
  if (!repository.password_env.empty()) names.push_back(repository.password_env);
  if (repository.s3) {
    for (const std::string& n : S3EnvNames(*repository.s3))
      if (!n.empty()) names.push_back(n);
  }
  return names;
}

std::vector<std::string> SecretEnvNames(const Config& config) {
  std::vector<std::string> names = {"PGKEEP_REPO_PASSWORD", config.repository.password_env};
  if (config.repository.s3)
    for (std::string& n : S3EnvNames(*config.repository.s3)) names.push_back(std::move(n));
  for (const auto& copy : config.copies) {
    names.push_back(copy.password_env);
    if (copy.s3)
      for (std::string& n : S3EnvNames(*copy.s3)) names.push_back(std::move(n));
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
