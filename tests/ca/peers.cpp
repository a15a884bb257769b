#include "peers.h"

#include <botan/certstor.h>
#include <botan/x509_crl.h>
#include <botan/x509cert.h>
#include <botan/x509path.h>

#include <openssl/err.h>
#include <openssl/ocsp.h>

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

int ocsp_verified_status(const Bytes& der, const X509* cert, const X509* issuing, const X509* root) {
  const unsigned char* p = der.data();
  ossl::OcspResponse resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp || OCSP_response_status(resp.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) return -2;
  ossl::OcspBasic bs(OCSP_response_get1_basic(resp.get()));
  if (!bs) return -2;
  std::unique_ptr<X509_STORE, ossl::Deleter<X509_STORE, X509_STORE_free>> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), const_cast<X509*>(root));
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  sk_X509_push(untrusted, const_cast<X509*>(issuing));
  int ok = OCSP_basic_verify(bs.get(), untrusted, store.get(), 0);
  sk_X509_free(untrusted);
  ERR_clear_error();
  if (ok != 1) return -3;
  auto id = ossl::check<std::unique_ptr<OCSP_CERTID, ossl::Deleter<OCSP_CERTID, OCSP_CERTID_free>>>(
      OCSP_cert_to_id(EVP_sha1(), cert, issuing), "id");
  int status = -1, reason = -1;
  ASN1_GENERALIZEDTIME *rev = nullptr, *thisu = nullptr, *nextu = nullptr;
  if (OCSP_resp_find_status(bs.get(), id.get(), &status, &reason, &rev, &thisu, &nextu) != 1) return -4;
  return status;
}

}  // namespace jitsuin::test
