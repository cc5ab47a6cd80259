// config/secrets.h — resolving the secrets the configuration refers to: a
// secret never lives in the file, only the name of the environment variable
// or file holding it (the *_env / *_file keys). Error messages never contain
// a secret value. The functions keep no state; ResolveSecret reads the
// environment, so it is as thread-safe as getenv.
#pragma once

#include <string>
#include <vector>

#include "common/env.h"
#include "common/status.h"
#include "config/config.h"

namespace pgkeep {

// Returns the secret held by environment variable `env_name` (must be set and
// non-empty) or, if `env_name` is empty, the contents of `file_path` with one
// trailing newline removed (must be non-empty, at most 64 KiB). `what` names
// the secret in messages ("repository password").
// Failure: kConfig when neither or both sources are given; kAuth when the
// variable is unset or empty, or the file is unreadable, too large or empty.
// Messages name the variable or file, never the value.
Result<std::string> ResolveSecret(Env& env, const std::string& env_name,
                                  const std::string& file_path, const std::string& what);

// An S3 key pair (and session token) and where it came from, for messages:
// "$AWS_ACCESS_KEY_ID", "file \"/path\"", "profile \"p\" of \"/path\"".
struct S3Secrets {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty: none
  std::string source;
};

// Resolves `s3`'s credentials in the order S3Config describes. The shared
// credentials file is read bounded (64 KiB) and parsed as INI: [profile]
// sections of aws_access_key_id, aws_secret_access_key and
// aws_session_token. Failure: kAuth naming the variable, file or profile
// missing and never a value.
Result<S3Secrets> ResolveS3Credentials(Env& env, const S3Config& s3);

// Names of the environment variables that hold secrets pgkeep may read:
// PGKEEP_REPO_PASSWORD and every *_env key of `config` (repository password,
// S3 credentials, API and internal keys). Programs pgkeep runs (pg_dump,
// pg_restore, psql, pg_ctl) are started without them; libpq's own variables
// (PGPASSWORD, PGPASSFILE, ...) are not among them.
std::vector<std::string> SecretEnvNames(const Config& config);

// The variables a repository's own readers need (password, S3 credentials):
// those a restored server's restore_command (pgkeep wal-fetch) keeps.
std::vector<std::string> RepositoryEnvNames(const RepositoryConfig& repository);

}  // namespace pgkeep
