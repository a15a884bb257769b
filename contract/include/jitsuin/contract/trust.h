#pragma once
// The home's trust list for PDF signatures (CA-7): our own CA always (not stored here), plus
// partner CAs an administrator added. A partner is a row of partner_cas (name, SHA-256
// fingerprint, subject, CRL URLs) and its certificate copied into HOME/trust/<fingerprint>.pem;
// the newest valid CRL `jitsuin crl fetch` got for it lies beside it as <fingerprint>.crl (DER).
// Each add and remove is one transaction with one audit entry ("trust.add", "trust.remove").
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/core/openssl.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"

namespace jitsuin::contract {

struct PartnerCa {
  std::string name;                   ///< how administrators call it (unique)
  std::string fingerprint;            ///< SHA-256 of the certificate's DER, lower-case hex (unique)
  std::string subject;                ///< RFC 2253, as the certificate writes it
  UnixTime not_after = 0;
  std::vector<std::string> crl_urls;  ///< http:// or https://, fetched by `crl fetch`
  UnixTime added_at = 0;
  std::string added_by;
};

/// A partner CA's CRL on file, as `crl fetch` kept it.
struct CrlOnFile {
  ossl::Crl crl;
  std::optional<std::int64_t> number;   ///< the cRLNumber extension
  UnixTime this_update = 0;
  std::optional<UnixTime> next_update;
};

class TrustList {
 public:
  /// `dir`: where certificates and CRLs are kept (HOME/trust).
  TrustList(db::Database& db, std::filesystem::path dir) : db_(db), dir_(std::move(dir)) {}

  /// Adds a partner CA. Refuses (invalid_input) a certificate that is not a CA's (basicConstraints
  /// CA:TRUE), one expired at `now`, a CRL URL that is not http(s); (conflict) one already listed,
  /// by fingerprint or by name. `name` empty: the subject's CN (else the fingerprint's start).
  PartnerCa add(const X509* certificate, const std::vector<std::string>& crl_urls, std::string name,
                const std::string& actor, UnixTime now);
  /// Every partner, by name.
  std::vector<PartnerCa> list();
  /// Removes the partner with this name (by_fingerprint: this fingerprint); not_found when none.
  /// Its certificate and CRL files go after the row.
  PartnerCa remove(const std::string& key, bool by_fingerprint, const std::string& actor, UnixTime now);

  /// The partner's certificate as copied into the home.
  ossl::Cert certificate(const PartnerCa& partner) const;
  /// The CRL on file for the partner, if any.
  std::optional<CrlOnFile> crl(const PartnerCa& partner) const;
  /// Replaces the CRL on file (atomic write).
  void store_crl(const PartnerCa& partner, const X509_CRL* crl) const;

  std::filesystem::path certificate_path(const PartnerCa& p) const { return dir_ / (p.fingerprint + ".pem"); }
  std::filesystem::path crl_path(const PartnerCa& p) const { return dir_ / (p.fingerprint + ".crl"); }

 private:
  db::Database& db_;
  std::filesystem::path dir_;
};

/// What a CRL holds that `crl fetch` and validation judge it by.
CrlOnFile describe_crl(ossl::Crl crl);

/// What `crl fetch` did for one partner CA.
struct CrlFetchOutcome {
  std::string partner;                 ///< its name
  std::vector<std::string> messages;   ///< per URL: fetched, kept, refused, failed, and why
  bool updated = false;                ///< a newer CRL replaced the one on file
  bool problem = false;                ///< a URL failed or served a CRL that was refused
  bool stale = false;                  ///< no CRL on file, or the one on file is past its nextUpdate
};

/// Downloads every partner CA's CRLs (HTTP/HTTPS through libcurl, size- and time-limited) and keeps
/// the newest valid one on file: a CRL is used only when its issuer is the partner CA and the CA's
/// key verifies it; one with a lower CRL number (or, without numbers, an older thisUpdate) than the
/// one on file is refused. Then says which partners' CRLs are stale at `now`. Never throws for a
/// network failure or a bad CRL: each is a message of its outcome.
std::vector<CrlFetchOutcome> fetch_partner_crls(TrustList& trust, UnixTime now);

}  // namespace jitsuin::contract
