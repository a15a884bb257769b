#include "peers.h"

#include <botan/certstor.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>
#include <botan/x509path.h>

#include "jitsuin/core/openssl.h"

namespace jitsuin::test {

ChainFiles write_chain(const std::filesystem::path& dir, const X509* leaf, const X509* issuing, const X509* root) {
  ChainFiles f{dir / "leaf.pem", dir / "issuing.pem", dir / "root.pem", dir / "chain.pem"};
  write_text(f.leaf, ossl::cert_pem(leaf));
  write_text(f.issuing, ossl::cert_pem(issuing));
  write_text(f.root, ossl::cert_pem(root));
  write_text(f.untrusted_chain, ossl::cert_pem(leaf) + ossl::cert_pem(issuing) + ossl::cert_pem(root));
  return f;
}

CommandResult openssl_verify(const ChainFiles& f, const std::vector<std::filesystem::path>& crls) {
  std::string cmd = "openssl verify -x509_strict -CAfile " + sh_quote(f.root.string()) + " -untrusted " +
                    sh_quote(f.issuing.string());
  if (!crls.empty()) {
    cmd += " -crl_check_all";
    for (const auto& c : crls) cmd += " -CRLfile " + sh_quote(c.string());
  }
  return run(cmd + " " + sh_quote(f.leaf.string()));
}

bool certtool_verifies(const ChainFiles& f, std::string* output) {
  auto r = run("certtool --verify-chain --infile " + sh_quote(f.untrusted_chain.string()));
  if (output) *output = r.output;
  return r.output.find("Chain verification output: Verified.") != std::string::npos;
}

std::string botan_validate(const Bytes& leaf_der, const Bytes& issuing_der, const Bytes& root_der,
                           const std::vector<Bytes>& crl_ders) {
  Botan::X509_Certificate leaf(leaf_der), issuing(issuing_der), root(root_der);
  Botan::Certificate_Store_In_Memory store;
  store.add_certificate(root);
  for (const auto& c : crl_ders) store.add_crl(Botan::X509_CRL(c));
  Botan::Path_Validation_Restrictions restrictions(!crl_ders.empty(), 110);
  auto result = Botan::x509_path_validate({leaf, issuing}, restrictions, store);
  return result.result_string();
}

}  // namespace jitsuin::test
