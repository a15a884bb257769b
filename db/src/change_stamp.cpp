#include "jitsuin/db/change_stamp.h"

#include <sqlite3.h>

namespace jitsuin::db {

std::optional<ChangeStamp> change_stamp(Database& db) {
  if (db.in_transaction()) return std::nullopt;
  // data_version changes when another connection commits (SQLite checks the WAL index as the
  // pragma's read transaction starts), never for this connection's own commits: those are
  // counted by total_changes (INSERT, UPDATE, DELETE, rows changed by triggers included).
  auto st = db.cached("PRAGMA data_version");
  if (!st->step()) throw DbError("PRAGMA data_version returned no row", SQLITE_ERROR);
  return ChangeStamp{st->int64(0), own_changes(db)};
}

std::int64_t own_changes(Database& db) { return sqlite3_total_changes64(db.handle()); }

}  // namespace jitsuin::db
