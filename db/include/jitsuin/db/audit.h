#pragma once
// Tamper-evident audit log (CA-6): an append-only hash chain in the database. Each entry's hash
// covers its sequence number, time, actor, action, object, details and the previous entry's hash,
// so editing, deleting or reordering entries breaks the chain at a point verify() names.
#include <cstdint>
#include <string>

#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::db {

/// One security-relevant event.
struct AuditEvent {
  std::string actor;     ///< who: an operator name, "cli:<user>", "cron", "system"
  std::string action;    ///< what: "ca.init", "cert.issue", "cert.revoke", "crl.publish", ...
  std::string object;    ///< on what: a serial, an application id ...
  std::string details;   ///< JSON object text with the rest (never secrets)
};

/// Appends an event. Must run inside the caller's open transaction, so the event is recorded
/// if and only if the state change it describes is committed. Returns the entry's sequence number.
std::int64_t append_audit(Database& db, const AuditEvent& event, UnixTime at);

/// Result of checking the whole chain.
struct AuditReport {
  bool ok = true;
  std::int64_t entries = 0;       ///< entries checked
  std::int64_t first_bad = 0;     ///< sequence number of the first entry found wrong or missing (0 if ok)
  std::string problem;            ///< what is wrong there, for a person
  std::string head_hash;          ///< hex hash of the last entry when ok
};

/// Walks the chain from the first entry. Streams rows: constant memory whatever the length.
AuditReport verify_audit(Database& db);

}  // namespace jitsuin::db
