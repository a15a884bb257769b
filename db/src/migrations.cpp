// Numbered schema migrations. Never edit a migration that has shipped: add a new one.
#include <sqlite3.h>

#include <string>

#include "jitsuin/db/database.h"

namespace jitsuin::db {

namespace {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const Migration kMigrations[] = {
    {1, "ca core",
     R"sql(
CREATE TABLE authorities (
  id INTEGER PRIMARY KEY,
  role TEXT NOT NULL UNIQUE CHECK (role IN ('root', 'issuing')),
  key_uri TEXT NOT NULL,
  key_algorithm TEXT NOT NULL,
  subject TEXT NOT NULL,
  certificate_id INTEGER REFERENCES certificates(id),
  crl_number INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
-- Certificates keyed by rowid with a UNIQUE serial: random serials as the primary key make
-- inserts several times slower (B-tree splits all over the table).
CREATE TABLE certificates (
  id INTEGER PRIMARY KEY,
  serial BLOB NOT NULL UNIQUE,
  issuer_id INTEGER NOT NULL REFERENCES authorities(id),
  profile TEXT NOT NULL,
  subject TEXT NOT NULL,
  spki_sha256 BLOB NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL,
  der BLOB NOT NULL,
  revoked_at INTEGER,
  revocation_effective INTEGER,
  revocation_reason INTEGER,
  CHECK ((revoked_at IS NULL) = (revocation_effective IS NULL))
);
CREATE INDEX certificates_spki ON certificates(spki_sha256);
CREATE INDEX certificates_revoked ON certificates(issuer_id, revocation_effective)
  WHERE revocation_effective IS NOT NULL;
CREATE TABLE crl_publications (
  id INTEGER PRIMARY KEY,
  authority_id INTEGER NOT NULL REFERENCES authorities(id),
  crl_number INTEGER NOT NULL,
  this_update INTEGER NOT NULL,
  next_update INTEGER NOT NULL,
  entries INTEGER NOT NULL,
  sha256 BLOB NOT NULL,
  UNIQUE (authority_id, crl_number)
);
-- Tamper-evident audit log: each row's hash covers its content and the previous row's hash.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  object TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash BLOB NOT NULL,
  hash BLOB NOT NULL
);
)sql"},
};

}  // namespace

int latest_schema_version() { return kMigrations[std::size(kMigrations) - 1].version; }

void migrate(Database& db) {
  for (const auto& m : kMigrations) {
    Transaction tx(db);
    // Re-read inside the lock: another process may have migrated meanwhile.
    int current = db.schema_version();
    if (current >= m.version) continue;
    if (current != m.version - 1)
      throw DbError("database schema version " + std::to_string(current) + " cannot be migrated to " +
                        std::to_string(m.version),
                    0);
    db.exec_script(m.sql);
    db.exec_script(("PRAGMA user_version=" + std::to_string(m.version)).c_str());
    tx.commit();
  }
  int current = db.schema_version();
  if (current > latest_schema_version())
    throw DbError("database schema version " + std::to_string(current) +
                      " is newer than this program (" + std::to_string(latest_schema_version()) +
                      "); upgrade jitsuin",
                  0);
}

}  // namespace jitsuin::db
