#include "jitsuin/ra/pin.h"

#include <algorithm>

#include "jitsuin/ca/csr.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/outbox.h"
#include "jitsuin/ra/secret.h"
#include "attempts.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;
using detail::PinMatch;

namespace {

// Crockford's base32: no I, L, O or U, so nothing on paper reads as something else.
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr std::size_t kPinChars = 16;   // 16 x 5 bits = 80 bits

std::string object(std::int64_t id) { return "application:" + std::to_string(id); }

}  // namespace

namespace detail {

PinMatch match_pin(RaContext& ctx, std::int64_t id, std::string_view typed) {
  PinMatch m;
  {
    db::Statement st(ctx.db, "SELECT pin_hash FROM ra_applications WHERE id = ?");
    st.bind(1, id);
    if (st.step() && !st.is_null(0)) m.hash = st.text(0);
  }
  // The same scrypt work whether or not the number has a PIN in force (issue 20, item 7).
  m.match = verify_secret_or_dummy(normalize_pin(typed), m.hash);
  return m;
}

ApplicantPin check_applicant_pin(RaContext& ctx, std::int64_t id, const PinMatch& checked, const std::string& actor) {
  const int max = ctx.config.ra.pin_max_attempts;
  ApplicantPin out;
  db::Statement st(ctx.db, "SELECT state, pin_hash, pin_expires_at, pin_failures, pin_locked_at, pin_spent_at "
                           "FROM ra_applications WHERE id = ?");
  st.bind(1, id);
  std::optional<std::string> hash;
  int failures = 0;
  bool locked = false;
  if (st.step()) {
    out.state = parse_state(st.text(0));
    hash = st.opt_text(1);
    out.expires_at = st.opt_int64(2);
    failures = static_cast<int>(st.int64(3));
    locked = !st.is_null(4);
    out.spent = !st.is_null(5);
  }
  if (!hash) {
    // No PIN in force (an unknown number, or a PIN withdrawn for re-issue): answered and counted
    // like a wrong PIN, on a counter of its own, so the answers do not tell the number is unknown.
    UnknownCounter u = unknown_counter(ctx, "application_pin", id);
    if (u.locked || u.failures >= max) {
      detail::audit(ctx, actor, "ra.pin.refused", object(id), {{"why", "no PIN in force (locked)"}});
      out.status = PinStatus::locked;
      return out;
    }
    Attempt a = count_wrong_attempt(ctx, kUnknownCounter, u.id, max,
                                    {actor, object(id), "ra.pin.refused", "ra.pin.refused", {{"why", "no PIN in force"}}});
    out.status = a.locked ? PinStatus::locked : PinStatus::wrong;
    out.remaining = a.remaining;
    return out;
  }
  if (locked || failures >= max) {
    detail::audit(ctx, actor, "ra.pin.refused", object(id), {{"why", "locked"}});
    out.status = PinStatus::locked;
    return out;
  }
  if (checked.hash != hash) {
    // The PIN was re-issued while it was being checked: the outcome says nothing about the new one.
    detail::audit(ctx, actor, "ra.pin.refused", object(id), {{"why", "PIN re-issued during the check"}});
    out.status = PinStatus::wrong;
    out.remaining = max - failures;
    return out;
  }
  if (checked.match) {
    out.status = PinStatus::accepted;
    out.remaining = max - failures;
    return out;
  }
  Attempt a = count_wrong_attempt(ctx, kApplicationPinCounter, id, max, {actor, object(id), "ra.pin.wrong", "ra.pin.locked"});
  out.status = a.locked ? PinStatus::locked : PinStatus::wrong;
  out.remaining = a.remaining;
  return out;
}

void record_enrollment(RaContext& ctx, std::int64_t id, const std::string& csr_pem, const std::string& actor,
                       nlohmann::json details) {
  // The PIN is spent, not forgotten: its hash stays so the applicant can still ask for the status.
  db::Statement up(ctx.db, "UPDATE ra_applications SET csr = ?, pin_spent_at = ? WHERE id = ?");
  up.bind(1, csr_pem).bind(2, ctx.clock()).bind(3, id).exec();
  details["pin"] = "accepted";
  detail::transition(ctx, id, State::enrolled, actor, "", std::move(details));
}

}  // namespace detail

std::string generate_pin() {
  Bytes r = random_bytes(10);
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : r) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kAlphabet[(acc >> bits) & 0x1f];
    }
  }
  return out.substr(0, 4) + "-" + out.substr(4, 4) + "-" + out.substr(8, 4) + "-" + out.substr(12, 4);
}

std::string normalize_pin(std::string_view typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    bool ok = false;
    for (const char* a = kAlphabet; *a; ++a) ok = ok || *a == c;
    if (!ok) return "";
    out += c;
  }
  return out.size() == kPinChars ? out : "";
}

std::string pin_status_name(PinStatus s) {
  switch (s) {
    case PinStatus::accepted: return "accepted";
    case PinStatus::wrong: return "wrong";
    case PinStatus::locked: return "locked";
    case PinStatus::expired: return "expired";
    case PinStatus::not_usable: return "not_usable";
  }
  return "?";
}

namespace {

// An S/MIME coupon application (seed 004) has no postal address: a PIN letter would go nowhere.
// Its holder re-issues it with the coupon instead.
void refuse_coupon_application(RaContext& ctx, std::int64_t id) {
  if (detail::coupon_application(ctx, id))
    throw Error(ErrorKind::conflict, "application " + std::to_string(id) +
                                         " was made with an S/MIME coupon and has no postal address for a PIN letter; "
                                         "its holder re-issues it with the coupon (smime.reissue)");
}

}  // namespace

IssuedPin issue_pin(RaContext& ctx, const Principal& by, std::int64_t id,
                    const std::function<void(const IssuedPin&, const Application&)>& before_commit) {
  by.require(Permission::enter, "issue application PINs");
  IssuedPin out;
  out.pin = generate_pin();
  std::string hash = hash_secret(normalize_pin(out.pin));   // slow: before taking the write lock
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, id);
  bool reissue = app.state == State::pin_issued || app.state == State::notice_mailed;
  if (reissue) {
    if (!app.pin_reissue_requested_by)
      throw Error(ErrorKind::conflict, "application " + std::to_string(id) + " already has a PIN (" +
                                           state_name(app.state) +
                                           "); a new one needs a re-issue request first (jitsuin ra pin-reissue-request)");
    by.require(Permission::approve, "re-issue application PINs");
    refuse_coupon_application(ctx, id);
    if (*app.pin_reissue_requested_by == by.actor())
      throw Error(ErrorKind::forbidden, "operator " + by.name() + " requested this PIN re-issue and so cannot carry it "
                                        "out (two-person rule)");
  }
  UnixTime now = ctx.clock();
  out.expires_at = now + static_cast<UnixTime>(ctx.config.ra.pin_validity_days) * 86400;
  detail::transition(ctx, id, State::pin_issued, by.actor(), reissue ? "PIN re-issued" : "",
                     {{"reissue", reissue}, {"pin_expires_at", format_rfc3339(out.expires_at)}});
  db::Statement up(ctx.db,
                   "UPDATE ra_applications SET pin_hash = ?, pin_issued_by = ?, pin_issued_at = ?, pin_expires_at = ?, "
                   "pin_failures = 0, pin_locked_at = NULL, pin_reissue_requested_by = NULL, pin_reissue_reason = NULL "
                   "WHERE id = ?");
  up.bind(1, hash).bind(2, by.actor()).bind(3, now).bind(4, out.expires_at).bind(5, id).exec();
  // The applicant is told once the letter is actually posted (delivery.cpp, record_mailing), not here:
  // the letter is printed now and may wait before it goes to the post office.
  if (before_commit) before_commit(out, app);
  tx.commit();
  return out;
}

void request_pin_reissue(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& reason) {
  by.require(Permission::enter, "request PIN re-issues");
  std::string why = detail::text_field(reason, "the reason", 500, true);
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, id);
  if (app.state != State::pin_issued && app.state != State::notice_mailed)
    throw Error(ErrorKind::conflict, "application " + std::to_string(id) + " is " + state_name(app.state) +
                                         "; a PIN can be re-issued only when pin_issued or notice_mailed");
  refuse_coupon_application(ctx, id);
  if (app.pin_reissue_requested_by)
    throw Error(ErrorKind::conflict, "a PIN re-issue for application " + std::to_string(id) +
                                         " was already requested by " + *app.pin_reissue_requested_by);
  // The old PIN stops working now: the letter may be lost or in the wrong hands.
  db::Statement up(ctx.db,
                   "UPDATE ra_applications SET pin_reissue_requested_by = ?, pin_reissue_reason = ?, pin_hash = NULL, "
                   "updated_at = ? WHERE id = ?");
  up.bind(1, by.actor()).bind(2, why).bind(3, ctx.clock()).bind(4, id).exec();
  detail::audit(ctx, by.actor(), "ra.pin.reissue_request", object(id), {{"reason", why}});
  tx.commit();
}

}  // namespace jitsuin::ra
