#pragma once
// Tamper-evident audit log (CA-6): an append-only hash chain in the database. Each entry's hash
// covers its sequence number, time, actor, action, object, details and the previous entry's hash,
// so editing, deleting or reordering entries breaks the chain at a point verify() names.
//
// The chain alone says nothing about the other tables: an entry says "certificate X revoked",
// the row says otherwise. A module that wants its rows checked against the log hands
// verify_audit() an AuditReplay: it sees every verified entry in order and then, in the same
// read snapshot, compares its tables with what the entries said (ca/: CertificateRowCheck).
// row_digest() is the shared way for an entry to say what a row held when it was written.
#include <cstdint>
#include <string>
#include <string_view>

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

/// One entry as verify_audit() read it (views valid during the call that receives it).
struct AuditEntry {
  std::int64_t seq = 0;
  UnixTime at = 0;
  std::string_view actor, action, object, details;
};

/// A check of other tables against the log, run by verify_audit() inside its read snapshot.
class AuditReplay {
 public:
  virtual ~AuditReplay() = default;
  /// Each entry, in order, once its hash checked out. Should not throw for bad content: a
  /// replay keeps its own verdict.
  virtual void entry(const AuditEntry& entry) = 0;
  /// After the whole chain verified (not called when it did not), in the same snapshot.
  virtual void finish(Database& db) = 0;
};

/// Walks the chain from the first entry. Streams rows: constant memory whatever the length
/// (a replay keeps what it needs). With `replay`, hands it every verified entry and, when the
/// chain is whole, lets it finish in the same snapshot.
AuditReport verify_audit(Database& db, AuditReplay* replay = nullptr);

/// SHA-256 over a canonical encoding of columns [0, columns) of the current row of `row`:
/// `domain` (name and version of the encoding, e.g. "jitsuin-certificate-row-v1"), then per
/// column its storage class and value (integers as 8 bytes big-endian, text, blob and real as
/// length-prefixed bytes). The storage class is covered because SQL compares an integer and a
/// text holding the same digits differently.
Bytes row_digest(std::string_view domain, const Statement& row, int columns);

}  // namespace jitsuin::db
