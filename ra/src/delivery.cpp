#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/outbox.h"

#include "jitsuin/core/error.h"
#include "jitsuin/ra/application.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kSelect =
    "SELECT id, application_id, tracking_number, state, sent_on, held_on, delivered_on, returned_on, resend_of, "
    "charge_yen, recorded_by FROM ra_mailings ";

std::optional<Date> opt_date(db::Statement& st, int col) {
  if (st.is_null(col)) return std::nullopt;
  return Date::parse(st.text(col), "stored date");
}

Mailing read(db::Statement& st) {
  Mailing m;
  m.id = st.int64(0);
  m.application_id = st.int64(1);
  m.tracking_number = st.text(2);
  m.state = st.text(3);
  m.sent_on = Date::parse(st.text(4), "stored date");
  m.held_on = opt_date(st, 5);
  m.delivered_on = opt_date(st, 6);
  m.returned_on = opt_date(st, 7);
  m.resend_of = st.opt_int64(8);
  m.charge_yen = static_cast<int>(st.int64(9));
  m.recorded_by = st.text(10);
  return m;
}

void not_future(RaContext& ctx, const Date& d, const std::string& what) {
  Date today = date_in_japan(ctx.clock());
  JITSUIN_ARG_CHECK(d <= today, what + " " + d.str() + " is in the future (today is " + today.str() + ")");
}

Mailing insert(RaContext& ctx, const std::string& actor, std::int64_t app, const std::string& tracking,
               const Date& sent_on, std::optional<std::int64_t> resend_of, int charge) {
  try {
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_mailings (application_id, tracking_number, state, sent_on, resend_of, charge_yen, "
                      "recorded_by, updated_at) VALUES (?, ?, 'sent', ?, ?, ?, ?, ?)");
    ins.bind(1, app).bind(2, tracking).bind(3, sent_on.str()).bind(4, resend_of).bind(5, charge).bind(6, actor);
    ins.bind(7, ctx.clock()).exec();
  } catch (const db::DbError& e) {
    if (e.is_unique_violation())
      throw Error(ErrorKind::conflict, "tracking number " + tracking + " is already recorded for another mailing");
    throw;
  }
  return *detail::find_mailing(ctx, tracking);
}

// The latest mailing of an application.
std::optional<Mailing> latest(RaContext& ctx, std::int64_t app) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE application_id = ? ORDER BY id DESC LIMIT 1");
  st.bind(1, app);
  if (!st.step()) return std::nullopt;
  return read(st);
}

void set_state(RaContext& ctx, const Mailing& m, const std::string& state, const char* column, const Date& on) {
  db::Statement up(ctx.db, std::string("UPDATE ra_mailings SET state = ?, ") + column +
                               " = ?, updated_at = ? WHERE id = ? AND state = ?");
  up.bind(1, state).bind(2, on.str()).bind(3, ctx.clock()).bind(4, m.id).bind(5, m.state).exec();
  if (ctx.db.changes() != 1) throw Error(ErrorKind::conflict, "mailing " + m.tracking_number + " changed concurrently");
}

}  // namespace

std::optional<Date> Mailing::hold_ends() const {
  if (!held_on) return std::nullopt;
  return held_on->plus_days(kPostOfficeHoldDays);
}

std::string normalize_tracking_number(const std::string& typed) {
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    JITSUIN_ARG_CHECK(c >= '0' && c <= '9', "tracking number '" + typed + "' may hold digits and hyphens only");
    out += c;
  }
  JITSUIN_ARG_CHECK(out.size() >= 8 && out.size() <= 20, "tracking number '" + typed + "' must have 8 to 20 digits");
  return out;
}

// Tells the applicant the approval notice is on its way (restricted delivery, one-week hold).
// Queued with the mailing record, so the mail never runs ahead of the letter.
void queue_notice_mailed(RaContext& ctx, const Application& app) {
  nlohmann::json params = {{"name", app.form.name_kanji}, {"application_number", std::to_string(app.id)}};
  if (app.pin_expires_at) params["pin_expires_at"] = *app.pin_expires_at;
  enqueue_mail(ctx.db, {app.form.email, "pin_issued", "ja", params}, ctx.clock());
}

Mailing record_mailing(RaContext& ctx, const Principal& by, std::int64_t app_id, const std::string& typed,
                       const Date& sent_on) {
  by.require(Permission::enter, "record mailings");
  std::string tracking = normalize_tracking_number(typed);
  not_future(ctx, sent_on, "sent_on");
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, app_id);
  if (app.pin_issued_at) {
    Date issued = date_in_japan(*app.pin_issued_at);
    JITSUIN_ARG_CHECK(sent_on >= issued, "sent_on " + sent_on.str() + " is before the PIN was issued (" + issued.str() + ")");
  }
  detail::transition(ctx, app_id, State::notice_mailed, by.actor(), "tracking " + tracking,
                     {{"tracking_number", tracking}, {"sent_on", sent_on.str()}});
  Mailing m = insert(ctx, by.actor(), app_id, tracking, sent_on, std::nullopt, 0);
  queue_notice_mailed(ctx, app);
  tx.commit();
  return m;
}

Mailing record_postal_event(RaContext& ctx, const Principal& by, const std::string& typed, const std::string& event,
                            const Date& on) {
  by.require(Permission::enter, "record postal events");
  std::string tracking = normalize_tracking_number(typed);
  JITSUIN_ARG_CHECK(event == "held" || event == "delivered" || event == "returned",
                    "postal event must be held, delivered or returned, not '" + event + "'");
  not_future(ctx, on, "the date");
  db::Transaction tx(ctx.db);
  auto m = detail::find_mailing(ctx, tracking);
  if (!m) throw Error(ErrorKind::not_found, "no mailing with tracking number " + tracking);
  Date last = m->held_on.value_or(m->sent_on);
  JITSUIN_ARG_CHECK(on >= last, "the " + event + " date " + on.str() + " is before the mailing's last event (" +
                                    last.str() + ")");
  auto refuse = [&](const std::string& allowed) {
    return Error(ErrorKind::conflict, "mailing " + tracking + " is " + m->state + "; it cannot become " + event +
                                          " (allowed: " + allowed + ")");
  };
  if (event == "held") {
    if (m->state != "sent") throw refuse(m->state == "held" ? "delivered, returned" : "none, it is final");
    set_state(ctx, *m, "held", "held_on", on);
  } else if (event == "delivered") {
    if (m->state != "sent" && m->state != "held") throw refuse("none, it is final");
    if (m->state == "held" && on > *m->hold_ends())
      throw Error(ErrorKind::conflict, "mailing " + tracking + " was held until " + m->hold_ends()->str() +
                                           "; after that the post office returns it (record returned)");
    set_state(ctx, *m, "delivered", "delivered_on", on);
  } else {
    if (m->state != "sent" && m->state != "held") throw refuse("none, it is final");
    set_state(ctx, *m, "returned", "returned_on", on);
  }
  detail::audit(ctx, by.actor(), "ra.mail." + event, "mailing:" + tracking,
                {{"application", m->application_id}, {"on", on.str()}});
  tx.commit();
  return *detail::find_mailing(ctx, tracking);
}

std::vector<Mailing> expire_holds(RaContext& ctx, const std::string& actor, const Date& today) {
  db::Transaction tx(ctx.db);
  std::vector<Mailing> out;
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE state = 'held' ORDER BY id");
  std::vector<Mailing> held;
  while (st.step()) held.push_back(read(st));
  json returned_now = json::array();
  for (auto& m : held) {
    Date end = *m.hold_ends();
    if (today <= end) continue;
    Date returned = end.plus_days(1);
    set_state(ctx, m, "returned", "returned_on", returned);
    returned_now.push_back({{"mailing", m.tracking_number}, {"application", m.application_id}, {"on", returned.str()}});
    out.push_back(*detail::find_mailing(ctx, m.tracking_number));
  }
  // One run, one entry naming every mailing it marked returned (none: nothing to record).
  if (!out.empty())
    detail::audit(ctx, actor, "ra.mail.returned", "mailings", {{"mailings", returned_now}, {"why", "hold period ended"}});
  tx.commit();
  return out;
}

Mailing resend_notice(RaContext& ctx, const Principal& by, std::int64_t app_id, const std::string& typed,
                      const Date& sent_on, int charge_yen, const std::string& note) {
  by.require(Permission::enter, "re-send approval notices");
  std::string tracking = normalize_tracking_number(typed);
  not_future(ctx, sent_on, "sent_on");
  JITSUIN_ARG_CHECK(charge_yen >= 0 && charge_yen <= 100000, "the charge must be between 0 and 100000 yen");
  std::string why = detail::text_field(note, "note", 500, false);
  JITSUIN_ARG_CHECK(charge_yen > 0 || !why.empty(), "a re-send is charged; a free one needs a note saying why");
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, app_id);
  if (app.state != State::notice_mailed)
    throw Error(ErrorKind::conflict, "application " + std::to_string(app_id) + " is " + state_name(app.state) +
                                         "; the notice can be re-sent only when notice_mailed");
  auto prev = latest(ctx, app_id);
  if (!prev) throw Error(ErrorKind::conflict, "application " + std::to_string(app_id) + " has no mailing to re-send");
  if (prev->state != "returned" && prev->state != "delivered")
    throw Error(ErrorKind::conflict, "mailing " + prev->tracking_number + " is " + prev->state +
                                         "; re-send after it was returned, or delivered and lost");
  JITSUIN_ARG_CHECK(sent_on >= prev->returned_on.value_or(prev->delivered_on.value_or(prev->sent_on)),
                    "sent_on " + sent_on.str() + " is before the previous mailing ended");
  Mailing m = insert(ctx, by.actor(), app_id, tracking, sent_on, prev->id, charge_yen);
  detail::audit(ctx, by.actor(), "ra.mail.resend", "mailing:" + tracking,
                {{"application", app_id}, {"previous", prev->tracking_number}, {"charge_yen", charge_yen},
                 {"note", why}});
  queue_notice_mailed(ctx, app);
  tx.commit();
  return m;
}

std::vector<Mailing> detail::list_mailings(RaContext& ctx, std::optional<std::int64_t> app) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE ?1 IS NULL OR application_id = ?1 ORDER BY id");
  st.bind(1, app);
  std::vector<Mailing> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

std::optional<Mailing> detail::find_mailing(RaContext& ctx, const std::string& tracking) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE tracking_number = ?");
  st.bind(1, tracking);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<Mailing> list_mailings(RaContext& ctx, const Principal& by, std::optional<std::int64_t> application_id) {
  detail::require_read(by, "list mailings");
  return detail::list_mailings(ctx, application_id);
}

std::optional<Mailing> find_mailing(RaContext& ctx, const Principal& by, const std::string& tracking) {
  detail::require_read(by, "show a mailing");
  return detail::find_mailing(ctx, tracking);
}

}  // namespace jitsuin::ra
