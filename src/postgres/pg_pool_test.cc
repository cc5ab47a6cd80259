// PgPool with a counting connector and a manual clock: reuse, the max bound
// and its wait, broken connections not reused, idle and lifetime limits,
// the minimum kept open, and the DB_POOL_* variables.
#include "postgres/pg_pool.h"

#include <gtest/gtest.h>

#include <map>

#include "common/clock.h"

namespace pgkeep {
namespace {

class StubConnection : public PgConnection {
 public:
  explicit StubConnection(int* alive) : alive_(alive) { ++*alive_; }
  ~StubConnection() override { --*alive_; }
  Result<PgResult> Query(const std::string&, const std::vector<std::string>&) override {
    return PgResult{};
  }
  Status Exec(const std::string&) override { return Status::Ok(); }
  int ServerVersionNum() const override { return 150000; }
  std::string Describe() const override { return "stub"; }

 private:
  int* alive_;
};

class CountingConnector : public PgConnector {
 public:
  Result<std::unique_ptr<PgConnection>> Connect(const std::string&, const std::string& what,
                                                int) override {
    ++connects;
    if (refuse) return Status::Error(ErrorCode::kPostgres, "cannot connect to " + what);
    return std::unique_ptr<PgConnection>(std::make_unique<StubConnection>(&alive));
  }
  Result<std::unique_ptr<BaseBackupSource>> StartBaseBackup(const std::string&, const std::string&,
                                                            const std::string&) override {
    return Status::Error(ErrorCode::kInternal, "not here");
  }
  Result<PgTool> FindTool(const std::string&, int, const std::string&) override {
    return Status::Error(ErrorCode::kInternal, "not here");
  }
  Result<std::unique_ptr<PgToolProcess>> RunTool(const PgToolCommand&) override {
    return Status::Error(ErrorCode::kInternal, "not here");
  }
  int connects = 0;
  int alive = 0;
  bool refuse = false;
};

// An Env whose variables are a map and whose time is the manual clock.
class VarsEnv : public EnvWrapper {
 public:
  VarsEnv(Env& target, const ManualClock& clock) : EnvWrapper(target), clock_(clock) {}
  std::optional<std::string> GetEnvVar(const std::string& name) override {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  int64_t MonotonicMicros() override { return clock_.MonotonicMicros(); }
  std::map<std::string, std::string> vars;

 private:
  const ManualClock& clock_;
};

class PgPoolTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  PosixEnv posix_;
  VarsEnv env_{posix_, clock_};
  CountingConnector pg_;
};

TEST_F(PgPoolTest, ConnectionsAreReusedAndBoundedByMax) {
  PoolLimits limits;
  limits.max = 2;
  limits.connect_timeout_ms = 50;  // the wait for a free one is real time
  PgPool pool(env_, pg_, "host=x", "database \"app\"", limits);
  {
    auto a = pool.Acquire();
    ASSERT_TRUE(a.ok());
  }
  {
    auto again = pool.Acquire();
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(pg_.connects, 1);  // the idle one was reused
    auto b = pool.Acquire();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(pool.Stats().busy, 2);
    auto c = pool.Acquire();  // both busy: waits, then gives up
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), ErrorCode::kLocked);
    EXPECT_NE(c.status().message().find("all 2 pooled connections"), std::string::npos);
  }
  EXPECT_EQ(pool.Stats().idle, 2);
  EXPECT_EQ(pg_.alive, 2);
}

TEST_F(PgPoolTest, ABrokenConnectionIsClosedNotReused) {
  PgPool pool(env_, pg_, "host=x", "database \"app\"", PoolLimits{});
  {
    auto a = pool.Acquire();
    ASSERT_TRUE(a.ok());
    a->Discard();
  }
  EXPECT_EQ(pg_.alive, 0);
  EXPECT_EQ(pool.Stats().open, 0);
  pg_.refuse = true;
  auto refused = pool.Acquire();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kPostgres);
  EXPECT_EQ(pool.Stats().busy, 0);  // a failed open does not hold a slot
}

TEST_F(PgPoolTest, IdleAndOldConnectionsGoAndTheMinimumStays) {
  PoolLimits limits;
  limits.min = 1;
  limits.idle_timeout_ms = 30000;
  limits.max_lifetime_ms = 600000;
  PgPool pool(env_, pg_, "host=x", "database \"app\"", limits);
  pool.Maintain();
  EXPECT_EQ(pool.Stats().idle, 1);  // the minimum is opened
  {
    auto a = pool.Acquire();
    auto b = pool.Acquire();
    ASSERT_TRUE(a.ok() && b.ok());
  }
  EXPECT_EQ(pool.Stats().idle, 2);
  clock_.Advance(31 * 1000000);
  pool.Maintain();
  EXPECT_EQ(pool.Stats().idle, 1);  // idle too long, above the minimum
  clock_.Advance(600 * 1000000);
  pool.Maintain();
  EXPECT_EQ(pool.Stats().idle, 1);  // too old: replaced by a new one
  EXPECT_EQ(pg_.connects, 3);
  EXPECT_EQ(pg_.alive, 1);
}

TEST_F(PgPoolTest, EnvironmentVariablesOverrideAndBadOnesAreNamed) {
  env_.vars = {{"DB_POOL_MAX", "5"}, {"DB_POOL_MIN", "1"}, {"DB_IDLE_TIMEOUT", "1500"}};
  auto limits = PoolLimitsWithEnv(env_, PoolLimits{});
  ASSERT_TRUE(limits.ok()) << limits.status().ToString();
  EXPECT_EQ(limits->max, 5);
  EXPECT_EQ(limits->min, 1);
  EXPECT_EQ(limits->idle_timeout_ms, 1500);
  EXPECT_EQ(limits->connect_timeout_ms, 10000);
  EXPECT_EQ(limits->max_lifetime_ms, 1800000);
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"DB_POOL_MAX", "0"}, {"DB_POOL_MAX", "lots"}, {"DB_CONNECTION_TIMEOUT", "-1"}}) {
    env_.vars = {{name, value}};
    auto bad = PoolLimitsWithEnv(env_, PoolLimits{});
    ASSERT_FALSE(bad.ok()) << name << "=" << value;
    EXPECT_EQ(bad.status().code(), ErrorCode::kConfig);
    EXPECT_NE(bad.status().message().find(name), std::string::npos);
  }
  env_.vars = {{"DB_POOL_MIN", "30"}};  // above the default max of 20
  EXPECT_FALSE(PoolLimitsWithEnv(env_, PoolLimits{}).ok());
}

}  // namespace
}  // namespace pgkeep
