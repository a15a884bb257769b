// Issue 10 (smime), seed 004: the S/MIME reseller path on a real SoftHSM2 CA and SQLite file. An
// order's coupons (hashes only, mailed to the delivery address); the holder's application with
// one (the application PIN mailed to THAT address after the delay); enrollment as usual; the
// certificate naming exactly that address; the refusals that change nothing; the re-issue that
// revokes the replaced certificate (superseded) with the new one.
#include <gtest/gtest.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

#include "company_fixture.h"
#include "refusal.h"
#include "jitsuin/ca/store.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/secret.h"
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

// Issue 20, item 12: an unknown coupon number is answered AND counted like a real one with a wrong
// code: the same countdown, the same lock, and nothing is created for it.
TEST(SmimeCoupon, UnknownNumberCountsDownLikeARealOne) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(1);
  const int max = ctx.config.ra.pin_max_attempts;
  const std::string real = std::to_string(*coupon_number(created.codes[0])) + "-AAAA-AAAA-AAAA-AAAA";
  const std::string unknown = "999999-AAAA-AAAA-AAAA-AAAA";
  auto before = f.state();
  for (int i = 1; i <= max; ++i) {
    auto answer = [&](const std::string& code) {
      try {
        apply_with_coupon(ctx, {code, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test");
      } catch (const ReasonedError& e) {
        return std::pair<std::string, int>{e.reason(), e.remaining()};
      }
      return std::pair<std::string, int>{"accepted", 0};
    };
    auto r = answer(real), u = answer(unknown);
    EXPECT_EQ(u, r) << "attempt " << i;
    EXPECT_EQ(r.first, i < max ? "coupon_wrong" : "coupon_locked") << "attempt " << i;
    if (i < max) EXPECT_EQ(r.second, max - i);
  }
  refused([&] { apply_with_coupon(ctx, {unknown, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); },
          "coupon_locked");
  EXPECT_EQ(f.state(), before) << "no application, mail or coupon for an unknown number";
  EXPECT_EQ(test::count_rows(*f.caf->db, "smime_coupons"), 1);
}

// Issue 20, item 7: every answer to a secret costs the same scrypt work whether the number exists
// or not (so its timing does not tell): counted with the observer of ra/secret.h.
TEST(SmimeCoupon, UnknownNumbersCostTheSameScryptWork) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(1);
  auto applied = apply_with_coupon(ctx, {created.codes[0], "Hanako Suzuki", "", "", "hanako@example.jp"}, "enroll:test");
  auto second = f.order(1);
  auto enrolled = apply_with_coupon(ctx, {second.codes[0], "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  start_enrollment(ctx, enrolled.application_id, f.mail("smime_application_pin").params.value("application_pin", ""),
                   f.csr(), "enroll:test");
  int calls = 0;
  set_secret_observer([&] { ++calls; });
  struct Reset {
    ~Reset() { set_secret_observer({}); }
  } reset;
  auto work = [&](auto&& request) {
    calls = 0;
    try {
      request();
    } catch (const ReasonedError&) {
    }
    return calls;
  };
  const std::string wrong_pin = "AAAA-BBBB-CCCC-DDDD";
  // enroll.status: an application with a PIN, and a number that has none.
  int known = work([&] { enrollment_status(ctx, applied.application_id, wrong_pin, "enroll:test"); });
  int unknown = work([&] { enrollment_status(ctx, 987654, wrong_pin, "enroll:test"); });
  EXPECT_EQ(known, 1);
  EXPECT_EQ(unknown, known) << "enroll.status";
  // enroll.collect: an enrolled application's download PIN, and a number without one.
  known = work([&] { collect_certificate(ctx, *f.caf->ca, enrolled.application_id, wrong_pin, "enroll:test"); });
  unknown = work([&] { collect_certificate(ctx, *f.caf->ca, 987654, wrong_pin, "enroll:test"); });
  EXPECT_EQ(known, 1);
  EXPECT_EQ(unknown, known) << "enroll.collect";
  // smime.apply: a real coupon with a wrong code, and an unknown number.
  const std::string real = std::to_string(*coupon_number(second.codes[0])) + "-" + wrong_pin;
  known = work([&] { apply_with_coupon(ctx, {real, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); });
  unknown = work([&] { apply_with_coupon(ctx, {"987654-" + wrong_pin, "Taro Yamada", "", "", "t@example.jp"}, "enroll:test"); });
  EXPECT_GE(known, 1);
  EXPECT_EQ(unknown, known) << "smime.apply";
  // The answers alike too (attempts left): the unknown number counts down as the real one did.
  auto r = testing::status_answer(ctx, 987654, wrong_pin);
  auto k = testing::status_answer(ctx, applied.application_id, wrong_pin);
  EXPECT_EQ(r.what, k.what);
  EXPECT_EQ(r.remaining, k.remaining);
}

// The "notAfter" of a certificate as the openssl command line reads it.
UnixTime openssl_not_after(const std::filesystem::path& dir, X509* cert) {
  auto pem = dir / "not_after.pem";
  {
    FILE* fp = std::fopen(pem.c_str(), "w");
    PEM_write_X509(fp, cert);
    std::fclose(fp);
  }
  auto r = test::run("openssl x509 -in " + test::sh_quote(pem.string()) + " -noout -enddate -dateopt iso_8601");
  // "notAfter=2027-12-08 01:00:00Z"
  auto at = r.output.find('=');
  if (r.status != 0 || at == std::string::npos) throw std::runtime_error("openssl x509: " + r.output);
  std::string t = r.output.substr(at + 1, 19);
  t[10] = 'T';
  return parse_rfc3339(t + "Z");
}

// Issue 20, item 12: a re-issue ends with what the coupon bought (first use + the product's
// validity), not a fresh full year; and the withdrawn application's held PIN mail is cancelled.
TEST(SmimeCoupon, ReissueEndsWithTheCouponsTermAndCancelsTheHeldPinMail) {
  CouponFixture f;
  auto& ctx = f.ctx;
  auto created = f.order(1);
  const std::string code = created.codes[0];
  auto first = apply_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@exmaple.jp"}, "enroll:test");
  auto old = f.through(first.application_id);
  const UnixTime end_of_first = openssl_not_after(f.caf->home.path(), old.certificate.get());
  // 50 days later (the CA signs by the wall clock: the coupon's first use moves back instead).
  const UnixTime first_use = f.now - 50 * 86400 - 3600;
  db::Statement back(*f.caf->db, "UPDATE smime_coupons SET used_at = ?");
  back.bind(1, first_use).exec();
  auto second = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  auto renewed = f.through(second.application_id);
  const UnixTime end = first_use + 365 * 86400;
  const UnixTime not_after = openssl_not_after(f.caf->home.path(), renewed.certificate.get());
  EXPECT_LE(not_after, end) << "the re-issue ends by " << format_rfc3339(end) << ", not " << format_rfc3339(not_after);
  EXPECT_GT(not_after, end - 86400) << "and keeps the rest of the term";
  EXPECT_GE(end_of_first, f.now + 365 * 86400) << "the first certificate: its full year";
  EXPECT_LT(not_after, end_of_first - 49 * 86400) << "not a fresh year: about two for one coupon before";

  // A re-issue while the last application still waits for its (held) PIN mail: that mail is
  // cancelled with the application, so it never delivers a dead PIN; the new one is held as usual.
  auto third = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  auto fourth = reissue_with_coupon(ctx, {code, "Jiro Sato", "", "", "jiro@example.jp"}, "enroll:test");
  EXPECT_EQ(get_application(ctx, *f.audrey, third.application_id).state, State::withdrawn);
  db::Statement st(*f.caf->db, "SELECT o.state, o.sealed IS NULL, coalesce(o.last_error, ''), a.application_id "
                               "FROM smime_applications a JOIN outbox o ON o.id = a.pin_outbox_id "
                               "WHERE a.application_id IN (?, ?) ORDER BY a.application_id");
  st.bind(1, third.application_id).bind(2, fourth.application_id);
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "failed") << "the withdrawn application's PIN mail does not leave";
  EXPECT_EQ(st.int64(1), 1) << "its sealed PIN is gone";
  EXPECT_NE(st.text(2).find("cancelled"), std::string::npos) << st.text(2);
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.text(0), "pending") << "the new application's PIN mail is held as usual";
  // Delivery after the delay sends the new PIN only.
  f.now += 3600;
  deliver_outbox(*f.caf->db, f.caf->config, [&] { return f.now; });
  db::Statement live(*f.caf->db, "SELECT count(*) FROM outbox WHERE template = 'smime_application_pin' "
                                 "AND state IN ('pending', 'sending')");
  ASSERT_TRUE(live.step());
  EXPECT_EQ(live.int64(0), 0);
  db::Statement sent(*f.caf->db, "SELECT count(*) FROM outbox WHERE template = 'smime_application_pin' AND state = 'sent' "
                                 "AND id = (SELECT pin_outbox_id FROM smime_applications WHERE application_id = ?)");
  sent.bind(1, third.application_id);
  ASSERT_TRUE(sent.step());
  EXPECT_EQ(sent.int64(0), 0) << "the dead PIN was never sent";
}

}  // namespace
}  // namespace jitsuin::ra
