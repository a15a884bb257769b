#pragma once
// Validation of the signatures of a PDF (jitsuin pdf verify), in the style of ETSI EN 319 102-1:
// each signature gets PASSED, INDETERMINATE or FAILED with a sub-indication and reasons a person
// can read. What is checked, in order: the byte range (its shape, that its gap is exactly the
// signature's /Contents, which revision it covers), the CMS (one SignerInfo, signed attributes,
// the digest of the byte ranges, algorithms, ESS signing-certificate-v2), the signer (key usage,
// a path to a configured trust anchor only, revocation at the signing time) and the changes made
// after signing (every later revision compared with the signed one). A document timestamp
// (ETSI.RFC3161) gets the byte range checks, its RFC 3161 token's messageImprint and signature,
// and its TSA's path with the timestamping purpose instead of the CMS and signer checks; its
// signer is the TSA. Nothing in the file is ever trusted: a certificate carried in the PDF can be
// an intermediate, never an anchor.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ca/store.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/core/util.h"

namespace jitsuin::contract {

enum class Indication { passed, indeterminate, failed };
/// "PASSED", "INDETERMINATE", "FAILED".
const char* indication_name(Indication i);

/// The verdict on one signature (or document timestamp) of the file.
struct SignatureReport {
  std::string field;                 ///< the signature field's full name (/T)
  std::string sub_filter;            ///< /SubFilter without the slash ("ETSI.CAdES.detached")
  Indication indication = Indication::passed;
  std::string sub_indication;        ///< ETSI EN 319 102-1 name ("HASH_FAILURE"); empty when PASSED
  std::vector<std::string> reasons;  ///< why, for a person; also notes on a PASSED signature
  std::string signer;                ///< the signer certificate's subject (RFC 2253, its own words)
  std::string signer_serial;         ///< hex
  std::vector<std::string> chain;    ///< subjects from the signer to the trust anchor
  std::string claimed_time;          ///< /M of the signature dictionary, as written (unproven)
  std::optional<UnixTime> signing_time;   ///< the time revocation and validity were judged at
  std::string signing_time_source;   ///< "signature timestamp", "validation time" or, for a document
                                     ///< timestamp (ETSI.RFC3161), "document timestamp" (its genTime)
  std::string revocation;            ///< what the revocation check found, for a person
  int revision = 0;                  ///< which revision (1-based) the byte range ends with
  int revisions = 0;                 ///< how many revisions the file has
  std::vector<std::string> changes_after;   ///< what later revisions changed (allowed or not)
};

/// The whole file's verdict.
struct PdfReport {
  std::string problem;               ///< set when the file itself cannot be read as a PDF
  std::vector<SignatureReport> signatures;
  /// True when every signature PASSED and there is at least one.
  bool all_passed() const;
};

/// Revocation answers from our own CA's database, for certificates it issued.
struct OwnCa {
  std::vector<ossl::Cert> certificates;   ///< root first, then the issuing CA
  ca::CertificateStore* store = nullptr;  ///< status by serial, the issuing CA's own revocation
};

/// What a validation trusts, and when it happens.
struct ValidationPolicy {
  std::vector<ossl::Cert> anchors;        ///< trust anchors: our root CA, partner CAs, --trust files
  std::vector<ossl::Cert> intermediates;  ///< known CA certificates that are not anchors (our issuing CA)
  std::vector<ossl::Crl> crls;            ///< CRLs on file (--crl); each is used only if its issuer signed it
  std::optional<OwnCa> own_ca;            ///< our CA's database, when a home exists
  UnixTime validation_time = 0;           ///< "now", or --at
};

/// Largest PDF read (bytes).
inline constexpr std::size_t kMaxPdfBytes = 512u * 1024 * 1024;

/// What pdf sign learns of its signer's certificate before it signs.
struct SignerCheck {
  std::vector<std::string> refusals;  ///< why signing now is refused (expired, not yet valid, revoked); empty: fine
  Indication indication = Indication::passed;   ///< the path check as verify_pdf would judge it at that time
  std::string sub_indication;
  std::vector<std::string> reasons;
  std::string revocation;             ///< what the revocation check found, for a person
};

/// The signer's certificate at `at` (the signing time), judged by the rules verify_pdf applies to
/// a signer: its validity period, the path to a trust anchor of `policy` (with `carried` as
/// intermediates) and revocation from the same sources (our CA's database, CRLs on file). A
/// certificate outside its validity period or revoked by `at` is a refusal; a signer whose CA is
/// not trusted or whose revocation data is missing is not (the indication says so).
SignerCheck check_signer_certificate(X509* signer, const std::vector<ossl::Cert>& carried, const ValidationPolicy& policy,
                                     UnixTime at);

/// Validates every signature of the PDF in `data`. Never throws for anything the file holds: a
/// file that is not a PDF or is damaged gets `problem` set; a signature that does not parse gets
/// FAILED FORMAT_FAILURE. Throws only for failures of the machine (out of memory).
PdfReport verify_pdf(const std::string& data, const ValidationPolicy& policy);

}  // namespace jitsuin::contract
