// ra.*: the registration authority's back office. Each handler decodes its request, authenticates
// the caller (an operator session, or the company ID's password for cert_request.add, or nobody
// for the cron jobs), calls ra/ and renders the result.
#include "jitsuin/api/decode.h"
#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/letter.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"

namespace jitsuin::api {

namespace {

using nlohmann::json;

ra::Date date_or_today(Services& s, Fields& f, const std::string& name) {
  if (auto d = f.opt_text(name)) return ra::Date::parse(*d, name);
  return ra::date_in_japan(s.clock()());
}

int limit(Fields& f) { return static_cast<int>(std::min<std::int64_t>(f.opt_whole("limit").value_or(1000), 100000)); }

// ---- operators --------------------------------------------------------------------------------

// The very first operator is created without a session (bootstrap) and must be an administrator
// (ra/ checks that); every later one needs an administrator's session.
json operator_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  ra::Role role = ra::parse_role(f.text("role"));
  std::string display = f.opt_text("display_name").value_or("");
  std::string password = f.text("password");
  bool temporary = f.flag("temporary");   // the first administrator only: others' passwords are temporary anyway
  f.done();
  bool bootstrap = !ra::any_operator(s.ra());
  // Over the network nobody may make the first administrator: on a home without operators anyone
  // who reaches the port would otherwise own the RA. The CA host's user does it (./run.sh, the CLI).
  if (bootstrap && c.source != kLocalSource)
    throw Error(ErrorKind::forbidden,
                "the first administrator is created on the CA host (jitsuin ra operator-add, or ./run.sh), "
                "not over the network");
  std::optional<ra::Principal> by;
  if (!bootstrap) by = authenticate(s, c);
  auto info = ra::add_operator(s.ra(), by ? &*by : nullptr, name, display, role, password, temporary);
  return {{"name", info.name}, {"role", ra::role_name(info.role)}, {"bootstrap", bootstrap},
          {"pending", info.pending}, {"password_temporary", info.password_temporary}};
}

json operator_list(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& o : ra::list_operators(s.ra(), who))
    out.push_back({{"name", o.name}, {"display_name", o.display_name}, {"role", ra::role_name(o.role)},
                   {"failed_logins", o.failed_logins}, {"locked", o.locked}, {"disabled", o.disabled},
                   {"created_at", format_rfc3339(o.created_at)}, {"created_by", o.created_by},
                   {"pending", o.pending}, {"approved_by", o.approved_by},
                   {"password_temporary", o.password_temporary}});
  return out;
}

json operator_unlock(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  f.done();
  ra::unlock_operator(s.ra(), authenticate(s, c), name);
  return {{"name", name}, {"unlocked", true}};
}

json operator_approve(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  f.done();
  ra::approve_operator(s.ra(), authenticate(s, c), name);
  return {{"name", name}, {"approved", true}};
}

// The two proofs of CA custody run on the CA host as its user (Access::local): no session can
// vouch for them (the only administrator is locked out, or the account to approve has no second
// administrator). The PIN is checked by the token in ra/ (ca::verify_custody_pin).
json operator_approve_by_custody(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  auto pin_kind = ca::parse_custody_pin(f.opt_text("pin_kind").value_or("so"));
  std::string pin = f.text("pin");
  f.done();
  ra::approve_operator_by_custody(s.ra(), c.actor, name, pin_kind, pin);
  return {{"name", name}, {"approved", true}, {"proof", "ca-custody"}};
}

json operator_break_glass(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  auto pin_kind = ca::parse_custody_pin(f.opt_text("pin_kind").value_or("so"));
  std::string pin = f.text("pin");
  auto new_password = f.opt_text("new_password");
  f.done();
  ra::break_glass_unlock(s.ra(), c.actor, name, pin_kind, pin, new_password);
  return {{"name", name}, {"unlocked", true}, {"password_reset", new_password.has_value()}};
}

json operator_disable(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string name = f.text("name");
  f.done();
  ra::disable_operator(s.ra(), authenticate(s, c), name);
  return {{"name", name}, {"disabled", true}};
}

json change_password(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string current = f.text("current"), next = f.text("new");
  const bool keep_keys = f.flag("keep_keys");
  f.done();
  int ended = ra::change_password(s.ra(), authenticate(s, c, ra::SessionUse::password_change), current, next,
                                  keep_keys ? ra::KeepKeys::yes : ra::KeepKeys::no);
  return {{"changed", true}, {"sessions_ended", ended}, {"keys_kept", keep_keys}};
}

json operator_key(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  int days = static_cast<int>(std::min<std::int64_t>(f.opt_whole("days").value_or(30), 100000));
  std::string password = f.text("password");
  std::string label = f.opt_text("label").value_or("");
  f.done();
  auto who = authenticate(s, c);
  auto key = ra::issue_operator_key(s.ra(), who, days, password, label);
  return {{"name", who.name()}, {"token", key.token}, {"expires_at", format_rfc3339(key.expires_at)}};
}

json operator_keys(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  json out = json::array();
  for (const auto& k : ra::list_operator_keys(s.ra(), authenticate(s, c)))
    out.push_back({{"id", k.id}, {"label", k.label}, {"created_at", format_rfc3339(k.created_at)},
                   {"expires_at", format_rfc3339(k.expires_at)}});
  return {{"keys", out}};
}

json operator_key_revoke(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  ra::revoke_operator_key(s.ra(), authenticate(s, c), id);
  return {{"id", id}, {"revoked", true}};
}

json whoami(Services& s, const Caller& c, const json& request) {
  Fields(request).done();
  auto who = authenticate(s, c, ra::SessionUse::password_change);
  return {{"name", who.name()}, {"role", ra::role_name(who.role())},
          {"password_change_required", who.password_change_only()}};
}

// ---- bundles and applications -----------------------------------------------------------------

json bundle_create(Services& s, const Caller& c, const json& request) {
  auto input = decode_bundle(request);
  auto who = authenticate(s, c);
  auto created = ra::create_bundle(s.ra(), who, input);
  return {{"bundle", created.bundle_id}, {"company", created.company_id}, {"applications", created.application_ids}};
}

json bundle_edit(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  const json* changes = f.object("changes");
  f.done();
  auto decoded = decode_bundle_changes(changes ? *changes : json::object());
  auto who = authenticate(s, c);
  ra::edit_bundle(s.ra(), who, id, decoded);
  return {{"bundle", id}, {"updated", true}};
}

json bundle_show(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  json j = render(ra::get_bundle(s.ra(), who, id));
  j["documents"] = json::array();
  for (const auto& d : ra::list_documents(s.ra(), who, id)) j["documents"].push_back(render(d));
  j["last_check_reasons"] = json::array();
  for (const auto& d : ra::last_check_reasons(s.ra(), who, id)) j["last_check_reasons"].push_back(render(d));
  return j;
}

json bundle_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string company = f.opt_text("company").value_or("");
  int n = limit(f);
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& b : ra::find_bundles(s.ra(), who, company, n)) out.push_back(render(b));
  return out;
}

json application_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  const json* form = f.object("form");
  f.done();
  auto applicant = decode_applicant(form ? *form : json::object());
  auto who = authenticate(s, c);
  auto id = ra::add_application(s.ra(), who, bundle, applicant);
  return {{"application", id}, {"bundle", bundle}};
}

json application_edit(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  const json* changes = f.object("changes");
  f.done();
  auto decoded = decode_applicant_changes(changes ? *changes : json::object());
  auto who = authenticate(s, c);
  return render(ra::edit_application(s.ra(), who, id, decoded));
}

json application_show(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  json j = render(ra::get_application(s.ra(), who, id));
  j["history"] = json::array();
  for (const auto& e : ra::application_history(s.ra(), who, id))
    j["history"].push_back({{"from", e.from}, {"to", e.to}, {"actor", e.actor}, {"at", format_rfc3339(e.at)},
                            {"note", e.note}});
  j["mailings"] = json::array();
  for (const auto& m : ra::list_mailings(s.ra(), who, id)) j["mailings"].push_back(render(m));
  j["download_pins"] = render_download_pins(s, who, id);   // enroll
  return j;
}

json application_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  ra::ApplicationFilter filter;
  filter.company = f.opt_text("company").value_or("");
  filter.applicant = f.opt_text("applicant").value_or("");
  if (auto st = f.opt_text("state")) filter.state = ra::parse_state(*st);
  filter.bundle_id = f.opt_whole("bundle");
  filter.limit = limit(f);
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& app : ra::find_applications(s.ra(), who, filter)) out.push_back(render(app));
  return out;
}

// ---- documents and the check ------------------------------------------------------------------

json document_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  ra::DocumentInput d;
  d.kind = ra::parse_document_kind(f.text("kind"));
  d.application_id = f.opt_whole("application");
  d.issued_on = ra::Date::parse(f.text("issued"), "issued");
  d.received_on = date_or_today(s, f, "received");
  d.original = !f.flag("copy");
  d.note = f.opt_text("note").value_or("");
  f.done();
  auto who = authenticate(s, c);
  auto id = ra::add_document(s.ra(), who, bundle, d);
  return {{"id", id},
          {"kind", ra::document_kind_name(d.kind)},
          {"issued_on", d.issued_on.str()},
          {"accepted_until", ra::document_accepted_until(d.issued_on).str()}};
}

json document_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& d : ra::list_documents(s.ra(), who, bundle)) out.push_back(render(d));
  return out;
}

json document_remove(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  std::string reason = f.text("reason");
  f.done();
  ra::remove_document(s.ra(), authenticate(s, c), id, reason);
  return {{"id", id}, {"removed", true}};
}

json check(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  f.done();
  auto res = ra::check_bundle(s.ra(), authenticate(s, c), bundle);
  json reasons = json::array();
  for (const auto& d : res.reasons) reasons.push_back(render(d));
  return {{"complete", res.complete}, {"state", res.new_state}, {"applications", res.moved}, {"reasons", reasons}};
}

json resubmit(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  std::string note = f.opt_text("note").value_or("");
  f.done();
  return {{"applications", ra::resubmit_bundle(s.ra(), authenticate(s, c), bundle, note)}};
}

// ---- decisions ----------------------------------------------------------------------------------

json approve(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto application = f.opt_whole("application");
  auto bundle = f.opt_whole("bundle");
  f.done();
  JITSUIN_ARG_CHECK(application || bundle, "give application or bundle");
  JITSUIN_ARG_CHECK(!(application && bundle), "give application or bundle, not both");
  auto who = authenticate(s, c);
  std::vector<std::int64_t> ids;
  if (application) {
    ra::approve_application(s.ra(), who, *application);
    ids.push_back(*application);
  }
  if (bundle) ids = ra::approve_bundle(s.ra(), who, *bundle);   // all checked applications or none
  return {{"approved", ids}};
}

json reject(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  std::string reason = f.text("reason");
  f.done();
  ra::reject_application(s.ra(), authenticate(s, c), id, reason);
  return {{"application", id}, {"state", "rejected"}};
}

json withdraw(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  std::string reason = f.text("reason");
  f.done();
  ra::withdraw_application(s.ra(), authenticate(s, c), id, reason);
  return {{"application", id}, {"state", "withdrawn"}};
}

// Issues the PIN and renders the approval notice inside the same transaction: if the letter cannot
// be made, no PIN is issued. The PIN is in the response once and stored nowhere; the PDF comes back
// base64-encoded for the adapter to write or send.
json issue_pin(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  bool letter = f.opt_boolean("letter").value_or(true);
  std::string language = f.opt_text("language").value_or("ja");
  std::optional<std::string> url = f.opt_text("enrollment_url");   // default: ra.enrollment_url
  f.done();
  auto who = authenticate(s, c);
  Bytes pdf;
  auto pin = ra::issue_pin(s.ra(), who, id, [&](const ra::IssuedPin& p, const ra::Application& app) {
    if (!letter) return;
    pdf = ra::render_approval_letter(ra::compose_approval_letter(s.ra(), app, p, url), language);
  });
  json out = {{"application", id}, {"pin", pin.pin}, {"expires_at", format_rfc3339(pin.expires_at)}};
  if (letter) out["letter_pdf"] = to_base64(pdf);
  return out;
}

json pin_reissue_request(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  std::string reason = f.text("reason");
  f.done();
  ra::request_pin_reissue(s.ra(), authenticate(s, c), id, reason);
  return {{"application", id}, {"reissue_requested", true}};
}

// ---- restricted-delivery mail -------------------------------------------------------------------

json mail_sent(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  std::string tracking = f.text("tracking");
  ra::Date date = date_or_today(s, f, "date");
  f.done();
  return render(ra::record_mailing(s.ra(), authenticate(s, c), id, tracking, date));
}

json mail_event(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string tracking = f.text("tracking"), event = f.text("event");
  ra::Date date = date_or_today(s, f, "date");
  f.done();
  return render(ra::record_postal_event(s.ra(), authenticate(s, c), tracking, event, date));
}

json mail_resend(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  std::string tracking = f.text("tracking");
  ra::Date date = date_or_today(s, f, "date");
  int charge = static_cast<int>(std::min<std::int64_t>(f.whole("charge"), 1 << 30));
  std::string note = f.opt_text("note").value_or("");
  f.done();
  return render(ra::resend_notice(s.ra(), authenticate(s, c), id, tracking, date, charge, note));
}

json mail_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.opt_whole("application");
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& m : ra::list_mailings(s.ra(), who, id)) out.push_back(render(m));
  return out;
}

// Cron.
json mail_expire_holds(Services& s, const Caller&, const json& request) {
  Fields(request).done();
  json out = json::array();
  for (const auto& m : ra::expire_holds(s.ra(), "cron", ra::date_in_japan(s.clock()()))) out.push_back(render(m));
  return out;
}

// ---- revocation ---------------------------------------------------------------------------------

json revocation_request(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string serial = f.text("serial");
  auto reason = ca::parse_revocation_reason(f.text("reason"));
  std::optional<UnixTime> effective;
  if (auto e = f.opt_text("effective")) effective = parse_rfc3339(*e);
  std::string note = f.opt_text("note").value_or("");
  f.done();
  auto who = authenticate(s, c);
  return render(ra::request_revocation(s.ra(), who, serial, reason, effective, note));
}

json revocation_approve(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  return render(ra::approve_revocation(s.ra(), who, id));
}

json revocation_execute(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  f.done();
  auto who = authenticate(s, c);
  return render(ra::execute_revocation(s.ra(), who, id));
}

json revocation_reject(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("id");
  std::string reason = f.text("reason");
  f.done();
  return render(ra::reject_revocation(s.ra(), authenticate(s, c), id, reason));
}

json revocation_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string state = f.opt_text("state").value_or("");
  auto page = page_of(f, "before_id");
  f.done();
  auto who = authenticate(s, c);
  auto list = ra::list_revocations(s.ra(), who, state, page);
  json out = json::array();
  for (const auto& q : list.rows) out.push_back(render(q));
  return paged(std::move(out), list.next);
}

// ---- renewal ------------------------------------------------------------------------------------

// Cron.
json notify_expiring(Services& s, const Caller&, const json& request) {
  Fields(request).done();
  json out = json::array();
  for (const auto& n : ra::send_expiry_notices(s.ra(), "cron"))
    out.push_back({{"application", n.application_id}, {"serial", n.serial}, {"email", n.email},
                   {"days_before", n.days_before}, {"not_after", format_rfc3339(n.not_after)}});
  return out;
}

json renewal_create(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto from = f.whole("from");
  auto bundle = f.whole("bundle");
  const json* changes = f.object("changes");
  f.done();
  auto decoded = decode_applicant_changes(changes ? *changes : json::object());
  auto who = authenticate(s, c);
  return {{"application", ra::create_renewal(s.ra(), who, from, bundle, decoded)}, {"renewal_of", from}};
}

// ---- company and user IDs, certificate links ------------------------------------------------------

json accounts(const std::vector<ra::Account>& list) {
  json out = json::array();
  for (const auto& a : list) out.push_back(render(a));
  return out;
}

json accounts_issue(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto bundle = f.whole("bundle");
  f.done();
  return accounts(ra::issue_bundle_accounts(s.ra(), authenticate(s, c), bundle).accounts);
}

json account_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto company = f.whole("company");
  std::string name = f.text("name"), department = f.opt_text("department").value_or(""), email = f.text("email");
  f.done();
  return render(ra::add_user_account(s.ra(), authenticate(s, c), company, name, department, email));
}

json account_change_holder(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id"), name = f.text("name");
  std::string department = f.opt_text("department").value_or(""), email = f.text("email");
  f.done();
  return render(ra::change_account_holder(s.ra(), authenticate(s, c), login_id, name, department, email));
}

json account_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto company = f.opt_whole("company");
  f.done();
  auto who = authenticate(s, c);
  return accounts(ra::list_accounts(s.ra(), who, company));
}

json account_unlock(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string login_id = f.text("login_id");
  f.done();
  ra::unlock_account(s.ra(), authenticate(s, c), login_id);
  return {{"login_id", login_id}, {"unlocked", true}};
}

json link(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto company = f.whole("company");
  ra::LinkChange change{f.text("serial"), f.opt_text("link"), f.opt_text("unlink")};
  f.done();
  json out = json::array();
  for (const auto& l : ra::change_certificate_link(s.ra(), authenticate(s, c), company, change)) out.push_back(render(l));
  return {{"serial", ca::normalize_serial(change.serial)}, {"links", out}};
}

json company_certificates(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto company = f.whole("company");
  f.done();
  auto who = authenticate(s, c);
  json out = json::array();
  for (const auto& cert : ra::company_certificates(s.ra(), who, company)) out.push_back(render(cert));
  return out;
}

// ---- a company admin's additional certificate request (RA-8) ------------------------------------

// The company admin's own act: authenticated by the company ID and its password, never by an
// operator session.
json cert_request_add(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  std::string admin = f.text("admin"), password = f.text("password"), user = f.text("user");
  const json* form = f.object("form");
  const json* pin_recipient = f.object("pin_recipient");   // enroll (seed 003)
  const json* contact = f.object("contact");
  f.done();
  auto input = decode_cert_request(user, form, pin_recipient, contact);
  limit_login(s, c, "company:" + admin);
  // The admin's password and the request are one transaction with one audit entry.
  return render(ra::request_additional_certificate(s.ra(), admin, password, input));
}

json cert_request_list(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto company = f.opt_whole("company");
  f.done();
  json out = json::array();
  for (const auto& r : ra::list_certificate_requests(s.ra(), authenticate(s, c), company)) out.push_back(render(r));
  return out;
}

json cert_request_check(Services& s, const Caller& c, const json& request) {
  Fields f(request);
  auto id = f.whole("application");
  f.done();
  return render(ra::check_certificate_request(s.ra(), authenticate(s, c), id));
}

}  // namespace

void add_ra_handlers(std::vector<Handler>& out) {
  const auto op = Access::operator_session;
  out.insert(out.end(), {
      {"ra.operator.add", op, operator_add},
      {"ra.operator.list", op, operator_list},
      {"ra.operator.unlock", op, operator_unlock},
      {"ra.operator.disable", op, operator_disable},
      {"ra.operator.approve", op, operator_approve},
      {"ra.operator.approve_by_custody", Access::local, operator_approve_by_custody},
      {"ra.operator.break_glass", Access::local, operator_break_glass},
      {"ra.operator.key", op, operator_key},
      {"ra.operator.keys", op, operator_keys},
      {"ra.operator.key_revoke", op, operator_key_revoke},
      {"ra.passwd", op, change_password},
      {"ra.whoami", op, whoami},
      {"ra.bundle.create", op, bundle_create},
      {"ra.bundle.edit", op, bundle_edit},
      {"ra.bundle.show", op, bundle_show},
      {"ra.bundle.list", op, bundle_list},
      {"ra.application.add", op, application_add},
      {"ra.application.edit", op, application_edit},
      {"ra.application.show", op, application_show},
      {"ra.application.list", op, application_list},
      {"ra.document.add", op, document_add},
      {"ra.document.list", op, document_list},
      {"ra.document.remove", op, document_remove},
      {"ra.check", op, check},
      {"ra.resubmit", op, resubmit},
      {"ra.approve", op, approve},
      {"ra.reject", op, reject},
      {"ra.withdraw", op, withdraw},
      {"ra.pin.issue", op, issue_pin},
      {"ra.pin.reissue_request", op, pin_reissue_request},
      {"ra.mail.sent", op, mail_sent},
      {"ra.mail.event", op, mail_event},
      {"ra.mail.resend", op, mail_resend},
      {"ra.mail.list", op, mail_list},
      {"ra.mail.expire_holds", Access::local, mail_expire_holds},
      {"ra.revocation.request", op, revocation_request},
      {"ra.revocation.approve", op, revocation_approve},
      {"ra.revocation.execute", op, revocation_execute},
      {"ra.revocation.reject", op, revocation_reject},
      {"ra.revocation.list", op, revocation_list},
      {"ra.notify_expiring", Access::local, notify_expiring},
      {"ra.renewal.create", op, renewal_create},
      {"ra.accounts.issue", op, accounts_issue},
      {"ra.account.add", op, account_add},
      {"ra.account.change_holder", op, account_change_holder},
      {"ra.account.list", op, account_list},
      {"ra.account.unlock", op, account_unlock},
      {"ra.link", op, link},
      {"ra.company_certificates", op, company_certificates},
      {"ra.cert_request.add", Access::request_credentials, cert_request_add},
      {"ra.cert_request.list", op, cert_request_list},
      {"ra.cert_request.check", op, cert_request_check},
  });
}

}  // namespace jitsuin::api
