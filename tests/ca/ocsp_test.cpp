// The OCSP responder core (ca/ocsp.h) in-process on a real token and database: statuses, the
// cache, scheduled revocations at chosen times, malformed requests, the delegated signer (checked
// by openssl and Botan) and its renewal, audit verify afterwards; many threads on one responder
// (one signer made, every response verifies, a revocation seen at once). Requests are built with
// OpenSSL's OCSP API and responses read with it.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <atomic>
#include <future>
#include <latch>
#include <thread>

#include "jitsuin/ca/ocsp.h"
#include "jitsuin/ca/row_check.h"
#include "jitsuin/db/audit.h"
#include "peers.h"

namespace jitsuin::test {
namespace {

Bytes req_der(OCSP_REQUEST* r) {
  unsigned char* out = nullptr;
  int len = i2d_OCSP_REQUEST(r, &out);
  Bytes b(out, out + len);
  OPENSSL_free(out);
  return b;
}

// A request for certificates of `issuer`, CertIDs hashed with md, optionally with a nonce.
Bytes request_for(const std::vector<const X509*>& certs, const X509* issuer, const EVP_MD* md, bool nonce) {
  ossl::OcspRequest r(OCSP_REQUEST_new());
  for (const X509* c : certs)
    OCSP_request_add0_id(r.get(), OCSP_cert_id_new(md, X509_get_subject_name(issuer),
                                                    X509_get0_pubkey_bitstr(issuer), X509_get0_serialNumber(c)));
  if (nonce) OCSP_request_add1_nonce(r.get(), nullptr, -1);
  return req_der(r.get());
}

struct Single {
  int status = -1, reason = -1;
  UnixTime revoked = 0, this_update = 0, next_update = 0;
};

UnixTime to_unix(const ASN1_GENERALIZEDTIME* t) {
  std::tm tm{};
  ASN1_TIME_to_tm(t, &tm);
  return timegm(&tm);
}

// The response status, and the singles in order.
int read_response(const Bytes& der, std::vector<Single>* singles = nullptr, ossl::OcspBasic* basic = nullptr) {
  const unsigned char* p = der.data();
  ossl::OcspResponse resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return -1;
  int st = OCSP_response_status(resp.get());
  if (st != OCSP_RESPONSE_STATUS_SUCCESSFUL) return st;
  ossl::OcspBasic bs(OCSP_response_get1_basic(resp.get()));
  if (singles)
    for (int i = 0; i < OCSP_resp_count(bs.get()); ++i) {
      Single s;
      int reason = -1;
      ASN1_GENERALIZEDTIME *rev = nullptr, *thisu = nullptr, *nextu = nullptr;
      s.status = OCSP_single_get0_status(OCSP_resp_get0(bs.get(), i), &reason, &rev, &thisu, &nextu);
      s.reason = reason;
      if (rev) s.revoked = to_unix(rev);
      s.this_update = to_unix(thisu);
      if (nextu) s.next_update = to_unix(nextu);
      singles->push_back(s);
    }
  if (basic) *basic = std::move(bs);
  return st;
}

class Ocsp : public ::testing::Test {
 protected:
  void SetUp() override {
    f = make_ca();
    now = std::time(nullptr);
    clock = [this] { return now.load(); };
    ca = std::make_unique<ca::CertificateAuthority>(f->config, *f->db, *f->keys, clock);
    responder = std::make_unique<ca::OcspResponder>(f->config, *f->db, *f->keys, clock, *ca);
  }
  ca::IssuedCertificate issue(const std::string& name) {
    ca::IssueRequest r{"individual-signing", openssl_csr(dir.path(), "ec", name), kTaro, std::nullopt, {}};
    return ca->issue(r, {"test"});
  }
  std::vector<Single> ask(const X509* cert, bool nonce = false, const EVP_MD* md = EVP_sha1()) {
    auto a = responder->respond(request_for({cert}, ca->issuing_certificate(), md, nonce));
    std::vector<Single> s;
    EXPECT_EQ(read_response(a.der, &s), OCSP_RESPONSE_STATUS_SUCCESSFUL) << a.problem;
    return s;
  }
  std::unique_ptr<CaFixture> f;
  TempDir dir;
  std::atomic<UnixTime> now{0};
  Clock clock;
  std::unique_ptr<ca::CertificateAuthority> ca;
  std::unique_ptr<ca::OcspResponder> responder;
};

TEST_F(Ocsp, GoodRevokedWithReasonAndTimeAndCacheSignsOnce) {
  auto leaf = issue("a");
  auto s = ask(leaf.certificate.get());
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(s[0].this_update, now.load());
  EXPECT_EQ(s[0].next_update, now.load() + 3600 * f->config.ca.ocsp_validity_hours);
  EXPECT_EQ(responder->signatures(), 1u);
  // The same status again: the pre-signed response, byte for byte, and no token signature.
  Bytes request = request_for({leaf.certificate.get()}, ca->issuing_certificate(), EVP_sha1(), false);
  auto first = responder->respond(request);
  auto second = responder->respond(request);
  EXPECT_TRUE(first.cached);
  EXPECT_EQ(first.der, second.der);
  EXPECT_EQ(responder->signatures(), 1u);
  EXPECT_EQ(responder->cache_hits(), 2u);

  now += 10;
  ca->revoke(leaf.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  s = ask(leaf.certificate.get());   // at once: the row changed, the cached response is not served
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(s[0].reason, OCSP_REVOKED_STATUS_KEYCOMPROMISE);
  EXPECT_EQ(s[0].revoked, now.load());
  EXPECT_EQ(responder->signatures(), 2u);
  // SHA-256 CertIDs name the issuer too.
  s = ask(leaf.certificate.get(), false, EVP_sha256());
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_REVOKED);
}

TEST_F(Ocsp, ScheduledRevocationIsGoodUntilItsEffectiveTime) {
  auto leaf = issue("a");
  EXPECT_EQ(ask(leaf.certificate.get())[0].status, V_OCSP_CERTSTATUS_GOOD);   // cached as good
  UnixTime effective = now + 3600;
  ca->revoke(leaf.record.serial_hex, ca::RevocationReason::superseded, effective, {"test"});
  EXPECT_EQ(ask(leaf.certificate.get())[0].status, V_OCSP_CERTSTATUS_GOOD);
  now = effective - 1;
  EXPECT_EQ(ask(leaf.certificate.get())[0].status, V_OCSP_CERTSTATUS_GOOD);
  now = effective;
  auto s = ask(leaf.certificate.get());
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_REVOKED);
  EXPECT_EQ(s[0].reason, OCSP_REVOKED_STATUS_SUPERSEDED);
  EXPECT_EQ(s[0].revoked, effective);
}

TEST_F(Ocsp, UnknownSerialAndOtherIssuerAndSeveralCertIds) {
  auto leaf = issue("a");
  auto other = issue("b");
  // The issuing CA's own certificate is the root's: not one this responder answers for.
  auto a = responder->respond(request_for({leaf.certificate.get(), ca->issuing_certificate(), other.certificate.get()},
                                          ca->issuing_certificate(), EVP_sha1(), false));
  std::vector<Single> s;
  ASSERT_EQ(read_response(a.der, &s), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(s[1].status, V_OCSP_CERTSTATUS_UNKNOWN);
  EXPECT_EQ(s[2].status, V_OCSP_CERTSTATUS_GOOD);
  // The leaf's serial under another issuer (the root): unknown.
  a = responder->respond(request_for({leaf.certificate.get()}, ca->root_certificate(), EVP_sha256(), false));
  s.clear();
  ASSERT_EQ(read_response(a.der, &s), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_UNKNOWN);
  // A serial never issued.
  auto stranger = ossl::cert_from_der(leaf.record.der);
  auto sn = ossl::check<ossl::Integer>(ASN1_INTEGER_new(), "int");
  ASN1_INTEGER_set(sn.get(), 12345);
  X509_set_serialNumber(stranger.get(), sn.get());
  EXPECT_EQ(ask(stranger.get())[0].status, V_OCSP_CERTSTATUS_UNKNOWN);
  // Asked again: signed again, never kept (random serials must not grow the responder's memory).
  auto hits = responder->cache_hits();
  EXPECT_EQ(ask(stranger.get())[0].status, V_OCSP_CERTSTATUS_UNKNOWN);
  EXPECT_EQ(responder->cache_hits(), hits);
}

TEST_F(Ocsp, NonceIsEchoedAndSignedForTheRequest) {
  auto leaf = issue("a");
  ossl::OcspRequest r(OCSP_REQUEST_new());
  OCSP_request_add0_id(r.get(), OCSP_cert_to_id(EVP_sha1(), leaf.certificate.get(), ca->issuing_certificate()));
  OCSP_request_add1_nonce(r.get(), nullptr, -1);
  for (int i = 0; i < 2; ++i) {
    auto a = responder->respond(req_der(r.get()));
    ossl::OcspBasic bs;
    ASSERT_EQ(read_response(a.der, nullptr, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    EXPECT_EQ(OCSP_check_nonce(r.get(), bs.get()), 1);
    EXPECT_TRUE(a.nonce);
    EXPECT_FALSE(a.cached);
  }
  EXPECT_EQ(responder->signatures(), 2u);
}

TEST_F(Ocsp, MalformedRequestsAreAnsweredMalformedRequest) {
  auto leaf = issue("a");
  Bytes good = request_for({leaf.certificate.get()}, ca->issuing_certificate(), EVP_sha1(), false);
  Bytes trailing = good;
  trailing.push_back(0);
  Bytes truncated(good.begin(), good.end() - 3);
  std::vector<const X509*> many(ca::kOcspMaxCertIds + 1, leaf.certificate.get());
  ossl::OcspRequest empty(OCSP_REQUEST_new());
  for (const Bytes& bad : {Bytes{}, Bytes{'h', 'e', 'l', 'l', 'o'}, trailing, truncated, req_der(empty.get()),
                           request_for(many, ca->issuing_certificate(), EVP_sha1(), false)}) {
    auto a = responder->respond(bad);
    EXPECT_EQ(a.response_status, "malformedRequest");
    EXPECT_EQ(read_response(a.der), OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
  }
  EXPECT_EQ(responder->signatures(), 0u);
}

// A request for `cert` with one nonce extension per entry of `nonces`, each the extnValue as given
// (the DER of the Nonce OCTET STRING, or anything else).
Bytes request_with_nonces(const X509* cert, const X509* issuer, const std::vector<Bytes>& nonces) {
  ossl::OcspRequest r(OCSP_REQUEST_new());
  OCSP_request_add0_id(r.get(), OCSP_cert_to_id(EVP_sha1(), cert, issuer));
  for (const Bytes& value : nonces) {
    ASN1_OCTET_STRING* os = ASN1_OCTET_STRING_new();
    ASN1_OCTET_STRING_set(os, value.data(), static_cast<int>(value.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_NID(nullptr, NID_id_pkix_OCSP_Nonce, 0, os);
    OCSP_REQUEST_add_ext(r.get(), ext, -1);
    X509_EXTENSION_free(ext);
    ASN1_OCTET_STRING_free(os);
  }
  return req_der(r.get());
}

// The DER of an OCTET STRING of n octets (n < 128).
Bytes octet_string(std::size_t n) {
  Bytes b{0x04, static_cast<std::uint8_t>(n)};
  for (std::size_t i = 0; i < n; ++i) b.push_back(static_cast<std::uint8_t>(0xa0 + i));
  return b;
}

// The outer SEQUENCE of a DER request written again with BER lengths: indefinite, or in more
// octets than needed (0x82 and two octets).
Bytes outer_ber(const Bytes& der, bool indefinite) {
  std::size_t header = der[1] < 0x80 ? 2 : 2 + (der[1] & 0x7f);
  Bytes content(der.begin() + static_cast<std::ptrdiff_t>(header), der.end());
  Bytes out{0x30};
  if (indefinite) {
    out.push_back(0x80);
    out.insert(out.end(), content.begin(), content.end());
    out.insert(out.end(), {0x00, 0x00});
  } else {
    out.insert(out.end(), {0x82, static_cast<std::uint8_t>(content.size() >> 8), static_cast<std::uint8_t>(content.size())});
    out.insert(out.end(), content.begin(), content.end());
  }
  return out;
}

// Issue 20 item 14: RFC 8954 2.1 (a nonce of 1 to 32 octets, one nonce), RFC 6960 4.1.1 (DER).
TEST_F(Ocsp, NonceOfOneTo32OctetsOnceAndDerOnly) {
  auto leaf = issue("a");
  const X509* issuer = ca->issuing_certificate();
  auto status = [&](const Bytes& der) {
    auto a = responder->respond(der);
    EXPECT_EQ(read_response(a.der), a.response_status == "successful" ? OCSP_RESPONSE_STATUS_SUCCESSFUL
                                                                       : OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    return a.response_status + (a.problem.empty() ? "" : ": " + a.problem);
  };
  // 1 and 32 octets are answered, the nonce echoed (openssl checks it).
  for (std::size_t n : {1u, 16u, 32u}) {
    Bytes der = request_with_nonces(leaf.certificate.get(), issuer, {octet_string(n)});
    auto a = responder->respond(der);
    ASSERT_EQ(a.response_status, "successful") << n << ": " << a.problem;
    EXPECT_TRUE(a.nonce);
    const unsigned char* p = der.data();
    ossl::OcspRequest req(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
    ossl::OcspBasic bs;
    ASSERT_EQ(read_response(a.der, nullptr, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
    EXPECT_EQ(OCSP_check_nonce(req.get(), bs.get()), 1) << n;
  }
  EXPECT_EQ(status(request_with_nonces(leaf.certificate.get(), issuer, {octet_string(0)})),
            "malformedRequest: a nonce of 0 octets (RFC 8954: 1 to 32)");
  EXPECT_EQ(status(request_with_nonces(leaf.certificate.get(), issuer, {octet_string(33)})),
            "malformedRequest: a nonce of 33 octets (RFC 8954: 1 to 32)");
  EXPECT_EQ(status(request_with_nonces(leaf.certificate.get(), issuer, {octet_string(8), octet_string(8)})),
            "malformedRequest: more than one nonce extension");
  // The nonce's bytes without their OCTET STRING, and an OCTET STRING with a BER length.
  EXPECT_EQ(status(request_with_nonces(leaf.certificate.get(), issuer, {Bytes(16, 0x11)})),
            "malformedRequest: the nonce is not an OCTET STRING");
  Bytes long_form{0x04, 0x81, 0x10};
  long_form.insert(long_form.end(), 16, 0x22);
  EXPECT_EQ(status(request_with_nonces(leaf.certificate.get(), issuer, {long_form})),
            "malformedRequest: the nonce is not one DER OCTET STRING");

  // BER lengths OpenSSL decodes (so the refusal is the responder's rule, not the decoder's).
  Bytes good = request_for({leaf.certificate.get()}, issuer, EVP_sha1(), true);
  ASSERT_EQ(status(good), "successful");
  for (bool indefinite : {true, false}) {
    Bytes ber = outer_ber(good, indefinite);
    const unsigned char* p = ber.data();
    ossl::OcspRequest decoded(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(ber.size())));
    ERR_clear_error();
    ASSERT_TRUE(decoded) << "OpenSSL no longer decodes this BER: the test shows nothing";
    EXPECT_EQ(p, ber.data() + ber.size());
    EXPECT_EQ(status(ber), "malformedRequest: not DER (BER lengths or encodings: RFC 6960 asks for DER)") << indefinite;
  }
  EXPECT_EQ(responder->counters().malformed_request.load(), 7u);
}

TEST_F(Ocsp, SignerIsDelegatedCheckedByOpensslAndBotanAndRenewed) {
  auto leaf = issue("a");
  ossl::OcspBasic bs;
  auto a = responder->respond(request_for({leaf.certificate.get()}, ca->issuing_certificate(), EVP_sha1(), false));
  ASSERT_EQ(read_response(a.der, nullptr, &bs), OCSP_RESPONSE_STATUS_SUCCESSFUL);
  auto signer = responder->signer();
  EXPECT_EQ(signer.profile, "ocsp-signing");
  auto cert = ossl::cert_from_der(signer.der);
  // The response carries the signer and names it by key hash; it verifies against the root.
  ASSERT_EQ(sk_X509_num(OCSP_resp_get0_certs(bs.get())), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs.get()), 0), cert.get()), 0);
  const ASN1_OCTET_STRING* key_hash = nullptr;
  const X509_NAME* by_name = nullptr;
  ASSERT_EQ(OCSP_resp_get0_id(bs.get(), &key_hash, &by_name), 1);
  EXPECT_NE(key_hash, nullptr);
  EXPECT_EQ(by_name, nullptr);
  EXPECT_GE(X509_get_ext_by_NID(cert.get(), NID_id_pkix_OCSP_noCheck, -1), 0);
  EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_OCSP_SIGN);
  auto files = write_chain(dir.path(), cert.get(), ca->issuing_certificate(), ca->root_certificate());
  auto v = openssl_verify(files);
  EXPECT_EQ(v.status, 0) << v.output;
  v = run("openssl verify -purpose ocsphelper -CAfile " + sh_quote(files.root.string()) + " -untrusted " +
          sh_quote(files.issuing.string()) + " " + sh_quote(files.leaf.string()));
  EXPECT_EQ(v.status, 0) << v.output;
  EXPECT_EQ(botan_validate(signer.der, ossl::cert_der(ca->issuing_certificate()), ossl::cert_der(ca->root_certificate())),
            "Verified");
  // A second responder (another process) uses the same signer.
  ca::OcspResponder again(f->config, *f->db, *f->keys, clock, *ca);
  EXPECT_EQ(again.signer().serial_hex, signer.serial_hex);
  // Renewed once fewer than kOcspRenewBeforeDays remain: a new certificate (and key).
  now = signer.not_after - ca::kOcspRenewBeforeDays * 86400 - 1;
  EXPECT_EQ(responder->signer().serial_hex, signer.serial_hex);
  now += 1;
  auto renewed = responder->signer();
  EXPECT_NE(renewed.serial_hex, signer.serial_hex);
  EXPECT_EQ(count_rows(*f->db, "ocsp_signers"), 2);
  auto s = ask(leaf.certificate.get());
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_LE(s[0].next_update, renewed.not_after);
  // Every row written is accounted for by the audit log.
  ca::CertificateRowCheck rows;
  auto r = db::verify_audit(*f->db, &rows);
  EXPECT_TRUE(r.ok) << r.problem;
  EXPECT_TRUE(rows.report().ok) << rows.report().problem;
}

TEST_F(Ocsp, IssuedCertificatesNameTheResponder) {
  auto leaf = issue("a");
  auto* aia = static_cast<AUTHORITY_INFO_ACCESS*>(X509_get_ext_d2i(leaf.certificate.get(), NID_info_access, nullptr, nullptr));
  ASSERT_NE(aia, nullptr);
  std::string ocsp, issuers;
  for (int i = 0; i < sk_ACCESS_DESCRIPTION_num(aia); ++i) {
    auto* ad = sk_ACCESS_DESCRIPTION_value(aia, i);
    std::string uri(reinterpret_cast<const char*>(ad->location->d.uniformResourceIdentifier->data),
                    static_cast<std::size_t>(ad->location->d.uniformResourceIdentifier->length));
    (OBJ_obj2nid(ad->method) == NID_ad_OCSP ? ocsp : issuers) = uri;
  }
  AUTHORITY_INFO_ACCESS_free(aia);
  EXPECT_EQ(ocsp, "http://localhost:8080/ocsp");
  EXPECT_EQ(issuers, "http://localhost:8080/ca/issuing.crt");
}

// The keys labelled jitsuin-ocsp-signer on the fixture's token, as pkcs11-tool (OpenSC) lists them.
int signer_keys_on_token(const CaFixture& f) {
  auto r = run("pkcs11-tool --module " + sh_quote(softhsm_module().string()) + " --token-label " +
               sh_quote(f.token_label) + " --login --pin user-pin-1234 --list-objects --type privkey");
  EXPECT_EQ(r.status, 0) << r.output;
  int n = 0;
  for (std::size_t at = r.output.find("jitsuin-ocsp-signer"); at != std::string::npos;
       at = r.output.find("jitsuin-ocsp-signer", at + 1))
    ++n;
  return n;
}

// The response verifies (signer chain to the root, delegation by the issuing CA) and its one
// status for `cert`.
int verified_status(const Bytes& der, const X509* cert, const ca::CertificateAuthority& ca) {
  return ocsp_verified_status(der, cert, ca.issuing_certificate(), ca.root_certificate());
}

// Many threads on one responder from its first request on: they race for the signer (made once:
// one key on the token, one ocsp_signers row, one audit entry), every response verifies, and a
// revocation recorded meanwhile by the test thread (on the fixture's own connection) is answered
// revoked by every request that starts after it is committed.
TEST_F(Ocsp, ManyThreadsShareOneSignerAndSeeARevocationAtOnce) {
  auto good = issue("good");
  auto revoked = issue("revoked");
  auto later = issue("later");
  ca->revoke(revoked.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  const int threads = 8, rounds = 120;
  std::latch start(threads + 1);
  std::atomic<bool> later_revoked{false};
  std::atomic<int> failures{0}, nonces{0}, total{0}, later_after{0};
  std::vector<std::string> problems(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int i = 0; i < rounds; ++i) {
        const ca::IssuedCertificate& which = i % 3 == 0 ? good : i % 3 == 1 ? revoked : later;
        bool nonce = (i + t) % 10 == 0;
        bool after = later_revoked.load();
        auto a = responder->respond(request_for({which.certificate.get()}, ca->issuing_certificate(), EVP_sha1(), nonce));
        ++total;
        nonces += nonce;
        int status = verified_status(a.der, which.certificate.get(), *ca);
        int expected = &which == &good ? V_OCSP_CERTSTATUS_GOOD : V_OCSP_CERTSTATUS_REVOKED;
        if (&which == &later) {
          if (after) ++later_after;
          if (!after) expected = status == V_OCSP_CERTSTATUS_REVOKED ? status : V_OCSP_CERTSTATUS_GOOD;
        }
        if (status != expected || a.nonce != nonce) {
          ++failures;
          problems[t] = which.record.serial_hex + ": status " + std::to_string(status) + " " + a.problem;
        }
      }
    });
  start.arrive_and_wait();
  while (total < threads * rounds / 3) std::this_thread::yield();
  ca->revoke(later.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, {"test"});
  later_revoked = true;
  for (auto& th : pool) th.join();
  EXPECT_EQ(failures.load(), 0) << ::testing::PrintToString(problems);
  EXPECT_GT(later_after.load(), 0);
  EXPECT_EQ(count_rows(*f->db, "ocsp_signers"), 1);
  EXPECT_EQ(signer_keys_on_token(*f), 1);
  db::Statement st(*f->db, "SELECT count(*) FROM audit_log WHERE action = 'ocsp.signer.issue'");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 1);
  // Every answer was signed or pre-signed; each nonce cost a signature, and repeats none.
  EXPECT_EQ(responder->signatures() + responder->cache_hits(), static_cast<std::uint64_t>(threads * rounds));
  EXPECT_GE(responder->signatures(), static_cast<std::uint64_t>(nonces.load()));
  EXPECT_GT(responder->cache_hits(), static_cast<std::uint64_t>(threads * rounds / 2));
  const auto& c = responder->counters();
  EXPECT_EQ(c.successful.load(), static_cast<std::uint64_t>(threads * rounds));
  EXPECT_EQ(c.good + c.revoked + c.unknown, static_cast<std::uint64_t>(threads * rounds));
  EXPECT_GE(c.good.load(), static_cast<std::uint64_t>(threads * rounds / 3));
  EXPECT_GE(c.revoked.load(), static_cast<std::uint64_t>(threads * rounds / 3 + later_after.load()));
  EXPECT_EQ(c.unknown.load(), 0u);
  EXPECT_EQ(c.malformed_request.load(), 0u);
  EXPECT_EQ(c.internal_error.load(), 0u);
  ca::CertificateRowCheck rows;
  auto r = db::verify_audit(*f->db, &rows);
  EXPECT_TRUE(r.ok) << r.problem;
}

// The responder reads on connections of its own: a revocation written but not yet committed by
// another connection of the process (here the fixture's, in an open transaction) is not seen; once
// rolled back nothing changed, once committed it is answered at once.
TEST_F(Ocsp, ReadsOnItsOwnConnectionsNotTheCallers) {
  auto leaf = issue("a");
  responder->signer();   // made before the transaction below holds the database's write lock
  auto ask_elsewhere = [&] {
    return std::async(std::launch::async, [&] { return ask(leaf.certificate.get()); }).get();
  };
  {
    db::Transaction tx(*f->db);
    db::Statement up(*f->db,
                     "UPDATE certificates SET revoked_at = ?1, revocation_effective = ?1, revocation_reason = 1 WHERE id = ?2");
    up.bind(1, now.load()).bind(2, leaf.record.id);
    up.exec();
    EXPECT_EQ(ask_elsewhere()[0].status, V_OCSP_CERTSTATUS_GOOD);
    EXPECT_EQ(ask(leaf.certificate.get())[0].status, V_OCSP_CERTSTATUS_GOOD);   // this thread too
  }
  EXPECT_EQ(ask_elsewhere()[0].status, V_OCSP_CERTSTATUS_GOOD);
  ca->revoke(leaf.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  EXPECT_EQ(ask_elsewhere()[0].status, V_OCSP_CERTSTATUS_REVOKED);
}

// A revocation of the signer itself, recorded by another process, is noticed by a running
// responder within a second: a new signer (key and certificate) signs from then on.
TEST_F(Ocsp, RevokedSignerIsReplacedWithinASecond) {
  auto leaf = issue("a");
  auto first = responder->signer();
  EXPECT_EQ(ask(leaf.certificate.get())[0].status, V_OCSP_CERTSTATUS_GOOD);
  auto other = f->open_db();
  ca::CertificateAuthority elsewhere(f->config, *other, *f->keys, clock);
  elsewhere.revoke(first.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  now += 1;
  auto renewed = responder->signer();
  EXPECT_NE(renewed.serial_hex, first.serial_hex);
  auto s = ask(leaf.certificate.get());
  EXPECT_EQ(s[0].status, V_OCSP_CERTSTATUS_GOOD);
  EXPECT_EQ(count_rows(*f->db, "ocsp_signers"), 2);
}

}  // namespace
}  // namespace jitsuin::test
