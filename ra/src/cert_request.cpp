#include "jitsuin/ra/cert_request.h"

#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/outbox.h"
#include "mail_templates.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

constexpr const char* kSelect =
    "SELECT r.id, r.application_id, r.bundle_id, r.company_id, adm.login_id, usr.login_id, r.requested_at, a.state, "
    "a.name_kanji, a.name_romaji, a.certificate_serial, r.link_id IS NOT NULL, r.link_note, "
    "r.pin_recipient_name, r.pin_recipient_email, r.contact_name, r.contact_department, r.contact_phone, "
    "r.contact_email "
    "FROM ra_certificate_requests r JOIN ra_applications a ON a.id = r.application_id "
    "JOIN ra_accounts adm ON adm.id = r.requested_by JOIN ra_accounts usr ON usr.id = r.user_account_id ";

CertificateRequest read(db::Statement& st) {
  CertificateRequest r;
  r.id = st.int64(0);
  r.application_id = st.int64(1);
  r.bundle_id = st.int64(2);
  r.company_id = st.int64(3);
  r.requested_by = st.text(4);
  r.user_login_id = st.text(5);
  r.requested_at = st.int64(6);
  r.state = parse_state(st.text(7));
  r.name_kanji = st.text(8);
  r.name_romaji = st.text(9);
  r.serial = st.opt_text(10);
  r.linked = st.int64(11) != 0;
  r.link_note = st.text(12);
  r.pin_recipient_name = st.opt_text(13).value_or("");
  r.pin_recipient_email = st.opt_text(14).value_or("");
  r.contact_name = st.opt_text(15).value_or("");
  r.contact_department = st.opt_text(16).value_or("");
  r.contact_phone = st.opt_text(17).value_or("");
  r.contact_email = st.opt_text(18).value_or("");
  return r;
}

std::string admin_actor(const std::string& login_id) { return "company:" + login_id; }

// The requester must be a company admin (企業ID holder; user IDs do contract work only), and the
// company ID still enabled and not locked: re-read inside the caller's transaction.
void require_company_admin(const Principal& who) {
  if (who.kind() != PrincipalKind::company_admin)
    throw Error(ErrorKind::forbidden, principal_kind_name(who.kind()) + " '" + who.name() +
                                          "' is not a company admin ID (企業ID); only a company admin can request an "
                                          "additional certificate");
}

// Outcomes a person can cause or fix (a disabled or transferred user ID): the certificate is still
// issued, the link is skipped and the reason kept. Database errors propagate.
bool is_refusal(const Error& e) {
  return e.kind() == ErrorKind::forbidden || e.kind() == ErrorKind::conflict || e.kind() == ErrorKind::invalid_input ||
         e.kind() == ErrorKind::not_found;
}

}  // namespace

namespace {

// Files a company admin's request inside the caller's transaction; returns its application id.
std::int64_t file_request(RaContext& ctx, const Principal& who, const CertificateRequestInput& input) {
  require_company_admin(who);
  JITSUIN_ARG_CHECK(!input.user_login_id.empty(), "give the user ID (ユーザID) the new certificate is for");
  require_company_admin(who);
  Account admin = detail::live_company_admin(ctx, who);
  Account user = detail::company_user(ctx, admin.company_id, input.user_login_id);
  ApplicantInput form = input.form;
  {
    // The certificate names the contracting company (issue 8): empty means the company's romaji
    // name; another organisation is refused at entry (there is no paper check to catch it).
    db::Statement c(ctx.db, "SELECT name_romaji FROM ra_companies WHERE id = ?");
    c.bind(1, admin.company_id);
    if (c.step()) {
      if (form.organization_romaji.empty()) form.organization_romaji = c.text(0);
      JITSUIN_ARG_CHECK(form.organization_romaji == c.text(0),
                        "organization_romaji '" + form.organization_romaji + "' is not the company's romaji name '" +
                            c.text(0) + "' (Form 1); the certificate can only name the contracting company");
    }
  }
  validate_applicant(ctx, form);   // RA-8 romaji rules, validity, e-mail, kana
  // Seed 003: the PIN recipient and the requester contact (defaults: Form-5 e-mail, the admin).
  std::string pin_name = detail::text_field(input.pin_recipient_name, "pin_recipient.name", 100, false);
  std::string pin_email = detail::text_field(input.pin_recipient_email, "pin_recipient.email", 254, false);
  JITSUIN_ARG_CHECK(pin_email.empty() || mail::is_valid_address(pin_email),
                    "pin_recipient.email '" + pin_email + "' is not a valid e-mail address");
  JITSUIN_ARG_CHECK(pin_name.empty() || !pin_email.empty(), "pin_recipient needs an e-mail address with its name");
  std::string contact_name = detail::text_field(input.contact_name, "contact.name", 100, false);
  std::string contact_department = detail::text_field(input.contact_department, "contact.department", 100, false);
  std::string contact_phone = detail::text_field(input.contact_phone, "contact.phone", 30, false);
  std::string contact_email = detail::text_field(input.contact_email, "contact.email", 254, false);
  JITSUIN_ARG_CHECK(contact_email.empty() || mail::is_valid_address(contact_email),
                    "contact.email '" + contact_email + "' is not a valid e-mail address");
  {
    db::Statement pending(ctx.db,
                       "SELECT r.application_id FROM ra_certificate_requests r JOIN ra_applications a "
                       "ON a.id = r.application_id WHERE r.user_account_id = ? "
                       "AND a.state NOT IN ('issued', 'rejected', 'withdrawn')");
    pending.bind(1, user.id);
    if (pending.step())
      throw Error(ErrorKind::conflict, "user ID " + user.login_id + " already has an additional certificate request in "
                                       "progress (application " + std::to_string(pending.int64(0)) + ")");
  }
  UnixTime now = ctx.clock();
  const std::string actor = admin_actor(admin.login_id);
  // The request's own bundle: received online today, no paper forms.
  db::Statement bundle(ctx.db,
                       "INSERT INTO ra_bundles (company_id, contract_kind, applied_by, received_on, note, created_by, "
                       "created_at, updated_at) VALUES (?, 'change', 'representative', ?, ?, ?, ?, ?)");
  bundle.bind(1, admin.company_id).bind(2, date_in_japan(now).str());
  bundle.bind(3, "電子証明書追加発行申請 (additional certificate request) by company ID " + admin.login_id +
                     " for user ID " + user.login_id);
  bundle.bind(4, actor).bind(5, now).bind(6, now).exec();
  std::int64_t bundle_id = ctx.db.last_insert_rowid();
  std::int64_t app_id = detail::insert_application(
      ctx, actor, bundle_id, form, std::nullopt,
      {{"request", "additional_certificate"}, {"company", admin.company_id}, {"user_id", user.login_id}});
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_certificate_requests (application_id, bundle_id, company_id, requested_by, "
                    "user_account_id, user_name, user_email, requested_at, pin_recipient_name, pin_recipient_email, "
                    "contact_name, contact_department, contact_phone, contact_email) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, app_id).bind(2, bundle_id).bind(3, admin.company_id).bind(4, admin.id).bind(5, user.id);
  ins.bind(6, user.name).bind(7, user.email).bind(8, now);
  ins.bind(9, pin_email.empty() ? form.name_kanji : (pin_name.empty() ? pin_email : pin_name));
  ins.bind(10, pin_email.empty() ? form.email : pin_email);
  ins.bind(11, contact_name.empty() ? admin.name : contact_name).bind(12, contact_department);
  ins.bind(13, contact_phone).bind(14, contact_email.empty() ? admin.email : contact_email).exec();
  // Seed 003: "request received" goes to the requester contact (申請ご担当者宛).
  enqueue_mail(ctx.db,
               {contact_email.empty() ? admin.email : contact_email, "application_received", "ja",
                {{"name", contact_name.empty() ? admin.name : contact_name},
                 {"application_number", std::to_string(app_id)},
                 {"received_at", now}}},
               now);
  return app_id;
}

}  // namespace

CertificateRequest request_additional_certificate(RaContext& ctx, const Principal& who,
                                                  const CertificateRequestInput& input) {
  db::Transaction tx(ctx.db);
  std::int64_t app_id = file_request(ctx, who, input);
  tx.commit();
  return *detail::find_certificate_request(ctx, app_id);
}

CertificateRequest request_additional_certificate(RaContext& ctx, const std::string& admin_login_id,
                                                  const std::string& password, const CertificateRequestInput& input) {
  std::int64_t app_id = 0;
  auto login = login_account(ctx, admin_login_id, password,
                             [&](const Principal& who) { app_id = file_request(ctx, who, input); });
  if (!login.principal) throw Error(ErrorKind::unauthenticated, login.message);
  return *detail::find_certificate_request(ctx, app_id);
}

CertificateRequest check_certificate_request(RaContext& ctx, const Principal& by, std::int64_t application_id) {
  by.require(Permission::enter, "check additional certificate requests");
  db::Transaction tx(ctx.db);
  auto r = detail::find_certificate_request(ctx, application_id);
  if (!r)
    throw Error(ErrorKind::not_found, "application " + std::to_string(application_id) +
                                          " is not a company admin's additional certificate request; paper bundles are "
                                          "checked with jitsuin ra check");
  Account admin = detail::get_account(ctx, r->requested_by);
  if (admin.disabled)
    throw Error(ErrorKind::conflict, "company ID " + admin.login_id + " that made the request is disabled now; reject it");
  Account user = detail::company_user(ctx, r->company_id, r->user_login_id);
  {
    db::Statement st(ctx.db, "SELECT user_name, user_email FROM ra_certificate_requests WHERE id = ?");
    st.bind(1, r->id);
    st.step();
    if (st.text(0) != user.name || st.text(1) != user.email)
      throw Error(ErrorKind::conflict, "user ID " + user.login_id + " changed hands (利用者変更) after the request; "
                                       "reject it and let the company ask again");
  }
  detail::transition(ctx, application_id, State::checked, by.actor(), "additional certificate request checked",
                     {{"user_id", user.login_id}, {"requested_by", admin.login_id}});
  db::Statement up(ctx.db, "UPDATE ra_applications SET checked_by = ? WHERE id = ?");
  up.bind(1, by.actor()).bind(2, application_id).exec();
  tx.commit();
  return *detail::find_certificate_request(ctx, application_id);
}

std::optional<CertificateRequest> detail::find_certificate_request(RaContext& ctx, std::int64_t application_id) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE r.application_id = ?");
  st.bind(1, application_id);
  if (!st.step()) return std::nullopt;
  return read(st);
}

std::vector<CertificateRequest> list_certificate_requests(RaContext& ctx, const Principal& by,
                                                          std::optional<std::int64_t> company_id) {
  if (by.is_operator())
    by.require(Permission::read, "list additional certificate requests");
  else if (!company_id || !by.is_company_admin_of(*company_id))
    throw Error(ErrorKind::forbidden, principal_kind_name(by.kind()) + " " + by.name() +
                                          " may list only the additional certificate requests of its own company");
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE ?1 IS NULL OR r.company_id = ?1 ORDER BY r.id");
  st.bind(1, company_id);
  std::vector<CertificateRequest> out;
  while (st.step()) out.push_back(read(st));
  return out;
}

namespace detail {

json link_requested_certificate(RaContext& ctx, std::int64_t application_id, const std::string& serial) {
  std::int64_t request_id = 0, company_id = 0;
  std::string user_login, user_name, user_email, admin_login;
  {
    db::Statement st(ctx.db,
                     "SELECT r.id, r.company_id, u.login_id, r.user_name, r.user_email, adm.login_id "
                     "FROM ra_certificate_requests r JOIN ra_accounts u ON u.id = r.user_account_id "
                     "JOIN ra_accounts adm ON adm.id = r.requested_by WHERE r.application_id = ?");
    st.bind(1, application_id);
    if (!st.step()) return json::object();
    request_id = st.int64(0);
    company_id = st.int64(1);
    user_login = st.text(2);
    user_name = st.text(3);
    user_email = st.text(4);
    admin_login = st.text(5);
  }
  // The certificate exists once the CA has issued it: a link that cannot be made any more must not
  // undo the issuance's bookkeeping. It is skipped, and the reason kept for the operators.
  std::optional<std::int64_t> link_id;
  std::string note;
  try {
    Account user = company_user(ctx, company_id, user_login);
    if (user.name != user_name || user.email != user_email)
      note = "user ID " + user_login + " changed hands after the request; not linked (jitsuin ra link if wanted)";
    else
      link_id = link_certificate(ctx, admin_actor(admin_login), company_id, user, serial);
  } catch (const Error& e) {
    if (!is_refusal(e)) throw;
    note = std::string(e.what()) + "; not linked";
  }
  db::Statement up(ctx.db, "UPDATE ra_certificate_requests SET link_id = ?, link_note = ? WHERE id = ?");
  up.bind(1, link_id).bind(2, note).bind(3, request_id).exec();
  if (link_id) return {{"linked_user", user_login}, {"linked_for", admin_actor(admin_login)}};
  return {{"link_skipped", note}, {"user_id", user_login}};
}

void require_paper_bundle(RaContext& ctx, std::int64_t bundle_id, const std::string& what) {
  db::Statement st(ctx.db, "SELECT application_id FROM ra_certificate_requests WHERE bundle_id = ?");
  st.bind(1, bundle_id);
  if (st.step())
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " holds a company admin's additional "
                                     "certificate request (application " + std::to_string(st.int64(0)) +
                                     "), received online without paper forms; cannot " + what);
}

}  // namespace detail

std::optional<CertificateRequest> find_certificate_request(RaContext& ctx, const Principal& by,
                                                           std::int64_t application_id) {
  if (by.is_operator()) by.require(Permission::read, "show an additional certificate request");
  auto r = detail::find_certificate_request(ctx, application_id);
  // A company admin learns nothing of another company's requests, not even that one exists.
  if (!by.is_operator())
    detail::require_company_read(by, r ? std::optional<std::int64_t>(r->company_id) : std::nullopt,
                                 "show an additional certificate request");
  return r;
}

}  // namespace jitsuin::ra
