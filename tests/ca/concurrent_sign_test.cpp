// Issue 9 (i9perf): signing with keys on one PKCS#11 token (SoftHSM2 through libp11) from several
// threads at once, as jitsuind does it: API calls run in parallel, each on a database connection,
// CA and key store of its own, all key stores sharing the process's one logged-in token session
// (hsm/key_store.cpp, SharedToken), while the OCSP responder signs nonce responses with its
// delegated key. Every certificate is checked by openssl and Botan, every OCSP response by
// OpenSSL's OCSP_basic_verify against the root; serials are unique and the audit chain verifies.
// For an EC and an RSA issuing key (libp11's ECDSA and RSA methods are separate code paths).
#include <gtest/gtest.h>
#include <openssl/ocsp.h>

#include <atomic>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "jitsuin/ca/ocsp.h"
#include "jitsuin/ca/row_check.h"
#include "jitsuin/db/audit.h"
#include "peers.h"

namespace jitsuin::test {
namespace {

// An OCSP request for `cert` with a nonce (so every answer is signed for its request).
Bytes nonce_request(const X509* cert, const X509* issuer) {
  ossl::OcspRequest r(OCSP_REQUEST_new());
  OCSP_request_add0_id(r.get(), OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
                                                  X509_get0_pubkey_bitstr(issuer), X509_get0_serialNumber(cert)));
  OCSP_request_add1_nonce(r.get(), nullptr, -1);
  unsigned char* out = nullptr;
  int len = i2d_OCSP_REQUEST(r.get(), &out);
  Bytes b(out, out + len);
  OPENSSL_free(out);
  return b;
}

// The response verifies (signer chain to the root) and says "good" for `cert`.
bool good_and_verified(const Bytes& der, const X509* cert, const ca::CertificateAuthority& ca) {
  return ocsp_verified_status(der, cert, ca.issuing_certificate(), ca.root_certificate()) == V_OCSP_CERTSTATUS_GOOD;
}

class ConcurrentSigning : public ::testing::TestWithParam<hsm::KeyAlgorithm> {};

TEST_P(ConcurrentSigning, ThreadsIssueAndSignOcspOnOneTokenAndEveryResultVerifies) {
  auto f = make_ca(hsm::KeyAlgorithm::rsa3072, GetParam());
  TempDir dir;
  Clock clock = [] { return static_cast<UnixTime>(std::time(nullptr)); };
  const int issuers = 6, per_issuer = 8, ocsp_threads = 2, ocsp_rounds = 40;
  // CSRs made before the threads start (openssl req is slow; the race is the point).
  std::vector<std::vector<std::string>> csrs(issuers);
  for (int t = 0; t < issuers; ++t)
    for (int i = 0; i < per_issuer; ++i)
      csrs[t].push_back(openssl_csr(dir.path(), "ec", "k" + std::to_string(t) + "-" + std::to_string(i)));
  // The OCSP responder on a connection and CA of its own (as jitsuind's), its signer made first.
  auto responder_db = f->open_db();
  auto responder_keys = hsm::open_key_store(f->config);
  ca::CertificateAuthority responder_ca(f->config, *responder_db, *responder_keys, clock);
  ca::OcspResponder responder(f->config, *responder_db, *responder_keys, clock, responder_ca);
  ca::IssueRequest first{"individual-signing", openssl_csr(dir.path(), "ec", "first"), kTaro, std::nullopt, {}};
  auto subject = f->ca->issue(first, {"test"});
  ASSERT_TRUE(good_and_verified(responder.respond(nonce_request(subject.certificate.get(), f->ca->issuing_certificate())).der,
                                subject.certificate.get(), *f->ca));

  std::latch start(issuers + ocsp_threads);
  std::mutex mu;
  std::vector<ca::IssuedCertificate> issued;
  std::vector<std::string> problems;
  std::atomic<int> ocsp_good{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < issuers; ++t)
    pool.emplace_back([&, t] {
      // What one pooled API call has: its own connection, key store and CA.
      auto db = f->open_db();
      auto keys = hsm::open_key_store(f->config);
      ca::CertificateAuthority ca(f->config, *db, *keys, clock);
      start.arrive_and_wait();
      for (const auto& csr : csrs[t]) {
        try {
          auto c = ca.issue({"individual-signing", csr, kTaro, std::nullopt, {}}, {"test"});
          std::lock_guard lock(mu);
          issued.push_back(std::move(c));
        } catch (const std::exception& e) {
          std::lock_guard lock(mu);
          problems.push_back(std::string("issue: ") + e.what());
        }
      }
    });
  for (int t = 0; t < ocsp_threads; ++t)
    pool.emplace_back([&] {
      start.arrive_and_wait();
      for (int i = 0; i < ocsp_rounds; ++i) {
        auto a = responder.respond(nonce_request(subject.certificate.get(), f->ca->issuing_certificate()));
        if (good_and_verified(a.der, subject.certificate.get(), *f->ca) && a.nonce) {
          ++ocsp_good;
        } else {
          std::lock_guard lock(mu);
          problems.push_back("ocsp: " + a.problem);
        }
      }
    });
  for (auto& th : pool) th.join();
  EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  EXPECT_EQ(ocsp_good.load(), ocsp_threads * ocsp_rounds);
  ASSERT_EQ(issued.size(), static_cast<std::size_t>(issuers * per_issuer));
  std::set<std::string> serials;
  const Bytes issuing = ossl::cert_der(f->ca->issuing_certificate()), root = ossl::cert_der(f->ca->root_certificate());
  for (const auto& c : issued) {
    serials.insert(c.record.serial_hex);
    EXPECT_EQ(botan_validate(c.record.der, issuing, root), "Verified") << c.record.serial_hex;
    auto files = write_chain(dir.path(), c.certificate.get(), f->ca->issuing_certificate(), f->ca->root_certificate());
    auto r = openssl_verify(files);
    EXPECT_EQ(r.status, 0) << c.record.serial_hex << ": " << r.output;
  }
  EXPECT_EQ(serials.size(), issued.size());
  ca::CertificateRowCheck rows;
  auto report = db::verify_audit(*f->db, &rows);
  EXPECT_TRUE(report.ok) << report.problem;
  EXPECT_TRUE(rows.report().ok) << rows.report().problem;
}

INSTANTIATE_TEST_SUITE_P(IssuingKey, ConcurrentSigning,
                         ::testing::Values(hsm::KeyAlgorithm::p256, hsm::KeyAlgorithm::rsa2048),
                         [](const auto& info) { return hsm::key_algorithm_name(info.param); });

}  // namespace
}  // namespace jitsuin::test
