// The CA's two-step writes (sign without the lock, record inside the caller's transaction) and
// the certificate store's queries, which need no CA key.
#include <gtest/gtest.h>

#include "jitsuin/ca/csr.h"
#include "jitsuin/db/audit.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using nlohmann::json;

const config::NameFields kTaro = {{"common_name", "Taro Yamada"}, {"organization", "Example Kensetsu"}};
const config::NameFields kHanako = {{"common_name", "Hanako Suzuki"}, {"organization", "Example Kensetsu"}};

ca::IssueRequest request(const std::string& csr, const config::NameFields& subject = kTaro) {
  return {"individual-signing", csr, subject, std::nullopt};
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

}  // namespace
}  // namespace jitsuin::test
