// What each channel sends, through a recording Transport: the webhook's
// JSON, Slack's text, the e-mail's headers; names never hold the URL.
#include "notify/channel.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pgkeep {
namespace {

class RecordingTransport : public Transport {
 public:
  Status PostJson(const std::string& url, const std::string& body) override {
    posts.push_back({url, body});
    return Status::Ok();
  }
  Status SendMail(const std::string& smtp_url, const std::string& from,
                  const std::vector<std::string>& to, const std::string& message) override {
    mails.push_back({smtp_url, from, to, message});
    return Status::Ok();
  }
  struct Post {
    std::string url, body;
  };
  struct Mail {
    std::string url, from;
    std::vector<std::string> to;
    std::string message;
  };
  std::vector<Post> posts;
  std::vector<Mail> mails;
};

TEST(ChannelTest, EachChannelSaysWhatHappenedInItsOwnForm) {
  std::vector<AlertConfig> alerts(3);
  alerts[0].type = "webhook";
  alerts[0].url = "http://127.0.0.1:9/hook?token=s3cret";
  alerts[1].type = "slack";
  alerts[1].url = "https://hooks.slack.example/T000/B000/XXXX";
  alerts[2].type = "email";
  alerts[2].to = "ops@example.com, oncall@example.com";
  alerts[2].smtp_url = "smtp://127.0.0.1:2525";
  RecordingTransport t;
  auto channels = ChannelsFromConfig(alerts, t, "db-host");
  ASSERT_EQ(channels.size(), 3u);
  EXPECT_EQ(channels[0]->name(), "webhook #1");
  EXPECT_EQ(channels[1]->name(), "slack #2");
  EXPECT_EQ(channels[2]->name(), "email #3");
  EXPECT_EQ(channels[1]->id().rfind("slack:", 0), 0u);
  EXPECT_EQ(channels[1]->id().find("XXXX"), std::string::npos);  // the URL is not in it
  // A channel keeps its id when another is put before it.
  std::vector<AlertConfig> reordered = {alerts[2], alerts[0]};
  auto again = ChannelsFromConfig(reordered, t, "db-host");
  EXPECT_EQ(again[1]->name(), "webhook #2");
  EXPECT_EQ(again[1]->id(), channels[0]->id());

  AlertEvent down{
      "database/main/health", "main", true, "cannot reach the database: refused", 600, 600};
  for (auto& c : channels) ASSERT_TRUE(c->Send(down).ok());
  ASSERT_EQ(t.posts.size(), 2u);
  auto hook = nlohmann::json::parse(t.posts[0].body);
  EXPECT_EQ(hook["event"], "alert");
  EXPECT_EQ(hook["database"], "main");
  EXPECT_EQ(hook["key"], "database/main/health");
  EXPECT_EQ(hook["host"], "db-host");
  EXPECT_EQ(hook["summary"], "ALERT main: cannot reach the database: refused");
  auto slack = nlohmann::json::parse(t.posts[1].body);
  EXPECT_NE(slack["text"].get<std::string>().find("ALERT main"), std::string::npos);
  ASSERT_EQ(t.mails.size(), 1u);
  EXPECT_EQ(t.mails[0].to, (std::vector<std::string>{"ops@example.com", "oncall@example.com"}));
  EXPECT_EQ(t.mails[0].from, "pgkeep@db-host");
  EXPECT_NE(t.mails[0].message.find("Subject: [pgkeep] ALERT main: cannot reach"),
            std::string::npos);

  AlertEvent up{"database/main/health", "main", false, "the database is healthy", 1500, 600};
  EXPECT_EQ(AlertSummary(up), "RECOVERED main: the database is healthy (after 15 min)");
}

TEST(ChannelTest, AReasonCannotAddMailHeaders) {
  std::vector<AlertConfig> alerts(1);
  alerts[0].type = "email";
  alerts[0].to = "ops@example.com";
  RecordingTransport t;
  auto channels = ChannelsFromConfig(alerts, t, "h");
  AlertEvent e{"database/x/health", "x", true, "boom\r\nBcc: attacker@example.com", 1, 1};
  ASSERT_TRUE(channels[0]->Send(e).ok());
  EXPECT_EQ(t.mails[0].message.find("\r\nBcc:"), std::string::npos);
}

}  // namespace
}  // namespace pgkeep
