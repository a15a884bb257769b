#pragma once
// What every registration-authority operation needs: the database, the configuration and a clock.
// The clock is injected so tests control time (PIN expiry, hold periods, effective times).
#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ra {

struct RaContext {
  db::Database& db;
  const config::Config& config;
  Clock clock;
};

}  // namespace jitsuin::ra
