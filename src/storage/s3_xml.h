// storage/s3_xml.h — the S3 answers pgkeep reads, parsed from their XML
// (tinyxml2), and the one request body it writes (CompleteMultipartUpload).
//
// Parsers never throw and bound what they keep: an answer that is not the
// expected document yields nullopt, and the caller reports the object store
// as misbehaving.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pgkeep {

struct S3ErrorBody {
  std::string code;     // "NoSuchKey", "SlowDown", ...
  std::string message;  // the server's sentence
  std::string region;   // set by a wrong-region answer
};

struct S3ListedObject {
  std::string key;
  uint64_t size = 0;
  int64_t modified = 0;  // unix seconds, 0 when absent
  std::string storage_class;
};

struct S3ListPage {
  std::vector<S3ListedObject> objects;
  bool truncated = false;
  std::string next_token;  // continuation-token of the next page
};

struct S3Upload {
  std::string key;
  std::string upload_id;
  int64_t initiated = 0;  // unix seconds, 0 when absent
};

struct S3UploadPage {
  std::vector<S3Upload> uploads;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

// nullopt when `xml` is not an <Error> document (an empty HEAD answer).
std::optional<S3ErrorBody> ParseS3Error(const std::string& xml);
std::optional<S3ListPage> ParseS3ListPage(const std::string& xml);
std::optional<std::string> ParseS3UploadId(const std::string& xml);
std::optional<S3UploadPage> ParseS3UploadPage(const std::string& xml);
// The body of CompleteMultipartUpload: parts numbered from 1, in order.
std::string S3CompleteUploadXml(const std::vector<std::string>& etags);

}  // namespace pgkeep
