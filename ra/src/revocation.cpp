#include "jitsuin/ra/revocation.h"

#include <algorithm>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/outbox.h"
#include "page_query.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kSelect =
    "SELECT id, serial, application_id, reason, note, state, requested_by, requested_at, effective_at, decided_by, "
    "decided_at, rejection_reason FROM ra_revocation_requests ";

RevocationRequest read(db::Statement& st) {
  RevocationRequest r;
  r.id = st.int64(0);
  r.serial = st.text(1);
  r.application_id = st.opt_int64(2);
  r.reason = static_cast<ca::RevocationReason>(st.int64(3));
  r.note = st.text(4);
  r.state = st.text(5);
  r.requested_by = st.text(6);
  r.requested_at = st.int64(7);
  r.effective_at = st.int64(8);
  r.decided_by = st.opt_text(9);
  r.decided_at = st.opt_int64(10);
  r.rejection_reason = st.opt_text(11);
  return r;
}

std::string object(std::int64_t id) { return "revocation:" + std::to_string(id); }

}  // namespace

RevocationRequest detail::get_revocation(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no revocation request " + std::to_string(id));
  return read(st);
}

RevocationRequest request_revocation(RaContext& ctx, const Principal& by, const std::string& serial_hex,
                                     ca::RevocationReason reason, std::optional<UnixTime> effective,
                                     const std::string& note) {
  by.require(Permission::enter, "request revocations");
  std::string serial = ca::normalize_serial(serial_hex);
  std::string n = detail::text_field(note, "note", 500, false);
  JITSUIN_ARG_CHECK(reason != ca::RevocationReason::certificate_hold,
                    "certificateHold is not supported: revocation is final (use another reason)");
  UnixTime now = ctx.clock();
  // A compromised key is revoked at once unless the request says otherwise; other reasons (a staff
  // transfer) take effect revocation_delay_days later.
  UnixTime when = effective.value_or(ca::is_urgent_reason(reason)
                                         ? now
                                         : now + static_cast<UnixTime>(ctx.config.ra.revocation_delay_days) * 86400);
  JITSUIN_ARG_CHECK(when >= now - 300, "the effective time " + format_rfc3339(when) + " is in the past");
  db::Transaction tx(ctx.db);
  auto cert = ca::CertificateStore(ctx.db, ctx.clock).status(serial);
  if (!cert) throw Error(ErrorKind::not_found, "no certificate with serial " + serial + " was issued by this CA");
  // A revocation recorded for later does not block keyCompromise, which replaces it (and turns one
  // in effect for another reason into keyCompromise): ca::CertificateStore::record_revocation.
  if (cert->revoked() && !ca::replaces_revocation(*cert, reason, when, now))
    throw Error(ErrorKind::conflict, "certificate " + serial + " is already revoked (effective " +
                                         format_rfc3339(*cert->revocation_effective) + ", " +
                                         ca::revocation_reason_name(*cert->reason) + ")" +
                                         (*cert->revocation_effective > now && !ca::is_urgent_reason(reason)
                                              ? "; only keyCompromise replaces a revocation not yet in effect"
                                              : ""));
  JITSUIN_ARG_CHECK(cert->profile != "root-ca" && cert->profile != "issuing-ca",
                    "CA certificates are not revoked through the RA");
  JITSUIN_ARG_CHECK(when < cert->not_after, "certificate " + serial + " expires (" + format_rfc3339(cert->not_after) +
                                                ") before the requested effective time");
  std::optional<std::int64_t> app;
  {
    db::Statement st(ctx.db, "SELECT id FROM ra_applications WHERE certificate_serial = ?");
    st.bind(1, serial);
    if (st.step()) app = st.int64(0);
  }
  try {
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_revocation_requests (serial, application_id, reason, note, state, requested_by, "
                      "requested_at, effective_at) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)");
    ins.bind(1, serial).bind(2, app).bind(3, static_cast<int>(reason)).bind(4, n).bind(5, by.actor()).bind(6, now);
    ins.bind(7, when).exec();
  } catch (const db::DbError& e) {
    if (e.is_unique_violation())
      throw Error(ErrorKind::conflict, "an open revocation request for certificate " + serial + " exists already");
    throw;
  }
  std::int64_t id = ctx.db.last_insert_rowid();
  detail::audit(ctx, by.actor(), "ra.revocation.request", object(id),
                {{"serial", serial}, {"reason", ca::revocation_reason_name(reason)}, {"effective", format_rfc3339(when)}});
  tx.commit();
  return detail::get_revocation(ctx, id);
}

namespace {

// The CA's revocation record, the request's new state and the holder's mail, inside the caller's
// transaction, for an approved request (or one being approved). Returns the details for the
// caller's one audit entry.
json carry_out(RaContext& ctx, const RevocationRequest& r) {
  UnixTime now = ctx.clock();
  // Approved after the requested time: effective now, never back-dated.
  UnixTime when = std::max(r.effective_at, now);
  ca::CertificateStore store(ctx.db, ctx.clock);
  auto cert = store.status(r.serial);
  if (!cert) throw Error(ErrorKind::not_found, "certificate " + r.serial + " is no longer in the CA database");
  json details = {{"serial", r.serial}};
  if (cert->revoked() && !ca::replaces_revocation(*cert, r.reason, when, now)) {
    // Revoked by the CA in a step of its own before this transaction existed (data left by an
    // earlier version, or jitsuin ca revoke meanwhile), and not replaced by this request's
    // keyCompromise: record what the CA holds.
    when = *cert->revocation_effective;
    details["already_revoked"] = true;
  } else {
    json revocation;
    auto rec = store.record_revocation({r.serial, r.reason, when}, revocation);
    when = *rec.revocation_effective;
    details["certificate"] = revocation;
  }
  details["effective"] = format_rfc3339(when);
  db::Statement up(ctx.db,
                   "UPDATE ra_revocation_requests SET state = 'revoked', effective_at = ? WHERE id = ? AND state = 'approved'");
  up.bind(1, when).bind(2, r.id).exec();
  if (ctx.db.changes() != 1) throw Error(ErrorKind::conflict, "revocation request " + std::to_string(r.id) + " changed concurrently");
  if (r.application_id) {
    Application app = detail::get_application(ctx, *r.application_id);
    enqueue_mail(ctx.db,
                 {app.form.email, "revocation", "ja",
                  {{"name", app.form.name_kanji}, {"serial", r.serial}, {"effective_at", when},
                   {"reason", ca::revocation_reason_name(r.reason)}}},
                 now);
  }
  return details;
}

}  // namespace

RevocationRequest approve_revocation(RaContext& ctx, const Principal& by, std::int64_t id) {
  by.require(Permission::approve, "approve revocations");
  db::Transaction tx(ctx.db);
  RevocationRequest r = detail::get_revocation(ctx, id);
  if (r.state != "pending")
    throw Error(ErrorKind::conflict, "revocation request " + std::to_string(id) + " is " + r.state +
                                         "; only a pending request can be approved");
  if (r.requested_by == by.actor())
    throw Error(ErrorKind::forbidden, "operator " + by.name() + " requested revocation " + std::to_string(id) +
                                          " and so cannot approve it (two-person rule)");
  db::Statement up(ctx.db,
                   "UPDATE ra_revocation_requests SET state = 'approved', decided_by = ?, decided_at = ? WHERE id = ?");
  up.bind(1, by.actor()).bind(2, ctx.clock()).bind(3, id).exec();
  r.state = "approved";
  json details = carry_out(ctx, r);
  details["reason"] = ca::revocation_reason_name(r.reason);
  detail::audit(ctx, by.actor(), "ra.revocation.approve", object(id), details);
  tx.commit();
  return detail::get_revocation(ctx, id);
}

RevocationRequest execute_revocation(RaContext& ctx, const Principal& by, std::int64_t id) {
  by.require(Permission::approve, "carry out revocations");
  db::Transaction tx(ctx.db);
  RevocationRequest r = detail::get_revocation(ctx, id);
  if (r.state != "approved")
    throw Error(ErrorKind::conflict, "revocation request " + std::to_string(id) + " is " + r.state +
                                         "; only an approved request is carried out");
  json details = carry_out(ctx, r);
  detail::audit(ctx, by.actor(), "ra.revocation.revoked", object(id), details);
  tx.commit();
  return detail::get_revocation(ctx, id);
}

RevocationRequest reject_revocation(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& reason) {
  by.require(Permission::approve, "reject revocations");
  std::string why = detail::text_field(reason, "the rejection reason", 500, true);
  db::Transaction tx(ctx.db);
  RevocationRequest r = detail::get_revocation(ctx, id);
  if (r.state != "pending")
    throw Error(ErrorKind::conflict, "revocation request " + std::to_string(id) + " is " + r.state +
                                         "; only a pending request can be rejected");
  db::Statement up(ctx.db,
                   "UPDATE ra_revocation_requests SET state = 'rejected', decided_by = ?, decided_at = ?, "
                   "rejection_reason = ? WHERE id = ?");
  up.bind(1, by.actor()).bind(2, ctx.clock()).bind(3, why).bind(4, id).exec();
  detail::audit(ctx, by.actor(), "ra.revocation.reject", object(id), {{"serial", r.serial}, {"reason", why}});
  tx.commit();
  return detail::get_revocation(ctx, id);
}

RevocationRequest get_revocation(RaContext& ctx, const Principal& by, std::int64_t request_id) {
  detail::require_read(by, "show a revocation request");
  return detail::get_revocation(ctx, request_id);
}

Page<RevocationRequest> list_revocations(RaContext& ctx, const Principal& by, const std::string& state,
                                         const PageRequest& page) {
  detail::require_read(by, "list revocation requests");
  check_page(page, "before_id");
  JITSUIN_ARG_CHECK(state.empty() || state == "pending" || state == "approved" || state == "revoked" ||
                        state == "rejected",
                    "unknown revocation state '" + state + "' (known: pending, approved, revoked, rejected)");
  // By rowid, or by ra_revocation_state (state, id) for one state.
  db::Statement st(ctx.db, std::string(kSelect) + (state.empty() ? "WHERE id < ?1" : "WHERE state = ?3 AND id < ?1") +
                               " ORDER BY id DESC LIMIT ?2");
  if (!state.empty()) st.bind(3, state);
  return detail::read_page<RevocationRequest>(st, 1, 2, page, read, [](const RevocationRequest& r) { return r.id; });
}

}  // namespace jitsuin::ra
