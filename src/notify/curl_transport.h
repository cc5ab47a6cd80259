// notify/curl_transport.h — the real Transport, on libcurl: HTTP(S) POSTs
// for webhooks and SMTP (smtp://, smtps://, STARTTLS when the server offers
// it) for e-mail. Bounded: 5 s to connect, 15 s in all, redirects not
// followed, at most 64 KiB of a response read. Errors name what failed
// ("HTTP 500", curl's message), never the URL.
//
// Thread safety: each call uses its own curl handle; any thread may call.
#pragma once

#include "notify/channel.h"

namespace pgkeep {

class CurlTransport : public Transport {
 public:
  CurlTransport();
  Status PostJson(const std::string& url, const std::string& body) override;
  Status SendMail(const std::string& smtp_url, const std::string& from,
                  const std::vector<std::string>& to, const std::string& message) override;
};

}  // namespace pgkeep
