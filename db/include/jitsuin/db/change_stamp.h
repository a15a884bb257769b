#pragma once
// What a connection can see of the database's content at one moment, for caches of reads that
// must never be stale: two equal stamps of one connection mean that no write changed the database
// in between — neither a transaction committed by another connection (of this process or another:
// the CLI, cron, the sqlite3 shell) nor a change made through this connection.
#include <cstdint>
#include <optional>

#include "jitsuin/db/database.h"

namespace jitsuin::db {

struct ChangeStamp {
  std::int64_t data_version = 0;   ///< PRAGMA data_version: commits by every other connection
  std::int64_t own_changes = 0;    ///< sqlite3_total_changes64: rows changed through this connection
  bool operator==(const ChangeStamp&) const = default;
};

/// The connection's stamp now: one small read transaction (a cached PRAGMA), no table read.
/// nullopt inside a transaction, whose reads are not a committed state to cache.
std::optional<ChangeStamp> change_stamp(Database& db);

/// ChangeStamp::own_changes alone: no statement, no lock (a counter of the connection).
std::int64_t own_changes(Database& db);

}  // namespace jitsuin::db
