#include "storage/s3_xml.h"

#include <tinyxml2.h>

#include <cstdlib>

#include "common/clock.h"
#include "common/markup.h"

namespace pgkeep {

namespace {

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

const XMLElement* Root(XMLDocument& doc, const std::string& xml, const char* name) {
  if (doc.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) return nullptr;
  const XMLElement* root = doc.RootElement();
  if (root == nullptr || std::string(root->Name()) != name) return nullptr;
  return root;
}

std::string Text(const XMLElement* parent, const char* name) {
  const XMLElement* e = parent->FirstChildElement(name);
  if (e == nullptr || e->GetText() == nullptr) return "";
  return e->GetText();
}

int64_t Time(const XMLElement* parent, const char* name) {
  return ParseIsoTime(Text(parent, name)).value_or(0);
}

}  // namespace

std::optional<S3ErrorBody> ParseS3Error(const std::string& xml) {
  XMLDocument doc;
  const XMLElement* root = Root(doc, xml, "Error");
  if (root == nullptr) return std::nullopt;
  // Servers echo request details in errors; keep the sentence short.
  auto bounded = [](std::string s) { return s.size() > 300 ? s.substr(0, 300) + "..." : s; };
  return S3ErrorBody{bounded(Text(root, "Code")), bounded(Text(root, "Message")),
                     bounded(Text(root, "Region"))};
}

std::optional<S3ListPage> ParseS3ListPage(const std::string& xml) {
  XMLDocument doc;
  const XMLElement* root = Root(doc, xml, "ListBucketResult");
  if (root == nullptr) return std::nullopt;
  S3ListPage page;
  page.truncated = Text(root, "IsTruncated") == "true";
  page.next_token = Text(root, "NextContinuationToken");
  for (const XMLElement* c = root->FirstChildElement("Contents"); c != nullptr;
       c = c->NextSiblingElement("Contents")) {
    S3ListedObject o;
    o.key = Text(c, "Key");
    o.size = std::strtoull(Text(c, "Size").c_str(), nullptr, 10);
    o.modified = Time(c, "LastModified");
    o.storage_class = Text(c, "StorageClass");
    if (!o.key.empty()) page.objects.push_back(std::move(o));
  }
  // A truncated page without a token would list the same page forever.
  if (page.truncated && page.next_token.empty()) return std::nullopt;
  return page;
}

std::optional<std::string> ParseS3UploadId(const std::string& xml) {
  XMLDocument doc;
  const XMLElement* root = Root(doc, xml, "InitiateMultipartUploadResult");
  if (root == nullptr) return std::nullopt;
  std::string id = Text(root, "UploadId");
  if (id.empty() || id.size() > 1024) return std::nullopt;
  return id;
}

std::optional<S3UploadPage> ParseS3UploadPage(const std::string& xml) {
  XMLDocument doc;
  const XMLElement* root = Root(doc, xml, "ListMultipartUploadsResult");
  if (root == nullptr) return std::nullopt;
  S3UploadPage page;
  page.truncated = Text(root, "IsTruncated") == "true";
  page.next_key_marker = Text(root, "NextKeyMarker");
  page.next_upload_id_marker = Text(root, "NextUploadIdMarker");
  for (const XMLElement* u = root->FirstChildElement("Upload"); u != nullptr;
       u = u->NextSiblingElement("Upload")) {
    S3Upload upload{Text(u, "Key"), Text(u, "UploadId"), Time(u, "Initiated")};
    if (!upload.key.empty() && !upload.upload_id.empty()) page.uploads.push_back(upload);
  }
  if (page.truncated && page.next_key_marker.empty()) return std::nullopt;
  return page;
}

std::string S3CompleteUploadXml(const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
           EscapeMarkup(etags[i]) + "</ETag></Part>";
  }
  return xml + "</CompleteMultipartUpload>";
}

}  // namespace pgkeep
