// notify/channel.h — where alerts go ([[alert]] in the configuration):
//   webhook  POST of a JSON object (docs/alerts.md has its fields);
//   slack    POST of {"text": ...} to a Slack-compatible incoming webhook;
//   email    one message over SMTP (smtp_url, from, to).
// Each goes through a Transport, so tests can see what would be sent and
// the real one (notify/curl_transport.h) is the only code on the network.
//
// URLs can hold secrets (a Slack webhook URL is one): a channel's name and
// every error say the channel's type and position ("slack #2"), never its URL.
//
// Thread safety: a channel is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "notify/alert_tracker.h"

namespace pgkeep {

class Transport {
 public:
  virtual ~Transport() = default;
  // POSTs `body` as application/json; fails on a transport error or a
  // status other than 2xx. Errors never contain the URL.
  virtual Status PostJson(const std::string& url, const std::string& body) = 0;
  // Sends one RFC 5322 message (headers, blank line, body) over SMTP.
  virtual Status SendMail(const std::string& smtp_url, const std::string& from,
                          const std::vector<std::string>& to, const std::string& message) = 0;
};

class AlertChannel {
 public:
  virtual ~AlertChannel() = default;
  // "webhook #1", "slack #2", "email #3": in logs.
  virtual const std::string& name() const = 0;
  // Stable across reloads that add, remove or reorder channels: the type and
  // a hash of where it sends ("slack:3f9a0c1b2d4e"); keys its alert states.
  virtual const std::string& id() const = 0;
  virtual Status Send(const AlertEvent& event) = 0;
};

// One channel per [[alert]], numbered from 1 in the file's order; `host` is
// this machine's name, said in every message.
std::vector<std::unique_ptr<AlertChannel>> ChannelsFromConfig(
    const std::vector<AlertConfig>& alerts, Transport& transport, const std::string& host);

// The one-line summary every channel uses: "ALERT main: <reason>" or
// "RECOVERED main: <reason> (after 12 min)".
std::string AlertSummary(const AlertEvent& event);

}  // namespace pgkeep
