// storage/s3_storage.h — a repository in an S3-compatible bucket (AWS S3,
// MinIO, Ceph, R2, B2, Wasabi), under a key prefix.
//
// Correct on a store that allows overwrites and may be eventually
// consistent for listings: every object is written once under a name
// nobody else writes (content addresses, unique ids), so correctness never
// depends on an overwrite. Put is atomic because S3 makes an object visible
// only when its PUT (or its multipart upload's completion) succeeds; a
// writer that dies mid-upload leaves an unfinished multipart upload, which
// is invisible and which CleanupTemporary aborts.
//
// PutIfAbsent: with a conditional write (If-None-Match: *) where the server
// honours it — probed once per process, or set in the config — and
// otherwise with claims: the writer records "claims/<name>/<sha256>.<id>",
// lists the claims of that name, and backs off when another writer claims
// other content; of two writers of different content at least one always
// sees the other's claim (S3's read-after-write consistency for listings),
// so a difference is detected, never resolved silently. Claims are removed
// an hour later by CleanupTemporary.
//
// Every request is retried on 5xx, 429/503 SlowDown, resets and timeouts,
// with exponential backoff and jitter, for at most `retry_seconds` in all.
// Errors name the bucket and the object, never a credential.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/env.h"
#include "storage/http_client.h"
#include "storage/s3_xml.h"
#include "storage/storage.h"

namespace pgkeep {

enum class PutIfAbsentMethod { kAuto, kConditional, kClaim };

struct S3StorageOptions {
  std::string endpoint;  // for messages: "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string bucket_path;  // "/<bucket>" with path-style addressing, "" with virtual hosts
  std::string prefix;       // "" or ending in '/'
  std::string region;
  std::string credential_source;  // where the access key came from, for messages
  std::string storage_class;      // for every object written; empty: the bucket's default
  // Per kind of object, by the first part of its name ("data", "wal",
  // "snapshots", "drills"); overrides storage_class.
  std::map<std::string, std::string> storage_class_by_kind;
  std::string sse;             // "", "AES256" (SSE-S3) or "aws:kms" (SSE-KMS)
  std::string sse_kms_key_id;  // with "aws:kms"; empty: the account's default key
  // Objects larger than this go up in parts of equal size, at most this
  // large. Packs (16 MiB and a little more) and WAL go up in one PUT.
  uint64_t part_size = 64 << 20;
  int parallel_parts = 4;
  int retry_seconds = 60;
  PutIfAbsentMethod put_if_absent = PutIfAbsentMethod::kAuto;
};

class S3Storage final : public Storage {
 public:
  // `env` (clock, sleep, randomness) must outlive the storage.
  S3Storage(Env& env, std::unique_ptr<HttpClient> http, S3StorageOptions options);

  StorageFeatures Features() const override {
    return {.ranged_get = true, .local = false, .read_ahead = true};
  }
  std::string Describe() const override;
  Status Put(const std::string& name, ByteView data) override;
  Status PutIfAbsent(const std::string& name, ByteView data) override;
  Result<Bytes> Get(const std::string& name) override;
  Result<Bytes> GetAtMost(const std::string& name, uint64_t max_size) override;
  Result<Bytes> GetRange(const std::string& name, uint64_t offset, uint64_t length) override;
  Result<Bytes> GetRangeUpTo(const std::string& name, uint64_t offset, uint64_t length) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Status Delete(const std::string& name) override;
  Result<bool> Exists(const std::string& name) override;
  Result<int> CleanupTemporary(bool no_other_writers) override;

  HttpCounters Counters() const { return http_->Counters(); }

 private:
  enum class Conditional { kNone, kIfAbsent };
  // One request, retried as the class comment says; any answer that is not
  // retried is returned whatever its status. `attempts`, when given, is
  // set to how many times it was sent.
  Result<HttpResponse> Call(HttpRequest request, const std::string& object,
                            int* attempts = nullptr);
  // After a write that was sent more than once ended in `failed` (412, or
  // NoSuchUpload for a completion): an earlier attempt may have succeeded
  // with its answer lost. Ok when the object now holds exactly `data`.
  Status SucceededBefore(const std::string& name, ByteView data, Status failed);
  Status ErrorFrom(const HttpResponse& response, const std::string& method,
                   const std::string& object) const;
  std::string Target(const std::string& key, const std::string& query = "") const;
  std::string BucketTarget(const std::string& query) const;
  std::vector<std::pair<std::string, std::string>> WriteHeaders(const std::string& name) const;
  Status PutObject(const std::string& name, ByteView data, Conditional conditional);
  Status PutMultipart(const std::string& name, ByteView data, Conditional conditional);
  Result<std::string> UploadParts(const std::string& key, const std::string& upload_id,
                                  ByteView data, const std::string& name);
  Status AbortUpload(const std::string& key, const std::string& upload_id);
  Result<std::vector<S3ListedObject>> ListKeys(const std::string& key_prefix);
  Result<std::vector<S3Upload>> ListUploads();
  Result<bool> ServerHonoursConditionalWrites();
  Status PutIfAbsentWithClaim(const std::string& name, ByteView data);

  Env& env_;
  std::unique_ptr<HttpClient> http_;
  S3StorageOptions options_;
  std::mutex probe_mu_;
  std::optional<bool> conditional_writes_;  // known once probed
};

// Lowercase hex SHA-256, as x-amz-content-sha256 carries it.
std::string Sha256Hex(ByteView data);
// An S3 key percent-encoded for a URL path: RFC 3986 unreserved characters
// and '/' kept, everything else %XX.
std::string S3EncodeKey(const std::string& key);
// A query value percent-encoded the same way, '/' included.
std::string S3EncodeQueryValue(const std::string& value);

}  // namespace pgkeep
