// S3Storage against a scripted HTTP client: what goes out (targets, headers,
// parts) and what each kind of answer becomes (retries, errors a user reads).
// The whole driver against a real S3-protocol server is in
// tests/integration/s3_test.cc.
#include "storage/s3_storage.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

#include "common/clock.h"
#include "support/clock_env.h"

namespace pgkeep {
namespace {

HttpResponse Answer(int status, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body.assign(body.begin(), body.end());
  r.headers = std::move(headers);
  return r;
}

std::string ErrorXml(const std::string& code, const std::string& extra = "") {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>it said so</Message>" +
         extra + "</Error>";
}

// Answers from a script, in order; records every request.
class ScriptedHttp final : public HttpClient {
 public:
  explicit ScriptedHttp(std::deque<Result<HttpResponse>> script) : script_(std::move(script)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard lock(mu_);
    sent_.push_back({request.method, request.target, request.headers,
                     Bytes(request.body.begin(), request.body.end())});
    if (script_.empty()) return Answer(500, ErrorXml("ScriptEnded"));
    auto next = std::move(script_.front());
    script_.pop_front();
    return next;
  }
  HttpCounters Counters() const override { return {}; }

  struct Sent {
    std::string method, target;
    std::vector<std::pair<std::string, std::string>> headers;
    Bytes body;
    std::string Header(const std::string& name) const {
      for (const auto& [n, v] : headers)
        if (n == name) return v;
      return "";
    }
  };
  std::vector<Sent> sent_;

 private:
  std::mutex mu_;
  std::deque<Result<HttpResponse>> script_;
};

class S3StorageTest : public ::testing::Test {
 protected:
  S3Storage Make(std::deque<Result<HttpResponse>> script, S3StorageOptions options = {}) {
    auto http = std::make_unique<ScriptedHttp>(std::move(script));
    http_ = http.get();
    options.endpoint = "https://s3.example.test";
    options.bucket = "acme";
    options.bucket_path = "/acme";
    options.prefix = "pg/";
    options.region = "eu-west-1";
    options.credential_source = "$AWS_ACCESS_KEY_ID";
    return S3Storage(env_, std::move(http), std::move(options));
  }

  // The answers to a successful upload in two parts: started, two parts
  // with their ETags, completed.
  static std::deque<Result<HttpResponse>> TwoPartUpload() {
    return {Answer(200,
                   "<InitiateMultipartUploadResult><UploadId>up/1</UploadId>"
                   "</InitiateMultipartUploadResult>"),
            Answer(200, "", {{"etag", "\"e1\""}}), Answer(200, "", {{"etag", "\"e2\""}}),
            Answer(200, "<CompleteMultipartUploadResult/>")};
  }

  ManualClock clock_;
  PosixEnv posix_;
  testing::ClockEnv env_{posix_, clock_};
  ScriptedHttp* http_ = nullptr;
};

TEST_F(S3StorageTest, PutSendsTheBodyWithItsHashUnderThePrefix) {
  S3StorageOptions options;
  options.storage_class = "STANDARD_IA";
  options.storage_class_by_kind = {{"wal", "ONEZONE_IA"}};
  options.sse = "aws:kms";
  options.sse_kms_key_id = "key-1";
  S3Storage s3 = Make({Answer(200), Answer(200)}, options);
  ASSERT_TRUE(s3.Put("data/ab/cd ef", AsBytes(std::string_view("hello"))).ok());
  ASSERT_TRUE(s3.Put("wal/db/000000010000000000000001", AsBytes(std::string_view("w"))).ok());
  const auto& put = http_->sent_[0];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, "/acme/pg/data/ab/cd%20ef");
  EXPECT_EQ(put.Header("x-amz-content-sha256"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(put.Header("x-amz-storage-class"), "STANDARD_IA");
  EXPECT_EQ(put.Header("x-amz-server-side-encryption"), "aws:kms");
  EXPECT_EQ(put.Header("x-amz-server-side-encryption-aws-kms-key-id"), "key-1");
  EXPECT_EQ(http_->sent_[1].Header("x-amz-storage-class"), "ONEZONE_IA");
}

TEST_F(S3StorageTest, SlowDownAndResetsAreRetriedWithGrowingPauses) {
  S3Storage s3 = Make({Answer(503, ErrorXml("SlowDown")),
                       Status::Error(ErrorCode::kIo, "PUT: Connection reset by peer"),
                       Answer(500, ErrorXml("InternalError")), Answer(200)});
  const int64_t before = clock_.MonotonicMicros();
  ASSERT_TRUE(s3.Put("locks/x", AsBytes(std::string_view("l"))).ok());
  EXPECT_EQ(http_->sent_.size(), 4u);
  // 3 pauses of at least half their cap: 50 + 100 + 200 ms.
  EXPECT_GE(clock_.MonotonicMicros() - before, 350000);
}

TEST_F(S3StorageTest, RetriesStopAtTheTimeBudgetAndSayHowLong) {
  S3StorageOptions options;
  options.retry_seconds = 3;
  std::deque<Result<HttpResponse>> script;
  for (int i = 0; i < 100; ++i) script.push_back(Answer(503, ErrorXml("SlowDown")));
  S3Storage s3 = Make(std::move(script), options);
  Status put = s3.Put("data/x", AsBytes(std::string_view("x")));
  EXPECT_EQ(put.code(), ErrorCode::kIo);
  EXPECT_NE(put.message().find("HTTP 503 (SlowDown"), std::string::npos) << put.message();
  EXPECT_NE(put.message().find("gave up after"), std::string::npos) << put.message();
  EXPECT_LT(http_->sent_.size(), 20u);
}

TEST_F(S3StorageTest, AFailureThatIsNotTransientIsNotRetried) {
  // A certificate the CA file does not vouch for (what the HTTP client says then).
  S3Storage s3 = Make({Status::Error(ErrorCode::kConfig,
                                     "GET https://s3.example.test: SSL peer certificate or SSH "
                                     "remote key was not OK")});
  auto got = s3.Get("config");
  EXPECT_EQ(got.status().code(), ErrorCode::kConfig);
  EXPECT_EQ(http_->sent_.size(), 1u);
}

TEST_F(S3StorageTest, ErrorsSayWhatIsWrongAndNeverTheSecret) {
  struct Case {
    HttpResponse answer;
    ErrorCode code;
    std::string says;
  };
  const std::vector<Case> cases = {
      {Answer(403, ErrorXml("SignatureDoesNotMatch")), ErrorCode::kAuth,
       "access to bucket \"acme\" at https://s3.example.test was refused for the access key "
       "from $AWS_ACCESS_KEY_ID (SignatureDoesNotMatch: it said so)"},
      {Answer(404, ErrorXml("NoSuchBucket")), ErrorCode::kRepoNotFound,
       "bucket \"acme\" does not exist at https://s3.example.test"},
      {Answer(400, ErrorXml("AuthorizationHeaderMalformed", "<Region>us-east-2</Region>")),
       ErrorCode::kConfig, "bucket \"acme\" is in region \"us-east-2\", not \"eu-west-1\""},
      {Answer(301, "", {{"x-amz-bucket-region", "ap-south-1"}}), ErrorCode::kConfig,
       "is in region \"ap-south-1\""},
      {Answer(403, ErrorXml("RequestTimeTooSkewed")), ErrorCode::kIo,
       "this host's clock is more than 15 minutes away"},
      {Answer(403, ErrorXml("InvalidObjectState")), ErrorCode::kRepoFormat,
       "is in an archive storage class"},
      {Answer(404, ErrorXml("NoSuchKey")), ErrorCode::kNotFound,
       "object \"snapshots/s1\" in bucket \"acme\" does not exist"},
  };
  for (const Case& c : cases) {
    S3Storage s3 = Make({c.answer});
    auto got = s3.Get("snapshots/s1");
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), c.code) << c.says;
    EXPECT_NE(got.status().message().find(c.says), std::string::npos) << got.status().message();
  }
}

TEST_F(S3StorageTest, GetAtMostRefusesALargerObjectFromOneRangedAnswer) {
  S3Storage s3 = Make({Answer(206, "0123456789a", {{"content-range", "bytes 0-10/5000000"}}),
                       Answer(206, "abc", {{"content-range", "bytes 0-2/3"}})});
  auto big = s3.GetAtMost("locks/a", 10);
  EXPECT_EQ(big.status().code(), ErrorCode::kRepoFormat);
  EXPECT_NE(big.status().message().find("5000000 bytes"), std::string::npos);
  EXPECT_EQ(http_->sent_[0].Header("Range"), "bytes=0-10");
  auto small = s3.GetAtMost("locks/b", 10);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(std::string(small->begin(), small->end()), "abc");
}

TEST_F(S3StorageTest, ShortRangeIsCorrupt) {
  S3Storage s3 = Make({Answer(206, "abc"), Answer(416, ErrorXml("InvalidRange"))});
  EXPECT_EQ(s3.GetRange("data/p", 10, 5).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(s3.GetRange("data/p", 10, 5).status().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(http_->sent_[0].Header("Range"), "bytes=10-14");
}

TEST_F(S3StorageTest, ListFollowsContinuationTokensAndHidesClaims) {
  auto page = [](const std::string& keys, const std::string& next) {
    std::string xml = "<ListBucketResult>";
    size_t start = 0;
    while (start < keys.size()) {
      size_t end = keys.find(',', start);
      if (end == std::string::npos) end = keys.size();
      xml += "<Contents><Key>" + keys.substr(start, end - start) +
             "</Key><Size>7</Size><LastModified>2026-12-01T10:00:00.000Z</LastModified>"
             "<StorageClass>STANDARD</StorageClass></Contents>";
      start = end + 1;
    }
    xml += next.empty() ? "<IsTruncated>false</IsTruncated>"
                        : "<IsTruncated>true</IsTruncated><NextContinuationToken>" + next +
                              "</NextContinuationToken>";
    return xml + "</ListBucketResult>";
  };
  S3Storage s3 = Make({Answer(200, page("pg/data/a,pg/data/b", "t/1+")),
                       Answer(200, page("pg/data/c,pg/claims/data/c/x", ""))});
  auto listed = s3.List("data/");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->size(), 3u);
  EXPECT_EQ((*listed)[2].name, "data/c");
  EXPECT_EQ((*listed)[0].size, 7u);
  EXPECT_EQ((*listed)[0].modified, 1796119200);
  EXPECT_EQ(http_->sent_[0].target, "/acme?list-type=2&max-keys=1000&prefix=pg%2Fdata%2F");
  EXPECT_EQ(http_->sent_[1].target,
            "/acme?continuation-token=t%2F1%2B&list-type=2&max-keys=1000&prefix=pg%2Fdata%2F");
}

TEST_F(S3StorageTest, ArchivedPacksAreRefusedWithWhatWorksInstead) {
  S3Storage s3 = Make({Answer(
      200,
      "<ListBucketResult><Contents><Key>pg/data/ab/p1</Key><Size>9</Size><StorageClass>GLACIER"
      "</StorageClass></Contents><IsTruncated>false</IsTruncated></ListBucketResult>")});
  auto listed = s3.List("data/");
  EXPECT_EQ(listed.status().code(), ErrorCode::kRepoFormat);
  EXPECT_NE(listed.status().message().find("\"data/ab/p1\""), std::string::npos);
  EXPECT_NE(listed.status().hint().find("[[copy]]"), std::string::npos);
}

TEST_F(S3StorageTest, LargeObjectsGoUpInPartsAndAFailedPartAbortsTheUpload) {
  S3StorageOptions options;
  options.part_size = 5 << 20;
  options.parallel_parts = 1;  // the script's order is the parts' order
  const std::string initiated =
      "<InitiateMultipartUploadResult><UploadId>up/1</UploadId></InitiateMultipartUploadResult>";
  S3Storage ok = Make(TwoPartUpload(), options);
  Bytes data((5 << 20) + 10, 7);
  ASSERT_TRUE(ok.Put("data/big", data).ok());
  ASSERT_EQ(http_->sent_.size(), 4u);
  EXPECT_EQ(http_->sent_[0].target, "/acme/pg/data/big?uploads=");
  EXPECT_EQ(http_->sent_[1].target, "/acme/pg/data/big?partNumber=1&uploadId=up%2F1");
  EXPECT_EQ(http_->sent_[1].body.size(), 5u << 20);
  EXPECT_EQ(http_->sent_[2].body.size(), 10u);
  const std::string complete(http_->sent_[3].body.begin(), http_->sent_[3].body.end());
  EXPECT_EQ(complete,
            "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
            "</Part><Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"
            "</CompleteMultipartUpload>");

  // A completion that answers 200 with an error inside failed: the upload is aborted.
  S3StorageOptions no_retries = options;
  no_retries.retry_seconds = 0;
  S3Storage failing = Make(
      {Answer(200, initiated), Answer(200, "", {{"etag", "\"e1\""}}),
       Answer(200, "", {{"etag", "\"e2\""}}), Answer(200, ErrorXml("InternalError")), Answer(204)},
      no_retries);
  EXPECT_FALSE(failing.Put("data/big", data).ok());
  EXPECT_EQ(http_->sent_.back().method, "DELETE");
  EXPECT_EQ(http_->sent_.back().target, "/acme/pg/data/big?uploadId=up%2F1");
}

TEST_F(S3StorageTest, PacksGoUpInOnePutAndLargerObjectsInEqualParts) {
  // A pack is 16 MiB and a little more: one PUT with the default part size.
  S3Storage one = Make({Answer(200)});
  ASSERT_TRUE(one.Put("data/pack", Bytes((16 << 20) + 61'000, 1)).ok());
  ASSERT_EQ(http_->sent_.size(), 1u);
  EXPECT_EQ(http_->sent_[0].method, "PUT");
  EXPECT_EQ(http_->sent_[0].target, "/acme/pg/data/pack");

  // Just over the part size: two halves, not a full part and a sliver.
  S3StorageOptions options;
  options.part_size = 16 << 20;
  options.parallel_parts = 1;
  S3Storage halves = Make(TwoPartUpload(), options);
  ASSERT_TRUE(halves.Put("data/big", Bytes((16 << 20) + 1001, 2)).ok());
  ASSERT_EQ(http_->sent_.size(), 4u);
  EXPECT_EQ(http_->sent_[1].body.size(), (8u << 20) + 501);
  EXPECT_EQ(http_->sent_[2].body.size(), (8u << 20) + 500);

  // Parts never under S3's minimum of 5 MiB, but for the last.
  options.part_size = 5 << 20;
  S3Storage minimum = Make(TwoPartUpload(), options);
  ASSERT_TRUE(minimum.Put("data/big", Bytes((5 << 20) + 3, 2)).ok());
  ASSERT_EQ(http_->sent_.size(), 4u);
  EXPECT_EQ(http_->sent_[1].body.size(), 5u << 20);
  EXPECT_EQ(http_->sent_[2].body.size(), 3u);
}

TEST_F(S3StorageTest, PutIfAbsentUsesAConditionalWriteWhereTheServerHonoursIt) {
  S3Storage s3 = Make({Answer(200), Answer(412, ErrorXml("PreconditionFailed")), Answer(204),
                       Answer(412, ErrorXml("PreconditionFailed")), Answer(200)});
  Status taken = s3.PutIfAbsent("wal/db/1", AsBytes(std::string_view("a")));
  EXPECT_EQ(taken.code(), ErrorCode::kConflict);
  EXPECT_EQ(http_->sent_[3].Header("If-None-Match"), "*");
  EXPECT_TRUE(s3.PutIfAbsent("wal/db/2", AsBytes(std::string_view("a"))).ok());
  EXPECT_EQ(http_->sent_.size(), 5u);  // probed once
}

// The answer to a write is lost, the retry finds the object there: its own
// write when the object holds exactly its bytes, someone else's when not.
TEST_F(S3StorageTest, AWriteWhoseAnswerWasLostIsNotAConflictWithItself) {
  S3StorageOptions conditional;
  conditional.put_if_absent = PutIfAbsentMethod::kConditional;
  const std::string body = "drill report";
  auto ranged = [](const std::string& bytes) {
    return Answer(206, bytes,
                  {{"content-range", "bytes 0-" + std::to_string(bytes.size() - 1) + "/" +
                                         std::to_string(bytes.size())}});
  };
  S3Storage mine = Make({Status::Error(ErrorCode::kIo, "PUT: Connection reset by peer"),
                         Answer(412, ErrorXml("PreconditionFailed")), ranged(body)},
                        conditional);
  EXPECT_TRUE(mine.PutIfAbsent("drills/x", AsBytes(body)).ok());
  EXPECT_EQ(http_->sent_.size(), 3u);
  EXPECT_EQ(http_->sent_[2].method, "GET");

  S3Storage theirs = Make({Status::Error(ErrorCode::kIo, "PUT: Connection reset by peer"),
                           Answer(412, ErrorXml("PreconditionFailed")), ranged("another report")},
                          conditional);
  EXPECT_EQ(theirs.PutIfAbsent("drills/x", AsBytes(body)).code(), ErrorCode::kConflict);

  // Sent once and refused: a conflict, nothing read back (the probe relies on it).
  S3Storage once = Make({Answer(412, ErrorXml("PreconditionFailed"))}, conditional);
  EXPECT_EQ(once.PutIfAbsent("drills/x", AsBytes(body)).code(), ErrorCode::kConflict);
  EXPECT_EQ(http_->sent_.size(), 1u);

  // A multipart completion sent again finds its upload gone (NoSuchUpload).
  S3StorageOptions small;
  small.part_size = 5 << 20;
  const std::string big(6 << 20, 'b');
  auto script = TwoPartUpload();
  script.pop_back();
  script.push_back(Status::Error(ErrorCode::kIo, "POST: Connection reset by peer"));
  script.push_back(Answer(404, ErrorXml("NoSuchUpload")));
  script.push_back(ranged(big));
  S3Storage completed = Make(std::move(script), small);
  EXPECT_TRUE(completed.Put("index/big", AsBytes(big)).ok());
}

TEST_F(S3StorageTest, WithoutConditionalWritesADifferentClaimIsAConflict) {
  S3StorageOptions options;
  options.put_if_absent = PutIfAbsentMethod::kClaim;
  const std::string other_claim =
      "<ListBucketResult><Contents><Key>pg/claims/wal/db/1/0000.ff</Key><Size>0</Size>"
      "</Contents><IsTruncated>false</IsTruncated></ListBucketResult>";
  S3Storage s3 = Make({Answer(404), Answer(200), Answer(200, other_claim), Answer(204)}, options);
  Status put = s3.PutIfAbsent("wal/db/1", AsBytes(std::string_view("a")));
  EXPECT_EQ(put.code(), ErrorCode::kConflict);
  EXPECT_NE(put.message().find("another writer"), std::string::npos);
  EXPECT_EQ(http_->sent_[1].method, "PUT");
  EXPECT_EQ(http_->sent_[1].target.rfind(
                "/acme/pg/claims/wal/db/1/"
                "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb.",
                0),
            0u);
  EXPECT_EQ(http_->sent_[3].method, "DELETE");  // our claim withdrawn
}

TEST_F(S3StorageTest, CleanupAbortsOnlyStaleUploadsUnlessNobodyElseWrites) {
  clock_.Set(1796119200LL * 1000000);  // 2026-12-01T10:00:00Z
  const std::string uploads =
      "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
      "<Upload><Key>pg/data/old</Key><UploadId>u1</UploadId>"
      "<Initiated>2026-12-01T08:00:00.000Z</Initiated></Upload>"
      "<Upload><Key>pg/data/new</Key><UploadId>u2</UploadId>"
      "<Initiated>2026-12-01T09:59:00.000Z</Initiated></Upload></ListMultipartUploadsResult>";
  const std::string no_claims =
      "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>";
  S3Storage shared = Make({Answer(200, uploads), Answer(204), Answer(200, no_claims)});
  EXPECT_EQ(shared.CleanupTemporary(false).value(), 1);
  EXPECT_EQ(http_->sent_[0].target, "/acme?prefix=pg%2F&uploads=");
  EXPECT_EQ(http_->sent_[1].target, "/acme/pg/data/old?uploadId=u1");
  S3Storage exclusive =
      Make({Answer(200, uploads), Answer(204), Answer(204), Answer(200, no_claims)});
  EXPECT_EQ(exclusive.CleanupTemporary(true).value(), 2);
  // wal-push takes no lock: a fresh WAL upload is left even then.
  const std::string wal_upload =
      "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
      "<Upload><Key>pg/wal/main/000000010000000000000003</Key><UploadId>u3</UploadId>"
      "<Initiated>2026-12-01T09:59:00.000Z</Initiated></Upload></ListMultipartUploadsResult>";
  S3Storage with_wal = Make({Answer(200, wal_upload), Answer(200, no_claims)});
  EXPECT_EQ(with_wal.CleanupTemporary(true).value(), 0);
}

TEST_F(S3StorageTest, AListingWhoseTokenComesBackStopsAndSaysSo) {
  auto page = [](const std::string& key, const std::string& next) {
    return "<ListBucketResult><Contents><Key>" + key +
           "</Key><Size>7</Size></Contents><IsTruncated>true</IsTruncated>"
           "<NextContinuationToken>" +
           next + "</NextContinuationToken></ListBucketResult>";
  };
  S3Storage s3 = Make({Answer(200, page("pg/data/a", "t1")), Answer(200, page("pg/data/b", "t2")),
                       Answer(200, page("pg/data/c", "t1"))});
  auto listed = s3.List("data/");
  ASSERT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), ErrorCode::kIo);
  EXPECT_NE(listed.status().message().find("goes round in a circle"), std::string::npos)
      << listed.status().message();
  EXPECT_EQ(http_->sent_.size(), 3u);
  const std::string uploads =
      "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker>"
      "<NextUploadIdMarker>u</NextUploadIdMarker></ListMultipartUploadsResult>";
  S3Storage again = Make({Answer(200, uploads), Answer(200, uploads)});
  auto cleaned = again.CleanupTemporary(true);
  ASSERT_FALSE(cleaned.ok());
  EXPECT_NE(cleaned.status().message().find("goes round in a circle"), std::string::npos)
      << cleaned.status().message();
}

}  // namespace
}  // namespace pgkeep
