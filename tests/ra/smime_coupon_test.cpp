// Issue 10 (smime), seed 004: the S/MIME reseller path on a real SoftHSM2 CA and SQLite file. An
// order's coupons (hashes only, mailed to the delivery address); the holder's application with
// one (the application PIN mailed to THAT address after the delay); enrollment as usual; the
// certificate naming exactly that address; the refusals that change nothing; the re-issue that
// revokes the replaced certificate (superseded) with the new one.
#include <gtest/gtest.h>

#include <openssl/x509v3.h>

#include "company_fixture.h"
#include "refusal.h"
#include "jitsuin/ca/store.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/smime_coupon.h"

namespace jitsuin::ra {
namespace {

using testing::CompanyFixture;

struct CouponFixture : CompanyFixture {
  int keys = 0;

  std::string csr() { return test::openssl_csr(caf->home.path(), "ec", "smime" + std::to_string(++keys)); }

  CreatedCouponOrder order(int quantity = 2) {
    return create_coupon_order(ctx, *alice, {"Sakura Kensetsu 総務部", "buyer@sakura.example.jp", "secure-mail-1y", quantity, 180, ""});
  }

  // The newest mail of a template: recipient, due time and params (secrets unsealed).
  struct Mailed {
    std::string to;
    UnixTime due = 0;
    nlohmann::json params;
  };
  Mailed mail(const std::string& template_name) {
    db::Statement st(*caf->db, "SELECT id, recipient, next_attempt_at FROM outbox WHERE template = ? ORDER BY id DESC");
    st.bind(1, template_name);
    if (!st.step()) throw std::runtime_error("no " + template_name + " mail");
    return {st.text(1), st.int64(2), test::outbox_mail_params(*caf->db, st.int64(0))};
  }

  std::int64_t audit_entries(const std::string& action) { return testing::audit_entries(*caf->db, action); }

  // Apply (or re-issue), enroll with the mailed application PIN, collect with the mailed download PIN.
  ca::IssuedCertificate through(std::int64_t app) {
    auto pin = mail("smime_application_pin").params.value("application_pin", "");
    start_enrollment(ctx, app, pin, csr(), "enroll:test");
    auto dl = mail("download_pin").params.value("download_pin", "");
    return collect_certificate(ctx, *caf->ca, app, dl, "enroll:test");
  }

  // What changes when a request is refused.
  std::vector<std::int64_t> state() {
    return {test::count_rows(*caf->db, "ra_applications"), test::count_rows(*caf->db, "outbox"),
            test::count_rows(*caf->db, "smime_applications"), test::count_rows(*caf->db, "certificates")};
  }
};

using testing::refused;

// The rfc822Name entries of the certificate's subjectAltName.
std::vector<std::string> san_emails(X509* cert) {
  std::vector<std::string> out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_EMAIL)
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.rfc822Name)),
                       ASN1_STRING_length(n->d.rfc822Name));
    else
      out.push_back("other name type " + std::to_string(n->type));
  }
  GENERAL_NAMES_free(names);
  return out;
}

TEST(SmimeCoupon, OrderApplyEnrollCollect) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(2);
  ASSERT_EQ(created.codes.size(), 2u);
  EXPECT_EQ(created.order.quantity, 2);
  EXPECT_EQ(created.order.coupons.at(0).status, "unused");
  for (const auto& code : created.codes) {
    // "<number>-XXXX-XXXX-XXXX-XXXX": 80 bits after the number.
    auto number = coupon_number(code);
    ASSERT_TRUE(number) << code;
    EXPECT_EQ(normalize_pin(code.substr(code.find('-') + 1)).size(), 16u) << code;
  }
  // Stored as scrypt hashes only; the mail to the delivery address carries the codes (sealed).
  db::Statement h(*f.caf->db, "SELECT code_hash FROM smime_coupons");
  while (h.step()) {
    EXPECT_NE(h.text(0).find("scrypt"), std::string::npos);
    for (const auto& code : created.codes) EXPECT_EQ(h.text(0).find(normalize_pin(code.substr(code.find('-') + 1))), std::string::npos);
  }
  auto coupons = f.mail("smime_coupons");
  EXPECT_EQ(coupons.to, "buyer@sakura.example.jp") << "the buyer's delivery address";
  for (const auto& code : created.codes) EXPECT_NE(coupons.params.value("coupons", "").find(code), std::string::npos);
  db::Statement raw(*f.caf->db, "SELECT params FROM outbox WHERE template = 'smime_coupons'");
  ASSERT_TRUE(raw.step());
  EXPECT_EQ(raw.text(0).find(created.codes[0]), std::string::npos) << "the codes are sealed in the outbox";
  EXPECT_EQ(f.audit_entries("ra.smime_order.create"), 1);
  // Who may order, and what the profile allows (smime: 1 year).
  test::expect_error([&] { create_coupon_order(ctx, *f.audrey, {"x", "x@example.jp", "secure-mail-1y", 1, 180, ""}); },
                     ErrorKind::forbidden);
  auto msg = test::expect_error(
      [&] { create_coupon_order(ctx, *f.alice, {"x", "x@example.jp", "secure-mail-2y", 1, 180, ""}); },
      ErrorKind::invalid_input);
  EXPECT_NE(msg.find("secure-mail-2y"), std::string::npos) << msg;
  test::expect_error([&] { create_coupon_order(ctx, *f.alice, {"x", "x@example.jp", "secure-mail-1y", 51, 180, ""}); },
                     ErrorKind::invalid_input);

  // The holder (not the buyer) applies: the PIN mail goes to the address applied for, after the delay.
  auto applied = apply_with_coupon(ctx, {created.codes[0], "Hanako Suzuki", "鈴木 花子", "", "hanako@example.jp"},
                                   "enroll:test");
  const UnixTime delay = ctx.config.enroll.smime_pin_delay_minutes * 60;
  EXPECT_EQ(applied.mail_not_before, f.now + delay);
  EXPECT_EQ(applied.mailed_to, "h***@example.jp");
  auto pin_mail = f.mail("smime_application_pin");
  EXPECT_EQ(pin_mail.to, "hanako@example.jp");
  EXPECT_EQ(pin_mail.due, f.now + delay) << "seed 004: the PIN mail arrives about 15 minutes later";
  EXPECT_EQ(get_application(ctx, *f.audrey, applied.application_id).state, State::notice_mailed);
  EXPECT_EQ(f.audit_entries("smime.coupon.apply"), 1);
  // The coupon is spent: a second application with it is refused and changes nothing.
  auto before = f.state();
  refused([&] { apply_with_coupon(ctx, {created.codes[0], "Other Person", "", "", "other@example.jp"}, "enroll:test"); },
          "coupon_used");
  EXPECT_EQ(f.state(), before);

  // Enrollment as usual; the download PIN is not delayed again (the address was proven).
  auto pin = pin_mail.params.value("application_pin", "");
  auto started = start_enrollment(ctx, applied.application_id, pin, f.csr(), "enroll:test");
  EXPECT_FALSE(started.mail_not_before);
  EXPECT_EQ(f.mail("download_pin").due, f.now);
  auto issued = collect_certificate(ctx, *f.caf->ca, applied.application_id,
                                    f.mail("download_pin").params.value("download_pin", ""), "enroll:test");
  EXPECT_EQ(san_emails(issued.certificate.get()), std::vector<std::string>{"hanako@example.jp"});
  EXPECT_EQ(issued.record.profile, "smime");
  auto shown = get_coupon_order(ctx, *f.audrey, created.order.id);
  EXPECT_EQ(shown.coupons.at(0).status, "used");
  EXPECT_EQ(shown.coupons.at(0).applications, std::vector<std::int64_t>{applied.application_id});
  EXPECT_EQ(shown.coupons.at(1).status, "unused");
}

// CA-2 makes S/MIME a 1-year certificate (the shipped smime profile: max_days 365, so
// secure-mail-2y is refused above). An operator whose policy allows 2 years raises the profile's
// max_days; then the 2-year product is ordered and its certificate runs 730 days.
TEST(SmimeCoupon, TwoYearProductWhenTheProfileAllowsIt) {
  CouponFixture f;
  auto dir = f.caf->home.path() / "profiles-2y";
  std::filesystem::copy(f.caf->config.ca.profiles_dir, dir);
  auto profile = nlohmann::json::parse(read_file(dir / "smime.json"));
  profile["validity"]["max_days"] = 730;
  test::write_text(dir / "smime.json", profile.dump(2));
  f.caf->config.ca.profiles_dir = dir;
  f.caf->ca = std::make_unique<ca::CertificateAuthority>(f.caf->config, *f.caf->db, *f.caf->keys, [&f] { return f.now; });

  auto created = create_coupon_order(f.ctx, *f.alice, {"Sakura Kensetsu 総務部", "buyer@sakura.example.jp", "secure-mail-2y", 1, 180, ""});
  EXPECT_EQ(created.order.validity_years, 2);
  auto applied = apply_with_coupon(f.ctx, {created.codes[0], "Hanako Suzuki", "", "", "hanako@example.jp"}, "enroll:test");
  auto issued = f.through(applied.application_id);
  int days = 0, seconds = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &seconds, X509_get0_notBefore(issued.certificate.get()),
                           X509_get0_notAfter(issued.certificate.get())), 1);
  EXPECT_EQ(days, 730);
  EXPECT_EQ(san_emails(issued.certificate.get()), std::vector<std::string>{"hanako@example.jp"});
}

TEST(SmimeCoupon, BadInputChangesNothing) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(2);
  const std::string code = created.codes[0];
  auto before = f.state();
  refused([&] { apply_with_coupon(ctx, {"not a coupon", "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
          "coupon_malformed");
  refused([&] { apply_with_coupon(ctx, {code, "Taro Yamada", "", "", "a@example.jp, b@example.jp"}, "enroll:test"); },
          "one_address");
  refused([&] { apply_with_coupon(ctx, {code, "Taro Yamada", "", "", "a@example.jp b@example.jp"}, "enroll:test"); },
          "one_address");
  refused([&] { apply_with_coupon(ctx, {code, "Taro Yamada", "", "", "not-an-address"}, "enroll:test"); },
          "email_invalid");
  test::expect_error([&] { apply_with_coupon(ctx, {code, "山田 太郎", "", "", "t@example.jp"}, "enroll:test"); },
                     ErrorKind::invalid_input);   // the CN is romaji
  refused([&] { reissue_with_coupon(ctx, {code, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
          "coupon_unused");
  EXPECT_EQ(f.state(), before);
  EXPECT_EQ(get_coupon_order(ctx, *f.audrey, created.order.id).coupons.at(0).failures, 0) << "typos count nothing";

  // An unknown coupon number answers like a wrong code.
  refused([&] { apply_with_coupon(ctx, {"999999-AAAA-AAAA-AAAA-AAAA", "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
          "coupon_wrong");
  // Wrong codes count, then lock: the right one is refused from then on.
  const int max = ctx.config.ra.pin_max_attempts;
  std::string wrong = std::to_string(*coupon_number(code)) + "-AAAA-AAAA-AAAA-AAAA";
  for (int i = 1; i < max; ++i) {
    auto e = refused([&] { apply_with_coupon(ctx, {wrong, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
                     "coupon_wrong");
    EXPECT_EQ(e.remaining(), max - i);
  }
  refused([&] { apply_with_coupon(ctx, {wrong, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); }, "coupon_locked");
  refused([&] { apply_with_coupon(ctx, {code, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); }, "coupon_locked");
  EXPECT_EQ(get_coupon_order(ctx, *f.audrey, created.order.id).coupons.at(0).status, "locked");
  EXPECT_EQ(f.state(), before);
  EXPECT_EQ(f.audit_entries("smime.coupon.locked"), 1);

  // Expired with its order.
  f.now += 181 * 86400;
  refused([&] { apply_with_coupon(ctx, {created.codes[1], "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
          "coupon_expired");
  EXPECT_EQ(get_coupon_order(ctx, *f.audrey, created.order.id).coupons.at(1).status, "expired");
  EXPECT_EQ(f.state(), before);
}

TEST(SmimeCoupon, ReissueRevokesTheReplacedCertificate) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(1);
  const std::string code = created.codes[0];
  // The holder typed a wrong address; the certificate was issued for it.
  auto first = apply_with_coupon(ctx, {code, "Jiro Sato", "", "Sakura Kensetsu", "jiro@exmaple.jp"}, "enroll:test");
  auto old = f.through(first.application_id);
  // Re-issue for the right address: the old certificate stays valid until the new one is issued.
  auto second = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "Sakura Kensetsu", "jiro@example.jp"}, "enroll:test");
  EXPECT_EQ(second.reissue_of, first.application_id);
  EXPECT_EQ(second.replaces_serial, old.record.serial_hex);
  EXPECT_EQ(f.mail("smime_application_pin").to, "jiro@example.jp");
  EXPECT_FALSE(f.caf->ca->store().status(old.record.serial_hex)->revoked());
  auto renewed = f.through(second.application_id);
  EXPECT_EQ(san_emails(renewed.certificate.get()), std::vector<std::string>{"jiro@example.jp"});
  auto st = f.caf->ca->store().status(old.record.serial_hex);
  ASSERT_TRUE(st->revoked()) << "seed 004: re-issue invalidates the earlier certificate";
  EXPECT_EQ(st->reason, ca::RevocationReason::superseded);
  // ... in the issuing transaction, named in its one audit entry.
  db::Statement a(*f.caf->db, "SELECT details FROM audit_log WHERE action = 'ra.application.issued' ORDER BY seq DESC");
  ASSERT_TRUE(a.step());
  EXPECT_NE(a.text(0).find(old.record.serial_hex), std::string::npos) << a.text(0);
  EXPECT_EQ(f.audit_entries("smime.coupon.reissue"), 1);

  // A re-issue while the last one still waits: that one is withdrawn, its PIN useless; the new one
  // supersedes the newest certificate (the second).
  auto third = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  auto third_pin = f.mail("smime_application_pin").params.value("application_pin", "");
  auto fourth = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  EXPECT_EQ(fourth.replaces_serial, renewed.record.serial_hex);
  EXPECT_EQ(get_application(ctx, *f.audrey, third.application_id).state, State::withdrawn);
  refused([&] { start_enrollment(ctx, third.application_id, third_pin, f.csr(), "enroll:test"); }, "not_enrollable");
  // A re-issue after enrollment: the download PIN mailed for the replaced application stops working.
  auto fourth_pin = f.mail("smime_application_pin").params.value("application_pin", "");
  start_enrollment(ctx, fourth.application_id, fourth_pin, f.csr(), "enroll:test");
  auto fourth_dl = f.mail("download_pin").params.value("download_pin", "");
  auto fifth = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  refused([&] { collect_certificate(ctx, *f.caf->ca, fourth.application_id, fourth_dl, "enroll:test"); },
          "download_pin_wrong");
  auto last = f.through(fifth.application_id);
  EXPECT_TRUE(f.caf->ca->store().status(renewed.record.serial_hex)->revoked());
  EXPECT_FALSE(f.caf->ca->store().status(last.record.serial_hex)->revoked());
  EXPECT_EQ(get_coupon_order(ctx, *f.audrey, created.order.id).coupons.at(0).applications.size(), 5u);

  // Limits: the re-issue count, and the validity the coupon bought.
  reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  auto before = f.state();
  refused([&] { reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test"); },
          "reissue_limit");
  EXPECT_EQ(f.state(), before);
  auto other = f.order(1);
  apply_with_coupon(ctx, {other.codes[0], "Jiro Sato", "", "", "jiro2@example.jp"}, "enroll:test");
  f.now += 366 * 86400;
  refused([&] { reissue_with_coupon(ctx, {other.codes[0], "Jiro Sato", "", "", "jiro2@example.jp"}, "enroll:test"); },
          "reissue_closed");
}

// The paper PIN re-issue (request, then a second operator's new PIN and letter) would post a
// letter to the empty home address of a coupon application: refused, naming smime.reissue, and
// nothing changes. The same for a row whose request was recorded before this refusal existed.
TEST(SmimeCoupon, PaperPinReissueIsRefused) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(1);
  auto applied = apply_with_coupon(ctx, {created.codes[0], "Hanako Suzuki", "", "", "hanako@example.jp"}, "enroll:test");
  const auto id = applied.application_id;
  auto before = f.state();
  const auto audited = test::count_rows(*f.caf->db, "audit_log");
  auto msg = test::expect_error([&] { request_pin_reissue(ctx, *f.alice, id, "the letter was lost"); },
                                ErrorKind::conflict);
  EXPECT_NE(msg.find("smime.reissue"), std::string::npos) << msg;
  EXPECT_EQ(f.state(), before);
  EXPECT_EQ(test::count_rows(*f.caf->db, "audit_log"), audited);
  auto app = get_application(ctx, *f.audrey, id);
  EXPECT_FALSE(app.pin_reissue_requested_by);
  EXPECT_EQ(app.state, State::notice_mailed);
  // The mailed application PIN still works: the refused request did not clear it.
  auto pin = f.mail("smime_application_pin").params.value("application_pin", "");

  db::Statement old(*f.caf->db, "UPDATE ra_applications SET pin_reissue_requested_by = 'operator:alice' WHERE id = ?");
  old.bind(1, id).exec();
  msg = test::expect_error([&] { issue_pin(ctx, *f.bob, id); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("smime.reissue"), std::string::npos) << msg;
  EXPECT_EQ(f.state(), before);
  EXPECT_EQ(get_application(ctx, *f.audrey, id).state, State::notice_mailed);
  EXPECT_EQ(test::count_rows(*f.caf->db, "audit_log"), audited);
  start_enrollment(ctx, id, pin, f.csr(), "enroll:test");
}

}  // namespace
}  // namespace jitsuin::ra
