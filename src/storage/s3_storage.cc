#include "storage/s3_storage.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <thread>

namespace pgkeep {

namespace {

constexpr char kClaimsDir[] = "claims/";
constexpr uint64_t kMaxObjectRead = 1ull << 30;  // larger than any object pgkeep writes
constexpr int64_t kStaleUploadSeconds = 3600;
constexpr int64_t kStaleClaimSeconds = 3600;
constexpr uint64_t kMinPartSize = 5 << 20;  // S3 refuses smaller parts, but for the last

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Encode(const std::string& text, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool Retryable(int status, const std::string& code) {
  return status >= 500 || status == 429 || (status == 400 && code == "RequestTimeout") ||
         (status == 409 && code == "ConditionalRequestConflict");
}

std::string BodyText(const HttpResponse& r) { return std::string(r.body.begin(), r.body.end()); }

// "bytes 0-99/1234" -> 1234.
std::optional<uint64_t> TotalFromContentRange(const std::optional<std::string>& header) {
  if (!header) return std::nullopt;
  const size_t slash = header->rfind('/');
  if (slash == std::string::npos || slash + 1 >= header->size()) return std::nullopt;
  char* end = nullptr;
  const unsigned long long total = std::strtoull(header->c_str() + slash + 1, &end, 10);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return total;
}

}  // namespace

std::string Sha256Hex(ByteView data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
  std::string hex = HexEncode(ByteView(digest, len));
  return Lower(hex);
}

std::string S3EncodeKey(const std::string& key) { return Encode(key, true); }
std::string S3EncodeQueryValue(const std::string& value) { return Encode(value, false); }

S3Storage::S3Storage(Env& env, std::unique_ptr<HttpClient> http, S3StorageOptions options)
    : env_(env), http_(std::move(http)), options_(std::move(options)) {
  if (options_.put_if_absent == PutIfAbsentMethod::kConditional) conditional_writes_ = true;
  if (options_.put_if_absent == PutIfAbsentMethod::kClaim) conditional_writes_ = false;
  options_.part_size = std::max<uint64_t>(options_.part_size, kMinPartSize);
  options_.parallel_parts = std::clamp(options_.parallel_parts, 1, 32);
}

std::string S3Storage::Describe() const {
  return "s3://" + options_.bucket + "/" + options_.prefix;
}

std::string S3Storage::BucketTarget(const std::string& query) const {
  return (options_.bucket_path.empty() ? "/?" : options_.bucket_path + "?") + query;
}

std::string S3Storage::Target(const std::string& key, const std::string& query) const {
  std::string target = options_.bucket_path + "/" + S3EncodeKey(key);
  if (!query.empty()) target += "?" + query;
  return target;
}

Result<HttpResponse> S3Storage::Call(HttpRequest request, const std::string& object,
                                     int* attempts) {
  request.headers.emplace_back("x-amz-content-sha256", Sha256Hex(request.body));
  const int64_t start = env_.MonotonicMicros();
  const int64_t budget = int64_t{options_.retry_seconds} * 1000000;
  Status last;
  for (int attempt = 0;; ++attempt) {
    if (attempts) *attempts = attempt + 1;
    auto response = http_->Send(request);
    if (response.ok()) {
      // Only an error answer carries an error document, and a POST's 200:
      // CompleteMultipartUpload may answer 200 with an error inside. An
      // object's bytes are never parsed.
      const bool may_be_error = response->status >= 300 || request.method == "POST";
      auto error = may_be_error ? ParseS3Error(BodyText(*response)) : std::nullopt;
      const std::string code = error ? error->code : "";
      const bool failed_ok = response->status == 200 && error.has_value();
      if (!Retryable(response->status, code) && !failed_ok) return response;
      last = ErrorFrom(*response, request.method, object);
    } else if (response.status().code() != ErrorCode::kIo) {
      return response.status();  // a certificate refused, an answer too large: not transient
    } else {
      last = response.status();
    }
    // Full jitter over an exponentially growing cap: 100 ms, 200 ms, ... 5 s.
    const int64_t cap = std::min<int64_t>(5000000, 100000LL << std::min(attempt, 6));
    const int64_t delay = cap / 2 + static_cast<int64_t>(env_.Random64() % (cap / 2 + 1));
    const int64_t elapsed = env_.MonotonicMicros() - start;
    if (elapsed + delay > budget)
      return Status::Error(last.code(),
                           last.message() + " (gave up after " + std::to_string(attempt + 1) +
                               " attempts in " + std::to_string(elapsed / 1000000) + " s)",
                           last.hint());
    env_.SleepForMicros(delay);
  }
}

Status S3Storage::ErrorFrom(const HttpResponse& response, const std::string& method,
                            const std::string& object) const {
  const auto error = ParseS3Error(BodyText(response));
  const std::string code = error ? error->code : "";
  const std::string said =
      error ? " (" + code + (error->message.empty() ? "" : ": " + error->message) + ")" : "";
  const std::string bucket = "bucket \"" + options_.bucket + "\"";
  const std::string what = object.empty() ? bucket : "\"" + object + "\" in " + bucket;
  std::string region = error ? error->region : "";
  if (region.empty()) region = response.Header("x-amz-bucket-region").value_or("");
  if (!region.empty() && region != options_.region &&
      (response.status == 301 || response.status == 400 || response.status == 403))
    return Status::Error(
        ErrorCode::kConfig,
        bucket + " is in region \"" + region + "\", not \"" + options_.region + "\"",
        "set region = \"" + region + "\" in the s3 settings");
  if (code == "RequestTimeTooSkewed")
    return Status::Error(ErrorCode::kIo,
                         "the object store refused the request: this host's clock is more than "
                         "15 minutes away from the store's",
                         "synchronise the clock (NTP, chrony), then try again");
  if (code == "InvalidObjectState")
    return Status::Error(
        ErrorCode::kRepoFormat, what + " is in an archive storage class and cannot be read",
        "packs are shared by newer backups, so a lifecycle rule that archives them breaks "
        "them all; remove the rule and restore the objects (docs/s3.md)");
  if (response.status == 403)
    return Status::Error(ErrorCode::kAuth,
                         "access to " + bucket + " at " + options_.endpoint +
                             " was refused for the access key from " + options_.credential_source +
                             said,
                         "check the access key, the secret key and the bucket's policy");
  if (response.status == 404 && (code == "NoSuchBucket" || (code.empty() && object.empty())))
    return Status::Error(ErrorCode::kRepoNotFound,
                         bucket + " does not exist at " + options_.endpoint,
                         "create the bucket, or correct bucket and endpoint in the s3 settings");
  if (response.status == 404)
    return Status::Error(ErrorCode::kNotFound, "object " + what + " does not exist");
  if (response.status == 507 || code == "EntityTooLarge" || code == "QuotaExceeded")
    return Status::Error(ErrorCode::kNoSpace, method + " " + what + " was refused" + said);
  return Status::Error(ErrorCode::kIo, method + " " + what + " failed: HTTP " +
                                           std::to_string(response.status) + said);
}

std::vector<std::pair<std::string, std::string>> S3Storage::WriteHeaders(
    const std::string& name) const {
  std::vector<std::pair<std::string, std::string>> headers{
      {"Content-Type", "application/octet-stream"}};
  std::string storage_class = options_.storage_class;
  const auto kind = options_.storage_class_by_kind.find(name.substr(0, name.find('/')));
  if (kind != options_.storage_class_by_kind.end()) storage_class = kind->second;
  if (!storage_class.empty()) headers.emplace_back("x-amz-storage-class", storage_class);
  if (!options_.sse.empty()) headers.emplace_back("x-amz-server-side-encryption", options_.sse);
  if (options_.sse == "aws:kms" && !options_.sse_kms_key_id.empty())
    headers.emplace_back("x-amz-server-side-encryption-aws-kms-key-id", options_.sse_kms_key_id);
  return headers;
}

Status S3Storage::Put(const std::string& name, ByteView data) {
  if (data.size() > options_.part_size) return PutMultipart(name, data, Conditional::kNone);
  return PutObject(name, data, Conditional::kNone);
}

Status S3Storage::SucceededBefore(const std::string& name, ByteView data, Status failed) {
  auto there = GetAtMost(name, data.size());
  if (there.ok() && there->size() == data.size() &&
      std::equal(there->begin(), there->end(), data.begin()))
    return Status::Ok();
  return failed;
}

Status S3Storage::PutObject(const std::string& name, ByteView data, Conditional conditional) {
  HttpRequest request{"PUT", Target(options_.prefix + name), WriteHeaders(name), data};
  if (conditional == Conditional::kIfAbsent) request.headers.emplace_back("If-None-Match", "*");
  int attempts = 0;
  auto response = Call(request, name, &attempts);
  if (!response.ok()) return response.status();
  if (response->status == 412) {
    Status taken = Status::Error(ErrorCode::kConflict, "object \"" + name + "\" already exists");
    return attempts > 1 ? SucceededBefore(name, data, taken) : taken;
  }
  if (response->status / 100 != 2) return ErrorFrom(*response, "PUT", name);
  return Status::Ok();
}

Status S3Storage::PutMultipart(const std::string& name, ByteView data, Conditional conditional) {
  const std::string key = options_.prefix + name;
  auto created = Call({"POST", Target(key, "uploads="), WriteHeaders(name), {}}, name);
  if (!created.ok()) return created.status();
  if (created->status != 200) return ErrorFrom(*created, "POST", name);
  auto upload_id = ParseS3UploadId(BodyText(*created));
  if (!upload_id)
    return Status::Error(ErrorCode::kIo, "the object store's answer to starting the upload of \"" +
                                             name + "\" has no upload id");
  auto completion = UploadParts(key, *upload_id, data, name);
  if (!completion.ok()) {
    (void)AbortUpload(key, *upload_id);
    return completion.status();
  }
  HttpRequest complete{"POST",
                       Target(key, "uploadId=" + S3EncodeQueryValue(*upload_id)),
                       {{"Content-Type", "application/xml"}},
                       AsBytes(*completion)};
  if (conditional == Conditional::kIfAbsent) complete.headers.emplace_back("If-None-Match", "*");
  int attempts = 0;
  auto done = Call(complete, name, &attempts);
  Status status = done.ok() ? Status::Ok() : done.status();
  if (done.ok() && done->status == 412)
    status = Status::Error(ErrorCode::kConflict, "object \"" + name + "\" already exists");
  else if (done.ok() && (done->status != 200 || ParseS3Error(BodyText(*done))))
    status = ErrorFrom(*done, "POST", name);
  // A completion sent again after its answer was lost finds its upload gone
  // (NoSuchUpload) or, conditional, its own object there (412).
  if (!status.ok() && done.ok() && attempts > 1 && (done->status == 412 || done->status == 404))
    status = SucceededBefore(name, data, status);
  if (!status.ok()) (void)AbortUpload(key, *upload_id);
  return status;
}

Result<std::string> S3Storage::UploadParts(const std::string& key, const std::string& upload_id,
                                           ByteView data, const std::string& name) {
  // Equal parts: an object a little over the part size goes up in two
  // halves, not a full part and a sliver. S3 wants every part but the last
  // of 5 MiB or more.
  const uint64_t at_most = (data.size() + options_.part_size - 1) / options_.part_size;
  const uint64_t part_size =
      std::max<uint64_t>((data.size() + at_most - 1) / at_most, kMinPartSize);
  const size_t parts = (data.size() + part_size - 1) / part_size;
  std::vector<std::string> etags(parts);
  std::vector<Status> results(parts);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (size_t i = next++; i < parts && !failed; i = next++) {
      const uint64_t offset = i * part_size;
      const uint64_t length = std::min<uint64_t>(part_size, data.size() - offset);
      HttpRequest request{"PUT",
                          Target(key, "partNumber=" + std::to_string(i + 1) +
                                          "&uploadId=" + S3EncodeQueryValue(upload_id)),
                          {{"Content-Type", "application/octet-stream"}},
                          data.subspan(offset, length)};
      auto response = Call(request, name);
      if (!response.ok()) {
        results[i] = response.status();
      } else if (response->status != 200) {
        results[i] = ErrorFrom(*response, "PUT", name + " (part " + std::to_string(i + 1) + ")");
      } else if (auto etag = response->Header("etag"); etag && !etag->empty()) {
        etags[i] = *etag;
      } else {
        results[i] = Status::Error(ErrorCode::kIo, "the object store's answer to part " +
                                                       std::to_string(i + 1) + " of \"" + name +
                                                       "\" has no ETag");
      }
      if (!results[i].ok()) failed = true;
    }
  };
  std::vector<std::thread> threads;
  const size_t workers = std::min<size_t>(parts, options_.parallel_parts);
  for (size_t w = 1; w < workers; ++w) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (const Status& s : results)
    if (!s.ok()) return s;
  return S3CompleteUploadXml(etags);
}

Status S3Storage::AbortUpload(const std::string& key, const std::string& upload_id) {
  auto response =
      Call({"DELETE", Target(key, "uploadId=" + S3EncodeQueryValue(upload_id)), {}, {}}, key);
  if (!response.ok()) return response.status();
  if (response->status / 100 != 2 && response->status != 404)
    return ErrorFrom(*response, "DELETE", key);
  return Status::Ok();
}

Result<bool> S3Storage::ServerHonoursConditionalWrites() {
  std::lock_guard lock(probe_mu_);
  if (conditional_writes_) return *conditional_writes_;
  // Two conditional writes of one fresh name: a server that honours them
  // refuses the second.
  const std::string probe =
      std::string(kClaimsDir) + "probe-" +
      HexEncode(AsBytes(std::to_string(env_.Random64()) + "-" + std::to_string(env_.ProcessId())));
  const ByteView body = AsBytes(std::string_view("pgkeep probe"));
  PGKEEP_RETURN_IF_ERROR(PutObject(probe, body, Conditional::kIfAbsent));
  Status second = PutObject(probe, body, Conditional::kIfAbsent);
  (void)Delete(probe);
  if (!second.ok() && second.code() != ErrorCode::kConflict) return second;
  conditional_writes_ = second.code() == ErrorCode::kConflict;
  return *conditional_writes_;
}

Status S3Storage::PutIfAbsent(const std::string& name, ByteView data) {
  auto conditional = ServerHonoursConditionalWrites();
  if (!conditional.ok()) return conditional.status();
  if (!*conditional) return PutIfAbsentWithClaim(name, data);
  if (data.size() > options_.part_size) return PutMultipart(name, data, Conditional::kIfAbsent);
  return PutObject(name, data, Conditional::kIfAbsent);
}

Status S3Storage::PutIfAbsentWithClaim(const std::string& name, ByteView data) {
  const auto taken = [&] {
    return Status::Error(ErrorCode::kConflict, "object \"" + name + "\" already exists");
  };
  auto exists = Exists(name);
  if (!exists.ok()) return exists.status();
  if (*exists) return taken();
  const std::string digest = Sha256Hex(data);
  const std::string claims = std::string(kClaimsDir) + name + "/";
  const std::string mine =
      claims + digest + "." + HexEncode(AsBytes(std::to_string(env_.Random64())));
  PGKEEP_RETURN_IF_ERROR(PutObject(mine, {}, Conditional::kNone));
  auto listed = ListKeys(options_.prefix + claims);
  if (!listed.ok()) {
    (void)Delete(mine);
    return listed.status();
  }
  for (const S3ListedObject& claim : *listed) {
    const std::string other = claim.key.substr(options_.prefix.size() + claims.size());
    if (other.rfind(digest + ".", 0) != 0) {
      (void)Delete(mine);
      return Status::Error(ErrorCode::kConflict,
                           "another writer is storing different content as \"" + name + "\"");
    }
  }
  exists = Exists(name);
  if (!exists.ok()) return exists.status();
  if (*exists) return taken();
  return Put(name, data);
}

Result<Bytes> S3Storage::Get(const std::string& name) {
  HttpRequest request{"GET", Target(options_.prefix + name), {}, {}};
  request.max_response_bytes = kMaxObjectRead;
  auto response = Call(request, name);
  if (!response.ok()) return response.status();
  if (response->status != 200) return ErrorFrom(*response, "GET", name);
  return std::move(response->body);
}

Result<Bytes> S3Storage::GetAtMost(const std::string& name, uint64_t max_size) {
  // One ranged request: the answer says the object's whole size, so a
  // larger object is refused without being read.
  HttpRequest request{"GET",
                      Target(options_.prefix + name),
                      {{"Range", "bytes=0-" + std::to_string(max_size)}},
                      {}};
  request.max_response_bytes = max_size + 1;
  auto response = Call(request, name);
  if (!response.ok()) return response.status();
  if (response->status == 416) return Bytes{};  // an empty object has no byte 0
  if (response->status != 200 && response->status != 206) return ErrorFrom(*response, "GET", name);
  auto total = TotalFromContentRange(response->Header("content-range"));
  const uint64_t size = total.value_or(response->body.size());
  if (size > max_size) return TooLarge(name, size, max_size);
  return std::move(response->body);
}

Result<Bytes> S3Storage::GetRange(const std::string& name, uint64_t offset, uint64_t length) {
  auto bytes = GetRangeUpTo(name, offset, length);
  if (bytes.ok() && bytes->size() == length) return bytes;
  if (!bytes.ok() && bytes.status().code() != ErrorCode::kCorrupt) return bytes.status();
  return Status::Error(ErrorCode::kCorrupt, "object \"" + name + "\" is shorter than " +
                                                std::to_string(offset + length) + " bytes");
}

Result<Bytes> S3Storage::GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) {
  if (length == 0) return Bytes{};
  HttpRequest request{
      "GET",
      Target(options_.prefix + name),
      {{"Range", "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1)}},
      {}};
  request.max_response_bytes = length;
  auto response = Call(request, name);
  if (!response.ok()) return response.status();
  const auto ends = [&] {
    return Status::Error(ErrorCode::kCorrupt,
                         "object \"" + name + "\" ends before byte " + std::to_string(offset));
  };
  if (response->status == 416) return ends();
  if (response->status == 200) {
    // A server that ignores Range sends the whole object (bounded above): cut it here.
    if (response->body.size() <= offset) return ends();
    const uint64_t end = std::min<uint64_t>(response->body.size(), offset + length);
    return Bytes(response->body.begin() + offset, response->body.begin() + end);
  }
  if (response->status != 206) return ErrorFrom(*response, "GET", name);
  if (response->body.empty()) return ends();
  return std::move(response->body);
}

Result<std::vector<S3ListedObject>> S3Storage::ListKeys(const std::string& key_prefix) {
  std::vector<S3ListedObject> all;
  std::string token;
  std::set<std::string> seen;
  for (int page = 0;; ++page) {
    std::string query = "list-type=2&max-keys=1000";
    // Query names in order: the signature covers the query as sent.
    if (!token.empty()) query = "continuation-token=" + S3EncodeQueryValue(token) + "&" + query;
    query += "&prefix=" + S3EncodeQueryValue(key_prefix);
    HttpRequest request{"GET", BucketTarget(query), {}, {}};
    request.max_response_bytes = 8 << 20;
    auto response = Call(request, "");
    if (!response.ok()) return response.status();
    if (response->status != 200) return ErrorFrom(*response, "GET", "");
    auto parsed = ParseS3ListPage(BodyText(*response));
    if (!parsed)
      return Status::Error(ErrorCode::kIo, "the object store's listing of \"" + key_prefix +
                                               "\" in bucket \"" + options_.bucket +
                                               "\" is not a ListObjectsV2 answer");
    for (S3ListedObject& o : parsed->objects) all.push_back(std::move(o));
    if (!parsed->truncated) return all;
    // A token given before would list the same pages again, for ever.
    if (!seen.insert(parsed->next_token).second)
      return Status::Error(ErrorCode::kIo, "the object store's listing of \"" + key_prefix +
                                               "\" in bucket \"" + options_.bucket +
                                               "\" goes round in a circle (a continuation "
                                               "token came back a second time)");
    token = parsed->next_token;
  }
}

Result<std::vector<ObjectInfo>> S3Storage::List(const std::string& prefix) {
  auto keys = ListKeys(options_.prefix + prefix);
  if (!keys.ok()) return keys.status();
  std::vector<ObjectInfo> objects;
  for (const S3ListedObject& o : *keys) {
    if (o.key.size() < options_.prefix.size()) continue;
    std::string name = o.key.substr(options_.prefix.size());
    if (name.rfind(kClaimsDir, 0) == 0) continue;
    if (o.storage_class == "GLACIER" || o.storage_class == "DEEP_ARCHIVE")
      return Status::Error(
          ErrorCode::kRepoFormat,
          "object \"" + name + "\" in bucket \"" + options_.bucket + "\" is in storage class " +
              o.storage_class + ", which cannot be read without a restore request",
          "packs are shared by newer backups, so archiving them breaks every backup that uses "
          "them: remove the bucket's lifecycle rule and restore the objects; for cold copies use "
          "a [[copy]] target with its own storage_class (docs/s3.md)");
    objects.push_back({std::move(name), o.size, o.modified});
  }
  return objects;
}

Status S3Storage::Delete(const std::string& name) {
  auto response = Call({"DELETE", Target(options_.prefix + name), {}, {}}, name);
  if (!response.ok()) return response.status();
  if (response->status / 100 != 2 && response->status != 404)
    return ErrorFrom(*response, "DELETE", name);
  return Status::Ok();
}

Result<bool> S3Storage::Exists(const std::string& name) {
  auto response = Call({"HEAD", Target(options_.prefix + name), {}, {}}, name);
  if (!response.ok()) return response.status();
  if (response->status == 200) return true;
  if (response->status == 404) return false;
  return ErrorFrom(*response, "HEAD", name);
}

Result<std::vector<S3Upload>> S3Storage::ListUploads() {
  std::vector<S3Upload> all;
  std::string key_marker, id_marker;
  std::set<std::string> seen;
  for (;;) {
    std::string query;
    if (!key_marker.empty()) query += "key-marker=" + S3EncodeQueryValue(key_marker) + "&";
    query += "prefix=" + S3EncodeQueryValue(options_.prefix);
    if (!id_marker.empty()) query += "&upload-id-marker=" + S3EncodeQueryValue(id_marker);
    query += "&uploads=";
    HttpRequest request{"GET", BucketTarget(query), {}, {}};
    request.max_response_bytes = 8 << 20;
    auto response = Call(request, "");
    if (!response.ok()) return response.status();
    if (response->status != 200) return ErrorFrom(*response, "GET", "");
    auto parsed = ParseS3UploadPage(BodyText(*response));
    if (!parsed)
      return Status::Error(ErrorCode::kIo,
                           "the object store's list of unfinished uploads in "
                           "bucket \"" +
                               options_.bucket + "\" cannot be read");
    for (S3Upload& u : parsed->uploads) all.push_back(std::move(u));
    if (!parsed->truncated) return all;
    if (!seen.insert(parsed->next_key_marker + '\n' + parsed->next_upload_id_marker).second)
      return Status::Error(ErrorCode::kIo,
                           "the object store's list of unfinished uploads in bucket \"" +
                               options_.bucket +
                               "\" goes round in a circle (a marker came back a second time)");
    key_marker = parsed->next_key_marker;
    id_marker = parsed->next_upload_id_marker;
  }
}

Result<int> S3Storage::CleanupTemporary(bool no_other_writers) {
  const int64_t now = env_.NowMicros() / 1000000;
  int removed = 0;
  auto uploads = ListUploads();
  if (!uploads.ok()) return uploads.status();
  for (const S3Upload& u : *uploads) {
    // With the exclusive lock held nobody else is writing, so every
    // unfinished upload is a dead writer's; otherwise only old ones are.
    // wal-push takes no lock (PostgreSQL's archiver must never wait): a WAL
    // upload ("wal/", repo/format.h) is a dead writer's only once old.
    const bool wal = u.key.compare(0, options_.prefix.size() + 4, options_.prefix + "wal/") == 0;
    if ((!no_other_writers || wal) && now - u.initiated < kStaleUploadSeconds) continue;
    PGKEEP_RETURN_IF_ERROR(AbortUpload(u.key, u.upload_id));
    ++removed;
  }
  auto claims = ListKeys(options_.prefix + kClaimsDir);
  if (!claims.ok()) return claims.status();
  for (const S3ListedObject& c : *claims) {
    if (now - c.modified < kStaleClaimSeconds) continue;
    PGKEEP_RETURN_IF_ERROR(Delete(c.key.substr(options_.prefix.size())));
    ++removed;
  }
  return removed;
}

}  // namespace pgkeep
