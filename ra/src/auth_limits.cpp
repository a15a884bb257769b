#include "jitsuin/ra/auth_limits.h"

#include <vector>

#include "jitsuin/core/error.h"
#include "ra_core.h"
#include "session_cache.h"

namespace jitsuin::ra {

namespace {

struct Counter {
  std::string key;
  int limit;
};

// Keys are bounded: an account name is whatever a client typed.
Counter address_counter(RaContext& ctx, const std::string& address) {
  return {"address:" + address.substr(0, 64), ctx.config.server.auth_rate_per_address};
}
Counter account_counter(RaContext& ctx, const std::string& account) {
  return {"account:" + account.substr(0, 80), ctx.config.server.auth_rate_per_account};
}

// Inside the caller's transaction: refuses (throwing RateLimitedError after the commit) when one of
// the counters is at its limit in its current window. The first refusal of a window marks the row
// (attempts = limit + 1) and is audited; later ones write nothing.
void refuse_if_over(RaContext& ctx, db::Transaction& tx, const std::vector<Counter>& counters) {
  const UnixTime now = ctx.clock(), window = ctx.config.server.auth_rate_window_seconds;
  for (const auto& c : counters) {
    db::Statement st(ctx.db, "SELECT window_start, attempts FROM ra_auth_rate WHERE key = ?");
    st.bind(1, c.key);
    if (!st.step()) continue;
    const UnixTime end = st.int64(0) + window;
    const std::int64_t attempts = st.int64(1);
    if (end <= now || attempts < c.limit) continue;
    if (attempts == c.limit) {
      db::Statement mark(ctx.db, "UPDATE ra_auth_rate SET attempts = attempts + 1 WHERE key = ?");
      mark.bind(1, c.key).exec();
      detail::audit(ctx, "anonymous", "ra.auth.rate_limited", c.key,
                    {{"limit", c.limit}, {"window_seconds", window}, {"until", format_rfc3339(end)}});
    }
    tx.commit();
    throw RateLimitedError("too many authentication attempts (" + c.key.substr(0, c.key.find(':')) +
                               " limit of " + std::to_string(c.limit) + " per " + std::to_string(window) +
                               " seconds); try again in " + std::to_string(end - now) + " seconds",
                           static_cast<long>(end - now));
  }
}

void count(RaContext& ctx, const std::vector<Counter>& counters) {
  const UnixTime now = ctx.clock(), window = ctx.config.server.auth_rate_window_seconds;
  db::Transaction tx(ctx.db);
  refuse_if_over(ctx, tx, counters);
  // Windows that ended are forgotten (the table holds at most one window of keys).
  db::Statement purge(ctx.db, "DELETE FROM ra_auth_rate WHERE window_start + ? <= ?");
  purge.bind(1, window).bind(2, now).exec();
  for (const auto& c : counters) {
    db::Statement up(ctx.db,
                     "INSERT INTO ra_auth_rate (key, window_start, attempts) VALUES (?1, ?2, 1) "
                     "ON CONFLICT(key) DO UPDATE SET attempts = attempts + 1");
    up.bind(1, c.key).bind(2, now).exec();
  }
  tx.commit();
}

}  // namespace

void count_login_attempt(RaContext& ctx, const std::string& address, const std::string& account) {
  count(ctx, {address_counter(ctx, address), account_counter(ctx, account)});
}

void check_address_limit(RaContext& ctx, const std::string& address) {
  // Every bearer call comes here: read first (the row as last read while the database is
  // unchanged: session_cache.h), and take the write lock only to refuse.
  Counter c = address_counter(ctx, address);
  auto& cache = detail::read_cache(ctx);
  const bool usable = cache.refresh(ctx.db);
  std::optional<detail::RateRow> row;
  if (auto it = cache.rates.find(c.key); usable && it != cache.rates.end()) {
    row = it->second;
  } else {
    auto st = ctx.db.cached("SELECT window_start, attempts FROM ra_auth_rate WHERE key = ?");
    st->bind(1, c.key);
    if (st->step()) row = detail::RateRow{st->int64(0), st->int64(1)};
    if (usable) cache.rates.emplace(c.key, row);
  }
  if (!row || row->window_start + ctx.config.server.auth_rate_window_seconds <= ctx.clock() || row->attempts < c.limit)
    return;
  db::Transaction tx(ctx.db);
  refuse_if_over(ctx, tx, {c});
  tx.commit();
}

void count_bearer_failure(RaContext& ctx, const std::string& address) {
  count(ctx, {address_counter(ctx, address)});
}

}  // namespace jitsuin::ra
