// postgres/pg_pool.h — a small pool of SQL connections to one database, for
// the daemon's health checks: connections are reused instead of opened for
// every sample, and bounded so the daemon never floods a server.
//
// Limits (PoolLimits), as the seed application's pool sets them: at most 20
// connections, 2 kept open, 10 s to connect, 30 s idle before one above the
// minimum is closed, 30 min before any is replaced. The configuration sets
// them ([server] pool_*), and DB_POOL_MAX, DB_POOL_MIN, DB_CONNECTION_TIMEOUT,
// DB_IDLE_TIMEOUT and DB_MAX_LIFETIME (the last three in milliseconds)
// override it (PoolLimitsWithEnv).
//
// Acquire hands out an idle connection, or opens one while fewer than `max`
// exist, or waits up to `connect_timeout` for one to come back. A Lease gives
// it back when destroyed; a lease marked Discard (a query failed: the
// connection may be broken) closes it instead. Maintain closes what idled or
// lived too long and opens up to `min`.
//
// Thread safety: every method may be called from any thread; a Lease is
// used by one thread at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "common/env.h"
#include "postgres/pg_connector.h"

namespace pgkeep {

struct PoolLimits {
  int max = 20;
  int min = 2;
  int64_t connect_timeout_ms = 10000;
  int64_t idle_timeout_ms = 30000;
  int64_t max_lifetime_ms = 30 * 60 * 1000;
};

// `base` with the DB_POOL_* variables that are set applied.
// Failure: kConfig naming the variable when one is not a whole number in
// range (max 1..1000, min 0..max, timeouts 1 ms .. 24 h).
Result<PoolLimits> PoolLimitsWithEnv(Env& env, PoolLimits base);

struct PoolStats {
  int open = 0;  // idle + busy
  int idle = 0;
  int busy = 0;
  int waiting = 0;  // callers waiting for a connection now
  int max = 0;
  int64_t opened_total = 0;
  int64_t closed_total = 0;
};

class PgPool {
 public:
  PgPool(Env& env, PgConnector& connector, std::string conninfo, std::string what,
         PoolLimits limits);
  ~PgPool();
  PgPool(const PgPool&) = delete;
  PgPool& operator=(const PgPool&) = delete;

  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    PgConnection& operator*() const { return *conn_; }
    PgConnection* operator->() const { return conn_.get(); }
    // Closes the connection when the lease ends instead of reusing it.
    void Discard() { discard_ = true; }

   private:
    friend class PgPool;
    Lease(PgPool* pool, std::unique_ptr<PgConnection> conn, int64_t opened)
        : pool_(pool), conn_(std::move(conn)), opened_(opened) {}
    PgPool* pool_;
    std::unique_ptr<PgConnection> conn_;
    int64_t opened_;
    bool discard_ = false;
  };

  // Failure: the connection's error (kPostgres), or kLocked when all `max`
  // connections stayed busy for `connect_timeout`.
  Result<Lease> Acquire();
  void Maintain();
  PoolStats Stats() const;
  const PoolLimits& limits() const { return limits_; }

 private:
  struct Idle {
    std::unique_ptr<PgConnection> conn;
    int64_t opened;     // monotonic micros
    int64_t last_used;  // monotonic micros
  };
  void Return(std::unique_ptr<PgConnection> conn, int64_t opened, bool discard);
  Result<std::unique_ptr<PgConnection>> Open();

  Env& env_;
  PgConnector& connector_;
  const std::string conninfo_;
  const std::string what_;
  const PoolLimits limits_;

  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::deque<Idle> idle_;  // most recently used at the back
  int busy_ = 0;
  int opening_ = 0;
  int waiting_ = 0;
  int64_t opened_total_ = 0;
  int64_t closed_total_ = 0;
};

}  // namespace pgkeep
