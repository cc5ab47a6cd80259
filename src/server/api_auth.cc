#include "server/api_auth.h"

#include <openssl/crypto.h>

#include "config/secrets.h"

namespace pgkeep {

std::optional<ApiRole> ParseApiRole(const std::string& text) {
  if (text == "viewer") return ApiRole::kViewer;
  if (text == "operator") return ApiRole::kOperator;
  if (text == "admin") return ApiRole::kAdmin;
  return std::nullopt;
}

const char* ApiRoleName(ApiRole role) {
  switch (role) {
    case ApiRole::kViewer:
      return "viewer";
    case ApiRole::kOperator:
      return "operator";
    case ApiRole::kAdmin:
      return "admin";
  }
  return "viewer";
}

namespace {

Digest DigestOf(const std::string& text) { return Sha256(AsBytes(text)); }

}  // namespace

Result<ApiAuth> ApiAuth::FromConfig(Env& env, const ServerConfig& server) {
  std::vector<Key> keys;
  for (const ApiKeyConfig& k : server.api_keys) {
    auto secret = ResolveSecret(env, k.key_env, k.key_file, "api key \"" + k.name + "\"");
    if (!secret.ok()) return secret.status();
    keys.push_back({k.name, ParseApiRole(k.role).value_or(ApiRole::kViewer), std::move(*secret)});
  }
  ApiAuth auth(keys);
  if (!server.internal_key_env.empty() || !server.internal_key_file.empty()) {
    auto secret =
        ResolveSecret(env, server.internal_key_env, server.internal_key_file, "the internal key");
    if (!secret.ok()) return secret.status();
    auth.set_internal_key(*secret);
  }
  return auth;
}

void ApiAuth::set_internal_key(const std::string& secret) { internal_ = DigestOf(secret); }

bool ApiAuth::IsInternalKey(const std::string& presented) const {
  if (!internal_ || presented.empty()) return false;
  const Digest digest = DigestOf(presented);
  return CRYPTO_memcmp(digest.data(), internal_->data(), digest.size()) == 0;
}

ApiAuth::ApiAuth(const std::vector<Key>& keys) {
  for (const Key& k : keys) keys_.push_back({{k.name, k.role}, DigestOf(k.secret)});
}

std::optional<ApiCaller> ApiAuth::Authenticate(const std::string& authorization) const {
  static constexpr std::string_view kBearer = "Bearer ";
  if (authorization.size() <= kBearer.size() ||
      authorization.compare(0, kBearer.size(), kBearer) != 0)
    return std::nullopt;
  const Digest presented = DigestOf(authorization.substr(kBearer.size()));
  std::optional<ApiCaller> found;
  for (const Entry& e : keys_) {
    // Every key is compared, a match or not: the time does not depend on which.
    const bool same = CRYPTO_memcmp(presented.data(), e.digest.data(), presented.size()) == 0;
    if (same && !found) found = e.caller;
  }
  return found;
}

}  // namespace pgkeep
