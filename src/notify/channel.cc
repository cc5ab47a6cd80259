#include "notify/channel.h"

#include <nlohmann/json.hpp>

#include "codec/crypto.h"
#include "common/clock.h"

namespace pgkeep {

namespace {

// "<type>:<first 12 hex digits of SHA-256(where)>" from a name "<type> #N".
std::string ChannelId(const std::string& name, const std::string& where) {
  return name.substr(0, name.find(' ')) + ":" + HexEncode(Sha256(AsBytes(where))).substr(0, 12);
}

std::string Subject(const AlertEvent& e) { return e.database.empty() ? "repository" : e.database; }

nlohmann::json EventJson(const AlertEvent& e, const std::string& host) {
  return {{"event", e.firing ? "alert" : "recovered"},
          {"key", e.key},
          {"database", e.database},
          {"reason", e.reason},
          {"summary", AlertSummary(e)},
          {"at", FormatIsoTime(e.at)},
          {"since", FormatIsoTime(e.since)},
          {"host", host},
          {"source", "pgkeep"}};
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A channel that POSTs JSON to a URL: the webhook (the whole event) and the
// Slack-compatible one ({"text": ...}) differ only in the body.
class PostChannel : public AlertChannel {
 public:
  using Body = nlohmann::json (*)(const AlertEvent& e, const std::string& host);
  PostChannel(std::string name, std::string url, Transport& t, std::string host, Body body)
      : name_(std::move(name)),
        id_(ChannelId(name_, url)),
        url_(std::move(url)),
        t_(t),
        host_(std::move(host)),
        body_(body) {}
  const std::string& name() const override { return name_; }
  const std::string& id() const override { return id_; }
  Status Send(const AlertEvent& e) override { return t_.PostJson(url_, Dump(body_(e, host_))); }

 private:
  std::string name_, id_, url_;
  Transport& t_;
  std::string host_;
  Body body_;
};

nlohmann::json SlackBody(const AlertEvent& e, const std::string& host) {
  return {{"text", std::string(e.firing ? ":red_circle: " : ":large_green_circle: ") +
                       "pgkeep on " + host + ": " + AlertSummary(e)}};
}

// Header values must stay on one line.
std::string OneLine(std::string s) {
  for (char& c : s)
    if (c == '\r' || c == '\n') c = ' ';
  return s;
}

class EmailChannel : public AlertChannel {
 public:
  EmailChannel(std::string name, AlertConfig config, Transport& t, std::string host)
      : name_(std::move(name)),
        id_(ChannelId(name_, config.to + "|" + config.smtp_url)),
        config_(std::move(config)),
        t_(t),
        host_(std::move(host)) {}
  const std::string& name() const override { return name_; }
  const std::string& id() const override { return id_; }
  Status Send(const AlertEvent& e) override {
    const std::string from = config_.from.empty() ? "pgkeep@" + host_ : config_.from;
    std::string message =
        "From: " + OneLine(from) + "\r\nTo: " + OneLine(config_.to) + "\r\nSubject: [pgkeep] " +
        OneLine(AlertSummary(e)) + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
        (e.firing ? "Something needs attention" : "This is well again") + " on " + host_ +
        ".\r\n\r\n" + "what:   " + e.key + "\r\n" + "reason: " + OneLine(e.reason) + "\r\n" +
        "since:  " + FormatIsoTime(e.since) + "\r\n" + "at:     " + FormatIsoTime(e.at) + "\r\n";
    std::vector<std::string> to;
    size_t start = 0;
    while (start <= config_.to.size()) {
      size_t comma = config_.to.find(',', start);
      std::string one =
          config_.to.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      one.erase(0, one.find_first_not_of(' '));
      one.erase(one.find_last_not_of(' ') + 1);
      if (!one.empty()) to.push_back(one);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return t_.SendMail(config_.smtp_url.empty() ? "smtp://127.0.0.1:25" : config_.smtp_url, from,
                       to, message);
  }

 private:
  std::string name_, id_;
  AlertConfig config_;
  Transport& t_;
  std::string host_;
};

}  // namespace

std::string AlertSummary(const AlertEvent& e) {
  std::string text = std::string(e.firing ? "ALERT " : "RECOVERED ") + Subject(e) + ": " + e.reason;
  if (!e.firing && e.at > e.since && e.since > 0)
    text += " (after " + FormatSpan(e.at - e.since) + ")";
  return text;
}

std::vector<std::unique_ptr<AlertChannel>> ChannelsFromConfig(
    const std::vector<AlertConfig>& alerts, Transport& transport, const std::string& host) {
  std::vector<std::unique_ptr<AlertChannel>> out;
  for (size_t i = 0; i < alerts.size(); ++i) {
    const AlertConfig& a = alerts[i];
    const std::string name = a.type + " #" + std::to_string(i + 1);
    if (a.type == "webhook")
      out.push_back(std::make_unique<PostChannel>(name, a.url, transport, host, EventJson));
    else if (a.type == "slack")
      out.push_back(std::make_unique<PostChannel>(name, a.url, transport, host, SlackBody));
    else
      out.push_back(std::make_unique<EmailChannel>(name, a, transport, host));
  }
  return out;
}

}  // namespace pgkeep
