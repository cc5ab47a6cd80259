// Alerts from a running daemon to real local receivers (a webhook and a
// Slack-compatible webhook served by the test, an SMTP server in Python):
// stopping PostgreSQL raises exactly one alert per channel and starting it
// again one recovery; a backup older than max_backup_age raises one.
#include <filesystem>
#include <mutex>

#include "serve_fixture.h"

namespace pgkeep {
namespace {

// An HTTP receiver on a free loopback port that keeps every POSTed body.
class Receiver {
 public:
  Receiver() : port_(testing::PickFreePort()) {
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
      res.set_content("ok", "text/plain");
    });
    if (!server_.bind_to_port("127.0.0.1", port_)) throw std::runtime_error("cannot bind");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/hook"; }
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }

 private:
  int port_;
  httplib::Server server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

constexpr char kSmtpServer[] = R"(
import asyncore, itertools, os, smtpd, sys
class Keep(smtpd.SMTPServer):
    count = itertools.count()
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        path = os.path.join(sys.argv[2], "mail-%d" % next(self.count))
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)
Keep(("127.0.0.1", int(sys.argv[1])), None, decode_data=False)
asyncore.loop()
)";

int Count(const std::vector<std::string>& texts, const std::string& needle) {
  int n = 0;
  for (const auto& t : texts) n += t.find(needle) != std::string::npos;
  return n;
}

std::vector<std::string> Mails(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".tmp") continue;
    std::ifstream in(e.path());
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

TEST_F(ServeTest, AnOutageRaisesOneAlertAndOneRecoveryPerChannel) {
  Receiver webhook, slack;
  const int smtp_port = testing::PickFreePort();
  Prepare("CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 100) g", "0 0 1 1 *",
          "max_backup_age = \"40s\"\n",
          "health_interval = \"1s\"\nstatus_interval = \"2s\"\nalert_min_interval = \"1s\"\n",
          "[[alert]]\ntype = \"webhook\"\nurl = \"" + webhook.url() +
              "\"\n\n[[alert]]\ntype = \"slack\"\nurl = \"" + slack.url() +
              "\"\n\n[[alert]]\ntype = \"email\"\nto = \"ops@example.com\"\nsmtp_url = "
              "\"smtp://127.0.0.1:" +
              std::to_string(smtp_port) + "\"\n");
  const std::string mail_dir = dir_ + "/mail";
  std::filesystem::create_directory(mail_dir);
  auto smtp = testing::ChildProcess::Spawn(
      {"python3", "-W", "ignore", "-c", kSmtpServer, std::to_string(smtp_port), mail_dir});
  ProcessResult backup =
      RunProcess({PGKEEP_BINARY, "--config", config_, "backup", "--db", "app"}, "", env_);
  ASSERT_EQ(backup.exit_code, 0) << backup.err;

  auto serve = Serve();
  ASSERT_TRUE(WaitFor(30, [&] {
    auto h = Get("/api/health");
    return h.first == 200 && !h.second["databases"].empty();
  }));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_TRUE(webhook.bodies().empty()) << "an alert while all is well: " << webhook.bodies()[0];

  cluster_->Stop();
  const std::string down = "cannot reach the database";
  auto all_told = [&](const std::string& needle, int n) {
    return Count(webhook.bodies(), needle) >= n && Count(slack.bodies(), needle) >= n &&
           Count(Mails(mail_dir), needle) >= n;
  };
  EXPECT_TRUE(WaitFor(30, [&] { return all_told(down, 1); }))
      << "webhook " << webhook.bodies().size() << ", slack " << slack.bodies().size() << ", mails "
      << Mails(mail_dir).size();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // still down: nothing more
  cluster_->Resume();
  const std::string up = "RECOVERED app: the database is healthy";
  EXPECT_TRUE(WaitFor(30, [&] { return all_told(up, 1); }));

  // The backup ages past max_backup_age (40 s after it was taken).
  const std::string old = "the newest backup";
  EXPECT_TRUE(WaitFor(60, [&] { return all_told(old, 1); }));
  std::this_thread::sleep_for(std::chrono::seconds(4));  // time for any duplicate to show

  for (const auto& [name, texts] :
       {std::pair{"webhook", webhook.bodies()}, std::pair{"slack", slack.bodies()},
        std::pair{"email", Mails(mail_dir)}}) {
    EXPECT_EQ(Count(texts, down), 1) << name;
    EXPECT_EQ(Count(texts, up), 1) << name;
    EXPECT_EQ(Count(texts, old), 1) << name;
  }
  auto hook = nlohmann::json::parse(webhook.bodies()[0]);
  EXPECT_EQ(hook["event"], "alert");
  EXPECT_EQ(hook["key"], "database/app/health");
  EXPECT_EQ(hook["database"], "app");
  serve.Kill(SIGTERM);
  EXPECT_EQ(serve.Wait(), 0);
}

}  // namespace
}  // namespace pgkeep
