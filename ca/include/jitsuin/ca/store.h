#pragma once
// The CA's certificate records: what other modules may ask about certificates (status by serial,
// certificates of a subject key, of a list of serials) and the revocation record step. Needs only
// the database and a clock, never the CA's keys, so commands that do not sign (RA queries,
// revocation requests and their approval) need no token session. The certificates, authorities
// and crl_publications tables are the CA's: other modules ask here and never query them.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ca {

/// RFC 5280 CRLReason codes (7 is unused; removeFromCRL only exists in delta CRLs, not accepted).
enum class RevocationReason : int {
  unspecified = 0,
  key_compromise = 1,
  ca_compromise = 2,
  affiliation_changed = 3,
  superseded = 4,
  cessation_of_operation = 5,
  certificate_hold = 6,
  privilege_withdrawn = 9,
  aa_compromise = 10,
};
/// Accepts RFC 5280 names in camelCase (keyCompromise) or kebab/snake case (key-compromise).
RevocationReason parse_revocation_reason(const std::string& name);
std::string revocation_reason_name(RevocationReason reason);   ///< camelCase

/// A certificate as stored.
struct CertificateRecord {
  std::int64_t id = 0;
  std::string serial_hex;
  std::string issuer_role;            ///< "root" or "issuing"
  std::string profile;
  std::string subject;                ///< RFC 2253
  UnixTime not_before = 0, not_after = 0, issued_at = 0;
  Bytes der;
  std::optional<UnixTime> revoked_at;             ///< when the revocation was recorded
  std::optional<UnixTime> revocation_effective;   ///< when it takes (took) effect
  std::optional<RevocationReason> reason;
  /// "valid", "revoked", "revocation pending" or "expired" at time now.
  std::string status(UnixTime now) const;
};

/// A certificate's validity and revocation, without its DER (what the RA asks for).
struct CertificateStatus {
  std::string serial_hex;
  std::string profile;
  UnixTime not_before = 0, not_after = 0;
  std::optional<UnixTime> revoked_at;             ///< set once a revocation is recorded
  std::optional<UnixTime> revocation_effective;   ///< when it takes (took) effect
  std::optional<RevocationReason> reason;
  /// True once a revocation is recorded, whether or not it is in effect yet.
  bool revoked() const { return revoked_at.has_value(); }
};

/// What record_revocation() is asked to record.
struct RevocationInput {
  std::string serial_hex;
  RevocationReason reason = RevocationReason::unspecified;
  std::optional<UnixTime> effective;   ///< default: now; may be later, never earlier than now - 5 min
};

/// keyCompromise and cACompromise: a revocation for one of these takes effect at once, replaces a
/// revocation recorded for later, and marks the key compromised.
bool is_urgent_reason(RevocationReason reason);

/// Whether a revocation for `reason` effective at `effective` replaces the one recorded for a
/// certificate (see CertificateStore::record_revocation): an urgent reason replaces a revocation
/// not yet in effect that would take effect later, and turns one in effect for a reason that is
/// not urgent into a revocation for `reason`. False for a certificate not revoked.
bool replaces_revocation(const CertificateStatus& current, RevocationReason reason, UnixTime effective, UnixTime now);

/// Normalises a serial given in hex (":" separators, 0x, case) to lower-case hex without
/// leading zero bytes beyond DER's sign byte. Throws invalid_input.
std::string normalize_serial(const std::string& serial_hex);

/// Read queries on the CA's certificates and the revocation record step.
class CertificateStore {
 public:
  /// `clock` gives "now" for revocations (recorded time, the no-back-dating rule).
  CertificateStore(db::Database& db, Clock clock);

  /// A certificate by serial (hex, any form normalize_serial accepts); nullopt when unknown.
  std::optional<CertificateRecord> find(const std::string& serial_hex);

  /// Validity and revocation of a certificate by serial; nullopt when unknown.
  std::optional<CertificateStatus> status(const std::string& serial_hex);

  /// The statuses of the certificates among `serials` (hex) that this CA issued, in the order
  /// given; unknown serials are left out.
  std::vector<CertificateStatus> statuses(const std::vector<std::string>& serials);

  /// Every certificate of a subject public key, by the SHA-256 of its SubjectPublicKeyInfo
  /// (ossl::public_key_fingerprint), oldest first.
  std::vector<CertificateRecord> certificates_for_key(const Bytes& spki_sha256);

  /// Records a revocation inside the caller's open write transaction (asserted) and writes no
  /// audit entry: it fills `audit_details` (reason, effective time, subject; what it replaced;
  /// the compromised key) for the caller's one entry. Refused: certificateHold (revocation is
  /// final), an effective time in the past, an unknown serial (not_found), a CA certificate
  /// (invalid_input: the issuing CA's goes through record_issuing_ca_revocation(), the root's is
  /// never revoked), a certificate expiring before the effective time, and a certificate already
  /// revoked (conflict) unless replaces_revocation() says the new revocation replaces the recorded
  /// one. Returns the record as revoked.
  ///
  /// keyCompromise and cACompromise are urgent: they replace a revocation recorded for later
  /// (the new one takes effect at its own, earlier, time: now by default), and change the reason
  /// of a revocation already in effect to theirs (RFC 5280 5.3.1 allows a reason to become
  /// keyCompromise; the revocation date is kept). With either reason the certificate's public
  /// key is recorded as compromised (is_key_compromised()) in the same transaction.
  CertificateRecord record_revocation(const RevocationInput& revocation, nlohmann::json& audit_details);

  /// Records the revocation of the issuing CA's own certificate, effective now, inside the
  /// caller's open write transaction (asserted), for the root CA's CRL: the same rules and audit
  /// details as record_revocation(), with the reasons of a CA certificate only (cACompromise,
  /// affiliationChanged, superseded, cessationOfOperation). From then on the issuing CA signs
  /// nothing (CertificateAuthority refuses issuance and the issuing CRL).
  CertificateRecord record_issuing_ca_revocation(RevocationReason reason, nlohmann::json& audit_details);

  /// The issuing CA's certificate when it is revoked (its record), else nullopt.
  std::optional<CertificateRecord> issuing_ca_revocation();

  /// When the public key with this SubjectPublicKeyInfo SHA-256 was revoked for keyCompromise or
  /// cACompromise: the serial (hex) of the certificate whose revocation reported it. nullopt for
  /// a key never reported compromised.
  std::optional<std::string> compromised_key_serial(const Bytes& spki_sha256);

  private:
  db::Database& db_;
  Clock clock_;
};

}  // namespace jitsuin::ca
