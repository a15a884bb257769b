// Revocation and CRL publishing, checked by openssl and Botan.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jitsuin/db/audit.h"
#include "peers.h"

namespace jitsuin::test {
namespace {

const config::NameFields kTaro = {{"organization", "Example Kensetsu"}, {"common_name", "Taro Yamada"}};

struct Clocked {
  std::unique_ptr<CaFixture> f = make_ca();
  UnixTime now = system_clock()();
  std::unique_ptr<ca::CertificateAuthority> ca =
      std::make_unique<ca::CertificateAuthority>(f->config, *f->db, *f->keys, [this] { return now; });
  TempDir dir;
  int keys = 0;

  ca::IssuedCertificate issue() {
    return ca->issue({"individual-signing", openssl_csr(dir.path(), "ec", "k" + std::to_string(++keys)), kTaro, {}, {}},
                     {"test"});
  }
  std::string crl_text(const std::string& role) {
    auto r = run("openssl crl -inform DER -noout -text -in " + sh_quote((dir.path() / "crl" / (role + ".crl")).string()));
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output;
  }
  std::vector<ca::CrlPublication> publish() { return ca->publish_crls(dir.path() / "crl", {"cron"}); }
};

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(Revoke, RevokedCertificateIsRejectedByOpensslAndBotanWithTheCrl) {
  Clocked c;
  auto good = c.issue(), bad = c.issue();
  c.ca->revoke(bad.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"op"});
  auto pubs = c.publish();
  ASSERT_EQ(pubs.size(), 2u);
  EXPECT_EQ(pubs[0].role, "issuing");
  EXPECT_EQ(pubs[0].entries, 1);
  EXPECT_EQ(pubs[1].role, "root");
  EXPECT_EQ(pubs[1].entries, 0);
  auto crl_dir = c.dir.path() / "crl";

  // The CRL's signature, issuer and contents, by openssl.
  auto files_bad = write_chain(c.dir.path(), bad.certificate.get(), c.ca->issuing_certificate(), c.ca->root_certificate());
  auto v = run("openssl crl -noout -verify -in " + sh_quote((crl_dir / "issuing.crl.pem").string()) + " -CAfile " +
               sh_quote(files_bad.issuing.string()));
  EXPECT_NE(v.output.find("verify OK"), std::string::npos) << v.output;
  v = run("openssl crl -noout -verify -in " + sh_quote((crl_dir / "root.crl.pem").string()) + " -CAfile " +
          sh_quote(files_bad.root.string()));
  EXPECT_NE(v.output.find("verify OK"), std::string::npos) << v.output;
  std::string text = c.crl_text("issuing");
  EXPECT_NE(text.find("Serial Number: " + upper(bad.record.serial_hex)), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos);
  EXPECT_NE(text.find("X509v3 CRL Number: \n                1"), std::string::npos) << text;
  EXPECT_NE(text.find("X509v3 Authority Key Identifier"), std::string::npos);
  EXPECT_EQ(text.find(upper(good.record.serial_hex)), std::string::npos);
  // DER and PEM are the same CRL.
  auto d = run("openssl crl -inform DER -in " + sh_quote((crl_dir / "issuing.crl").string()) + " -outform PEM");
  EXPECT_EQ(d.output, read_file(crl_dir / "issuing.crl.pem"));

  std::vector<std::filesystem::path> crls = {crl_dir / "issuing.crl.pem", crl_dir / "root.crl.pem"};
  auto r = openssl_verify(files_bad, crls);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
  TempDir good_dir;
  auto files_good = write_chain(good_dir.path(), good.certificate.get(), c.ca->issuing_certificate(),
                                c.ca->root_certificate());
  r = openssl_verify(files_good, crls);
  EXPECT_EQ(r.status, 0) << r.output;

  std::vector<Bytes> crl_ders;
  for (const char* n : {"issuing.crl", "root.crl"}) {
    std::string s = read_file(crl_dir / n);
    crl_ders.emplace_back(s.begin(), s.end());
  }
  auto issuing_der = ossl::cert_der(c.ca->issuing_certificate()), root_der = ossl::cert_der(c.ca->root_certificate());
  EXPECT_EQ(botan_validate(bad.record.der, issuing_der, root_der, crl_ders), "Certificate is revoked");
  EXPECT_EQ(botan_validate(good.record.der, issuing_der, root_der, crl_ders), "Verified");
}

TEST(Revoke, FutureEffectiveTimeEntersTheCrlOnlyFromThen) {
  Clocked c;
  auto cert = c.issue();
  UnixTime effective = c.now + 2 * 86400;
  auto rec = c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::affiliation_changed, effective, {"op"});
  EXPECT_EQ(rec.status(c.now), "revocation pending");
  auto first = c.publish();
  EXPECT_EQ(first[0].entries, 0);
  EXPECT_EQ(c.crl_text("issuing").find(upper(cert.record.serial_hex)), std::string::npos);
  EXPECT_EQ(c.ca->counts().pending, 1);

  c.now = effective + 60;
  auto second = c.publish();
  EXPECT_EQ(second[0].entries, 1);
  EXPECT_GT(second[0].crl_number, first[0].crl_number);
  std::string text = c.crl_text("issuing");
  EXPECT_NE(text.find(upper(cert.record.serial_hex)), std::string::npos) << text;
  EXPECT_NE(text.find("Affiliation Changed"), std::string::npos);
  EXPECT_EQ(c.ca->find(cert.record.serial_hex)->status(c.now), "revoked");
  EXPECT_EQ(second[0].next_update - second[0].this_update, 48 * 3600);
}

TEST(Revoke, CrlNumberIsMonotonicAndEveryPublicationAudited) {
  Clocked c;
  std::int64_t last = 0;
  for (int i = 0; i < 3; ++i) {
    auto pubs = c.publish();
    EXPECT_EQ(pubs[0].crl_number, last + 1);
    last = pubs[0].crl_number;
    EXPECT_NE(c.crl_text("issuing").find("X509v3 CRL Number: \n                " + std::to_string(last)),
              std::string::npos);
  }
  // One publication (issuing and root CRL) is one transaction with one audit entry naming both.
  db::Statement st(*c.f->db, "SELECT details FROM audit_log WHERE action = 'crl.publish' ORDER BY seq");
  int entries = 0;
  while (st.step()) {
    auto crls = nlohmann::json::parse(st.text(0)).at("crls");
    ASSERT_EQ(crls.size(), 2u);
    EXPECT_EQ(crls[0]["role"], "issuing");
    EXPECT_EQ(crls[0]["crl_number"], ++entries);
    EXPECT_EQ(crls[1]["role"], "root");
  }
  EXPECT_EQ(entries, 3);
  EXPECT_TRUE(db::verify_audit(*c.f->db).ok);
}

// issue 8: the issuing CA's certificate is revoked by revoke_issuing_ca() (a root-CA operation),
// never by revoke(); the root CRL carries it, a chain through it fails, and its key signs nothing.
TEST(Revoke, RevokedIssuingCaAppearsInTheRootCrlAndSignsNothingMore) {
  Clocked c;
  auto leaf = c.issue();
  c.publish();   // an issuing CRL, for -crl_check_all
  auto issuing_serial = to_hex(std::span(X509_get0_serialNumber(c.ca->issuing_certificate())->data,
                                         static_cast<std::size_t>(X509_get0_serialNumber(c.ca->issuing_certificate())->length)));
  auto root_serial = to_hex(std::span(X509_get0_serialNumber(c.ca->root_certificate())->data,
                                      static_cast<std::size_t>(X509_get0_serialNumber(c.ca->root_certificate())->length)));
  auto audit = count_rows(*c.f->db, "audit_log");
  auto m = expect_error([&] { c.ca->revoke(issuing_serial, ca::RevocationReason::ca_compromise, std::nullopt, {"op"}); },
                        ErrorKind::invalid_input);
  EXPECT_NE(m.find("jitsuin ca revoke-ca"), std::string::npos) << m;
  m = expect_error([&] { c.ca->revoke(root_serial, ca::RevocationReason::ca_compromise, std::nullopt, {"op"}); },
                   ErrorKind::invalid_input);
  EXPECT_NE(m.find("a root is never revoked"), std::string::npos) << m;
  expect_error([&] { c.ca->revoke_issuing_ca(ca::RevocationReason::key_compromise, {"op"}); }, ErrorKind::invalid_input);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit);
  EXPECT_FALSE(c.ca->issuing_ca_revoked());

  // superseded first, then cACompromise: the reason of a revocation in effect becomes cACompromise.
  auto rec = c.ca->revoke_issuing_ca(ca::RevocationReason::superseded, {"root-op"});
  EXPECT_EQ(rec.status(c.now), "revoked");
  c.now += 60;
  rec = c.ca->revoke_issuing_ca(ca::RevocationReason::ca_compromise, {"root-op"});
  EXPECT_EQ(rec.reason, ca::RevocationReason::ca_compromise);
  EXPECT_EQ(*rec.revocation_effective, c.now - 60) << "the revocation date stays";
  expect_error([&] { c.ca->revoke_issuing_ca(ca::RevocationReason::ca_compromise, {"root-op"}); }, ErrorKind::conflict);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit + 2);
  ASSERT_TRUE(c.ca->issuing_ca_revoked());

  m = expect_error([&] { c.issue(); }, ErrorKind::conflict);
  EXPECT_NE(m.find("signs no certificate and no CRL"), std::string::npos) << m;
  auto issuing_crl = read_file(c.dir.path() / "crl" / "issuing.crl");
  auto pubs = c.publish();
  ASSERT_EQ(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].role, "root");
  EXPECT_EQ(pubs[0].entries, 1);
  EXPECT_EQ(read_file(c.dir.path() / "crl" / "issuing.crl"), issuing_crl) << "the revoked issuing key signed a CRL";
  std::string text = c.crl_text("root");
  EXPECT_NE(text.find("Serial Number: " + upper(issuing_serial)), std::string::npos) << text;
  EXPECT_NE(text.find("CA Compromise"), std::string::npos) << text;
  {
    db::Statement st(*c.f->db, "SELECT object, details FROM audit_log WHERE action = 'crl.publish' ORDER BY seq DESC");
    ASSERT_TRUE(st.step());
    EXPECT_EQ(st.text(0), "root");
    EXPECT_EQ(nlohmann::json::parse(st.text(1))["not_published"][0]["role"], "issuing");
  }
  auto files = write_chain(c.dir.path(), leaf.certificate.get(), c.ca->issuing_certificate(), c.ca->root_certificate());
  auto r = openssl_verify(files, {c.dir.path() / "crl" / "issuing.crl.pem", c.dir.path() / "crl" / "root.crl.pem"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
  EXPECT_TRUE(db::verify_audit(*c.f->db).ok);
}

// issue 8: a revocation scheduled for later does not block keyCompromise, which takes effect now
// in its place; other reasons do not replace it.
TEST(Revoke, KeyCompromiseReplacesARevocationScheduledForLater) {
  Clocked c;
  auto cert = c.issue();
  const std::string serial = cert.record.serial_hex;
  c.ca->revoke(serial, ca::RevocationReason::affiliation_changed, c.now + 3 * 86400, {"op"});
  auto audit = count_rows(*c.f->db, "audit_log");
  auto m = expect_error([&] { c.ca->revoke(serial, ca::RevocationReason::superseded, std::nullopt, {"op"}); },
                        ErrorKind::conflict);
  EXPECT_NE(m.find("only keyCompromise"), std::string::npos) << m;
  // Not earlier than what is scheduled: nothing to replace.
  expect_error([&] { c.ca->revoke(serial, ca::RevocationReason::key_compromise, c.now + 4 * 86400, {"op"}); },
               ErrorKind::conflict);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit);

  auto rec = c.ca->revoke(serial, ca::RevocationReason::key_compromise, std::nullopt, {"op"});
  EXPECT_EQ(rec.status(c.now), "revoked");
  EXPECT_EQ(*rec.revocation_effective, c.now);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit + 1);
  db::Statement st(*c.f->db, "SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "cert.revoke");
  auto d = nlohmann::json::parse(st.text(1));
  EXPECT_EQ(d["reason"], "keyCompromise");
  EXPECT_EQ(d["replaced"]["reason"], "affiliationChanged");
  EXPECT_EQ(d["replaced"]["effective"], format_rfc3339(c.now + 3 * 86400));
  EXPECT_EQ(d["compromised_key"].get<std::string>().size(), 64u) << d;
  auto pubs = c.publish();
  EXPECT_EQ(pubs[0].entries, 1);
  std::string text = c.crl_text("issuing");
  EXPECT_NE(text.find(upper(serial)), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  expect_error([&] { c.ca->revoke(serial, ca::RevocationReason::key_compromise, std::nullopt, {"op"}); },
               ErrorKind::conflict);
  EXPECT_TRUE(db::verify_audit(*c.f->db).ok);
}

// issue 8: RFC 5280 lets a revocation's reason become keyCompromise: on a revocation in effect the
// reason changes and the revocation date stays; the next CRL says so.
TEST(Revoke, KeyCompromiseChangesTheReasonOfARevocationInEffect) {
  Clocked c;
  auto cert = c.issue();
  const UnixTime revoked = c.now;
  c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, {"op"});
  c.publish();
  EXPECT_NE(c.crl_text("issuing").find("Superseded"), std::string::npos);
  c.now += 3600;
  auto rec = c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"op"});
  EXPECT_EQ(rec.reason, ca::RevocationReason::key_compromise);
  EXPECT_EQ(*rec.revocation_effective, revoked);
  c.publish();
  std::string text = c.crl_text("issuing");
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  EXPECT_EQ(text.find("Superseded"), std::string::npos) << text;
}

// issue 8: a key revoked for keyCompromise is never certified again, whatever the subject: refused
// when signing and, for a revocation recorded between signing and recording, when recording.
TEST(Revoke, CompromisedKeyIsNeverCertifiedAgain) {
  Clocked c;
  std::string csr = openssl_csr(c.dir.path(), "ec", "stolen");
  auto first = c.ca->issue({"individual-signing", csr, kTaro, {}, {}}, {"test"});
  // Signed (same subject, allowed while the key is not reported), not yet recorded...
  auto prepared = c.ca->sign_certificate({"individual-signing", csr, kTaro, {}, {}});
  // ...when the key is reported compromised, with the revocation itself scheduled for later.
  c.ca->revoke(first.record.serial_hex, ca::RevocationReason::key_compromise, c.now + 86400, {"op"});
  auto certs = count_rows(*c.f->db, "certificates");
  {
    db::Transaction tx(*c.f->db);
    nlohmann::json details;
    auto m = expect_error([&] { c.ca->record_certificate(prepared, details); }, ErrorKind::invalid_input);
    EXPECT_NE(m.find("reported compromised"), std::string::npos) << m;
  }
  const config::NameFields other = {{"organization", "Ume Kogyo"}, {"common_name", "Hanako Ito"}};
  for (const auto& subject : {kTaro, other}) {
    auto m = expect_error([&] { c.ca->issue({"individual-signing", csr, subject, {}, {}}, {"test"}); },
                          ErrorKind::invalid_input);
    EXPECT_NE(m.find(first.record.serial_hex), std::string::npos) << m;
  }
  EXPECT_EQ(count_rows(*c.f->db, "certificates"), certs);
  c.issue();   // other keys are fine
}

TEST(Revoke, BadRevocationsAreRefusedAndChangeNothing) {
  Clocked c;
  auto cert = c.issue();
  auto audit = count_rows(*c.f->db, "audit_log");
  auto expect_error_with = [&](auto&& fn, ErrorKind kind, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error_with([&] { c.ca->revoke("0badc0de", ca::RevocationReason::unspecified, std::nullopt, {"op"}); },
               ErrorKind::not_found, "no certificate with serial 0badc0de");
  expect_error_with([&] { c.ca->revoke("zz", ca::RevocationReason::unspecified, std::nullopt, {"op"}); },
               ErrorKind::invalid_input, "hex");
  expect_error_with([&] { c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::certificate_hold, std::nullopt, {"op"}); },
               ErrorKind::invalid_input, "certificateHold");
  expect_error_with([&] { c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::superseded, c.now - 86400, {"op"}); },
               ErrorKind::invalid_input, "in the past");
  expect_error_with([&] { ca::parse_revocation_reason("stolen"); }, ErrorKind::invalid_input, "unknown revocation reason");
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit);
  EXPECT_EQ(c.ca->find(cert.record.serial_hex)->status(c.now), "valid");
  c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, {"op"});
  expect_error_with([&] { c.ca->revoke(cert.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, {"op"}); },
               ErrorKind::conflict, "already revoked");
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit + 1);
}

TEST(Revoke, ReasonNamesFollowRfc5280) {
  EXPECT_EQ(ca::parse_revocation_reason("keyCompromise"), ca::RevocationReason::key_compromise);
  EXPECT_EQ(ca::parse_revocation_reason("key-compromise"), ca::RevocationReason::key_compromise);
  EXPECT_EQ(ca::parse_revocation_reason("affiliation_changed"), ca::RevocationReason::affiliation_changed);
  EXPECT_EQ(ca::parse_revocation_reason("cessationOfOperation"), ca::RevocationReason::cessation_of_operation);
  EXPECT_EQ(static_cast<int>(ca::parse_revocation_reason("privilegeWithdrawn")), 9);
  EXPECT_EQ(static_cast<int>(ca::parse_revocation_reason("aACompromise")), 10);
}

TEST(Crl, EmptyCrlParsesInOpensslAndBotan) {
  Clocked c;
  auto leaf = c.issue();
  c.publish();
  std::string text = c.crl_text("issuing");
  EXPECT_NE(text.find("No Revoked Certificates."), std::string::npos) << text;
  std::string der = read_file(c.dir.path() / "crl" / "issuing.crl"), root = read_file(c.dir.path() / "crl" / "root.crl");
  EXPECT_EQ(botan_validate(leaf.record.der, ossl::cert_der(c.ca->issuing_certificate()),
                           ossl::cert_der(c.ca->root_certificate()),
                           {Bytes(der.begin(), der.end()), Bytes(root.begin(), root.end())}),
            "Verified");
}

TEST(Crl, ManyEntriesWithEveryReason) {
  Clocked c;
  const ca::RevocationReason reasons[] = {
      ca::RevocationReason::unspecified,        ca::RevocationReason::key_compromise,
      ca::RevocationReason::affiliation_changed, ca::RevocationReason::superseded,
      ca::RevocationReason::cessation_of_operation, ca::RevocationReason::privilege_withdrawn};
  std::vector<std::string> serials;
  for (auto r : reasons) {
    auto cert = c.issue();
    c.ca->revoke(cert.record.serial_hex, r, std::nullopt, {"op"});
    serials.push_back(cert.record.serial_hex);
  }
  auto pubs = c.publish();
  EXPECT_EQ(pubs[0].entries, 6);
  std::string text = c.crl_text("issuing");
  for (const auto& s : serials) EXPECT_NE(text.find(upper(s)), std::string::npos) << s;
  for (const char* r : {"Key Compromise", "Affiliation Changed", "Superseded", "Cessation Of Operation",
                        "Privilege Withdrawn"})
    EXPECT_NE(text.find(r), std::string::npos) << r;
  // RFC 5280: reason "unspecified" is expressed by leaving the extension out.
  EXPECT_EQ(text.find("Unspecified"), std::string::npos);
  // issuing.crt (published for AIA) is DER; openssl -CAfile wants PEM.
  auto pem = run("openssl x509 -inform DER -in " + sh_quote((c.dir.path() / "crl" / "issuing.crt").string()) + " -out " +
                 sh_quote((c.dir.path() / "issuing-ca.pem").string()));
  ASSERT_EQ(pem.status, 0) << pem.output;
  auto v = run("openssl crl -inform DER -noout -verify -in " + sh_quote((c.dir.path() / "crl" / "issuing.crl").string()) +
          " -CAfile " + sh_quote((c.dir.path() / "issuing-ca.pem").string()));
  EXPECT_NE(v.output.find("verify OK"), std::string::npos) << v.output;
}

}  // namespace
}  // namespace jitsuin::test
