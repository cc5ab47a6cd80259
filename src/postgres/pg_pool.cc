#include "postgres/pg_pool.h"

#include <charconv>

namespace pgkeep {

namespace {

// The value of `name` as a whole number in [lo, hi]; nullopt when unset.
Result<std::optional<int64_t>> EnvNumber(Env& env, const char* name, int64_t lo, int64_t hi,
                                         const char* unit) {
  std::optional<std::string> text = env.GetEnvVar(name);
  if (!text || text->empty()) return std::optional<int64_t>();
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < lo || value > hi)
    return Status::Error(ErrorCode::kConfig,
                         std::string("environment variable ") + name + " must be a whole number " +
                             unit + " from " + std::to_string(lo) + " to " + std::to_string(hi) +
                             ", not \"" + text->substr(0, 40) + "\"",
                         std::string("unset ") + name + " to use the configuration's value");
  return std::optional<int64_t>(value);
}

}  // namespace

Result<PoolLimits> PoolLimitsWithEnv(Env& env, PoolLimits base) {
  constexpr int64_t kDayMs = 24 * 3600 * 1000;
  auto max = EnvNumber(env, "DB_POOL_MAX", 1, 1000, "of connections");
  if (!max.ok()) return max.status();
  if (*max) base.max = static_cast<int>(**max);
  auto min = EnvNumber(env, "DB_POOL_MIN", 0, base.max, "of connections");
  if (!min.ok()) return min.status();
  if (*min) base.min = static_cast<int>(**min);
  base.min = std::min(base.min, base.max);
  for (auto [name, field] : {std::pair{"DB_CONNECTION_TIMEOUT", &base.connect_timeout_ms},
                             std::pair{"DB_IDLE_TIMEOUT", &base.idle_timeout_ms},
                             std::pair{"DB_MAX_LIFETIME", &base.max_lifetime_ms}}) {
    auto ms = EnvNumber(env, name, 1, kDayMs, "of milliseconds");
    if (!ms.ok()) return ms.status();
    if (*ms) *field = **ms;
  }
  return base;
}

PgPool::PgPool(Env& env, PgConnector& connector, std::string conninfo, std::string what,
               PoolLimits limits)
    : env_(env),
      connector_(connector),
      conninfo_(std::move(conninfo)),
      what_(std::move(what)),
      limits_(limits) {}

PgPool::~PgPool() = default;

PgPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_),
      conn_(std::move(other.conn_)),
      opened_(other.opened_),
      discard_(other.discard_) {
  other.pool_ = nullptr;
}

PgPool::Lease::~Lease() {
  if (pool_ && conn_) pool_->Return(std::move(conn_), opened_, discard_);
}

Result<std::unique_ptr<PgConnection>> PgPool::Open() {
  // libpq's connect_timeout is in whole seconds (at least 2 s is honoured).
  const int seconds =
      static_cast<int>(std::max<int64_t>(1, (limits_.connect_timeout_ms + 999) / 1000));
  return connector_.Connect(conninfo_, what_, seconds);
}

Result<PgPool::Lease> PgPool::Acquire() {
  std::unique_lock lock(mu_);
  const int64_t now = env_.MonotonicMicros();
  const int64_t lifetime = limits_.max_lifetime_ms * 1000;
  // Newest first: the most recently used connection is the likeliest alive.
  while (!idle_.empty()) {
    Idle item = std::move(idle_.back());
    idle_.pop_back();
    if (now - item.opened >= lifetime) {
      ++closed_total_;
      continue;  // too old: closed as it goes out of scope
    }
    ++busy_;
    return Lease(this, std::move(item.conn), item.opened);
  }
  const auto deadline =
      std::chrono::steady_clock::duration(std::chrono::milliseconds(limits_.connect_timeout_ms));
  if (busy_ + opening_ >= limits_.max) {
    ++waiting_;
    const bool got = returned_.wait_for(
        lock, deadline, [&] { return !idle_.empty() || busy_ + opening_ < limits_.max; });
    --waiting_;
    if (!got)
      return Status::Error(ErrorCode::kLocked,
                           "all " + std::to_string(limits_.max) + " pooled connections to " +
                               what_ + " stayed busy for " +
                               std::to_string(limits_.connect_timeout_ms) + " ms",
                           "raise DB_POOL_MAX or find what holds them");
    if (!idle_.empty()) {
      Idle item = std::move(idle_.back());
      idle_.pop_back();
      ++busy_;
      return Lease(this, std::move(item.conn), item.opened);
    }
  }
  ++opening_;
  lock.unlock();
  auto conn = Open();
  lock.lock();
  --opening_;
  if (!conn.ok()) {
    returned_.notify_one();
    return conn.status();
  }
  ++opened_total_;
  ++busy_;
  return Lease(this, std::move(*conn), env_.MonotonicMicros());
}

void PgPool::Return(std::unique_ptr<PgConnection> conn, int64_t opened, bool discard) {
  std::unique_ptr<PgConnection> closing;
  {
    std::lock_guard lock(mu_);
    --busy_;
    const int64_t now = env_.MonotonicMicros();
    if (discard || now - opened >= limits_.max_lifetime_ms * 1000) {
      ++closed_total_;
      closing = std::move(conn);
    } else {
      idle_.push_back({std::move(conn), opened, now});
    }
  }
  returned_.notify_one();
  // `closing` disconnects here, outside the lock.
}

void PgPool::Maintain() {
  std::deque<Idle> closing;
  int to_open = 0;
  {
    std::lock_guard lock(mu_);
    const int64_t now = env_.MonotonicMicros();
    std::deque<Idle> keep;
    // Oldest-used first: those above the minimum go when idle too long.
    int open = static_cast<int>(idle_.size()) + busy_;
    for (Idle& item : idle_) {
      const bool too_old = now - item.opened >= limits_.max_lifetime_ms * 1000;
      const bool idle_long = now - item.last_used >= limits_.idle_timeout_ms * 1000;
      if (too_old || (idle_long && open > limits_.min)) {
        closing.push_back(std::move(item));
        --open;
        ++closed_total_;
      } else {
        keep.push_back(std::move(item));
      }
    }
    idle_.swap(keep);
    to_open = std::max(0, limits_.min - open - opening_);
    opening_ += to_open;
  }
  closing.clear();
  for (int i = 0; i < to_open; ++i) {
    auto conn = Open();
    std::lock_guard lock(mu_);
    --opening_;
    if (conn.ok()) {
      ++opened_total_;
      const int64_t now = env_.MonotonicMicros();
      idle_.push_front({std::move(*conn), now, now});
    }
  }
  returned_.notify_all();
}

PoolStats PgPool::Stats() const {
  std::lock_guard lock(mu_);
  PoolStats s;
  s.idle = static_cast<int>(idle_.size());
  s.busy = busy_;
  s.open = s.idle + s.busy;
  s.waiting = waiting_;
  s.max = limits_.max;
  s.opened_total = opened_total_;
  s.closed_total = closed_total_;
  return s;
}

}  // namespace pgkeep
