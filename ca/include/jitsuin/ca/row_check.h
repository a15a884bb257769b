#pragma once
// `audit verify`, second half: are the CA's rows what the audited history says they must be?
//
// The hash chain (db::verify_audit) proves the log was not edited; it says nothing about the
// certificates table, which the CRLs and every status query read. Setting a revoked certificate
// back to valid with sqlite3 would pass the chain, and the next CRL would silently drop it.
//
// Design. Every audit entry that writes a certificates or authorities row carries the row's
// digest as written, read back inside the writer's transaction: db::row_digest() over every
// column of the row (storage class and value, encoding "jitsuin-certificate-row-v1" /
// "jitsuin-authority-row-v1"), under the key "certificate_row" ({"serial", "sha256",
// "revoked"}) or "authority_row" ({"role", "sha256"}) anywhere in the entry's details (the RA
// nests the CA's details in its own). record_certificate() and record_revocation() put it into
// the details they hand their caller, so every issuance and revocation path carries it without
// doing anything; ca init and crl publish put theirs. CertificateRowCheck, an AuditReplay, sees
// every verified entry in order and keeps, per row, the latest entry that wrote it; then, in the
// same read snapshot as the chain, it reads every row and fails on the first row that
//   - differs from the digest of the latest entry that wrote it (names the serial and the entry),
//   - no entry wrote (inserted behind the CA's back), or
//   - an entry wrote and that is gone (deleted).
// One check per row, so memory grows with the number of certificates (about 100 bytes each).
//
// Entries written before the digests (databases made by earlier versions) are replayed for what
// they say: ca.init (subjects, key algorithms, certificate serials), cert.issue and
// ra.application.issued (serial, profile, subject), cert.revoke, ra.revocation.approve /
// .revoked and a renewal's "superseded" (serial, reason, effective time), crl.publish (CRL
// numbers). A row whose latest write is such an entry is checked on those columns only and
// counted as "legacy"; the next write of the row (a revocation) carries a digest again.
//
// What it cannot see: someone who can write the database can also rewrite the whole chain with
// digests to match (the chain has no secret). Anchor the head hash `audit verify` prints outside
// the database (a printed log, another machine, a timestamp) and compare: that detects it.
#include <cstdint>
#include <memory>
#include <string>

#include "jitsuin/db/audit.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ca {

/// The verdict on the CA's rows.
struct RowCheckReport {
  bool ok = true;
  std::int64_t certificates = 0;   ///< certificate rows checked
  std::int64_t authorities = 0;    ///< authority rows checked
  std::int64_t legacy = 0;         ///< rows last written by an entry without a digest (checked on what it says)
  std::int64_t bad_rows = 0;       ///< rows found wrong, missing or unaccounted for
  std::string row;                 ///< the first row found wrong: a certificate serial (hex) or "authority <role>"
  std::int64_t entry = 0;          ///< the entry it contradicts (0: no entry wrote the row)
  std::string problem;             ///< for a person: the row, the entry and what differs
};

/// Hand it to db::verify_audit(); read report() afterwards. report() is only meaningful when the
/// chain verified (otherwise finish() was not called and the rows were not checked).
class CertificateRowCheck : public db::AuditReplay {
 public:
  CertificateRowCheck();
  ~CertificateRowCheck() override;
  void entry(const db::AuditEntry& entry) override;
  void finish(db::Database& db) override;
  const RowCheckReport& report() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace jitsuin::ca
