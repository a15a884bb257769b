// One request, one transaction, one audit entry, across the RA and the CA: issuance for an
// application (idempotent, also across processes, and crash-safe: real processes killed at each
// step), revocation requests approved in one transaction, a bundle approved all or none.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ca/csr.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"
#include "support/support.h"
#include "operator_setup.h"

namespace jitsuin::ra {
namespace {

using nlohmann::json;
using test::count_rows;
using test::expect_error;

const std::string kPassword = "correct horse battery";

ApplicantInput applicant(const std::string& kanji, const std::string& romaji, const std::string& email) {
  ApplicantInput a;
  a.name_kanji = kanji;
  a.name_kana = "テスト";
  a.name_romaji = romaji;
  a.organization_romaji = "Sakura Kensetsu";
  a.department_romaji = "Honsha";
  a.title_romaji = "Shacho";
  a.email = email;
  a.postcode = "1050004";
  a.home_address = "東京都港区新橋2-6-2";
  a.validity_years = 1;
  return a;
}

struct TxFixture {
  std::unique_ptr<test::CaFixture> caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [this] { return now; }};
  std::optional<Principal> alice, bob, carol;   // operator, approver, approver
  int keys = 0;

  TxFixture() {
    add_operator(ctx, nullptr, "admin", "", Role::administrator, kPassword);
    auto admin = *login(ctx, "admin", kPassword).principal;
    add_operator(ctx, &admin, "alice", "", Role::operator_, kPassword);
    add_operator(ctx, &admin, "bob", "", Role::approver, kPassword);
    add_operator(ctx, &admin, "carol", "", Role::approver, kPassword);
    testing::settle_operators(*caf->db);
    alice = *login(ctx, "alice", kPassword).principal;
    bob = *login(ctx, "bob", kPassword).principal;
    carol = *login(ctx, "carol", kPassword).principal;
  }

  // A bundle entered by alice with n applicants (a company new unless company_id is given),
  // not yet checked.
  BundleCreated bundle(int n, std::optional<std::int64_t> company_id = std::nullopt) {
    BundleInput b;
    if (company_id) b.company_id = company_id;
    else b.company = {"桜建設株式会社", "サクラケンセツ", "Sakura Kensetsu", "東京都港区新橋1-1-1", "桜 一郎", "代表取締役"};
    b.received_on = date_in_japan(now);
    b.seal_form = b.applicant_list = true;
    b.token_quantity = n;
    b.contacts = {{"contact", "連絡 花子", "総務部", "contact@example.jp", "", ""},
                  {"billing", "請求 次郎", "経理部", "billing@example.jp", "", ""}};
    const char* romaji[] = {"Taro Yamada", "Hanako Suzuki", "Ken Sato", "Jiro Tanaka"};
    for (int i = 0; i < n; ++i)
      b.applicants.push_back(applicant("申請 " + std::to_string(i), romaji[i], "a" + std::to_string(i) + "@example.jp"));
    return create_bundle(ctx, *alice, b);
  }

  // Records the documents of every application of the bundle and checks it (alice).
  void check(const BundleCreated& c) {
    Date today = date_in_japan(now);
    auto add = [&](DocumentKind k, std::optional<std::int64_t> app) {
      DocumentInput d;
      d.kind = k;
      d.issued_on = d.received_on = today;
      d.application_id = app;
      add_document(ctx, *alice, c.bundle_id, d);
    };
    add(DocumentKind::registration_current, std::nullopt);
    add(DocumentKind::representative_seal, std::nullopt);
    for (auto app : get_bundle(ctx, *alice, c.bundle_id).applications) {
      add(DocumentKind::residence_record, app.id);
      add(DocumentKind::personal_seal, app.id);
    }
    if (!check_bundle(ctx, *alice, c.bundle_id).complete) throw std::runtime_error("bundle incomplete");
  }

  // approved application → PIN → restricted delivery → enrollment with a fresh EC key.
  // Returns the CSR.
  std::string enroll(std::int64_t app) {
    auto pin = issue_pin(ctx, *alice, app);
    record_mailing(ctx, *alice, app, std::to_string(300000000000 + app), date_in_japan(now));
    auto csr = test::openssl_csr(caf->home.path(), "ec", "key" + std::to_string(++keys));
    start_enrollment(ctx, app, pin.pin, csr, "enroll:web");   // throws when refused
    return csr;
  }

  // n enrolled applications of one new bundle; returns (application id, CSR) pairs.
  std::vector<std::pair<std::int64_t, std::string>> enrolled(int n) {
    auto c = bundle(n);
    check(c);
    approve_bundle(ctx, *bob, c.bundle_id);
    std::vector<std::pair<std::int64_t, std::string>> out;
    for (auto app : c.application_ids) out.emplace_back(app, enroll(app));
    return out;
  }

  std::int64_t audit_entries(const std::string& action = "") {
    db::Statement st(*caf->db, "SELECT count(*) FROM audit_log WHERE ?1 = '' OR action = ?1");
    st.bind(1, action);
    st.step();
    return st.int64(0);
  }

  json last_audit_details() {
    db::Statement st(*caf->db, "SELECT details FROM audit_log ORDER BY seq DESC LIMIT 1");
    st.step();
    return json::parse(st.text(0));
  }

  // The certificates the CA holds for the key of a CSR.
  std::vector<ca::CertificateRecord> certificates_for(const std::string& csr) {
    return ca::CertificateStore(*caf->db, system_clock()).certificates_for_key(ca::check_csr(csr).fingerprint);
  }
};

// ---------------------------------------------------------------------------------------------
// Issuance for an application

TEST(RaIssuanceTx, OneAuditEntryAndRepeatedRequestsReturnTheSameCertificate) {
  TxFixture f;
  auto [app, csr] = f.enrolled(1)[0];
  auto certs = count_rows(*f.caf->db, "certificates");
  auto audit = f.audit_entries();
  auto issued = issue_for_application(f.ctx, *f.caf->ca, app, "enroll:web");
  EXPECT_EQ(count_rows(*f.caf->db, "certificates"), certs + 1);
  EXPECT_EQ(f.audit_entries(), audit + 1) << "one request, one audit entry";
  EXPECT_EQ(f.audit_entries("cert.issue"), 0) << "the CA's details are in the RA's entry";
  auto details = f.last_audit_details();
  EXPECT_EQ(details["serial"], issued.record.serial_hex);
  EXPECT_EQ(details["certificate"]["profile"], "individual-signing");
  EXPECT_EQ(details["certificate"]["certificate_id"], issued.record.id);
  EXPECT_EQ(details["to"], "issued");
  ASSERT_EQ(issued.chain.size(), 2u);

  // Again: the same certificate (parsed from the database, with its chain), nothing written.
  auto again = issue_for_application(f.ctx, *f.caf->ca, app, "enroll:web");
  EXPECT_EQ(again.record.serial_hex, issued.record.serial_hex);
  EXPECT_EQ(again.record.der, issued.record.der);
  ASSERT_TRUE(again.certificate);
  EXPECT_EQ(ossl::cert_der(again.certificate.get()), issued.record.der);
  EXPECT_EQ(again.chain.size(), 2u);
  EXPECT_EQ(count_rows(*f.caf->db, "certificates"), certs + 1);
  EXPECT_EQ(f.audit_entries(), audit + 1);
  EXPECT_EQ(f.certificates_for(csr).size(), 1u);
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

TEST(RaIssuanceTx, RenewalRevokesTheReplacedCertificateInTheSameEntry) {
  TxFixture f;
  auto [old_app, old_csr] = f.enrolled(1)[0];
  auto old_cert = issue_for_application(f.ctx, *f.caf->ca, old_app, "enroll:web");
  auto rb = f.bundle(0, get_application(f.ctx, *f.alice, old_app).company_id);
  const UnixTime start = f.now;
  f.now = old_cert.record.not_after - 29 * 86400;   // inside the 30-day notice window
  ASSERT_EQ(send_expiry_notices(f.ctx, "cron").size(), 1u);
  auto renewal = create_renewal(f.ctx, *f.alice, old_app, rb.bundle_id);
  f.now = start;
  f.check(rb);
  approve_application(f.ctx, *f.bob, renewal);
  f.enroll(renewal);

  auto audit = f.audit_entries();
  auto fresh = issue_for_application(f.ctx, *f.caf->ca, renewal, "enroll:web");
  EXPECT_EQ(f.audit_entries(), audit + 1) << "issuance and the superseded revocation: one entry";
  EXPECT_EQ(f.audit_entries("cert.revoke"), 0);
  auto details = f.last_audit_details();
  EXPECT_EQ(details["serial"], fresh.record.serial_hex);
  EXPECT_EQ(details["superseded"]["serial"], old_cert.record.serial_hex);
  EXPECT_EQ(details["superseded"]["reason"], "superseded");
  auto old_rec = f.caf->ca->find(old_cert.record.serial_hex);
  ASSERT_TRUE(old_rec->revoked_at.has_value());
  EXPECT_EQ(old_rec->reason, ca::RevocationReason::superseded);
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

// The applicant's enrollment (PIN accepted, CSR stored, enrolled) and an operator's renewal
// application are each one request: one transaction, one audit entry.
TEST(RaIssuanceTx, EnrollmentAndRenewalCreationAreOneEntryEach) {
  TxFixture f;
  auto c = f.bundle(1);
  f.check(c);
  approve_bundle(f.ctx, *f.bob, c.bundle_id);
  const auto app = c.application_ids.at(0);
  auto pin = issue_pin(f.ctx, *f.alice, app);
  record_mailing(f.ctx, *f.alice, app, std::to_string(310000000000 + app), date_in_japan(f.now));
  auto csr = test::openssl_csr(f.caf->home.path(), "ec", "enrolling");
  auto audit = f.audit_entries();
  start_enrollment(f.ctx, app, pin.pin, csr, "enroll:web");
  EXPECT_EQ(f.audit_entries(), audit + 1) << "PIN accepted and enrolled: one entry";
  EXPECT_EQ(f.audit_entries("ra.application.enrolled"), 1);

  auto cert = issue_for_application(f.ctx, *f.caf->ca, app, "enroll:web");
  auto rb = f.bundle(0, get_application(f.ctx, *f.alice, app).company_id);
  f.now = cert.record.not_after - 29 * 86400;   // inside the 30-day notice window
  ASSERT_EQ(send_expiry_notices(f.ctx, "cron").size(), 1u);
  audit = f.audit_entries();
  auto renewal = create_renewal(f.ctx, *f.alice, app, rb.bundle_id);
  EXPECT_EQ(f.audit_entries(), audit + 1) << "the renewal application: one entry";
  db::Statement st(*f.caf->db, "SELECT action, details FROM audit_log ORDER BY seq DESC LIMIT 1");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "ra.application.create");
  auto details = nlohmann::json::parse(st.text(1));
  EXPECT_EQ(details["renewal_of"], app);
  EXPECT_EQ(details["serial"], cert.record.serial_hex);
  EXPECT_EQ(get_application(f.ctx, *f.alice, renewal).renewal_of, app);
}

TEST(RaIssuanceTx, TheClaimColumnIsGone) {
  test::TempDir home;
  auto db = db::Database::open(home / "jitsuin.db");
  db::Statement st(*db, "SELECT count(*) FROM pragma_table_info('ra_applications') WHERE name = ?");
  for (const char* column : {"issuing_at", "certificate_serial"}) {
    st.reset();
    st.bind(1, column);
    st.step();
    EXPECT_EQ(st.int64(0), std::string(column) == "issuing_at" ? 0 : 1) << column;
  }
}

// ---------------------------------------------------------------------------------------------
// Real processes: killed at each step, and two at once

struct ChildResult {
  int status = -1;   // exit status; -1 or 128 + signal when killed
  std::string output;
};

ChildResult run_child(TxFixture& f, std::int64_t app, const std::string& crash_at = "") {
  std::string cmd = test::sh_quote(RA_ISSUE_CHILD) + " " + test::sh_quote(f.caf->home.path().string()) + " " +
                    test::sh_quote(f.caf->token_label) + " " + std::to_string(app);
  if (!crash_at.empty()) cmd = "JITSUIN_TEST_CRASH_AT=" + crash_at + " " + cmd;
  auto r = test::run(cmd);
  return {r.status, r.output};
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(RaIssuanceCrash, KilledAtEachStepNeverLeavesASecondCertificateOrAHalfIssuance) {
  TxFixture f;
  const char* points[] = {"issue.after_sign", "issue.before_commit", "issue.after_commit"};
  auto apps = f.enrolled(3);
  for (std::size_t i = 0; i < 3; ++i) {
    SCOPED_TRACE(points[i]);
    auto [app, csr] = apps[i];
    auto killed = run_child(f, app, points[i]);
    EXPECT_NE(killed.status, 0) << killed.output;
    EXPECT_EQ(killed.output.find("ra_issue_child:"), std::string::npos) << "killed, not failed: " << killed.output;
    // Whatever the point: a certificate exists exactly when the application records it.
    auto after_crash = f.certificates_for(csr);
    Application a = get_application(f.ctx, *f.alice, app);
    if (i < 2) {
      EXPECT_TRUE(after_crash.empty());
      EXPECT_EQ(a.state, State::enrolled);
      EXPECT_FALSE(a.certificate_serial.has_value());
    } else {
      ASSERT_EQ(after_crash.size(), 1u);
      EXPECT_EQ(a.state, State::issued);
      EXPECT_EQ(a.certificate_serial, after_crash[0].serial_hex);
    }
    auto verify = test::run(test::jitsuin_cmd(f.caf->home.path()) + " audit verify");
    EXPECT_EQ(verify.status, 0) << verify.output;

    // Run again to completion: one certificate, the application issued with it; and once more:
    // the same answer from another process.
    auto done = run_child(f, app);
    ASSERT_EQ(done.status, 0) << done.output;
    std::string serial = trim(done.output);
    auto certs = f.certificates_for(csr);
    ASSERT_EQ(certs.size(), 1u);
    EXPECT_EQ(certs[0].serial_hex, serial);
    a = get_application(f.ctx, *f.alice, app);
    EXPECT_EQ(a.state, State::issued);
    EXPECT_EQ(a.certificate_serial, serial);
    auto repeat = run_child(f, app);
    ASSERT_EQ(repeat.status, 0) << repeat.output;
    EXPECT_EQ(trim(repeat.output), serial);
    EXPECT_EQ(f.certificates_for(csr).size(), 1u);
    auto audit = db::verify_audit(*f.caf->db);
    EXPECT_TRUE(audit.ok) << audit.problem;
  }
  {
    db::Statement st(*f.caf->db, "SELECT count(*) FROM audit_log WHERE action = 'ra.application.issued'");
    st.step();
    EXPECT_EQ(st.int64(0), 3) << "one issuance entry per application";
  }
  auto verify = test::run(test::jitsuin_cmd(f.caf->home.path()) + " audit verify");
  EXPECT_EQ(verify.status, 0) << verify.output;
  EXPECT_NE(verify.output.find("audit log OK"), std::string::npos) << verify.output;
  EXPECT_EQ(verify.output.find("OK: 0 entries"), std::string::npos) << "the fixture's database: " << verify.output;
}

TEST(RaIssuanceCrash, TwoProcessesIssuingOneApplicationMakeOneCertificate) {
  TxFixture f;
  auto [app, csr] = f.enrolled(1)[0];
  auto dir = f.caf->home.path();
  auto barrier = dir / "barrier";
  std::filesystem::create_directories(barrier);
  // Each child opens the CA, reports ready and waits for "go"; the second starts only once the
  // first is ready (SoftHSM2 refuses two processes initialising its module at the same moment),
  // then both issue at once.
  std::string child = "RA_ISSUE_CHILD_BARRIER=" + test::sh_quote(barrier.string()) + " " +
                      test::sh_quote(RA_ISSUE_CHILD) + " " + test::sh_quote(dir.string()) + " " +
                      test::sh_quote(f.caf->token_label) + " " + std::to_string(app);
  auto ready = [&] {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(barrier)) n += e.path().filename().string().starts_with("ready");
    return n;
  };
  auto wait_for = [&](std::size_t n) {
    while (ready() < n) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  };
  test::CommandResult r1, r2;
  std::thread t1([&] { r1 = test::run(child); });
  wait_for(1);
  std::thread t2([&] { r2 = test::run(child); });
  wait_for(2);
  test::write_text(barrier / "go", "");
  t1.join();
  t2.join();
  ASSERT_EQ(r1.status, 0) << r1.output;
  ASSERT_EQ(r2.status, 0) << r2.output;
  EXPECT_EQ(r1.output, r2.output) << "both report the same certificate";
  auto certs = f.certificates_for(csr);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(trim(r1.output), certs[0].serial_hex);
  EXPECT_EQ(get_application(f.ctx, *f.alice, app).certificate_serial, certs[0].serial_hex);
  {
    db::Statement st(*f.caf->db, "SELECT count(*) FROM audit_log WHERE action = 'ra.application.issued'");
    st.step();
    EXPECT_EQ(st.int64(0), 1);
  }
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

// ---------------------------------------------------------------------------------------------
// Revocation requests

TEST(RaRevocationTx, ApprovalRevokesInOneTransactionWithOneAuditEntry) {
  TxFixture f;
  auto [app, csr] = f.enrolled(1)[0];
  auto cert = issue_for_application(f.ctx, *f.caf->ca, app, "enroll:web");
  auto req = request_revocation(f.ctx, *f.alice, cert.record.serial_hex, ca::RevocationReason::affiliation_changed,
                                std::nullopt, "");
  auto audit = f.audit_entries(), mails = count_rows(*f.caf->db, "outbox");
  auto done = approve_revocation(f.ctx, *f.bob, req.id);
  EXPECT_EQ(done.state, "revoked");
  EXPECT_EQ(f.audit_entries(), audit + 1);
  EXPECT_EQ(count_rows(*f.caf->db, "outbox"), mails + 1);
  auto details = f.last_audit_details();
  EXPECT_EQ(details["serial"], cert.record.serial_hex);
  EXPECT_EQ(details["certificate"]["reason"], "affiliationChanged");
  auto rec = f.caf->ca->find(cert.record.serial_hex);
  EXPECT_EQ(rec->revocation_effective, req.effective_at);
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

TEST(RaRevocationTx, ARefusedRevocationLeavesTheRequestPending) {
  TxFixture f;
  auto [app, csr] = f.enrolled(1)[0];
  auto cert = issue_for_application(f.ctx, *f.caf->ca, app, "enroll:web");
  auto req = request_revocation(f.ctx, *f.alice, cert.record.serial_hex, ca::RevocationReason::superseded,
                                std::nullopt, "");
  // Approved only after the certificate expired: the CA refuses, and the approval goes with it.
  f.now = cert.record.not_after + 86400;
  auto audit = f.audit_entries();
  expect_error([&] { approve_revocation(f.ctx, *f.bob, req.id); }, ErrorKind::invalid_input);
  auto r = get_revocation(f.ctx, *f.alice, req.id);
  EXPECT_EQ(r.state, "pending");
  EXPECT_FALSE(r.decided_by.has_value());
  EXPECT_EQ(f.audit_entries(), audit);
  EXPECT_FALSE(f.caf->ca->find(cert.record.serial_hex)->revoked_at.has_value());
}

TEST(RaRevocationTx, ApprovedRequestsLeftByEarlierVersionsAreCarriedOut) {
  TxFixture f;
  auto apps = f.enrolled(2);
  auto c1 = issue_for_application(f.ctx, *f.caf->ca, apps[0].first, "enroll:web");
  auto c2 = issue_for_application(f.ctx, *f.caf->ca, apps[1].first, "enroll:web");
  auto r1 = request_revocation(f.ctx, *f.alice, c1.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, "");
  auto r2 = request_revocation(f.ctx, *f.alice, c2.record.serial_hex, ca::RevocationReason::superseded, std::nullopt, "");
  // An earlier version committed the approval before the CA step: state approved, and for r2 the
  // CA had revoked already when the process stopped.
  for (auto id : {r1.id, r2.id}) {
    db::Statement st(*f.caf->db, "UPDATE ra_revocation_requests SET state = 'approved', decided_by = 'ra:bob' WHERE id = ?");
    st.bind(1, id).exec();
  }
  f.caf->ca->revoke(c2.record.serial_hex, ca::RevocationReason::superseded, r2.effective_at, {"old-version"});
  expect_error([&] { execute_revocation(f.ctx, *f.alice, r1.id); }, ErrorKind::forbidden);
  for (auto [id, serial] : {std::pair{r1.id, c1.record.serial_hex}, std::pair{r2.id, c2.record.serial_hex}}) {
    auto audit = f.audit_entries();
    auto done = execute_revocation(f.ctx, *f.carol, id);
    EXPECT_EQ(done.state, "revoked");
    EXPECT_EQ(done.effective_at, *f.caf->ca->find(serial)->revocation_effective);
    EXPECT_EQ(f.audit_entries(), audit + 1);
  }
  EXPECT_EQ(f.audit_entries("cert.revoke"), 1) << "only the old version's own CA step";
  expect_error([&] { execute_revocation(f.ctx, *f.carol, r1.id); }, ErrorKind::conflict);
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

// ---------------------------------------------------------------------------------------------
// A bundle approved all or none

TEST(RaBundleApproval, AllCheckedApplicationsOrNoneInOneEntry) {
  TxFixture f;
  auto c = f.bundle(2);
  // bob enters a third application: the two-person rule keeps him from approving it.
  auto extra = add_application(f.ctx, *f.bob, c.bundle_id, applicant("追加 三郎", "Saburo Kato", "s@example.jp"));
  BundleChanges third_token;   // Form 3 orders its eToken too (issue 8: one per Form 5)
  third_token.token_quantity = 3;
  edit_bundle(f.ctx, *f.bob, c.bundle_id, third_token);
  f.check(c);
  expect_error([&] { approve_bundle(f.ctx, *f.alice, c.bundle_id); }, ErrorKind::forbidden);   // no permission
  auto audit = f.audit_entries();
  expect_error([&] { approve_bundle(f.ctx, *f.bob, c.bundle_id); }, ErrorKind::forbidden);
  for (auto id : {c.application_ids[0], c.application_ids[1], extra})
    EXPECT_EQ(get_application(f.ctx, *f.alice, id).state, State::checked) << "none approved";
  EXPECT_EQ(f.audit_entries(), audit);

  auto approved = approve_bundle(f.ctx, *f.carol, c.bundle_id);
  EXPECT_EQ(approved, (std::vector<std::int64_t>{c.application_ids[0], c.application_ids[1], extra}));
  for (auto id : approved) {
    auto a = get_application(f.ctx, *f.alice, id);
    EXPECT_EQ(a.state, State::approved);
    EXPECT_EQ(a.approved_by, "ra:carol");
    EXPECT_EQ(application_history(f.ctx, *f.alice, id).back().to, "approved");
  }
  EXPECT_EQ(f.audit_entries(), audit + 1);
  EXPECT_EQ(f.audit_entries("ra.bundle.approve"), 1);
  EXPECT_EQ(f.last_audit_details()["applications"], json(approved));
  auto msg = expect_error([&] { approve_bundle(f.ctx, *f.carol, c.bundle_id); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("no checked application"), std::string::npos) << msg;
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

}  // namespace
}  // namespace jitsuin::ra
