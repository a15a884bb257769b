#pragma once
// The CA core: what the command line, the RA and the HTTP layer call. Keys stay on the token;
// every state change is one database transaction with one audit entry.
//
// A write that is part of a larger request (the RA's issuance for an application, a revocation
// request's approval) comes in two steps: the slow part that needs no database lock (decode and
// check the CSR, build the certificate, sign on the token: sign_certificate()) and a record step
// that runs inside the caller's write transaction and hands the caller the details for its one
// audit entry (record_certificate(), CertificateStore::record_revocation()). issue() and revoke()
// are the direct paths (jitsuin ca issue, ca revoke): the same steps with a transaction and an
// audit entry of their own.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "jitsuin/ca/profile.h"
#include "jitsuin/ca/store.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::ca {

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
  std::optional<std::int64_t> days;         ///< validity; the profile's default when empty
  /// DNS names and IP addresses for subjectAltName, for profiles with server_names_in_san (TLS
  /// servers); refused for every other profile.
  std::vector<std::string> server_names;
};

/// How long issue() remembers an idempotency key.
inline constexpr UnixTime kIdempotencyRetention = 24 * 3600;

/// What issue() returns: the certificate and its chain up to the root.
struct IssuedCertificate {
  CertificateRecord record;
  ossl::Cert certificate;
  std::vector<ossl::Cert> chain;      ///< issuing CA, root
};

/// A certificate signed by the issuing CA and not yet recorded (see sign_certificate()).
struct PreparedCertificate {
  ossl::Cert certificate;
  Bytes der;
  std::string serial_hex;
  std::string profile;
  std::string subject;               ///< RFC 2253
  Bytes spki_sha256;                 ///< fingerprint of the subject's public key
  std::string key_description;       ///< e.g. "EC P-256", for the audit log
  UnixTime not_before = 0, not_after = 0;
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

/// One partition CRL of a publication (see config::CrlConfig::partition_size).
struct CrlPartitionPublication {
  std::uint32_t partition = 0;
  std::int64_t entries = 0;
  std::filesystem::path der_path;
};

/// Result of a CRL publication: one CA's full CRL (DER and PEM) and, for the issuing CA, its
/// partition CRLs (DER), all with the same CRL number.
struct CrlPublication {
  std::string role;
  std::int64_t crl_number = 0;
  UnixTime this_update = 0, next_update = 0;
  std::int64_t entries = 0;        ///< on all of the CA's CRLs (the full one and the partitions)
  std::int64_t full_entries = 0;   ///< on the full CRL (certificates issued before partitions)
  std::filesystem::path der_path, pem_path;
  std::vector<CrlPartitionPublication> partitions;
};

/// CRL partitions. A certificate issued with partitions on (config::CrlConfig::partition_size and
/// a distribution_point "…/issuing.crl") has a serial that names its partition (issuance order:
/// the certificates so far over the partition size) and a cRLDistributionPoints naming that
/// partition's CRL, "…/issuing-<partition>.crl"; crl publish writes each partition's CRL with a
/// critical issuingDistributionPoint of the same URL (RFC 5280 5.2.5), so no CRL holds more
/// than about partition_size certificates. The full CRL (issuing.crl) keeps the certificates
/// issued before partitions, whose distribution point is its URL.
/// The published file of a partition's CRL: "issuing-<partition>.crl".
std::string crl_partition_file(std::uint32_t partition);
/// The partition a published file name is the CRL of ("issuing-<decimal>.crl", no leading zero),
/// or nullopt.
std::optional<std::uint32_t> parse_crl_partition_file(std::string_view name);
/// The URL of a partition's CRL: the distribution point with "-<partition>" before ".crl" (empty
/// when the distribution point does not end in ".crl").
std::string crl_partition_url(const config::CrlConfig& crl, std::uint32_t partition);

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
  /// The same with the profiles already loaded and checked (load_profiles() of ca.profiles_dir),
  /// for a caller that checked them at its own start-up.
  CertificateAuthority(const config::Config& config, db::Database& db, hsm::KeyStore& keys, Clock clock,
                       ProfileSet profiles);
  ~CertificateAuthority();

  /// Issues an end-entity certificate from the issuing CA (see IssueRequest): sign_certificate(),
  /// then one transaction with record_certificate() and the audit entry "cert.issue".
  ///
  /// `idempotency_key`: a key the caller chose for this request (1 to 255 printable ASCII
  /// characters without spaces, e.g. a UUID), kept kIdempotencyRetention. The same actor sending
  /// the same key with the same request again (a retry after a timeout) gets the certificate
  /// issued the first time: no second issuance, no second audit entry. The same key with another
  /// request is refused (conflict) and changes nothing.
  IssuedCertificate issue(const IssueRequest& request, const Actor& actor,
                          const std::optional<std::string>& idempotency_key = std::nullopt);

  /// The lock-free part of an issuance: checks the profile, the subject and the validity,
  /// decodes and checks the CSR, refuses a revoked issuing CA (conflict), a key reported
  /// compromised (invalid_input) and a key certified to another subject (reads; checked again by
  /// record_certificate()), builds the certificate and signs it on the token. Opens no
  /// write transaction; call it before the caller's transaction.
  PreparedCertificate sign_certificate(const IssueRequest& request);

  /// Records a prepared certificate inside the caller's open write transaction (asserted),
  /// without an audit entry: fills `audit_details` (profile, subject, key, not_after,
  /// certificate_id, and the row's digest "certificate_row" that `audit verify` checks the row
  /// against) for the caller's one entry. Refuses a revoked issuing CA (conflict), a key reported
  /// compromised (invalid_input), a key certified to another subject meanwhile and a serial
  /// already recorded (conflict).
  CertificateRecord record_certificate(const PreparedCertificate& prepared, nlohmann::json& audit_details);

  /// A recorded certificate with its chain (issuing CA, root). `certificate` is the parsed
  /// certificate when the caller has it (sign_certificate()'s); otherwise the record's DER is parsed.
  IssuedCertificate with_chain(CertificateRecord record, ossl::Cert certificate = {}) const;

  /// Revokes a certificate with a reason, effective at `effective` (default now; may be later):
  /// one transaction with CertificateStore::record_revocation() and the audit entry "cert.revoke".
  CertificateRecord revoke(const std::string& serial_hex, RevocationReason reason, std::optional<UnixTime> effective,
                           const Actor& actor);

  /// Revokes the issuing CA's own certificate, effective now, for cACompromise,
  /// affiliationChanged, superseded or cessationOfOperation: a root-CA operation (the entry goes
  /// on the root's CRL). One transaction with CertificateStore::record_issuing_ca_revocation() and
  /// the audit entry "ca.revoke_issuing". From then on the issuing CA's key signs nothing:
  /// issuance refuses (conflict) and publish_crls() publishes the root CRL only.
  CertificateRecord revoke_issuing_ca(RevocationReason reason, const Actor& actor);

  /// Why the issuing CA signs nothing any more (its certificate revoked), or nullopt.
  std::optional<std::string> issuing_ca_revoked();

  /// Finds a certificate by serial (hex); nullopt when unknown. Same as store().find().
  std::optional<CertificateRecord> find(const std::string& serial_hex);

  /// The CA's certificate records (queries and the revocation record step), on this CA's
  /// database and clock.
  CertificateStore& store();

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
  /// publish dir): DER and PEM, each written atomically; the root CRL only once the issuing CA's
  /// certificate is revoked (issuing_ca_revoked()). Staged files a killed run left in out_dir
  /// (older than ten minutes, so never a concurrent run's) are removed first. Both CRLs are read and signed outside the
  /// write lock; one transaction then takes both next CRL numbers, records both publications and
  /// one audit entry "crl.publish" naming them (signing again if a concurrent publication or
  /// revocation moved a number or the entries meanwhile, and after a few such attempts reading and
  /// signing inside the transaction).
  std::vector<CrlPublication> publish_crls(const std::optional<std::filesystem::path>& out_dir, const Actor& actor);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jitsuin::ca
