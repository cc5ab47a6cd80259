// The storage drivers behind [repository] and [[copy]] targets.
#include "cli/app.h"
#include "config/secrets.h"
#include "storage/curl_http_client.h"
#include "storage/posix_storage.h"
#include "storage/s3_storage.h"

namespace pgkeep {

namespace {

Result<std::unique_ptr<Storage>> OpenS3(Env& env, const S3Config& s3) {
  auto credentials = ResolveS3Credentials(env, s3);
  if (!credentials.ok()) return credentials.status();

  const size_t scheme_end = s3.endpoint.find("://");
  std::string scheme = s3.endpoint.substr(0, scheme_end + 3);
  std::string host = s3.endpoint.substr(scheme_end + 3);
  while (!host.empty() && host.back() == '/') host.pop_back();

  CurlHttpOptions http;
  // Virtual-host addressing puts the bucket in the host name.
  http.base_url = s3.path_style ? scheme + host : scheme + s3.bucket + "." + host;
  http.region = s3.region;
  http.credentials = {credentials->access_key, credentials->secret_key, credentials->session_token};
  http.max_connections = s3.max_connections;
  http.ca_file = s3.ca_file;

  S3StorageOptions options;
  options.endpoint = scheme + host;
  options.bucket = s3.bucket;
  options.bucket_path = s3.path_style ? "/" + s3.bucket : "";
  options.prefix = s3.prefix;
  while (!options.prefix.empty() && options.prefix.front() == '/') options.prefix.erase(0, 1);
  if (!options.prefix.empty() && options.prefix.back() != '/') options.prefix += '/';
  options.region = s3.region;
  options.credential_source = credentials->source;
  options.storage_class = s3.storage_class;
  options.storage_class_by_kind = s3.storage_classes;
  options.sse = s3.sse == "none" ? "" : s3.sse;
  options.sse_kms_key_id = s3.sse_kms_key_id;
  options.part_size = static_cast<uint64_t>(s3.part_size_mib) << 20;
  options.parallel_parts = std::max(1, s3.max_connections / 2);
  options.retry_seconds = s3.retry_seconds;
  options.put_if_absent = s3.put_if_absent == "conditional" ? PutIfAbsentMethod::kConditional
                          : s3.put_if_absent == "claim"     ? PutIfAbsentMethod::kClaim
                                                            : PutIfAbsentMethod::kAuto;
  return std::unique_ptr<Storage>(std::make_unique<S3Storage>(
      env, std::make_unique<CurlHttpClient>(std::move(http)), std::move(options)));
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenConfiguredStorage(Env& env, const RepositoryConfig& config) {
  if (config.type == "posix")
    return std::unique_ptr<Storage>(std::make_unique<PosixStorage>(env, config.path));
  if (config.type == "s3" && config.s3) return OpenS3(env, *config.s3);
  return Status::Error(ErrorCode::kConfig,
                       "repository.type \"" + config.type + "\" is not available in this build",
                       "use type = \"posix\" or \"s3\"");
}

}  // namespace pgkeep
