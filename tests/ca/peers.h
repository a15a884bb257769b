#pragma once
// Independent checks of what the CA produces: openssl and certtool on the command line, Botan 2
// in-process. Our own code checking our own output would prove little.
#include <filesystem>
#include <string>
#include <vector>

#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "support/support.h"

namespace jitsuin::test {

/// An approved individual-signing subject (the RA-8 example: honsha / shacho).
inline const config::NameFields kTaro = {{"organization", "Example Kensetsu"},
                                         {"department", "Honsha"},
                                         {"title", "Shacho"},
                                         {"common_name", "Taro Yamada"}};

/// PEM files for a leaf, its issuing CA and the root, written into dir.
struct ChainFiles {
  std::filesystem::path leaf, issuing, root, untrusted_chain /* leaf+issuing+root in order */;
};
ChainFiles write_chain(const std::filesystem::path& dir, const X509* leaf, const X509* issuing, const X509* root);

/// `openssl verify -x509_strict` (with CRLs of both CAs when given); returns the output and status.
CommandResult openssl_verify(const ChainFiles& f, const std::vector<std::filesystem::path>& crls = {});

/// GnuTLS `certtool --verify-chain`: true when it prints "Chain verification output: Verified."
bool certtool_verifies(const ChainFiles& f, std::string* output = nullptr);

/// Botan 2 path validation of leaf <- issuing <- root (trusted). With CRLs, revocation is required.
/// Returns Botan's result string ("Verified" on success).
std::string botan_validate(const Bytes& leaf_der, const Bytes& issuing_der, const Bytes& root_der,
                           const std::vector<Bytes>& crl_ders = {});

/// OpenSSL's check of an OCSP response: the status for `cert` (V_OCSP_CERTSTATUS_*) when the
/// response is successful and verifies (its signer chained to `root` through `issuing`, as a
/// delegated responder or the CA itself); -2 unsuccessful or unreadable, -3 does not verify, -4 no
/// answer for `cert`.
int ocsp_verified_status(const Bytes& der, const X509* cert, const X509* issuing, const X509* root);

}  // namespace jitsuin::test
