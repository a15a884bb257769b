// Issue 10, the server side of enrollment (ra/enrollment.h) on a real SoftHSM2 CA and SQLite file:
// the application PIN checked for status and start, the download PIN mailed (read back from the
// outbox as the applicant's mailbox would have it), collect idempotent, the refusals with their
// stable reasons, the Light path's PIN recipient and requester contact (seed 003), and the
// operator's view and re-issue.
#include <gtest/gtest.h>

#include "company_fixture.h"
#include "refusal.h"
#include "jitsuin/ca/store.h"
#include "jitsuin/ra/enrollment.h"

namespace jitsuin::ra {
namespace {

using testing::Company;
using testing::CompanyFixture;

struct EnrollFixture : CompanyFixture {
  Company c = company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  std::int64_t app = 0;
  std::string pin;
  int keys = 0;

  // A company admin's request for user1 (seed 003: its own PIN recipient and contact), approved,
  // its application PIN issued and the notice mailed: ready to enroll.
  void ready(const std::string& pin_to = "pin-recipient@sakura.example.jp") {
    CertificateRequestInput in{c.user1, testing::light_form()};
    in.pin_recipient_name = "PIN 受取";
    in.pin_recipient_email = pin_to;
    in.contact_name = "申請 担当";
    in.contact_phone = "03-1234-5678";
    in.contact_email = "contact@sakura.example.jp";
    auto req = request_additional_certificate(ctx, account(c.admin), in);
    app = req.application_id;
    check_certificate_request(ctx, *alice, app);
    approve_application(ctx, *bob, app);
    pin = issue_pin(ctx, *alice, app).pin;
    record_mailing(ctx, *alice, app, std::to_string(300000000000 + app), date_in_japan(now));
  }

  std::string csr(const std::string& alg = "ec") {
    return test::openssl_csr(caf->home.path(), alg, "key" + std::to_string(++keys));
  }

  // The newest download_pin mail: its recipient and its PIN, as the mailbox would show them.
  std::pair<std::string, std::string> mailed_pin() {
    db::Statement st(*caf->db, "SELECT id, recipient FROM outbox WHERE template = 'download_pin' ORDER BY id DESC");
    if (!st.step()) throw std::runtime_error("no download_pin mail");
    auto p = test::outbox_mail_params(*caf->db, st.int64(0));
    return {st.text(1), p.value("download_pin", "")};
  }

  std::int64_t audit_entries(const std::string& action) { return testing::audit_entries(*caf->db, action); }
};

using testing::refused;

TEST(Enrollment, StartCollectIdempotentAndTheLightPath) {
  EnrollFixture f;
  f.ready();
  auto& ctx = f.ctx;
  // Status with the application PIN: not spent.
  auto st = enrollment_status(ctx, f.app, f.pin, "enroll:test");
  EXPECT_EQ(st.state, State::notice_mailed);
  EXPECT_EQ(st.key_algorithms, (std::vector<std::string>{"p256", "rsa2048"}));
  // A wrong PIN counts, and says how many are left.
  auto e = refused([&] { start_enrollment(ctx, f.app, "AAAA-AAAA-AAAA-AAAA", f.csr(), "enroll:test"); },
                   "application_pin_wrong");
  EXPECT_EQ(e.remaining(), ctx.config.ra.pin_max_attempts - 1);
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);

  auto outbox_before = test::count_rows(*f.caf->db, "outbox");
  auto started = start_enrollment(ctx, f.app, f.pin, f.csr(), "enroll:test");
  EXPECT_EQ(started.mailed_to, "p***@sakura.example.jp");
  EXPECT_EQ(started.download_pin_expires_at, f.now + ctx.config.enroll.download_pin_minutes * 60);
  EXPECT_EQ(test::count_rows(*f.caf->db, "outbox"), outbox_before + 1);
  auto mailed = f.mailed_pin();
  std::string to = mailed.first, dl = mailed.second;
  EXPECT_EQ(to, "pin-recipient@sakura.example.jp") << "seed 003: the PIN goes to the named PIN recipient";
  EXPECT_EQ(normalize_pin(dl).size(), 16u);
  EXPECT_EQ(f.audit_entries("ra.application.enrolled"), 1);
  {
    // The download PIN is stored as an scrypt hash only.
    db::Statement h(*f.caf->db, "SELECT pin_hash FROM ra_download_pins WHERE application_id = ?");
    h.bind(1, f.app);
    ASSERT_TRUE(h.step());
    EXPECT_EQ(h.text(0).find(normalize_pin(dl)), std::string::npos);
    EXPECT_TRUE(h.text(0).starts_with("$scrypt$") || h.text(0).find("scrypt") != std::string::npos) << h.text(0);
  }
  // Enrolled: the spent PIN still shows the status; starting again is "already enrolled".
  st = enrollment_status(ctx, f.app, f.pin, "enroll:test");
  EXPECT_EQ(st.state, State::enrolled);
  ASSERT_TRUE(st.download_pin_expires_at);
  refused([&] { start_enrollment(ctx, f.app, f.pin, f.csr(), "enroll:test"); }, "already_enrolled");

  // Collect: a wrong download PIN counts; the right one issues; again: the same certificate.
  e = refused([&] { collect_certificate(ctx, *f.caf->ca, f.app, "BBBB-BBBB-BBBB-BBBB", "enroll:test"); },
              "download_pin_wrong");
  EXPECT_EQ(e.remaining(), ctx.config.ra.pin_max_attempts - 1);
  auto issued = collect_certificate(ctx, *f.caf->ca, f.app, dl, "enroll:test");
  EXPECT_EQ(issued.chain.size(), 2u);
  auto certs = test::count_rows(*f.caf->db, "certificates");
  auto again = collect_certificate(ctx, *f.caf->ca, f.app, dl, "enroll:test");
  EXPECT_EQ(again.record.serial_hex, issued.record.serial_hex);
  EXPECT_EQ(test::count_rows(*f.caf->db, "certificates"), certs) << "never a second certificate";
  EXPECT_EQ(get_application(ctx, *f.audrey, f.app).state, State::issued);
  EXPECT_EQ(enrollment_status(ctx, f.app, f.pin, "enroll:test").certificate_serial, issued.record.serial_hex);

  // The RA's view: the download PIN used, never the PIN.
  auto pins = download_pins(ctx, *f.audrey, f.app);
  ASSERT_EQ(pins.size(), 1u);
  EXPECT_EQ(pins[0].status, "used");
  EXPECT_EQ(pins[0].failures, 1);
  // Seed 003 ⑨: the request keeps its contact, who got the "request received" mail.
  auto req = find_certificate_request(ctx, *f.audrey, f.app);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->contact_email, "contact@sakura.example.jp");
  EXPECT_EQ(req->contact_phone, "03-1234-5678");
  EXPECT_EQ(req->pin_recipient_email, "pin-recipient@sakura.example.jp");
  db::Statement m(*f.caf->db, "SELECT count(*) FROM outbox WHERE template = 'application_received' AND recipient = ?");
  m.bind(1, "contact@sakura.example.jp");
  m.step();
  EXPECT_EQ(m.int64(0), 1);
}

TEST(Enrollment, WrongPinsLockAndUnknownNumbersLookTheSame) {
  EnrollFixture f;
  f.ready();
  const int max = f.ctx.config.ra.pin_max_attempts;
  // An unknown number answers exactly like a wrong PIN for a real one.
  auto unknown = refused([&] { enrollment_status(f.ctx, 987654, "AAAA-AAAA-AAAA-AAAA", "enroll:test"); },
                         "application_pin_wrong");
  auto real = refused([&] { enrollment_status(f.ctx, f.app, "AAAA-AAAA-AAAA-AAAA", "enroll:test"); },
                      "application_pin_wrong");
  EXPECT_EQ(unknown.remaining(), real.remaining());
  std::string u = unknown.what(), r = real.what();
  EXPECT_EQ(u, r);
  // A typo that cannot be a PIN is not counted.
  auto typo = refused([&] { enrollment_status(f.ctx, f.app, "1234", "enroll:test"); }, "application_pin_wrong");
  EXPECT_EQ(typo.kind(), ErrorKind::invalid_input);
  for (int i = 2; i < max; ++i)
    refused([&] { start_enrollment(f.ctx, f.app, "AAAA-AAAA-AAAA-AAAA", f.csr(), "enroll:test"); },
            "application_pin_wrong");
  refused([&] { start_enrollment(f.ctx, f.app, "AAAA-AAAA-AAAA-AAAA", f.csr(), "enroll:test"); },
          "application_pin_locked");
  // Locked, even for the right PIN, and nothing moved.
  refused([&] { start_enrollment(f.ctx, f.app, f.pin, f.csr(), "enroll:test"); }, "application_pin_locked");
  refused([&] { enrollment_status(f.ctx, f.app, f.pin, "enroll:test"); }, "application_pin_locked");
  EXPECT_EQ(get_application(f.ctx, *f.audrey, f.app).state, State::notice_mailed);
}

TEST(Enrollment, CsrAndKeyRefusalsChangeNothing) {
  EnrollFixture f;
  f.ready();
  auto& ctx = f.ctx;
  auto outbox = test::count_rows(*f.caf->db, "outbox");
  refused([&] { start_enrollment(ctx, f.app, f.pin, "not a CSR", "enroll:test"); }, "csr_invalid");
  // A CSR whose signature does not verify: one byte of the signature changed.
  {
    std::string good = f.csr();
    auto der = test::run("openssl req -in " + (f.caf->home.path() / ("key" + std::to_string(f.keys) + ".csr")).string() +
                         " -outform DER | base64 -w0");
    ASSERT_EQ(der.status, 0);
    std::string b64 = der.output;
    while (!b64.empty() && (b64.back() == '\n' || b64.back() == '\r')) b64.pop_back();
    // The signature is at the end: flip one base64 character a few characters before the end.
    std::size_t at = b64.size() - 6;
    b64[at] = b64[at] == 'A' ? 'B' : 'A';
    std::string pem = "-----BEGIN CERTIFICATE REQUEST-----\n";
    for (std::size_t i = 0; i < b64.size(); i += 64) pem += b64.substr(i, 64) + "\n";
    pem += "-----END CERTIFICATE REQUEST-----\n";
    refused([&] { start_enrollment(ctx, f.app, f.pin, pem, "enroll:test"); }, "csr_invalid");
  }
  // A P-384 key: not among the profile's key algorithms.
  auto p384 = test::openssl_csr(f.caf->home.path(), "ec -pkeyopt ec_paramgen_curve:P-384", "p384");
  refused([&] { start_enrollment(ctx, f.app, f.pin, p384, "enroll:test"); }, "key_refused");
  // A key reported compromised.
  std::string bad = f.csr();
  auto old = f.caf->ca->issue({"smime", bad, {{"common_name", "Old"}, {"email", "old@example.jp"}}, {}, {}}, {"test"});
  f.caf->ca->revoke(old.record.serial_hex, ca::RevocationReason::key_compromise, std::nullopt, {"test"});
  refused([&] { start_enrollment(ctx, f.app, f.pin, bad, "enroll:test"); }, "key_refused");
  // A key certified before.
  std::string used = f.csr();
  f.caf->ca->issue({"smime", used, {{"common_name", "Used"}, {"email", "used@example.jp"}}, {}, {}}, {"test"});
  refused([&] { start_enrollment(ctx, f.app, f.pin, used, "enroll:test"); }, "key_refused");
  // None of these counted an attempt or changed the application.
  auto a = get_application(ctx, *f.audrey, f.app);
  EXPECT_EQ(a.state, State::notice_mailed);
  EXPECT_EQ(a.pin_failures, 0);
  EXPECT_EQ(test::count_rows(*f.caf->db, "outbox"), outbox);
  // RSA-2048 is allowed.
  EXPECT_NO_THROW(start_enrollment(ctx, f.app, f.pin, f.csr("rsa:2048"), "enroll:test"));
}

TEST(Enrollment, ExpiredPinsAndReissue) {
  EnrollFixture f;
  f.ready();
  auto& ctx = f.ctx;
  UnixTime start = f.now;
  // The application PIN expired: the right PIN says so (a wrong one is just wrong).
  f.now = start + ctx.config.ra.pin_validity_days * 86400 + 1;
  refused([&] { start_enrollment(ctx, f.app, f.pin, f.csr(), "enroll:test"); }, "application_pin_expired");
  f.now = start;
  start_enrollment(ctx, f.app, f.pin, f.csr(), "enroll:test");
  auto first = f.mailed_pin().second;
  // Past download_pin_minutes: expired.
  f.now = start + ctx.config.enroll.download_pin_minutes * 60 + 1;
  refused([&] { collect_certificate(ctx, *f.caf->ca, f.app, first, "enroll:test"); }, "download_pin_expired");
  EXPECT_EQ(download_pins(ctx, *f.audrey, f.app).at(0).status, "expired");
  // The RA re-issues (an approver): the old PIN is dead, the new one works.
  test::expect_error([&] { reissue_download_pin(ctx, *f.alice, f.app); }, ErrorKind::forbidden);
  reissue_download_pin(ctx, *f.bob, f.app);
  auto second = f.mailed_pin().second;
  EXPECT_NE(first, second);
  refused([&] { collect_certificate(ctx, *f.caf->ca, f.app, first, "enroll:test"); }, "download_pin_wrong");
  auto issued = collect_certificate(ctx, *f.caf->ca, f.app, second, "enroll:test");
  EXPECT_FALSE(issued.record.serial_hex.empty());
  auto pins = download_pins(ctx, *f.audrey, f.app);
  ASSERT_EQ(pins.size(), 2u);
  EXPECT_EQ(pins[0].status, "replaced");
  EXPECT_EQ(pins[1].status, "used");
}

TEST(Enrollment, DownloadPinLocks) {
  EnrollFixture f;
  f.ready();
  start_enrollment(f.ctx, f.app, f.pin, f.csr(), "enroll:test");
  auto dl = f.mailed_pin().second;
  const int max = f.ctx.config.ra.pin_max_attempts;
  for (int i = 1; i < max; ++i)
    refused([&] { collect_certificate(f.ctx, *f.caf->ca, f.app, "CCCC-CCCC-CCCC-CCCC", "enroll:test"); },
            "download_pin_wrong");
  refused([&] { collect_certificate(f.ctx, *f.caf->ca, f.app, "CCCC-CCCC-CCCC-CCCC", "enroll:test"); },
          "download_pin_locked");
  refused([&] { collect_certificate(f.ctx, *f.caf->ca, f.app, dl, "enroll:test"); }, "download_pin_locked");
  EXPECT_EQ(get_application(f.ctx, *f.audrey, f.app).state, State::enrolled);
  EXPECT_EQ(download_pins(f.ctx, *f.audrey, f.app).at(0).status, "locked");
}

// Seed 004: the S/MIME reseller path. The PIN mail leaves enroll.smime_pin_delay_minutes after the
// request; the certificate names the address; a new certificate for the address supersedes the old.
TEST(Enrollment, SmimePinDelayAndOneCertificatePerAddress) {
  EnrollFixture f;
  auto& ctx = f.ctx;
  std::string serials[2];
  for (int round = 0; round < 2; ++round) {
    ApplicantInput form = testing::light_form();
    form.profile = "smime";
    form.email = "secure.mail@sakura.example.jp";
    form.department_romaji.clear();   // the smime profile names no department or title
    form.title_romaji.clear();
    auto req = request_additional_certificate(ctx, f.account(f.c.admin), {f.c.user1, form});
    check_certificate_request(ctx, *f.alice, req.application_id);
    approve_application(ctx, *f.bob, req.application_id);
    auto pin = issue_pin(ctx, *f.alice, req.application_id).pin;
    record_mailing(ctx, *f.alice, req.application_id, std::to_string(400000000000 + req.application_id),
                   date_in_japan(f.now));
    auto started = start_enrollment(ctx, req.application_id, pin, f.csr(), "enroll:test");
    const UnixTime delay = ctx.config.enroll.smime_pin_delay_minutes * 60;
    ASSERT_TRUE(started.mail_not_before);
    EXPECT_EQ(*started.mail_not_before, f.now + delay);
    EXPECT_EQ(started.download_pin_expires_at, f.now + delay + ctx.config.enroll.download_pin_minutes * 60);
    db::Statement q(*f.caf->db, "SELECT next_attempt_at FROM outbox WHERE template = 'download_pin' ORDER BY id DESC");
    ASSERT_TRUE(q.step());
    EXPECT_EQ(q.int64(0), f.now + delay) << "the PIN mail waits";
    auto issued = collect_certificate(ctx, *f.caf->ca, req.application_id, f.mailed_pin().second, "enroll:test");
    // The address is the certificate's subjectAltName rfc822Name, as openssl reads it.
    auto pem = f.caf->home.path() / "smime.pem";
    test::write_text(pem, ossl::cert_pem(issued.certificate.get()));
    auto san = test::run("openssl x509 -in " + pem.string() + " -noout -ext subjectAltName");
    EXPECT_NE(san.output.find("email:secure.mail@sakura.example.jp"), std::string::npos) << san.output;
    serials[round] = issued.record.serial_hex;
  }
  ca::CertificateStore store(*f.caf->db, ctx.clock);
  auto old = store.find(serials[0]);
  ASSERT_TRUE(old);
  EXPECT_TRUE(old->revoked_at) << "the re-issue invalidates the old certificate";
  EXPECT_EQ(old->reason, ca::RevocationReason::superseded);
  EXPECT_FALSE(store.find(serials[1])->revoked_at);
}

TEST(Enrollment, MaskAddress) {
  EXPECT_EQ(mask_address("taro@example.jp"), "t***@example.jp");
  EXPECT_EQ(mask_address("nope"), "***");
}

}  // namespace
}  // namespace jitsuin::ra
