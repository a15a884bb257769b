// Issue 20: CRL partitions (item 11) checked by openssl, Botan and certtool; ca.issue's
// idempotency key (item 15); the CA certificates published at ca init (item 18).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jitsuin/ca/row_check.h"
#include "jitsuin/db/audit.h"
#include "peers.h"

namespace jitsuin::test {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A CA with partitions of `size` certificates (0: none), on a clock the test moves.
struct Partitioned {
  explicit Partitioned(int size) { use(size); }
  std::unique_ptr<CaFixture> f = make_ca();
  UnixTime now = system_clock()();
  std::unique_ptr<ca::CertificateAuthority> ca;
  TempDir dir;
  int keys = 0;

  void use(int size) {
    f->config.ca.crl.partition_size = size;
    ca = std::make_unique<ca::CertificateAuthority>(f->config, *f->db, *f->keys, [this] { return now; });
  }
  ca::IssueRequest request() {
    return {"individual-signing", openssl_csr(dir.path(), "ec", "k" + std::to_string(++keys)), kTaro, {}, {}};
  }
  ca::IssuedCertificate issue() { return ca->issue(request(), {"test"}); }
  std::filesystem::path crl_dir() { return dir.path() / "crl"; }
  std::vector<ca::CrlPublication> publish() { return ca->publish_crls(crl_dir(), {"cron"}); }
  std::string text(const std::string& file) {
    auto r = run("openssl crl -inform DER -noout -text -in " + sh_quote((crl_dir() / file).string()));
    EXPECT_EQ(r.status, 0) << r.output;
    return r.output;
  }
  Bytes der(const std::string& file) {
    std::string s = read_file(crl_dir() / file);
    return Bytes(s.begin(), s.end());
  }
};

// The URI of a certificate's cRLDistributionPoints, by openssl.
std::string cdp_of(const ca::IssuedCertificate& c, const std::filesystem::path& dir) {
  auto pem = dir / "cdp.pem";
  write_text(pem, ossl::cert_pem(c.certificate.get()));
  auto r = run("openssl x509 -noout -ext crlDistributionPoints -in " + sh_quote(pem.string()));
  auto at = r.output.find("URI:");
  if (at == std::string::npos) return "";
  auto end = r.output.find('\n', at);
  return r.output.substr(at + 4, end - at - 4);
}

TEST(CrlPartition, EachCertificateNamesItsPartitionWhoseCrlHoldsItsRevocationUnderAMatchingIdp) {
  Partitioned c(2);
  // Ids 1 and 2 are the CA certificates: the next certificate is the third, partition 3 / 2 = 1.
  std::vector<ca::IssuedCertificate> certs;
  for (int i = 0; i < 5; ++i) certs.push_back(c.issue());
  const std::string base = "http://localhost:8080/crl/issuing";
  const int expected_partition[] = {1, 2, 2, 3, 3};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(cdp_of(certs[i], c.dir.path()), base + "-" + std::to_string(expected_partition[i]) + ".crl") << i;
    // The serial names the partition too: 0x3f, then the partition in 4 bytes.
    EXPECT_EQ(certs[i].record.serial_hex.substr(0, 10), "3f0000000" + std::to_string(expected_partition[i])) << i;
  }
  c.ca->revoke(certs[1].record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"op"});
  c.ca->revoke(certs[3].record.serial_hex, ca::RevocationReason::superseded, std::nullopt, {"op"});
  auto pubs = c.publish();
  ASSERT_EQ(pubs.size(), 2u);
  EXPECT_EQ(pubs[0].entries, 2);
  EXPECT_EQ(pubs[0].full_entries, 0);
  // Partitions 1 .. 5 (partition 0 is issuing.crl): every partition named so far (up to 3), the
  // one the next certificate goes into (8 / 2 = 4) and the one after it, each with the same CRL number.
  ASSERT_EQ(pubs[0].partitions.size(), 5u);
  EXPECT_FALSE(std::filesystem::exists(c.crl_dir() / "issuing-0.crl"));
  for (std::uint32_t p = 1; p < 6; ++p) {
    EXPECT_EQ(pubs[0].partitions[p - 1].partition, p);
    EXPECT_EQ(pubs[0].partitions[p - 1].entries, p == 2 || p == 3 ? 1 : 0) << p;
    std::string t = c.text("issuing-" + std::to_string(p) + ".crl");
    EXPECT_NE(t.find("X509v3 Issuing Distribution Point: critical"), std::string::npos) << t;
    EXPECT_NE(t.find("URI:" + base + "-" + std::to_string(p) + ".crl"), std::string::npos) << t;
    EXPECT_NE(t.find("X509v3 CRL Number: \n                1"), std::string::npos) << t;
    EXPECT_TRUE(std::filesystem::exists(c.crl_dir() / ("issuing-" + std::to_string(p) + ".crl.pem")));
  }
  EXPECT_NE(c.text("issuing-2.crl").find(upper(certs[1].record.serial_hex)), std::string::npos);
  EXPECT_NE(c.text("issuing-3.crl").find(upper(certs[3].record.serial_hex)), std::string::npos);
  EXPECT_EQ(c.text("issuing-3.crl").find(upper(certs[1].record.serial_hex)), std::string::npos);
  // The full CRL keeps its own distribution point and the certificates that name it (none here).
  std::string full = c.text("issuing.crl");
  EXPECT_NE(full.find("URI:" + base + ".crl"), std::string::npos) << full;
  EXPECT_NE(full.find("No Revoked Certificates"), std::string::npos) << full;

  auto issuing_der = ossl::cert_der(c.ca->issuing_certificate()), root_der = ossl::cert_der(c.ca->root_certificate());
  for (int i : {1, 2}) {   // partition 2: certs[1] revoked, certs[2] not
    TempDir d;
    auto files = write_chain(d.path(), certs[i].certificate.get(), c.ca->issuing_certificate(), c.ca->root_certificate());
    std::vector<std::filesystem::path> own = {c.crl_dir() / "issuing-2.crl.pem", c.crl_dir() / "root.crl.pem"};
    auto r = openssl_verify(files, own);
    if (i == 1) {
      EXPECT_NE(r.status, 0);
      EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
    } else {
      EXPECT_EQ(r.status, 0) << r.output;
    }
    // Another partition's CRL is not the one the certificate names: openssl matches the IDP to
    // the CRL distribution point and refuses it.
    std::vector<std::filesystem::path> other = {c.crl_dir() / "issuing-3.crl.pem", c.crl_dir() / "root.crl.pem"};
    r = openssl_verify(files, other);
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("different CRL scope"), std::string::npos) << r.output;
    // Botan: the partition's CRL decides.
    EXPECT_EQ(botan_validate(certs[i].record.der, issuing_der, root_der, {c.der("issuing-2.crl"), c.der("root.crl")}),
              i == 1 ? "Certificate is revoked" : "Verified");
    // GnuTLS: certtool checks the chain with the partition CRL loaded.
    auto g = run("certtool --verify --load-ca-certificate " + sh_quote(files.root.string()) + " --load-crl " +
                 sh_quote((c.crl_dir() / "issuing-2.crl.pem").string()) + " --infile " +
                 sh_quote(files.untrusted_chain.string()));
    if (i == 1) EXPECT_NE(g.output.find("revoked"), std::string::npos) << g.output;
    else EXPECT_NE(g.output.find("Chain verification output: Verified."), std::string::npos) << g.output;
  }
  // One audit entry names every partition; the rows still match the log.
  db::Statement st(*c.f->db, "SELECT details FROM audit_log WHERE action = 'crl.publish'");
  ASSERT_TRUE(st.step());
  auto details = nlohmann::json::parse(st.text(0));
  EXPECT_EQ(details["crls"][0]["partitions"].size(), 5u);
  ca::CertificateRowCheck rows;
  EXPECT_TRUE(db::verify_audit(*c.f->db, &rows).ok);
  EXPECT_TRUE(rows.report().ok) << rows.report().problem;
}

TEST(CrlPartition, CertificatesIssuedBeforePartitionsAndPartitionZeroShareTheFullCrlTheirDistributionPointNames) {
  Partitioned c(0);
  auto old_cert = c.issue();   // id 3, no partition
  EXPECT_EQ(cdp_of(old_cert, c.dir.path()), "http://localhost:8080/crl/issuing.crl");
  c.use(5);
  auto zero_cert = c.issue();   // id 4: partition 4 / 5 = 0, which is issuing.crl
  auto one_cert = c.issue();    // id 5: partition 1, issuing-1.crl
  EXPECT_EQ(cdp_of(zero_cert, c.dir.path()), "http://localhost:8080/crl/issuing.crl");
  EXPECT_EQ(zero_cert.record.serial_hex.substr(0, 10), "3f00000000");
  EXPECT_EQ(cdp_of(one_cert, c.dir.path()), "http://localhost:8080/crl/issuing-1.crl");
  c.ca->revoke(old_cert.record.serial_hex, ca::RevocationReason::affiliation_changed, std::nullopt, {"op"});
  c.ca->revoke(zero_cert.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"op"});
  auto pubs = c.publish();
  EXPECT_EQ(pubs[0].entries, 2);
  EXPECT_EQ(pubs[0].full_entries, 2);
  EXPECT_FALSE(std::filesystem::exists(c.crl_dir() / "issuing-0.crl"));
  std::string full = c.text("issuing.crl"), part = c.text("issuing-1.crl");
  EXPECT_NE(full.find("X509v3 Issuing Distribution Point: critical"), std::string::npos) << full;
  EXPECT_NE(full.find("URI:http://localhost:8080/crl/issuing.crl"), std::string::npos) << full;
  EXPECT_NE(full.find(upper(old_cert.record.serial_hex)), std::string::npos) << full;
  EXPECT_NE(full.find(upper(zero_cert.record.serial_hex)), std::string::npos) << full;
  EXPECT_NE(part.find("No Revoked Certificates"), std::string::npos) << part;
  auto issuing_der = ossl::cert_der(c.ca->issuing_certificate()), root_der = ossl::cert_der(c.ca->root_certificate());
  for (const auto* cert : {&old_cert, &zero_cert}) {   // both revoked, both on issuing.crl (matching IDP)
    TempDir d;
    auto files = write_chain(d.path(), cert->certificate.get(), c.ca->issuing_certificate(), c.ca->root_certificate());
    auto r = openssl_verify(files, {c.crl_dir() / "issuing.crl.pem", c.crl_dir() / "root.crl.pem"});
    EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
    EXPECT_EQ(botan_validate(cert->record.der, issuing_der, root_der, {c.der("issuing.crl"), c.der("root.crl")}),
              "Certificate is revoked");
    auto g = run("certtool --verify --load-ca-certificate " + sh_quote(files.root.string()) + " --load-crl " +
                 sh_quote((c.crl_dir() / "issuing.crl.pem").string()) + " --infile " +
                 sh_quote(files.untrusted_chain.string()));
    EXPECT_NE(g.output.find("revoked"), std::string::npos) << g.output;
  }
  {   // partition 1: refused against issuing.crl (another scope), accepted with issuing-1.crl
    TempDir d;
    auto files = write_chain(d.path(), one_cert.certificate.get(), c.ca->issuing_certificate(), c.ca->root_certificate());
    auto r = openssl_verify(files, {c.crl_dir() / "issuing.crl.pem", c.crl_dir() / "root.crl.pem"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.output.find("different CRL scope"), std::string::npos) << r.output;
    r = openssl_verify(files, {c.crl_dir() / "issuing-1.crl.pem", c.crl_dir() / "root.crl.pem"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(botan_validate(one_cert.record.der, issuing_der, root_der, {c.der("issuing-1.crl"), c.der("root.crl")}),
              "Verified");
  }
  // With partitions turned off again, certificates of a partition keep their CRL.
  c.use(0);
  pubs = c.publish();
  ASSERT_EQ(pubs[0].partitions.size(), 1u);
  EXPECT_EQ(pubs[0].partitions[0].partition, 1u);
  EXPECT_NE(c.text("issuing.crl").find(upper(zero_cert.record.serial_hex)), std::string::npos);
}

TEST(CrlPartition, PartitionFileNamesAndUrls) {
  EXPECT_EQ(ca::crl_partition_file(7), "issuing-7.crl");
  EXPECT_EQ(ca::crl_partition_file(0), "issuing.crl");   // partition 0 is the full CRL
  EXPECT_EQ(ca::parse_crl_partition_file("issuing-7.crl"), 7u);
  EXPECT_EQ(ca::parse_crl_partition_file("issuing-4294967295.crl"), 4294967295u);
  for (const char* bad : {"issuing-.crl", "issuing-0.crl", "issuing-07.crl", "issuing-x.crl", "issuing-4294967296.crl", "issuing.crl",
                          "issuing-1.crl.pem", "root-1.crl", "issuing--1.crl"})
    EXPECT_FALSE(ca::parse_crl_partition_file(bad).has_value()) << bad;
  config::CrlConfig crl;
  crl.distribution_point = "http://crl.example.jp/ca/issuing.crl";
  EXPECT_EQ(ca::crl_partition_url(crl, 12), "http://crl.example.jp/ca/issuing-12.crl");
  EXPECT_EQ(ca::crl_partition_url(crl, 0), "http://crl.example.jp/ca/issuing.crl");
}

TEST(IssueIdempotency, TheSameKeyAndRequestGetTheFirstCertificateAnotherRequestIsRefused) {
  Partitioned c(0);
  auto req = c.request();
  const std::string key = "6f1c1c9e-0d3b-4c55-9d5e-2f7b7d1a0001";
  auto first = c.ca->issue(req, {"ra:admin"}, key);
  auto certs = count_rows(*c.f->db, "certificates"), audit = count_rows(*c.f->db, "audit_log");
  // A retry after a timeout: the same certificate, nothing issued, nothing audited.
  for (int i = 0; i < 3; ++i) {
    auto again = c.ca->issue(req, {"ra:admin"}, key);
    EXPECT_EQ(again.record.serial_hex, first.record.serial_hex);
    EXPECT_EQ(ossl::cert_pem(again.certificate.get()), ossl::cert_pem(first.certificate.get()));
    ASSERT_EQ(again.chain.size(), 2u);
  }
  EXPECT_EQ(count_rows(*c.f->db, "certificates"), certs);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit);
  // The same key with another request: refused, nothing changes.
  auto other = req;
  other.days = 30;
  auto message = expect_error([&] { c.ca->issue(other, {"ra:admin"}, key); }, ErrorKind::conflict);
  EXPECT_NE(message.find("was used for a different request"), std::string::npos) << message;
  other = c.request();
  expect_error([&] { c.ca->issue(other, {"ra:admin"}, key); }, ErrorKind::conflict);
  EXPECT_EQ(count_rows(*c.f->db, "certificates"), certs);
  EXPECT_EQ(count_rows(*c.f->db, "audit_log"), audit);
  // Keys are per actor; a malformed key is refused.
  EXPECT_NE(c.ca->issue(c.request(), {"ra:other"}, key).record.serial_hex, first.record.serial_hex);
  for (std::string bad : {std::string(), std::string(256, 'k'), std::string("with space"), std::string("tab\t")}) {
    auto r = c.request();
    expect_error([&] { c.ca->issue(r, {"ra:admin"}, bad); }, ErrorKind::invalid_input);
  }
  // After the retention the key is forgotten: the same request issues again.
  c.now += ca::kIdempotencyRetention + 1;
  auto later = c.ca->issue(req, {"ra:admin"}, key);
  EXPECT_NE(later.record.serial_hex, first.record.serial_hex);
  ca::CertificateRowCheck rows;
  EXPECT_TRUE(db::verify_audit(*c.f->db, &rows).ok);
  EXPECT_TRUE(rows.report().ok) << rows.report().problem;
}

TEST(CaInit, PublishesTheCaCertificatesItsCertificatesNameInTheirAia) {
  auto f = make_ca();
  auto dir = f->config.ca.crl.publish_dir;
  ASSERT_TRUE(std::filesystem::exists(dir / "root.crt"));
  ASSERT_TRUE(std::filesystem::exists(dir / "issuing.crt"));
  auto root = read_file(dir / "root.crt"), issuing = read_file(dir / "issuing.crt");
  auto root_der = ossl::cert_der(f->ca->root_certificate()), issuing_der = ossl::cert_der(f->ca->issuing_certificate());
  EXPECT_EQ(root, std::string(root_der.begin(), root_der.end()));
  EXPECT_EQ(issuing, std::string(issuing_der.begin(), issuing_der.end()));
  EXPECT_EQ(std::filesystem::status(dir / "issuing.crt").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::others_read);
}

}  // namespace
}  // namespace jitsuin::test
