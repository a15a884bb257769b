// Issuance: every certificate checked by openssl, GnuTLS certtool and Botan.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <set>

#include "jitsuin/db/audit.h"
#include "peers.h"

namespace jitsuin::test {
namespace {

ca::IssuedCertificate issue(CaFixture& f, const std::string& csr, const std::string& profile = "individual-signing",
                            const config::NameFields& subject = kTaro, std::optional<int> days = std::nullopt) {
  return f.ca->issue({profile, csr, subject, days, {}}, {"test"});
}

std::string text_of(const X509* cert) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  X509_print(bio.get(), const_cast<X509*>(cert));
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

void expect_peers_accept(CaFixture& f, const ca::IssuedCertificate& c, const std::filesystem::path& dir) {
  auto files = write_chain(dir, c.certificate.get(), f.ca->issuing_certificate(), f.ca->root_certificate());
  auto ossl_result = openssl_verify(files);
  EXPECT_EQ(ossl_result.status, 0) << ossl_result.output;
  std::string out;
  EXPECT_TRUE(certtool_verifies(files, &out)) << out;
  EXPECT_EQ(botan_validate(c.record.der, ossl::cert_der(f.ca->issuing_certificate()),
                           ossl::cert_der(f.ca->root_certificate())),
            "Verified");
}

TEST(Issue, IndividualSigningFromOpensslCsrIsAcceptedByEveryPeer) {
  auto f = make_ca();
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "ec"), "individual-signing", kTaro, 730);
  expect_peers_accept(*f, c, dir.path());
  std::string text = text_of(c.certificate.get());
  // Subject from the approved data, never from the CSR (its CN was "from-csr").
  EXPECT_EQ(c.record.subject, "CN=Taro Yamada,title=Shacho,OU=Honsha,O=Example Kensetsu,C=JP");
  EXPECT_EQ(text.find("from-csr"), std::string::npos);
  EXPECT_NE(text.find("X509v3 Key Usage: critical\n                Digital Signature, Non Repudiation"), std::string::npos)
      << text;
  EXPECT_NE(text.find("CA:FALSE"), std::string::npos);
  EXPECT_NE(text.find("URI:http://localhost:8080/crl/issuing.crl"), std::string::npos);
  EXPECT_NE(text.find("CA Issuers - URI:http://localhost:8080/ca/issuing.crt"), std::string::npos);
  EXPECT_NE(text.find("Policy: 1.3.6.1.4.1.55555.1.1"), std::string::npos);
  EXPECT_EQ(c.record.not_after - c.record.not_before, 730 * 86400);
  ASSERT_EQ(c.chain.size(), 2u);
  EXPECT_EQ(X509_cmp(c.chain[0].get(), f->ca->issuing_certificate()), 0);
  EXPECT_EQ(X509_cmp(c.chain[1].get(), f->ca->root_certificate()), 0);
}

TEST(Issue, RsaSubjectKeyUnderP384IssuingCaAndRsa2048Root) {
  auto f = make_ca(hsm::KeyAlgorithm::rsa2048, hsm::KeyAlgorithm::p384);
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "rsa:2048"));
  expect_peers_accept(*f, c, dir.path());
  EXPECT_NE(text_of(c.certificate.get()).find("Signature Algorithm: ecdsa-with-SHA384"), std::string::npos);
  EXPECT_NE(text_of(f->ca->issuing_certificate()).find("Signature Algorithm: sha256WithRSAEncryption"),
            std::string::npos);
}

TEST(Issue, RsaIssuingCa) {
  auto f = make_ca(hsm::KeyAlgorithm::rsa2048, hsm::KeyAlgorithm::rsa2048);
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "ec"));
  expect_peers_accept(*f, c, dir.path());
}

TEST(Issue, SmimeProfileHasOneEmailInSubjectAltName) {
  auto f = make_ca();
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "rsa:2048"), "smime",
                 {{"common_name", "Taro Yamada"}, {"email", "taro@example.jp"}});
  expect_peers_accept(*f, c, dir.path());
  std::string text = text_of(c.certificate.get());
  EXPECT_NE(text.find("email:taro@example.jp"), std::string::npos) << text;
  EXPECT_NE(text.find("E-mail Protection"), std::string::npos);
  EXPECT_NE(text.find("Digital Signature, Key Encipherment"), std::string::npos);
  EXPECT_EQ(c.record.not_after - c.record.not_before, 365 * 86400);
  auto files = write_chain(dir.path(), c.certificate.get(), f->ca->issuing_certificate(), f->ca->root_certificate());
  auto r = run("openssl verify -purpose smimesign -CAfile " + sh_quote(files.root.string()) + " -untrusted " +
               sh_quote(files.issuing.string()) + " " + sh_quote(files.leaf.string()));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_THROW(issue(*f, openssl_csr(dir.path(), "ec", "k2"), "smime",
                     {{"common_name", "Taro Yamada"}, {"email", "taro@example.jp"}}, 730),
               Error);
  // Both key types can receive encrypted mail: RSA by key transport, EC by key agreement.
  auto ec = issue(*f, openssl_csr(dir.path(), "ec", "k3"), "smime", {{"common_name", "Taro Yamada"}, {"email", "taro@example.jp"}});
  EXPECT_NE(text_of(ec.certificate.get()).find("Digital Signature, Key Agreement"), std::string::npos);
  std::filesystem::create_directories(dir.path() / "ec");
  auto ec_files = write_chain(dir.path() / "ec", ec.certificate.get(), f->ca->issuing_certificate(), f->ca->root_certificate());
  // (openssl's smimeencrypt purpose wants keyEncipherment of every key type: RSA only.)
  auto enc = run("openssl verify -purpose smimeencrypt -CAfile " + sh_quote(files.root.string()) + " -untrusted " +
                 sh_quote(files.issuing.string()) + " " + sh_quote(files.leaf.string()));
  EXPECT_EQ(enc.status, 0) << enc.output;
  // A mail encrypted to each certificate (openssl cms) is read with its key.
  for (auto [leaf, key] : {std::pair{files.leaf, dir.path() / "k.key"}, std::pair{ec_files.leaf, dir.path() / "k3.key"}}) {
    auto r = run("printf 'for your eyes only' | openssl cms -encrypt -aes256 -recip " + sh_quote(leaf.string()) +
                 " -out " + sh_quote((dir.path() / "m.p7").string()) + " && openssl cms -decrypt -in " +
                 sh_quote((dir.path() / "m.p7").string()) + " -recip " + sh_quote(leaf.string()) + " -inkey " +
                 sh_quote(key.string()));
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("for your eyes only"), std::string::npos) << r.output;
  }
}

TEST(Issue, TsaProfileHasCriticalTimeStampingUsage) {
  auto f = make_ca();
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "rsa:2048"), "tsa",
                 {{"organization", "Jitsuin"}, {"common_name", "Jitsuin TSA 1"}});
  expect_peers_accept(*f, c, dir.path());
  std::string text = text_of(c.certificate.get());
  EXPECT_NE(text.find("X509v3 Extended Key Usage: critical\n                Time Stamping"), std::string::npos) << text;
  auto files = write_chain(dir.path(), c.certificate.get(), f->ca->issuing_certificate(), f->ca->root_certificate());
  auto r = run("openssl verify -purpose timestampsign -CAfile " + sh_quote(files.root.string()) + " -untrusted " +
               sh_quote(files.issuing.string()) + " " + sh_quote(files.leaf.string()));
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Issue, OcspSigningProfileHasNoCheck) {
  auto f = make_ca();
  TempDir dir;
  auto c = issue(*f, openssl_csr(dir.path(), "ec"), "ocsp-signing",
                 {{"organization", "Jitsuin"}, {"common_name", "Jitsuin OCSP 1"}});
  expect_peers_accept(*f, c, dir.path());
  std::string text = text_of(c.certificate.get());
  EXPECT_NE(text.find("OCSP Signing"), std::string::npos) << text;
  EXPECT_NE(text.find("OCSP No Check"), std::string::npos) << text;
}

// jitsuind's own certificate (issue 9): serverAuth, subjectAltName DNS and IP names from the
// request, nothing else takes server names.
TEST(Issue, TlsServerProfileNamesTheServerInSubjectAltName) {
  auto f = make_ca();
  TempDir dir;
  config::NameFields subject{{"organization", "Jitsuin"}, {"common_name", "server.example"}};
  std::string csr = openssl_csr(dir.path(), "ec");
  auto c = f->ca->issue({"tls-server", csr, subject, 398, {"server.example", "192.0.2.7", "::1"}}, {"test"});
  expect_peers_accept(*f, c, dir.path());
  std::string text = text_of(c.certificate.get());
  EXPECT_NE(text.find("TLS Web Server Authentication"), std::string::npos) << text;
  EXPECT_NE(text.find("DNS:server.example, IP Address:192.0.2.7, IP Address:0:0:0:0:0:0:0:1"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Digital Signature"), std::string::npos) << text;
  EXPECT_EQ(c.record.not_after - c.record.not_before, 398 * 86400);

  auto before = f->ca->counts().issued;
  expect_error([&] { f->ca->issue({"tls-server", csr, subject, 399, {"server.example"}}, {"test"}); },
               ErrorKind::invalid_input);
  expect_error([&] { f->ca->issue({"tls-server", csr, subject, std::nullopt, {}}, {"test"}); }, ErrorKind::invalid_input);
  std::string msg = expect_error(
      [&] { f->ca->issue({"tls-server", csr, subject, std::nullopt, {"bad name!"}}, {"test"}); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("'bad name!'"), std::string::npos) << msg;
  expect_error([&] { f->ca->issue({"individual-signing", csr, kTaro, std::nullopt, {"server.example"}}, {"test"}); },
               ErrorKind::invalid_input);
  EXPECT_EQ(f->ca->counts().issued, before);   // nothing issued by the refusals
}

TEST(Issue, CsrMadeByAKeyOnAToken) {
  auto f = make_ca();
  TempDir dir;
  auto token = new_token("applicant", "so-pin-1234", "1234");
  token.login("1234");
  auto key = token.generate_key(hsm::KeyAlgorithm::p256, "applicant-key", {0x42});
  ossl::Req req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key.pkey());
  ASSERT_GT(X509_REQ_sign(req.get(), key.pkey(), EVP_sha256()), 0);
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(bio.get(), req.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  auto c = issue(*f, std::string(data, static_cast<std::size_t>(n)));
  expect_peers_accept(*f, c, dir.path());
  // The certificate goes onto the token beside its key, under the same CKA_ID.
  token.store_certificate(c.certificate.get(), "applicant-cert", {0x42});
  auto certs = token.certificates();
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0], c.record.der);
}

TEST(Issue, SerialsAreRandomPositiveUniqueAndOver64Bits) {
  auto f = make_ca();
  TempDir dir;
  std::set<std::string> serials;
  for (int i = 0; i < 20; ++i) {
    auto c = issue(*f, openssl_csr(dir.path(), "ec", "k" + std::to_string(i)));
    const ASN1_INTEGER* s = X509_get0_serialNumber(c.certificate.get());
    EXPECT_EQ(s->type, V_ASN1_INTEGER);  // positive
    EXPECT_EQ(s->length, 16);
    // CRL partitions are on by default (partition 0 here): 0x3f, the partition in 4 bytes, then
    // 88 random bits; a plain serial (partitions off) starts with 0x40..0x7f (126 random bits).
    EXPECT_EQ(s->data[0], 0x3f);
    EXPECT_EQ(c.record.serial_hex.substr(0, 10), "3f00000000");
    serials.insert(c.record.serial_hex);
  }
  EXPECT_EQ(serials.size(), 20u);
}

TEST(Issue, CertificateAndAuditEntryAreWrittenTogether) {
  auto f = make_ca();
  TempDir dir;
  auto certs = count_rows(*f->db, "certificates"), audit = count_rows(*f->db, "audit_log");
  auto c = issue(*f, openssl_csr(dir.path(), "ec"));
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs + 1);
  EXPECT_EQ(count_rows(*f->db, "audit_log"), audit + 1);
  db::Statement st(*f->db, "SELECT action, object FROM audit_log ORDER BY seq DESC LIMIT 1");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "cert.issue");
  EXPECT_EQ(st.text(1), c.record.serial_hex);
  EXPECT_TRUE(db::verify_audit(*f->db).ok);
  auto found = f->ca->find(c.record.serial_hex);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->der, c.record.der);
  EXPECT_EQ(found->status(c.record.issued_at), "valid");
}

TEST(Issue, KeyAlreadyCertifiedToSomeoneElseIsRefused) {
  auto f = make_ca();
  TempDir dir;
  std::string csr = openssl_csr(dir.path(), "ec");
  issue(*f, csr);
  // The same person may get another certificate for the same key...
  EXPECT_NO_THROW(issue(*f, csr));
  auto certs = count_rows(*f->db, "certificates");
  // ...but nobody else.
  config::NameFields hanako = kTaro;
  hanako["common_name"] = "Hanako Suzuki";
  try {
    issue(*f, csr, "individual-signing", hanako);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::conflict);
    EXPECT_NE(std::string(e.what()).find("already certified"), std::string::npos) << e.what();
  }
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs);
}

TEST(Issue, CaInitRefusesToRunTwice) {
  auto f = make_ca();
  auto authorities = count_rows(*f->db, "authorities");
  try {
    ca::CertificateAuthority::init(f->config, *f->db, *f->keys, {"test"}, system_clock(), hsm::KeyAlgorithm::p256,
                                   hsm::KeyAlgorithm::p256);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::conflict);
  }
  EXPECT_EQ(count_rows(*f->db, "authorities"), authorities);
}

TEST(Issue, CaCertificatesAreProperCas) {
  auto f = make_ca();
  std::string root = text_of(f->ca->root_certificate()), issuing = text_of(f->ca->issuing_certificate());
  EXPECT_NE(root.find("CA:TRUE"), std::string::npos);
  EXPECT_NE(root.find("Certificate Sign, CRL Sign"), std::string::npos);
  EXPECT_NE(issuing.find("CA:TRUE, pathlen:0"), std::string::npos);
  EXPECT_NE(issuing.find("URI:http://localhost:8080/crl/root.crl"), std::string::npos);
  EXPECT_NE(root.find("Public-Key: (3072 bit)"), std::string::npos);
  EXPECT_NE(issuing.find("NIST CURVE: P-256"), std::string::npos);
}

}  // namespace
}  // namespace jitsuin::test
