#pragma once
// The CA core: what the command line, the RA and the HTTP layer call. Keys stay on the token;
// every state change is one database transaction with one audit entry.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ca/profile.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"

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

/// Who is doing it, for the audit log.
struct Actor {
  std::string name = "system";
};

/// An issuance request: the CSR only proves possession of the key; everything in the certificate
/// comes from the approved data (subject) and the profile.
struct IssueRequest {
  std::string profile;
  std::string csr;                    ///< PEM or DER bytes
  config::NameFields subject;         ///< approved subject fields
  std::optional<int> days;            ///< validity; the profile's default when empty
};

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

/// What issue() returns: the certificate and its chain up to the root.
struct IssuedCertificate {
  CertificateRecord record;
  ossl::Cert certificate;
  std::vector<ossl::Cert> chain;      ///< issuing CA, root
};

/// One CA key (root or issuing) as stored.
struct AuthorityInfo {
  std::string role;
  std::string key_uri;
  std::string key_algorithm;
  std::string subject;
  std::int64_t crl_number = 0;
  CertificateRecord certificate;
};

/// Result of a CRL publication.
struct CrlPublication {
  std::string role;
  std::int64_t crl_number = 0;
  UnixTime this_update = 0, next_update = 0;
  std::int64_t entries = 0;
  std::filesystem::path der_path, pem_path;
};

class CertificateAuthority {
 public:
  /// Generates the root and issuing keys in the key store, self-signs the root, issues the issuing
  /// CA certificate and stores both. Refuses (conflict) when a CA exists in the database.
  static void init(const config::Config& config, db::Database& db, hsm::KeyStore& keys, const Actor& actor,
                   const Clock& clock, hsm::KeyAlgorithm root_alg, hsm::KeyAlgorithm issuing_alg);

  /// True when the database holds a CA.
  static bool initialized(db::Database& db);

  /// Loads the CA (certificates, key references) from the database. The CA's keys are asked of
  /// the key store only when the CA first signs, so reading, revoking and counting never open a
  /// token session. `keys` must outlive the CA.
  CertificateAuthority(const config::Config& config, db::Database& db, hsm::KeyStore& keys, Clock clock);
  ~CertificateAuthority();

  /// Issues an end-entity certificate from the issuing CA (see IssueRequest).
  IssuedCertificate issue(const IssueRequest& request, const Actor& actor);

  /// Revokes a certificate with a reason, effective at `effective` (default now; may be later).
  CertificateRecord revoke(const std::string& serial_hex, RevocationReason reason, std::optional<UnixTime> effective,
                           const Actor& actor);

  /// Finds a certificate by serial (hex); nullopt when unknown.
  std::optional<CertificateRecord> find(const std::string& serial_hex);

  /// The root and issuing CA.
  std::vector<AuthorityInfo> authorities();
  /// Root and issuing CA certificates.
  const X509* root_certificate() const;
  const X509* issuing_certificate() const;

  /// Counts of certificates issued, revoked (in effect) and revocations pending.
  struct Counts {
    std::int64_t issued = 0, revoked = 0, pending = 0;
  };
  Counts counts();

  /// Publishes full CRLs of the issuing CA and the root into out_dir (default the configured
  /// publish dir): DER and PEM, each written atomically.
  std::vector<CrlPublication> publish_crls(const std::optional<std::filesystem::path>& out_dir, const Actor& actor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Normalises a serial given in hex (":" separators, 0x, case) to lower-case hex without
/// leading zero bytes beyond DER's sign byte. Throws invalid_input.
std::string normalize_serial(const std::string& serial_hex);

}  // namespace jitsuin::ca
