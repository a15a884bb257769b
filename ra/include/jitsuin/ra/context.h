#pragma once
// What every registration-authority operation needs: the database, the configuration and a clock.
// The clock is injected so tests control time (PIN expiry, hold periods, effective times).
#include <memory>

#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ra {

namespace detail {
class ReadCache;
}

struct RaContext {
  db::Database& db;
  const config::Config& config;
  Clock clock;
  // i9perf: the sessions and rate-limit rows bearer calls read, per connection, while the database
  // is unchanged (ra/src/session_cache.h); made on first use.
  std::shared_ptr<detail::ReadCache> read_cache = nullptr;
};

}  // namespace jitsuin::ra
