#include "notify/curl_transport.h"

#include <curl/curl.h>

#include <cstring>
#include <memory>

namespace pgkeep {

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

size_t DiscardBounded(char*, size_t size, size_t n, void* seen) {
  size_t& total = *static_cast<size_t*>(seen);
  total += size * n;
  // Returning less than given stops the transfer: a response is never read without bound.
  return total > 64 * 1024 ? 0 : size * n;
}

struct Upload {
  const std::string* text;
  size_t offset = 0;
};

size_t ReadUpload(char* buffer, size_t size, size_t n, void* data) {
  Upload& u = *static_cast<Upload*>(data);
  const size_t left = u.text->size() - u.offset;
  const size_t take = std::min(left, size * n);
  std::memcpy(buffer, u.text->data() + u.offset, take);
  u.offset += take;
  return take;
}

void Bound(CURL* c) {
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 15000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
}

}  // namespace

CurlTransport::CurlTransport() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Status CurlTransport::PostJson(const std::string& url, const std::string& body) {
  CurlHandle c(curl_easy_init());
  if (!c) return Status::Error(ErrorCode::kInternal, "cannot start an HTTP request");
  Slist headers(curl_slist_append(nullptr, "Content-Type: application/json"));
  size_t seen = 0;
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, DiscardBounded);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &seen);
  Bound(c.get());
  CURLcode rc = curl_easy_perform(c.get());
  long code = 0;
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &code);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && code > 0))
    return Status::Error(ErrorCode::kIo,
                         std::string("the request failed: ") + curl_easy_strerror(rc));
  if (code < 200 || code > 299)
    return Status::Error(ErrorCode::kIo, "the receiver answered HTTP " + std::to_string(code));
  return Status::Ok();
}

Status CurlTransport::SendMail(const std::string& smtp_url, const std::string& from,
                               const std::vector<std::string>& to, const std::string& message) {
  if (to.empty()) return Status::Error(ErrorCode::kConfig, "the e-mail alert has no recipient");
  CurlHandle c(curl_easy_init());
  if (!c) return Status::Error(ErrorCode::kInternal, "cannot start an SMTP session");
  Slist rcpt;
  for (const std::string& r : to) {
    curl_slist* next = curl_slist_append(rcpt.get(), ("<" + r + ">").c_str());
    (void)rcpt.release();
    rcpt.reset(next);
  }
  Upload upload{&message};
  const std::string mail_from = "<" + from + ">";
  curl_easy_setopt(c.get(), CURLOPT_URL, smtp_url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  // A login never goes out in clear: with credentials in the URL, TLS is
  // required (smtps://, or STARTTLS); without, it is used when offered.
  const size_t authority = smtp_url.find("://");
  const size_t at = smtp_url.find('@', authority == std::string::npos ? 0 : authority + 3);
  const bool login = at != std::string::npos && smtp_url.find('/', authority + 3) > at;
  curl_easy_setopt(c.get(), CURLOPT_USE_SSL,
                   static_cast<long>(login ? CURLUSESSL_ALL : CURLUSESSL_TRY));
  curl_easy_setopt(c.get(), CURLOPT_MAIL_FROM, mail_from.c_str());
  curl_easy_setopt(c.get(), CURLOPT_MAIL_RCPT, rcpt.get());
  curl_easy_setopt(c.get(), CURLOPT_READFUNCTION, ReadUpload);
  curl_easy_setopt(c.get(), CURLOPT_READDATA, &upload);
  curl_easy_setopt(c.get(), CURLOPT_UPLOAD, 1L);
  Bound(c.get());
  CURLcode rc = curl_easy_perform(c.get());
  if (rc != CURLE_OK)
    return Status::Error(ErrorCode::kIo,
                         std::string("sending the e-mail failed: ") + curl_easy_strerror(rc));
  return Status::Ok();
}

}  // namespace pgkeep
