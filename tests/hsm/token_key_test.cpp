// hsm::open_token_key: a document-signing key named by a PKCS#11 URI, on a token unlocked with a
// PIN the caller gives (a person's token), or on the home's own token through its key store. The
// signature is checked by the openssl command line.
#include <gtest/gtest.h>

#include "hsm_util.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::test {
namespace {

TEST(TokenKey, KeyAndItsCertificateFromATokenUnlockedWithAPin) {
  TempDir dir;
  auto token = new_token("doc-signer", "so-pin-1234", "doc-pin-1234");
  token.login("doc-pin-1234");
  Bytes id = {0x0d, 0x0c};
  auto key = token.generate_key(hsm::KeyAlgorithm::p256, "doc", id);
  auto cert = make_cert(key.pkey(), "Document Signer", key.pkey(), "Document Signer", false);
  token.store_certificate(cert.get(), "doc", id);
  // Another certificate on the token, for another key: not the key's.
  auto other = software_key();
  auto other_cert = make_cert(other.get(), "Someone Else", other.get(), "Someone Else", false);
  token.store_certificate(other_cert.get(), "other", Bytes{0x01});

  config::Config c;
  c.hsm.module = softhsm_module();
  auto found = hsm::open_token_key(c, "pkcs11:token=doc-signer;object=doc", std::string("doc-pin-1234"));
  ASSERT_TRUE(found.signer);
  ASSERT_EQ(found.certificates.size(), 1u);
  EXPECT_EQ(found.certificates[0], ossl::cert_der(cert.get()));
  Bytes sig = sign(found.signer->pkey(), "contract text");
  // (the key object found above is stale after that login: the certificate holds the public key)
  auto v = openssl_verify(dir, X509_get0_pubkey(cert.get()), "contract text", sig);
  EXPECT_EQ(v.status, 0) << v.output;

  expect_error([&] { hsm::open_token_key(c, "pkcs11:token=doc-signer;object=doc", std::string("wrong-pin")); },
               ErrorKind::unauthenticated);
  expect_error([&] { hsm::open_token_key(c, "pkcs11:token=doc-signer;object=nope", std::string("doc-pin-1234")); },
               ErrorKind::not_found);
  expect_error([&] { hsm::open_token_key(c, "pkcs11:token=doc-signer", std::string("doc-pin-1234")); },
               ErrorKind::invalid_input);
}

TEST(TokenKey, WithoutAPinTheHomeTokenIsUsed) {
  auto f = make_ca();
  std::string uri;
  for (auto& a : f->ca->authorities())
    if (a.role == "issuing") uri = a.key_uri;
  auto found = hsm::open_token_key(f->config, uri, std::nullopt);
  ASSERT_TRUE(found.signer);
  EXPECT_TRUE(found.certificates.empty());
  Bytes sig;
  {
    auto hold = found.signer->hold();
    sig = sign(found.signer->pkey(), "contract text");
  }
  TempDir dir;
  auto v = openssl_verify(dir, found.signer->pkey(), "contract text", sig);
  EXPECT_EQ(v.status, 0) << v.output;
}

}  // namespace
}  // namespace jitsuin::test
