// The CA's two-step writes (sign without the lock, record inside the caller's transaction) and
// the certificate store's queries, which need no CA key.
#include <gtest/gtest.h>

#include <algorithm>
#include <barrier>
#include <mutex>
#include <thread>

#include "jitsuin/ca/csr.h"
#include "jitsuin/db/audit.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using nlohmann::json;

const config::NameFields kTaro = {{"common_name", "Taro Yamada"}, {"organization", "Example Kensetsu"}};
const config::NameFields kHanako = {{"common_name", "Hanako Suzuki"}, {"organization", "Example Kensetsu"}};

ca::IssueRequest request(const std::string& csr, const config::NameFields& subject = kTaro) {
  return {"individual-signing", csr, subject, std::nullopt, {}};
}

TEST(CaRecord, SignWritesNothingAndRecordRunsOnlyInTheCallersTransaction) {
  auto f = make_ca();
  TempDir dir;
  auto certs = count_rows(*f->db, "certificates"), audit = count_rows(*f->db, "audit_log");
  auto prepared = f->ca->sign_certificate(request(openssl_csr(dir.path(), "ec")));
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs);
  EXPECT_EQ(count_rows(*f->db, "audit_log"), audit);
  EXPECT_EQ(prepared.der, ossl::cert_der(prepared.certificate.get()));
  EXPECT_EQ(prepared.subject, "CN=Taro Yamada,O=Example Kensetsu,C=JP");

  json details;
  expect_error([&] { f->ca->record_certificate(prepared, details); }, ErrorKind::internal);
  ca::CertificateRecord rec;
  {
    db::Transaction tx(*f->db);
    rec = f->ca->record_certificate(prepared, details);
    EXPECT_EQ(count_rows(*f->db, "audit_log"), audit) << "the caller writes the audit entry";
    db::append_audit(*f->db, {"test", "test.issue", rec.serial_hex, details.dump()}, rec.issued_at);
    tx.commit();
  }
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs + 1);
  EXPECT_EQ(details["profile"], "individual-signing");
  EXPECT_EQ(details["certificate_id"], rec.id);
  EXPECT_EQ(details["subject"], prepared.subject);
  EXPECT_EQ(rec.serial_hex, prepared.serial_hex);
  EXPECT_EQ(f->ca->find(rec.serial_hex)->der, prepared.der);

  // The same certificate twice: refused, nothing written.
  {
    db::Transaction tx(*f->db);
    expect_error([&] { f->ca->record_certificate(prepared, details); }, ErrorKind::conflict);
  }
  EXPECT_EQ(count_rows(*f->db, "certificates"), certs + 1);

  // with_chain parses the stored DER when no certificate object is given.
  auto full = f->ca->with_chain(*f->ca->find(rec.serial_hex));
  ASSERT_TRUE(full.certificate);
  EXPECT_EQ(ossl::cert_der(full.certificate.get()), prepared.der);
  ASSERT_EQ(full.chain.size(), 2u);
  EXPECT_EQ(X509_cmp(full.chain[0].get(), f->ca->issuing_certificate()), 0);
  EXPECT_TRUE(db::verify_audit(*f->db).ok);
}

TEST(CaRecord, KeyReuseIsCheckedAgainUnderTheLock) {
  auto f = make_ca();
  TempDir dir;
  std::string csr = openssl_csr(dir.path(), "ec");
  // Both pass the check before the lock: nothing is recorded yet.
  auto for_taro = f->ca->sign_certificate(request(csr, kTaro));
  auto for_hanako = f->ca->sign_certificate(request(csr, kHanako));
  json details;
  {
    db::Transaction tx(*f->db);
    f->ca->record_certificate(for_taro, details);
    tx.commit();
  }
  db::Transaction tx(*f->db);
  auto msg = expect_error([&] { f->ca->record_certificate(for_hanako, details); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("different subject"), std::string::npos) << msg;
}

TEST(CaStore, QueriesNeedOnlyTheDatabase) {
  auto f = make_ca();
  TempDir dir;
  std::string csr = openssl_csr(dir.path(), "ec");
  auto a = f->ca->issue(request(csr), {"test"});
  auto b = f->ca->issue(request(csr), {"test"});   // the same key, the same subject: allowed
  auto other = f->ca->issue(request(openssl_csr(dir.path(), "ec", "k2"), kHanako), {"test"});
  UnixTime now = system_clock()();
  ca::CertificateStore store(*f->db, [&] { return now; });

  EXPECT_FALSE(store.status("00ff").has_value());
  auto s = store.status(a.record.serial_hex);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->serial_hex, a.record.serial_hex);
  EXPECT_EQ(s->profile, "individual-signing");
  EXPECT_EQ(s->not_before, a.record.not_before);
  EXPECT_EQ(s->not_after, a.record.not_after);
  EXPECT_FALSE(s->revoked());
  // Upper case and colons are the same serial.
  std::string upper;
  for (std::size_t i = 0; i < a.record.serial_hex.size(); i += 2)
    upper += (i ? ":" : "") + a.record.serial_hex.substr(i, 2);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(store.status(upper)->serial_hex, a.record.serial_hex);

  auto list = store.statuses({other.record.serial_hex, "00ff", a.record.serial_hex});
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].serial_hex, other.record.serial_hex);
  EXPECT_EQ(list[1].serial_hex, a.record.serial_hex);

  auto of_key = store.certificates_for_key(ca::check_csr(csr).fingerprint);
  ASSERT_EQ(of_key.size(), 2u);
  EXPECT_EQ(of_key[0].serial_hex, a.record.serial_hex);
  EXPECT_EQ(of_key[1].serial_hex, b.record.serial_hex);
  EXPECT_EQ(store.find(b.record.serial_hex)->der, b.record.der);
}

TEST(CaStore, RevocationIsRecordedInTheCallersTransactionWithoutAnEntryOfItsOwn) {
  auto f = make_ca();
  TempDir dir;
  auto cert = f->ca->issue(request(openssl_csr(dir.path(), "ec")), {"test"});
  UnixTime now = system_clock()();
  ca::CertificateStore store(*f->db, [&] { return now; });
  json details;
  expect_error([&] { store.record_revocation({cert.record.serial_hex, ca::RevocationReason::key_compromise, {}}, details); },
               ErrorKind::internal);
  auto audit = count_rows(*f->db, "audit_log");
  {
    db::Transaction tx(*f->db);
    expect_error([&] { store.record_revocation({"00ff", ca::RevocationReason::key_compromise, {}}, details); },
                 ErrorKind::not_found);
    expect_error([&] { store.record_revocation({cert.record.serial_hex, ca::RevocationReason::certificate_hold, {}}, details); },
                 ErrorKind::invalid_input);
    auto rec = store.record_revocation({cert.record.serial_hex, ca::RevocationReason::key_compromise, now + 60}, details);
    EXPECT_EQ(rec.revocation_effective, now + 60);
    EXPECT_EQ(rec.revoked_at, now);
    EXPECT_EQ(count_rows(*f->db, "audit_log"), audit);
    // Not committed: rolled back with the caller's transaction.
  }
  EXPECT_FALSE(store.status(cert.record.serial_hex)->revoked());
  EXPECT_EQ(details["reason"], "keyCompromise");
  {
    db::Transaction tx(*f->db);
    store.record_revocation({cert.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt}, details);
    tx.commit();
  }
  auto s = store.status(cert.record.serial_hex);
  EXPECT_TRUE(s->revoked());
  EXPECT_EQ(s->revocation_effective, now);
  EXPECT_EQ(s->reason, ca::RevocationReason::key_compromise);
  db::Transaction tx(*f->db);
  expect_error([&] { store.record_revocation({cert.record.serial_hex, ca::RevocationReason::superseded, {}}, details); },
               ErrorKind::conflict);
}

// CRLs are signed outside the write lock and recorded only if nothing moved meanwhile. Two
// publishers and a revoker at once, each with its own connection and CA object (one token): the
// numbers run without a gap, and every CRL lists exactly the revocations in effect at its
// thisUpdate that were committed before it (the audit log orders the commits).
TEST(CaCrl, ConcurrentPublicationsAndRevocationsKeepEveryCrlComplete) {
  auto f = make_ca();
  TempDir dir;
  std::string csr = openssl_csr(dir.path(), "ec");
  std::vector<std::string> serials;
  for (int i = 0; i < 12; ++i) serials.push_back(f->ca->issue(request(csr), {"test"}).record.serial_hex);
  constexpr int kPublishers = 2, kPublications = 4;
  std::vector<std::unique_ptr<db::Database>> dbs;
  std::vector<std::unique_ptr<ca::CertificateAuthority>> cas;
  for (int t = 0; t < kPublishers + 1; ++t) {
    dbs.push_back(f->open_db());
    cas.push_back(std::make_unique<ca::CertificateAuthority>(f->config, *dbs.back(), *f->keys, system_clock()));
  }
  std::mutex error_mutex;
  std::string error;
  std::barrier start(kPublishers + 1);
  std::vector<std::thread> pool;
  auto guarded = [&](auto work) {
    try {
      work();
    } catch (const std::exception& e) {
      std::lock_guard lock(error_mutex);
      error = e.what();
    }
  };
  for (int t = 0; t < kPublishers; ++t)
    pool.emplace_back([&, t] {
      start.arrive_and_wait();
      guarded([&] {
        for (int i = 0; i < kPublications; ++i)
          cas[static_cast<std::size_t>(t)]->publish_crls(dir / ("crl" + std::to_string(t)), {"publisher"});
      });
    });
  pool.emplace_back([&] {
    start.arrive_and_wait();
    guarded([&] {
      for (const auto& s : serials) cas.back()->revoke(s, ca::RevocationReason::key_compromise, std::nullopt, {"revoker"});
    });
  });
  for (auto& th : pool) th.join();
  ASSERT_EQ(error, "");

  std::vector<std::int64_t> numbers;
  {
    db::Statement st(*f->db,
                     "SELECT p.crl_number FROM crl_publications p JOIN authorities a ON a.id = p.authority_id "
                     "WHERE a.role = 'issuing' ORDER BY p.crl_number");
    while (st.step()) numbers.push_back(st.int64(0));
  }
  ASSERT_EQ(numbers.size(), static_cast<std::size_t>(kPublishers * kPublications));
  for (std::size_t i = 0; i < numbers.size(); ++i) EXPECT_EQ(numbers[i], static_cast<std::int64_t>(i + 1));

  std::vector<UnixTime> revoked;   // effective times of the revocations committed so far
  int publications = 0;
  db::Statement st(*f->db, "SELECT action, object, details FROM audit_log ORDER BY seq");
  while (st.step()) {
    auto details = json::parse(st.text(2));
    if (st.text(0) == "cert.revoke") revoked.push_back(parse_rfc3339(details["effective"].get<std::string>()));
    if (st.text(0) != "crl.publish") continue;
    ++publications;
    details = details.at("crls").at(0);   // one entry per publication; the issuing CA's CRL first
    ASSERT_EQ(details["role"], "issuing");
    UnixTime this_update = parse_rfc3339(details["this_update"].get<std::string>());
    auto in_effect = std::count_if(revoked.begin(), revoked.end(), [&](UnixTime e) { return e <= this_update; });
    EXPECT_EQ(details["entries"].get<std::int64_t>(), in_effect) << "CRL " << details["crl_number"];
  }
  EXPECT_EQ(publications, kPublishers * kPublications);
  EXPECT_EQ(revoked.size(), serials.size());
  EXPECT_TRUE(db::verify_audit(*f->db).ok);
}

}  // namespace
}  // namespace jitsuin::test
