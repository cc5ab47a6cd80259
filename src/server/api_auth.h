// server/api_auth.h — who is calling the HTTP API: `Authorization: Bearer
// <key>` matched against the configured API keys ([[server.api_keys]]),
// each with a role. Roles are ordered: viewer (reads) < operator (also
// starts backups and drills) < admin.
//
// Keys are compared in constant time: the presented key and every
// configured key are hashed (SHA-256) and every digest is compared with
// CRYPTO_memcmp, whether or not an earlier one matched, so neither the
// position nor a prefix of a key leaks through timing. Key values are never
// logged or returned; only their names are.
//
// Thread safety: immutable after FromConfig; any thread may call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "codec/crypto.h"
#include "common/env.h"
#include "config/config.h"

namespace pgkeep {

enum class ApiRole { kViewer = 0, kOperator = 1, kAdmin = 2 };

// "viewer", "operator", "admin"; nullopt for anything else.
std::optional<ApiRole> ParseApiRole(const std::string& text);
const char* ApiRoleName(ApiRole role);

struct ApiCaller {
  std::string name;  // the key's name in the configuration
  ApiRole role = ApiRole::kViewer;
};

class ApiAuth {
 public:
  // Resolves every key's secret (key_env / key_file), and the internal key
  // (internal_key_env / internal_key_file) when one is configured.
  // Failure: kAuth naming the key (never its value) when a secret is missing.
  static Result<ApiAuth> FromConfig(Env& env, const ServerConfig& server);
  // For tests: keys given directly.
  struct Key {
    std::string name;
    ApiRole role;
    std::string secret;
  };
  explicit ApiAuth(const std::vector<Key>& keys);

  bool has_keys() const { return !keys_.empty(); }
  bool has_internal_key() const { return internal_.has_value(); }
  // Whether `presented` (the x-internal-key header) is the internal key;
  // compared in constant time. Always false when none is configured.
  bool IsInternalKey(const std::string& presented) const;
  // For tests and FromConfig.
  void set_internal_key(const std::string& secret);
  // The caller behind an Authorization header value ("Bearer <key>"), or
  // nullopt for a missing, malformed or unknown key.
  std::optional<ApiCaller> Authenticate(const std::string& authorization) const;

 private:
  struct Entry {
    ApiCaller caller;
    Digest digest;
  };
  std::vector<Entry> keys_;
  std::optional<Digest> internal_;
};

}  // namespace pgkeep
