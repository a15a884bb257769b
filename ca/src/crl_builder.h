#pragma once
// A streaming CRL encoder. OpenSSL's X509_CRL keeps every entry as a heap object (~600 MB and
// ~10 s for a million entries); this writes each revoked entry's DER straight into one buffer as
// rows arrive, then signs the TBSCertList with the CA key once.
#include <functional>
#include <memory>
#include <string>

#include "jitsuin/core/util.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::ca::detail {

struct CrlInput {
  const X509* issuer = nullptr;   ///< the CA certificate (its subject is the CRL issuer)
  EVP_PKEY* key = nullptr;        ///< the CA key on the token
  /// Holds the key's token for the signature (hsm::Signer::hold()); none: nothing to hold.
  std::function<std::unique_ptr<hsm::KeyHold>()> hold;
  Bytes authority_key_id;
  std::int64_t crl_number = 0;
  UnixTime this_update = 0, next_update = 0;
  /// URL of the distribution point this CRL serves: an issuingDistributionPoint extension
  /// (critical) when set, so relying parties (Botan does) can match it to the certificates' CRL DP.
  std::string distribution_point;
};

struct CrlFiles {
  std::string der;
  std::string pem;
  Bytes sha256;   ///< of the DER
};

class CrlBuilder {
 public:
  explicit CrlBuilder(const CrlInput& in);
  /// Adds one revoked certificate: DER INTEGER content of its serial, revocation date, RFC 5280
  /// reason code (0 = unspecified is encoded by omitting the extension, as RFC 5280 recommends).
  void add(const Bytes& serial_content, UnixTime revocation_date, int reason);
  std::int64_t entries() const { return entries_; }
  /// Signs and returns the encoded CRL.
  CrlFiles finish();

 private:
  CrlInput in_;
  std::string revoked_;   // concatenated RevokedCertificate SEQUENCEs
  std::int64_t entries_ = 0;
};

/// DER encoding helpers (exposed for tests of the encoder).
void der_append_length(std::string& out, std::size_t len);
void der_append_tlv(std::string& out, std::uint8_t tag, std::string_view content);
void der_append_time(std::string& out, UnixTime t);   ///< UTCTime until 2049, GeneralizedTime after

}  // namespace jitsuin::ca::detail
