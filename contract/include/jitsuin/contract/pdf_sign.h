#pragma once
// PAdES baseline B-B signing (jitsuin pdf sign): an incremental update that adds a signature field
// (the next one when the document is already signed: a counter-signature) whose value is an
// ETSI.CAdES.detached CMS with the ESS signing-certificate-v2 attribute, made by a key that stays
// on its token. The earlier revisions are kept byte for byte, so earlier signatures stay valid.
#include <string>
#include <vector>

#include "jitsuin/core/openssl.h"
#include "jitsuin/core/util.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::contract {

struct SignOptions {
  std::string reason;                  ///< /Reason, when not empty
  UnixTime time = 0;                   ///< /M (the claimed signing time)
  std::vector<ossl::Cert> chain;       ///< CA certificates to carry in the CMS (the path's intermediates)
};

/// Space reserved for the CMS in /Contents (bytes; written as twice as many hex digits).
inline constexpr std::size_t kSignatureSpace = 16384;

/// Signs the PDF in `pdf` with `key` (its certificate `cert`) and returns the signed file.
/// Refused (invalid_input): a file qpdf cannot read, an encrypted one, one without pages, a
/// certificate that is not the key's or lacks keyUsage digitalSignature/nonRepudiation.
std::string sign_pdf(const std::string& pdf, const hsm::Signer& key, X509* cert, const SignOptions& options);

}  // namespace jitsuin::contract
