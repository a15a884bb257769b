#include "jitsuin/ra/enrollment.h"

#include <algorithm>
#include <tuple>

#include <openssl/crypto.h>

#include "jitsuin/ca/csr.h"
#include "jitsuin/ca/profile.h"
#include "jitsuin/ca/store.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/secret.h"
#include "attempts.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

std::string object(std::int64_t id) { return "application:" + std::to_string(id); }

[[noreturn]] void refuse(ErrorKind kind, const char* reason, const std::string& en, const std::string& ja,
                         int remaining = -1) {
  throw ReasonedError(kind, reason, en, ja, remaining);
}

// The answers to an application PIN that was not accepted. Wrong and unknown look the same.
[[noreturn]] void refuse_application_pin(const detail::ApplicantPin& r) {
  if (r.status == PinStatus::locked)
    refuse(ErrorKind::forbidden, "application_pin_locked",
           "the application PIN is locked after too many wrong entries; ask the registration authority to re-issue it",
           "申請PINは誤入力が続いたためロックされました。登録局に申請PINの再発行を依頼してください。");
  refuse(ErrorKind::unauthenticated, "application_pin_wrong",
         "the application number or the application PIN is wrong; " + std::to_string(r.remaining) +
             " attempt(s) left",
         "申請番号または申請PINが正しくありません。残り" + std::to_string(r.remaining) + "回入力できます。",
         r.remaining);
}

// A PIN that cannot be one (wrong length or characters) is a typo, not a guess: refused without
// counting, with its format, the same for every application number.
void require_pin_format(const std::string& typed, const char* reason, const char* what_en, const char* what_ja) {
  if (normalize_pin(typed).empty())
    refuse(ErrorKind::invalid_input, reason,
           std::string(what_en) + " has 16 letters and digits in groups of four (XXXX-XXXX-XXXX-XXXX); check what you typed",
           std::string(what_ja) + "は英数字16文字（XXXX-XXXX-XXXX-XXXX）です。入力内容を確認してください。");
}

bool pin_expired(const detail::ApplicantPin& r, UnixTime now) { return r.expires_at && *r.expires_at <= now; }

// Checks the application PIN for the applicant: scrypt before the write lock, the count inside
// one transaction that commits the count whatever the outcome. Throws for anything but accepted.
detail::ApplicantPin checked_application_pin(RaContext& ctx, std::int64_t id, const std::string& typed,
                                             const std::string& actor) {
  require_pin_format(typed, "application_pin_wrong", "an application PIN", "申請PIN");
  detail::PinMatch m = detail::match_pin(ctx, id, typed);
  db::Transaction tx(ctx.db);
  auto r = detail::check_applicant_pin(ctx, id, m, actor);
  tx.commit();
  if (r.status != PinStatus::accepted) refuse_application_pin(r);
  return r;
}

// "p256", "rsa2048", ... for a checked CSR's key.
std::string key_algorithm_name(const ca::CheckedCsr& csr) {
  const std::string& d = csr.key_description;
  if (d == "EC P-256") return "p256";
  if (d == "EC P-384") return "p384";
  if (d.starts_with("RSA-")) return "rsa" + d.substr(4);
  return d;
}

std::vector<std::string> profile_key_algorithms(RaContext& ctx, const std::string& profile) {
  auto p = ca::load_profile(ctx.config.ca.profiles_dir, profile);
  return p.key_algorithms;
}

// The download PIN in force (not replaced) of an application, newest first.
struct PinRow {
  std::int64_t id = 0;
  std::string hash, mailed_to, issued_by;
  UnixTime issued_at = 0, expires_at = 0;
  int failures = 0;
  std::optional<UnixTime> locked_at, used_at, replaced_at;
};

constexpr const char* kPinColumns =
    "SELECT id, pin_hash, mailed_to, issued_at, expires_at, failures, locked_at, used_at, replaced_at, issued_by "
    "FROM ra_download_pins ";

PinRow read_pin_row(db::Statement& st) {
  PinRow r;
  r.id = st.int64(0);
  r.hash = st.text(1);
  r.mailed_to = st.text(2);
  r.issued_at = st.int64(3);
  r.expires_at = st.int64(4);
  r.failures = static_cast<int>(st.int64(5));
  r.locked_at = st.opt_int64(6);
  r.used_at = st.opt_int64(7);
  r.replaced_at = st.opt_int64(8);
  r.issued_by = st.text(9);
  return r;
}

std::optional<PinRow> pin_in_force(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, std::string(kPinColumns) +
                               "WHERE application_id = ? AND replaced_at IS NULL ORDER BY id DESC LIMIT 1");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_pin_row(st);
}

// Where the download PIN goes: the PIN recipient a company admin named for an additional
// certificate (RA-8, seed 003), else the Form-5 address.
std::string pin_recipient(RaContext& ctx, std::int64_t id, const std::string& form_email) {
  db::Statement st(ctx.db, "SELECT pin_recipient_email FROM ra_certificate_requests WHERE application_id = ?");
  st.bind(1, id);
  if (st.step() && !st.is_null(0) && !st.text(0).empty()) return st.text(0);
  return form_email;
}

// A new download PIN for an enrolled (or enrolling) application, inside the caller's
// transaction: replaces the one in force, records the new one and queues its mail. `hash` was
// made before the transaction (scrypt). Returns what the audit entry and the answer need.
struct NewPin {
  UnixTime expires_at = 0;
  std::string mailed_to;
  std::optional<UnixTime> not_before;
  std::int64_t outbox_id = 0;
};

NewPin record_download_pin(RaContext& ctx, const Application& app, const std::string& pin, const std::string& hash,
                           const std::string& actor) {
  UnixTime now = ctx.clock();
  NewPin out;
  out.mailed_to = pin_recipient(ctx, app.id, app.form.email);
  UnixTime sent = now;
  // Seed 004: the S/MIME reseller's PIN mail leaves some minutes after the request; an application
  // made with a coupon had its delay with the application PIN (smime_coupon.h), so this one is prompt.
  if (app.form.profile == "smime" && ctx.config.enroll.smime_pin_delay_minutes > 0 && !detail::coupon_application(ctx, app.id)) {
    sent = now + static_cast<UnixTime>(ctx.config.enroll.smime_pin_delay_minutes) * 60;
    out.not_before = sent;
  }
  out.expires_at = sent + static_cast<UnixTime>(ctx.config.enroll.download_pin_minutes) * 60;
  db::Statement rep(ctx.db, "UPDATE ra_download_pins SET replaced_at = ? WHERE application_id = ? AND replaced_at IS NULL");
  rep.bind(1, now).bind(2, app.id).exec();
  Mail mail{out.mailed_to, "download_pin", "ja",
            {{"name", app.form.name_kanji},
             {"application_number", std::to_string(app.id)},
             {"download_pin", pin},
             {"expires_at", out.expires_at},
             {"enrollment_url", ctx.config.ra.enrollment_url}}};
  out.outbox_id = enqueue_mail(ctx.db, mail, now, out.not_before);
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_download_pins (application_id, pin_hash, mailed_to, outbox_id, issued_by, issued_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, app.id).bind(2, hash).bind(3, out.mailed_to).bind(4, out.outbox_id).bind(5, actor).bind(6, now);
  ins.bind(7, out.expires_at).exec();
  return out;
}

json pin_details(const NewPin& p) {
  json d = {{"expires_at", format_rfc3339(p.expires_at)}, {"mailed_to", mask_address(p.mailed_to)},
            {"outbox_id", p.outbox_id}};
  if (p.not_before) d["mail_not_before"] = format_rfc3339(*p.not_before);
  return d;
}

// What the applicant is told at each state.
std::pair<std::string, std::string> next_step(State s, bool pin_expired_now) {
  switch (s) {
    case State::notice_mailed:
      if (pin_expired_now)
        return {"the application PIN has expired; ask the registration authority to re-issue it",
                "申請PINの有効期限が切れています。登録局に申請PINの再発行を依頼してください。"};
      return {"ready to enroll: run `jitsuin token enroll` with the token that will hold the key",
              "証明書を取得できます。鍵を格納するトークンを挿して `jitsuin token enroll` を実行してください。"};
    case State::enrolled:
      return {"enrolled: enter the download PIN mailed to you to collect the certificate",
              "申込済みです。メールで届いたダウンロードPINを入力して証明書を受け取ってください。"};
    case State::issued:
      return {"the certificate has been issued", "電子証明書は発行済みです。"};
    case State::pin_issued:
      return {"the approval notice is on its way; wait for it", "承認通知書を送付中です。到着までお待ちください。"};
    case State::rejected:
    case State::withdrawn:
      return {"this application is closed; contact your company's administrator",
              "この申請は終了しています。貴社のご担当者にお問い合わせください。"};
    default:
      return {"the application is being processed by the registration authority", "登録局で審査中です。"};
  }
}

}  // namespace

std::string state_name_ja(State s) {
  switch (s) {
    case State::received: return "受付済み";
    case State::incomplete: return "不備返却";
    case State::resubmitted: return "再提出済み";
    case State::checked: return "審査済み";
    case State::approved: return "承認済み";
    case State::pin_issued: return "申請PIN発行済み";
    case State::notice_mailed: return "承認通知書送付済み";
    case State::enrolled: return "申込済み（ダウンロードPIN送付済み）";
    case State::issued: return "発行済み";
    case State::rejected: return "却下";
    case State::withdrawn: return "取下げ";
  }
  return "?";
}

std::string mask_address(const std::string& address) {
  auto at = address.find('@');
  if (at == std::string::npos || at == 0) return "***";
  return address.substr(0, 1) + "***" + address.substr(at);
}

EnrollmentStatus enrollment_status(RaContext& ctx, std::int64_t id, const std::string& typed, const std::string& actor) {
  auto r = checked_application_pin(ctx, id, typed, actor);
  Application app = detail::get_application(ctx, id);
  EnrollmentStatus out;
  out.application_id = id;
  out.state = app.state;
  std::tie(out.message, out.message_ja) = next_step(app.state, pin_expired(r, ctx.clock()));
  auto profile = ca::load_profile(ctx.config.ca.profiles_dir, app.form.profile);
  out.key_algorithms = profile.key_algorithms;
  for (const auto& alg : out.key_algorithms) out.key_usage[alg] = profile.key_usage_for(alg);
  if (app.state == State::enrolled)
    if (auto p = pin_in_force(ctx, id)) out.download_pin_expires_at = p->expires_at;
  out.certificate_serial = app.certificate_serial;
  return out;
}

EnrollmentStarted start_enrollment(RaContext& ctx, std::int64_t id, const std::string& typed, const std::string& csr_pem,
                                   const std::string& actor) {
  // The CSR first: a request that cannot be used counts no attempt and says what is wrong with it.
  ca::CheckedCsr csr;
  try {
    csr = ca::check_csr(csr_pem);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::invalid_input) throw;
    refuse(ErrorKind::invalid_input, "csr_invalid", std::string("the certificate request is not usable: ") + e.what(),
           std::string("証明書署名要求（CSR）が不正です: ") + e.what());
  }
  require_pin_format(typed, "application_pin_wrong", "an application PIN", "申請PIN");
  // The slow work before the write lock: the application PIN's scrypt, the download PIN's hash.
  detail::PinMatch m = detail::match_pin(ctx, id, typed);
  std::string pin = generate_pin();
  std::string hash = hash_secret(normalize_pin(pin));

  db::Transaction tx(ctx.db);
  auto r = detail::check_applicant_pin(ctx, id, m, actor);
  if (r.status != PinStatus::accepted) {
    tx.commit();   // the counted attempt stays
    refuse_application_pin(r);
  }
  // The PIN is right: from here the applicant may learn where the application stands. Nothing
  // below writes before the last check, so a refusal leaves everything as it was.
  if (r.state == State::enrolled || r.state == State::issued)
    refuse(ErrorKind::conflict, "already_enrolled",
           "this application is already enrolled; collect the certificate with the download PIN mailed to you",
           "この申請は申込済みです。メールで届いたダウンロードPINで証明書を受け取ってください。");
  if (r.state != State::notice_mailed)
    refuse(ErrorKind::conflict, "not_enrollable",
           "this application cannot be enrolled now (" + state_name(r.state) + ")",
           "この申請は現在申込できません（" + state_name_ja(r.state) + "）。");
  if (pin_expired(r, ctx.clock()))
    refuse(ErrorKind::forbidden, "application_pin_expired",
           "the application PIN expired on " + format_rfc3339(*r.expires_at) +
               "; ask the registration authority to re-issue it",
           "申請PINの有効期限（" + format_rfc3339(*r.expires_at) + "）が切れています。登録局に申請PINの再発行を依頼してください。");
  Application app = detail::get_application(ctx, id);
  std::string alg = key_algorithm_name(csr);
  auto allowed = profile_key_algorithms(ctx, app.form.profile);
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), alg) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    refuse(ErrorKind::invalid_input, "key_refused",
           "a " + csr.key_description + " key is not allowed for this certificate; use one of: " + list,
           csr.key_description + " の鍵はこの証明書には使えません。使える鍵: " + list);
  }
  ca::CertificateStore store(ctx.db, ctx.clock);
  if (store.compromised_key_serial(csr.fingerprint))
    refuse(ErrorKind::invalid_input, "key_refused",
           "this key was reported compromised; generate a new key on the token",
           "この鍵は危殆化が報告されています。トークンで新しい鍵を生成してください。");
  if (!store.certificates_for_key(csr.fingerprint).empty())
    refuse(ErrorKind::invalid_input, "key_refused",
           "this key has been certified before; generate a new key on the token",
           "この鍵には既に証明書が発行されています。トークンで新しい鍵を生成してください。");
  NewPin p = record_download_pin(ctx, app, pin, hash, actor);
  detail::record_enrollment(ctx, id, csr_pem, actor, {{"key", csr.key_description}, {"download_pin", pin_details(p)}});
  tx.commit();
  OPENSSL_cleanse(pin.data(), pin.size());
  return {id, p.expires_at, mask_address(p.mailed_to), p.not_before};
}

ca::IssuedCertificate collect_certificate(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t id,
                                          const std::string& typed, const std::string& actor) {
  const int max = ctx.config.ra.pin_max_attempts;
  auto wrong = [&](int remaining) {
    refuse(ErrorKind::unauthenticated, "download_pin_wrong",
           "the application number or the download PIN is wrong; " + std::to_string(remaining) + " attempt(s) left",
           "申請番号またはダウンロードPINが正しくありません。残り" + std::to_string(remaining) + "回入力できます。",
           remaining);
  };
  auto locked = [&]() {
    refuse(ErrorKind::forbidden, "download_pin_locked",
           "the download PIN is locked after too many wrong entries; ask the registration authority to re-issue it",
           "ダウンロードPINは誤入力が続いたためロックされました。登録局にダウンロードPINの再発行を依頼してください。");
  };
  require_pin_format(typed, "download_pin_wrong", "a download PIN", "ダウンロードPIN");
  // scrypt before the write lock, against the PIN in force: the same work when there is none.
  std::optional<PinRow> seen = pin_in_force(ctx, id);
  bool match = verify_secret_or_dummy(normalize_pin(typed), seen ? std::optional<std::string>(seen->hash) : std::nullopt);
  {
    db::Transaction tx(ctx.db);
    std::optional<PinRow> now_row = pin_in_force(ctx, id);
    if (!now_row) {
      // No download PIN for this number: answered and counted like a wrong one (attempts.h).
      detail::UnknownCounter u = detail::unknown_counter(ctx, "download_pin", id);
      if (u.locked || u.failures >= max) {
        detail::audit(ctx, actor, "ra.download_pin.refused", object(id), {{"why", "no download PIN in force (locked)"}});
        tx.commit();
        locked();
      }
      detail::Attempt a = detail::count_wrong_attempt(
          ctx, detail::kUnknownCounter, u.id, max,
          {actor, object(id), "ra.download_pin.refused", "ra.download_pin.refused", {{"why", "no download PIN in force"}}});
      tx.commit();
      if (a.locked) locked();
      wrong(a.remaining);
    }
    if (now_row->locked_at || now_row->failures >= max) {
      detail::audit(ctx, actor, "ra.download_pin.refused", object(id), {{"why", "locked"}});
      tx.commit();
      locked();
    }
    if (!match || !seen || seen->id != now_row->id) {
      detail::Attempt a = detail::count_wrong_attempt(ctx, detail::kDownloadPinCounter, now_row->id, max,
                                                      {actor, object(id), "ra.download_pin.wrong", "ra.download_pin.locked"});
      tx.commit();
      if (a.locked) locked();
      wrong(a.remaining);
    }
    if (!now_row->used_at && now_row->expires_at <= ctx.clock()) {
      detail::audit(ctx, actor, "ra.download_pin.refused", object(id), {{"why", "expired"}});
      tx.commit();
      refuse(ErrorKind::forbidden, "download_pin_expired",
             "the download PIN expired on " + format_rfc3339(now_row->expires_at) +
                 "; ask the registration authority to re-issue it",
             "ダウンロードPINの有効期限（" + format_rfc3339(now_row->expires_at) +
                 "）が切れています。登録局にダウンロードPINの再発行を依頼してください。");
    }
  }
  // The right PIN: issue (idempotent). The PIN is marked used in the issuing transaction, after
  // checking again that it is still the one in force (a re-issue while the CA signed wins).
  std::int64_t pin_id = seen->id;
  return issue_for_application(ctx, ca, id, actor, [&]() {
    db::Statement up(ctx.db, "UPDATE ra_download_pins SET used_at = COALESCE(used_at, ?) "
                             "WHERE id = ? AND replaced_at IS NULL AND locked_at IS NULL");
    up.bind(1, ctx.clock()).bind(2, pin_id).exec();
    if (ctx.db.changes() != 1)
      refuse(ErrorKind::conflict, "download_pin_wrong", "the download PIN was replaced while the certificate was made",
             "証明書の作成中にダウンロードPINが再発行されました。新しいダウンロードPINを入力してください。");
    return std::string("download PIN");
  });
}

UnixTime reissue_download_pin(RaContext& ctx, const Principal& by, std::int64_t id) {
  by.require(Permission::approve, "re-issue download PINs");
  std::string pin = generate_pin();
  std::string hash = hash_secret(normalize_pin(pin));
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, id);
  if (app.state != State::enrolled)
    throw Error(ErrorKind::conflict, "application " + std::to_string(id) + " is " + state_name(app.state) +
                                         "; a download PIN is re-issued only for an enrolled application");
  NewPin p = record_download_pin(ctx, app, pin, hash, by.actor());
  detail::audit(ctx, by.actor(), "ra.download_pin.reissue", object(id), pin_details(p));
  tx.commit();
  OPENSSL_cleanse(pin.data(), pin.size());
  return p.expires_at;
}

std::vector<DownloadPinRecord> download_pins(RaContext& ctx, const Principal& by, std::int64_t id) {
  detail::require_read(by, "read download PINs");
  UnixTime now = ctx.clock();
  const int max = ctx.config.ra.pin_max_attempts;
  db::Statement st(ctx.db, std::string(kPinColumns) + "WHERE application_id = ? ORDER BY id");
  st.bind(1, id);
  std::vector<DownloadPinRecord> out;
  while (st.step()) {
    PinRow row = read_pin_row(st);
    DownloadPinRecord r{row.issued_at, row.expires_at, row.issued_by, row.mailed_to, row.failures,
                        row.locked_at,  row.used_at,    row.replaced_at, ""};
    r.status = r.used_at                            ? "used"
               : r.replaced_at                      ? "replaced"
               : (r.locked_at || r.failures >= max) ? "locked"
               : r.expires_at <= now                ? "expired"
                                                    : "in_force";
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace jitsuin::ra
