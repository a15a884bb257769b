// Seed 004: S/MIME coupons and the holder's application with one (issue 10). See smime_coupon.h.
#include "jitsuin/ra/smime_coupon.h"

#include <algorithm>
#include <cctype>

#include <openssl/crypto.h>

#include "jitsuin/ca/profile.h"
#include "jitsuin/core/error.h"
#include "jitsuin/core/text.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/secret.h"
#include "attempts.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kProfile = "smime";
constexpr int kMaxQuantity = 50;

struct Product {
  const char* name;
  int years;
};
constexpr Product kProducts[] = {{"secure-mail-1y", 1}, {"secure-mail-2y", 2}};

[[noreturn]] void refuse(ErrorKind kind, const char* reason, const std::string& en, const std::string& ja,
                         int remaining = -1) {
  throw ReasonedError(kind, reason, en, ja, remaining);
}

// The end of what a coupon bought: its first use + the product's validity. Re-issues are allowed
// until then, and their certificates end by then.
UnixTime reissue_window_end(UnixTime used_at, int validity_years) {
  return used_at + static_cast<UnixTime>(validity_years) * 365 * 86400;
}

std::string object(std::int64_t coupon_id) { return "coupon:" + std::to_string(coupon_id); }

// "17-7KQ2-M9XD-4HTB-0RWE" (spaces ignored, case-insensitive) → 17 and the secret's canonical form.
struct ParsedCode {
  std::int64_t id = 0;
  std::string secret;
};
std::optional<ParsedCode> parse_code(std::string_view typed) {
  std::string s;
  for (char c : typed)
    if (c != ' ') s += c;
  auto dash = s.find('-');
  if (dash == std::string::npos || dash == 0 || dash > 12) return std::nullopt;
  std::int64_t id = 0;
  for (std::size_t i = 0; i < dash; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    id = id * 10 + (s[i] - '0');
  }
  std::string secret = normalize_pin(s.substr(dash + 1));
  if (id <= 0 || secret.empty()) return std::nullopt;
  return ParsedCode{id, secret};
}

const Product& product(const std::string& name) {
  for (const auto& p : kProducts)
    if (name == p.name) return p;
  std::string known;
  for (const auto& p : kProducts) known += (known.empty() ? "" : ", ") + std::string(p.name);
  throw Error(ErrorKind::invalid_input, "unknown product '" + name + "' (known: " + known + ")");
}

// The holder's form, checked: romaji name, optional organisation, ONE address. Throws.
struct CheckedForm {
  std::string name_romaji, name, organization_romaji, email;
};
CheckedForm check_form(RaContext& ctx, const CouponApplicationInput& in) {
  CheckedForm f;
  f.name_romaji = detail::text_field(in.name_romaji, "name_romaji", 64, true);
  f.name = detail::text_field(in.name, "name", 64, false);
  if (f.name.empty()) f.name = f.name_romaji;
  f.organization_romaji = detail::text_field(in.organization_romaji, "organization_romaji", 64, false);
  std::string email = detail::text_field(in.email, "email", 128, false);
  if (email.find_first_of(",; ") != std::string::npos || std::count(email.begin(), email.end(), '@') > 1)
    refuse(ErrorKind::invalid_input, "one_address",
           "a certificate carries one e-mail address; apply with one coupon for each address",
           "電子証明書はメールアドレス1つについてだけ有効です。アドレスごとにクーポンで申請してください。");
  if (email.empty() || !is_valid_email(email))
    refuse(ErrorKind::invalid_input, "email_invalid", "'" + email + "' is not a valid e-mail address",
           "メールアドレス「" + email + "」が正しくありません。");
  f.email = email;
  JITSUIN_ARG_CHECK(ca::is_romaji(f.name_romaji), "name_romaji must be romaji: half-width letters, digits, space, "
                                                  "hyphen and dot only (got '" + f.name_romaji + "')");
  config::NameFields subject{{"common_name", f.name_romaji}, {"email", f.email}};
  if (!f.organization_romaji.empty()) subject["organization"] = f.organization_romaji;
  ca::load_profile(ctx.config.ca.profiles_dir, kProfile).validate_subject(subject);
  return f;
}

struct CouponRow {
  std::int64_t id = 0, order_id = 0, bundle_id = 0;
  std::string hash, profile;
  int failures = 0, validity_years = 1;
  bool locked = false;
  std::optional<UnixTime> used_at;
  UnixTime expires_at = 0;
};

std::optional<CouponRow> coupon_row(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db,
                   "SELECT c.id, c.order_id, o.bundle_id, c.code_hash, o.profile, c.failures, o.validity_years, "
                   "c.locked_at IS NOT NULL, c.used_at, o.coupons_expire_at FROM smime_coupons c "
                   "JOIN smime_orders o ON o.id = c.order_id WHERE c.id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return CouponRow{st.int64(0), st.int64(1), st.int64(2), st.text(3), st.text(4), static_cast<int>(st.int64(5)),
                   static_cast<int>(st.int64(6)), st.int64(7) != 0, st.opt_int64(8), st.int64(9)};
}

// The coupon's applications, oldest first.
std::vector<std::int64_t> coupon_applications(RaContext& ctx, std::int64_t coupon_id) {
  db::Statement st(ctx.db, "SELECT application_id FROM smime_applications WHERE coupon_id = ? ORDER BY application_id");
  st.bind(1, coupon_id);
  std::vector<std::int64_t> out;
  while (st.step()) out.push_back(st.int64(0));
  return out;
}

// Checks the coupon inside the caller's transaction, counting a wrong code. Commits and throws for
// a wrong, unknown or locked coupon (the count must stay); returns the row when the code is right.
CouponRow checked_coupon(RaContext& ctx, db::Transaction& tx, const ParsedCode& code, bool matched,
                         const std::string& seen_hash, const std::string& actor) {
  const int max = ctx.config.ra.pin_max_attempts;
  auto wrong = [&](int remaining) {
    refuse(ErrorKind::unauthenticated, "coupon_wrong",
           "the coupon code is wrong; " + std::to_string(remaining) + " attempt(s) left",
           "クーポンコードが正しくありません。残り" + std::to_string(remaining) + "回入力できます。", remaining);
  };
  auto locked = [&]() {
    refuse(ErrorKind::forbidden, "coupon_locked",
           "the coupon is locked after too many wrong entries; ask the seller who delivered it",
           "クーポンは誤入力が続いたためロックされました。クーポンの販売元にお問い合わせください。");
  };
  auto row = coupon_row(ctx, code.id);
  if (!row) {
    // Unknown number: answered and counted like a wrong code (attempts.h), so one request does not
    // tell whether a number exists. No coupon or application comes of it.
    detail::UnknownCounter u = detail::unknown_counter(ctx, "coupon", code.id);
    if (u.locked || u.failures >= max) {
      detail::audit(ctx, actor, "smime.coupon.refused", object(code.id), {{"why", "unknown coupon (locked)"}});
      tx.commit();
      locked();
    }
    detail::Attempt a = detail::count_wrong_attempt(
        ctx, detail::kUnknownCounter, u.id, max,
        {actor, object(code.id), "smime.coupon.refused", "smime.coupon.refused", {{"why", "unknown coupon"}}});
    tx.commit();
    if (a.locked) locked();
    wrong(a.remaining);
  }
  if (row->locked || row->failures >= max) {
    detail::audit(ctx, actor, "smime.coupon.refused", object(code.id), {{"why", "locked"}});
    tx.commit();
    locked();
  }
  if (!matched || seen_hash != row->hash) {
    detail::Attempt a = detail::count_wrong_attempt(ctx, detail::kCouponCounter, row->id, max,
                                                    {actor, object(row->id), "smime.coupon.wrong", "smime.coupon.locked"});
    tx.commit();
    if (a.locked) locked();
    wrong(a.remaining);
  }
  return *row;
}

// What a re-issue replaces (inside the transaction): the coupon's last application stops being
// usable, and the newest certificate of the coupon becomes the one the new certificate supersedes.
struct Replaced {
  std::int64_t last = 0;
  std::optional<std::int64_t> renewal_of;
  std::optional<std::string> serial;
  int cancelled_mails = 0;   ///< held PIN mails of the replaced application, cancelled
};
Replaced replace_last_application(RaContext& ctx, const CouponRow& c, const std::string& actor) {
  auto apps = coupon_applications(ctx, c.id);
  if (apps.empty()) throw Error(ErrorKind::internal, "coupon " + std::to_string(c.id) + " is used but has no application");
  Replaced out;
  out.last = apps.back();
  for (auto it = apps.rbegin(); it != apps.rend() && !out.renewal_of; ++it) {
    Application a = detail::get_application(ctx, *it);
    if (a.certificate_serial) {
      out.renewal_of = a.id;
      out.serial = a.certificate_serial;
    }
  }
  Application last = detail::get_application(ctx, out.last);
  if (last.state == State::notice_mailed) {
    detail::transition(ctx, last.id, State::withdrawn, actor, "replaced by a re-issue", json::object(),
                       detail::TransitionAudit::caller);
    // Its application PIN, still held in the outbox, would now deliver a dead PIN.
    db::Statement mail(ctx.db, "SELECT pin_outbox_id FROM smime_applications WHERE application_id = ? "
                               "AND pin_outbox_id IS NOT NULL");
    mail.bind(1, last.id);
    if (mail.step())
      out.cancelled_mails += cancel_mail(ctx.db, mail.int64(0), "application withdrawn: replaced by a re-issue") ? 1 : 0;
  } else if (last.state == State::enrolled) {
    // Likewise the download PIN of an enrolled one, if its mail is still waiting.
    db::Statement mails(ctx.db, "SELECT outbox_id FROM ra_download_pins WHERE application_id = ? "
                                "AND replaced_at IS NULL AND outbox_id IS NOT NULL");
    mails.bind(1, last.id);
    std::vector<std::int64_t> ids;
    while (mails.step()) ids.push_back(mails.int64(0));
    for (auto mail_id : ids)
      out.cancelled_mails += cancel_mail(ctx.db, mail_id, "download PIN replaced by a re-issue") ? 1 : 0;
    db::Statement up(ctx.db,
                     "UPDATE ra_download_pins SET replaced_at = ? WHERE application_id = ? AND replaced_at IS NULL");
    up.bind(1, ctx.clock()).bind(2, last.id).exec();
  }
  return out;
}

// Records the application of a checked form inside the caller's transaction: received → checked →
// approved → pin_issued → notice_mailed (the coupon stands for the RA's check, approval and
// notice), the application PIN's hash, the coupon's use. Returns the application id.
std::int64_t insert_coupon_application(RaContext& ctx, const CouponRow& c, const CheckedForm& f,
                                       std::optional<std::int64_t> renewal_of, std::optional<std::int64_t> reissue_of,
                                       const std::string& pin_hash, UnixTime pin_expires_at, const std::string& actor) {
  UnixTime now = ctx.clock();
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_applications (bundle_id, state, name_kanji, name_kana, name_romaji, "
                    "organization_romaji, email, postcode, home_address, validity_years, profile, renewal_of, "
                    "created_by, created_at, updated_at) VALUES (?, 'received', ?, '', ?, ?, ?, '', '', ?, ?, ?, ?, ?, ?)");
  ins.bind(1, c.bundle_id).bind(2, f.name).bind(3, f.name_romaji).bind(4, f.organization_romaji).bind(5, f.email);
  ins.bind(6, c.validity_years).bind(7, c.profile).bind(8, renewal_of).bind(9, actor).bind(10, now).bind(11, now).exec();
  std::int64_t id = ctx.db.last_insert_rowid();
  detail::record_created(ctx, id, actor);
  const std::string note = "coupon " + std::to_string(c.id);
  for (State s : {State::checked, State::approved, State::pin_issued, State::notice_mailed})
    detail::transition(ctx, id, s, actor, note, json::object(), detail::TransitionAudit::caller);
  db::Statement up(ctx.db,
                   "UPDATE ra_applications SET checked_by = ?, approved_by = ?, approved_at = ?, pin_hash = ?, "
                   "pin_issued_by = ?, pin_issued_at = ?, pin_expires_at = ? WHERE id = ?");
  up.bind(1, object(c.id)).bind(2, object(c.id)).bind(3, now).bind(4, pin_hash).bind(5, actor).bind(6, now);
  up.bind(7, pin_expires_at).bind(8, id).exec();
  db::Statement use(ctx.db, "UPDATE smime_coupons SET used_at = COALESCE(used_at, ?), "
                            "application_id = COALESCE(application_id, ?), failures = 0 WHERE id = ?");
  use.bind(1, now).bind(2, id).bind(3, c.id).exec();
  db::Statement link(ctx.db,
                     "INSERT INTO smime_applications (application_id, coupon_id, reissue_of, created_at) VALUES (?, ?, ?, ?)");
  link.bind(1, id).bind(2, c.id).bind(3, reissue_of).bind(4, now).exec();
  return id;
}

CouponApplied file_with_coupon(RaContext& ctx, const CouponApplicationInput& input, const std::string& actor,
                               bool reissue) {
  // Input first: a form that cannot be used counts nothing and changes nothing.
  CheckedForm form = check_form(ctx, input);
  auto code = parse_code(input.coupon);
  if (!code)
    refuse(ErrorKind::invalid_input, "coupon_malformed",
           "a coupon code is its number and 16 letters and digits (e.g. 17-XXXX-XXXX-XXXX-XXXX); check what you typed",
           "クーポンコードは番号と英数字16文字です（例: 17-XXXX-XXXX-XXXX-XXXX）。入力内容を確認してください。");
  // The slow work before the write lock: the coupon's scrypt, the application PIN's hash.
  std::optional<std::string> seen;
  if (auto row = coupon_row(ctx, code->id)) seen = row->hash;
  bool matched = verify_secret_or_dummy(code->secret, seen);   // the same work for an unknown number
  std::string seen_hash = seen.value_or("");
  std::string pin = generate_pin();
  std::string pin_hash = hash_secret(normalize_pin(pin));

  db::Transaction tx(ctx.db);
  CouponRow c = checked_coupon(ctx, tx, *code, matched, seen_hash, actor);
  UnixTime now = ctx.clock();
  // The code is right: from here the holder may learn where the coupon stands. Nothing below
  // writes before the last check, so a refusal leaves everything as it was.
  Replaced replaced;
  if (!reissue) {
    if (c.used_at)
      refuse(ErrorKind::conflict, "coupon_used",
             "this coupon has been used; to correct the address or after a lost PIN mail or a failed retrieval, "
             "apply for a re-issue with it",
             "このクーポンは使用済みです。メールアドレスの誤り、PINメールの紛失、取得の失敗の場合は、"
             "同じクーポンで再発行を申請してください。");
    if (c.expires_at <= now)
      refuse(ErrorKind::forbidden, "coupon_expired", "the coupon expired on " + format_rfc3339(c.expires_at),
             "クーポンの有効期限（" + format_rfc3339(c.expires_at) + "）が切れています。");
  } else {
    if (!c.used_at)
      refuse(ErrorKind::conflict, "coupon_unused", "this coupon has not been used yet: apply with it instead",
             "このクーポンはまだ使用されていません。新規申請をしてください。");
    UnixTime window_end = reissue_window_end(*c.used_at, c.validity_years);
    if (window_end <= now)
      refuse(ErrorKind::forbidden, "reissue_closed",
             "the certificate this coupon bought would have expired on " + format_rfc3339(window_end) +
                 "; a new certificate needs a new coupon",
             "このクーポンの証明書の有効期間（" + format_rfc3339(window_end) + "まで）が過ぎています。新しいクーポンで申請してください。");
    if (coupon_applications(ctx, c.id).size() > static_cast<std::size_t>(kMaxCouponReissues))
      refuse(ErrorKind::forbidden, "reissue_limit",
             "this coupon has been re-issued " + std::to_string(kMaxCouponReissues) +
                 " times; contact the seller who delivered it",
             "このクーポンは再発行の上限（" + std::to_string(kMaxCouponReissues) + "回）に達しました。販売元にお問い合わせください。");
    replaced = replace_last_application(ctx, c, actor);
  }
  UnixTime not_before = now + static_cast<UnixTime>(ctx.config.enroll.smime_pin_delay_minutes) * 60;
  UnixTime pin_expires_at = not_before + static_cast<UnixTime>(ctx.config.ra.pin_validity_days) * 86400;
  std::optional<std::int64_t> reissue_of;
  if (reissue) reissue_of = replaced.last;
  std::int64_t id = insert_coupon_application(ctx, c, form, replaced.renewal_of, reissue_of, pin_hash, pin_expires_at, actor);
  std::int64_t outbox_id = enqueue_mail(ctx.db,
                                        {form.email, "smime_application_pin", "ja",
                                         {{"name", form.name},
                                          {"application_number", std::to_string(id)},
                                          {"application_pin", pin},
                                          {"email", form.email},
                                          {"expires_at", pin_expires_at},
                                          {"enrollment_url", ctx.config.ra.enrollment_url}}},
                                        now, not_before);
  db::Statement held(ctx.db, "UPDATE smime_applications SET pin_outbox_id = ? WHERE application_id = ?");
  held.bind(1, outbox_id).bind(2, id).exec();
  json details = {{"application", id},
                  {"order", c.order_id},
                  {"email", form.email},
                  {"name_romaji", form.name_romaji},
                  {"profile", c.profile},
                  {"pin_expires_at", format_rfc3339(pin_expires_at)},
                  {"mail_not_before", format_rfc3339(not_before)},
                  {"outbox_id", outbox_id}};
  if (reissue) {
    details["reissue_of"] = replaced.last;
    details["cancelled_mails"] = replaced.cancelled_mails;
    if (replaced.serial) details["replaces_serial"] = *replaced.serial;
  }
  detail::audit(ctx, actor, reissue ? "smime.coupon.reissue" : "smime.coupon.apply", object(c.id), details);
  tx.commit();
  OPENSSL_cleanse(pin.data(), pin.size());
  return {id, mask_address(form.email), not_before, pin_expires_at, reissue_of, replaced.serial};
}

CouponOrder read_order(db::Statement& st) {
  CouponOrder o;
  o.id = st.int64(0);
  o.ordered_by = st.text(1);
  o.delivery_email = st.text(2);
  o.product = st.text(3);
  o.profile = st.text(4);
  o.validity_years = static_cast<int>(st.int64(5));
  o.quantity = static_cast<int>(st.int64(6));
  o.coupons_expire_at = st.int64(7);
  o.bundle_id = st.int64(8);
  o.note = st.text(9);
  o.created_by = st.text(10);
  o.created_at = st.int64(11);
  return o;
}

constexpr const char* kOrderColumns =
    "SELECT id, ordered_by, delivery_email, product, profile, validity_years, quantity, coupons_expire_at, "
    "bundle_id, note, created_by, created_at FROM smime_orders ";

void load_coupons(RaContext& ctx, CouponOrder& o) {
  const int max = ctx.config.ra.pin_max_attempts;
  db::Statement st(ctx.db, "SELECT id, failures, locked_at IS NOT NULL, used_at FROM smime_coupons WHERE order_id = ? ORDER BY id");
  st.bind(1, o.id);
  while (st.step()) {
    CouponRecord r;
    r.id = st.int64(0);
    r.failures = static_cast<int>(st.int64(1));
    bool locked = st.int64(2) != 0 || r.failures >= max;
    r.used_at = st.opt_int64(3);
    r.status = r.used_at ? "used" : locked ? "locked" : o.coupons_expire_at <= ctx.clock() ? "expired" : "unused";
    o.coupons.push_back(std::move(r));
  }
  for (auto& r : o.coupons) r.applications = coupon_applications(ctx, r.id);
}

}  // namespace

std::optional<std::int64_t> coupon_number(std::string_view code) {
  auto p = parse_code(code);
  if (!p) return std::nullopt;
  return p->id;
}

CreatedCouponOrder create_coupon_order(RaContext& ctx, const Principal& by, const CouponOrderInput& in) {
  by.require(Permission::enter, "record S/MIME coupon orders");
  std::string ordered_by = detail::text_field(in.ordered_by, "ordered_by", 100, true);
  std::string email = detail::text_field(in.delivery_email, "delivery_email", 128, true);
  JITSUIN_ARG_CHECK(is_valid_email(email), "delivery_email '" + email + "' is not a valid e-mail address");
  std::string note = detail::text_field(in.note, "note", 200, false);
  const Product& p = product(in.product);
  JITSUIN_ARG_CHECK(in.quantity >= 1 && in.quantity <= kMaxQuantity,
                    "quantity must be between 1 and " + std::to_string(kMaxQuantity) + ", not " + std::to_string(in.quantity));
  JITSUIN_ARG_CHECK(in.coupon_days >= 1 && in.coupon_days <= 730,
                    "coupon_days must be between 1 and 730, not " + std::to_string(in.coupon_days));
  // The product must be one the profile can issue (smime: 1 year).
  ca::Profile profile = ca::load_profile(ctx.config.ca.profiles_dir, kProfile);
  try {
    profile.validity_days(static_cast<std::int64_t>(p.years) * 365);
  } catch (const Error& e) {
    throw Error(ErrorKind::invalid_input, "product " + std::string(p.name) + " cannot be issued: " + e.what());
  }
  // The slow work before the write lock.
  std::vector<std::string> secrets, hashes;
  for (int i = 0; i < in.quantity; ++i) {
    secrets.push_back(generate_pin());
    hashes.push_back(hash_secret(normalize_pin(secrets.back())));
  }
  UnixTime now = ctx.clock();
  db::Transaction tx(ctx.db);
  // The buyer as a company of its own, and the order's bundle (received online, no paper forms):
  // the coupon applications live in it, so the RA's lists show them with the buyer.
  db::Statement company(ctx.db,
                        "INSERT INTO ra_companies (name, name_kana, name_romaji, address, representative_name, "
                        "representative_title, created_at, updated_at) VALUES (?, '', '', '', '', '', ?, ?)");
  company.bind(1, ordered_by).bind(2, now).bind(3, now).exec();
  std::int64_t company_id = ctx.db.last_insert_rowid();
  db::Statement bundle(ctx.db,
                       "INSERT INTO ra_bundles (company_id, contract_kind, applied_by, received_on, note, created_by, "
                       "created_at, updated_at) VALUES (?, 'new', 'representative', ?, ?, ?, ?, ?)");
  bundle.bind(1, company_id).bind(2, date_in_japan(now).str());
  bundle.bind(3, "S/MIMEクーポン注文 (S/MIME coupon order) by " + ordered_by).bind(4, by.actor()).bind(5, now).bind(6, now).exec();
  std::int64_t bundle_id = ctx.db.last_insert_rowid();
  UnixTime expires = now + static_cast<UnixTime>(in.coupon_days) * 86400;
  db::Statement order(ctx.db,
                      "INSERT INTO smime_orders (ordered_by, delivery_email, product, profile, validity_years, quantity, "
                      "coupons_expire_at, bundle_id, note, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  order.bind(1, ordered_by).bind(2, email).bind(3, p.name).bind(4, kProfile).bind(5, p.years).bind(6, in.quantity);
  order.bind(7, expires).bind(8, bundle_id).bind(9, note).bind(10, by.actor()).bind(11, now).exec();
  std::int64_t order_id = ctx.db.last_insert_rowid();
  CreatedCouponOrder out;
  json ids = json::array();
  std::string mailed;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    db::Statement c(ctx.db, "INSERT INTO smime_coupons (order_id, code_hash) VALUES (?, ?)");
    c.bind(1, order_id).bind(2, hashes[i]).exec();
    std::int64_t id = ctx.db.last_insert_rowid();
    ids.push_back(id);
    out.codes.push_back(std::to_string(id) + "-" + secrets[i]);
    mailed += (mailed.empty() ? "" : "  ") + out.codes.back();
  }
  std::int64_t outbox_id = enqueue_mail(ctx.db,
                                        {email, "smime_coupons", "ja",
                                         {{"name", ordered_by},
                                          {"order_number", std::to_string(order_id)},
                                          {"product", p.name},
                                          {"quantity", std::to_string(in.quantity)},
                                          {"coupons", mailed},
                                          {"expires_at", expires},
                                          {"application_url", ctx.config.ra.enrollment_url + "/smime.html"}}},
                                        now);
  detail::audit(ctx, by.actor(), "ra.smime_order.create", "smime_order:" + std::to_string(order_id),
                {{"ordered_by", ordered_by}, {"delivery_email", email}, {"product", p.name},
                 {"quantity", in.quantity}, {"coupons", ids}, {"coupons_expire_at", format_rfc3339(expires)},
                 {"bundle", bundle_id}, {"outbox_id", outbox_id}});
  tx.commit();
  OPENSSL_cleanse(mailed.data(), mailed.size());
  for (auto& s : secrets) OPENSSL_cleanse(s.data(), s.size());
  out.order = get_coupon_order(ctx, by, order_id);
  return out;
}

CouponOrder get_coupon_order(RaContext& ctx, const Principal& by, std::int64_t id) {
  detail::require_read(by, "read S/MIME coupon orders");
  db::Statement st(ctx.db, std::string(kOrderColumns) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no S/MIME coupon order " + std::to_string(id));
  CouponOrder o = read_order(st);
  load_coupons(ctx, o);
  return o;
}

std::vector<CouponOrder> list_coupon_orders(RaContext& ctx, const Principal& by, int limit) {
  detail::require_read(by, "read S/MIME coupon orders");
  db::Statement st(ctx.db, std::string(kOrderColumns) + "ORDER BY id DESC LIMIT ?");
  st.bind(1, std::clamp(limit, 1, 10000));
  std::vector<CouponOrder> out;
  while (st.step()) out.push_back(read_order(st));
  for (auto& o : out) load_coupons(ctx, o);
  return out;
}

CouponApplied apply_with_coupon(RaContext& ctx, const CouponApplicationInput& input, const std::string& actor) {
  return file_with_coupon(ctx, input, actor, false);
}

CouponApplied reissue_with_coupon(RaContext& ctx, const CouponApplicationInput& input, const std::string& actor) {
  return file_with_coupon(ctx, input, actor, true);
}

bool detail::coupon_application(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, "SELECT 1 FROM smime_applications WHERE application_id = ?");
  st.bind(1, id);
  return st.step();
}

std::optional<UnixTime> detail::coupon_reissue_end(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, "SELECT c.used_at, o.validity_years FROM smime_applications a "
                           "JOIN smime_coupons c ON c.id = a.coupon_id JOIN smime_orders o ON o.id = c.order_id "
                           "WHERE a.application_id = ? AND a.reissue_of IS NOT NULL AND c.used_at IS NOT NULL");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return reissue_window_end(st.int64(0), static_cast<int>(st.int64(1)));
}

}  // namespace jitsuin::ra
