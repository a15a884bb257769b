#include "jitsuin/api/render.h"

namespace jitsuin::api {

using nlohmann::json;

namespace {
std::string stored_time(const std::optional<UnixTime>& t) { return t ? format_rfc3339(*t) : std::string(); }
}  // namespace

json render(const ca::CertificateRecord& r, UnixTime now) {
  json j = {{"serial", r.serial_hex},         {"issuer", r.issuer_role},
            {"profile", r.profile},           {"subject", r.subject},
            {"not_before", format_rfc3339(r.not_before)}, {"not_after", format_rfc3339(r.not_after)},
            {"issued_at", format_rfc3339(r.issued_at)},   {"status", r.status(now)}};
  if (r.revocation_effective) {
    j["revoked_at"] = format_rfc3339(*r.revoked_at);
    j["revocation_effective"] = format_rfc3339(*r.revocation_effective);
    j["revocation_reason"] = ca::revocation_reason_name(*r.reason);
  }
  return j;
}

json render(const ca::AuthorityInfo& au, UnixTime now) {
  return {{"role", au.role},
          {"subject", au.subject},
          {"key", au.key_uri},
          {"key_algorithm", au.key_algorithm},
          {"serial", au.certificate.serial_hex},
          {"not_before", format_rfc3339(au.certificate.not_before)},
          {"not_after", format_rfc3339(au.certificate.not_after)},
          {"status", au.certificate.status(now)},
          {"last_crl_number", au.crl_number}};
}

json render(const ra::Bundle& b) {
  json j = {{"id", b.id},
            {"company_id", b.company_id},
            {"company",
             {{"name", b.company.name},
              {"name_kana", b.company.name_kana},
              {"name_romaji", b.company.name_romaji},
              {"address", b.company.address},
              {"representative_name", b.company.representative_name},
              {"representative_title", b.company.representative_title}}},
            {"contract_kind", b.contract_kind},
            {"applied_by", b.applied_by},
            {"received_on", b.received_on.str()},
            {"seal_form", b.seal_form},
            {"seal_description", b.seal_description},
            {"applicant_list", b.applicant_list},
            {"token_quantity", b.token_quantity},
            {"note", b.note},
            {"created_by", b.created_by},
            {"created_at", format_rfc3339(b.created_at)},
            {"contacts", json::array()},
            {"users", json::array()},
            {"applications", json::array()}};
  for (const auto& c : b.contacts)
    j["contacts"].push_back({{"role", c.role}, {"name", c.name}, {"department", c.department}, {"email", c.email},
                             {"phone", c.phone}, {"address", c.address}});
  for (const auto& u : b.users) j["users"].push_back({{"name", u.name}, {"department", u.department}, {"email", u.email}});
  for (const auto& a : b.applications)
    j["applications"].push_back({{"id", a.id}, {"state", ra::state_name(a.state)}, {"name_kanji", a.form.name_kanji},
                                 {"name_romaji", a.form.name_romaji}});
  return j;
}


json render(const ra::Application& a) {
  json j = {{"id", a.id},
            {"bundle", a.bundle_id},
            {"company_id", a.company_id},
            {"company", a.company_name},
            {"state", ra::state_name(a.state)},
            {"name_kanji", a.form.name_kanji},
            {"name_kana", a.form.name_kana},
            {"name_romaji", a.form.name_romaji},
            {"organization_romaji", a.form.organization_romaji},
            {"department_romaji", a.form.department_romaji},
            {"title_romaji", a.form.title_romaji},
            {"email", a.form.email},
            {"postcode", a.form.postcode},
            {"home_address", a.form.home_address},
            {"validity_years", a.form.validity_years},
            {"profile", a.form.profile},
            {"created_by", a.created_by},
            {"created_at", format_rfc3339(a.created_at)},
            {"updated_at", format_rfc3339(a.updated_at)},
            {"pin_failures", a.pin_failures}};
  if (a.renewal_of) j["renewal_of"] = *a.renewal_of;
  if (a.checked_by) j["checked_by"] = *a.checked_by;
  if (a.approved_by) j["approved_by"] = *a.approved_by, j["approved_at"] = stored_time(a.approved_at);
  if (a.pin_issued_by) j["pin_issued_by"] = *a.pin_issued_by, j["pin_issued_at"] = stored_time(a.pin_issued_at);
  if (a.pin_expires_at) j["pin_expires_at"] = stored_time(a.pin_expires_at);
  if (a.pin_locked_at) j["pin_locked_at"] = stored_time(a.pin_locked_at);
  if (a.pin_reissue_requested_by) j["pin_reissue_requested_by"] = *a.pin_reissue_requested_by;
  if (a.certificate_serial) j["certificate_serial"] = *a.certificate_serial, j["issued_at"] = stored_time(a.issued_at);
  return j;
}


json render(const ra::Document& d) {
  json j = {{"id", d.id},
            {"bundle", d.bundle_id},
            {"kind", ra::document_kind_name(d.kind)},
            {"kind_ja", ra::document_kind_japanese(d.kind)},
            {"issued_on", d.issued_on.str()},
            {"received_on", d.received_on.str()},
            {"accepted_until", ra::document_accepted_until(d.issued_on).str()},
            {"original", d.original},
            {"note", d.note},
            {"recorded_by", d.recorded_by},
            {"recorded_at", format_rfc3339(d.recorded_at)}};
  if (d.application_id) j["application"] = *d.application_id;
  return j;
}

json render(const ra::Deficiency& d) {
  json j = {{"code", d.code}, {"message", d.message}, {"message_ja", d.message_ja}};
  if (d.application_id) j["application"] = *d.application_id;
  return j;
}

json render(const ra::Mailing& m) {
  json j = {{"id", m.id},          {"application", m.application_id}, {"tracking_number", m.tracking_number},
            {"state", m.state},    {"sent_on", m.sent_on.str()},      {"charge_yen", m.charge_yen},
            {"recorded_by", m.recorded_by}};
  if (m.held_on) j["held_on"] = m.held_on->str(), j["hold_ends"] = m.hold_ends()->str();
  if (m.delivered_on) j["delivered_on"] = m.delivered_on->str();
  if (m.returned_on) j["returned_on"] = m.returned_on->str();
  if (m.resend_of) j["resend_of"] = *m.resend_of;
  return j;
}

json render(const ra::RevocationRequest& r) {
  json j = {{"id", r.id},
            {"serial", r.serial},
            {"reason", ca::revocation_reason_name(r.reason)},
            {"note", r.note},
            {"state", r.state},
            {"requested_by", r.requested_by},
            {"requested_at", format_rfc3339(r.requested_at)},
            {"effective_at", format_rfc3339(r.effective_at)}};
  if (r.application_id) j["application"] = *r.application_id;
  if (r.decided_by) j["decided_by"] = *r.decided_by, j["decided_at"] = format_rfc3339(*r.decided_at);
  if (r.rejection_reason) j["rejection_reason"] = *r.rejection_reason;
  return j;
}

json render(const ra::Account& a) {
  return {{"id", a.id},
          {"login_id", a.login_id},
          {"kind", a.kind},
          {"company_id", a.company_id},
          {"name", a.name},
          {"department", a.department},
          {"email", a.email},
          {"must_change_password", a.must_change_password},
          {"disabled", a.disabled},
          {"locked", a.locked},
          {"created_at", format_rfc3339(a.created_at)}};
}

json render(const ra::CertificateLink& l) {
  json j = {{"serial", l.serial},
            {"user_id", l.login_id},
            {"linked_by", l.linked_by},
            {"linked_at", format_rfc3339(l.linked_at)}};
  if (l.unlinked_at) j["unlinked_by"] = *l.unlinked_by, j["unlinked_at"] = format_rfc3339(*l.unlinked_at);
  return j;
}

json render(const ra::CertificateRequest& r) {
  json j = {{"id", r.id},
            {"application", r.application_id},
            {"bundle", r.bundle_id},
            {"company_id", r.company_id},
            {"requested_by", r.requested_by},
            {"user_id", r.user_login_id},
            {"requested_at", format_rfc3339(r.requested_at)},
            {"state", ra::state_name(r.state)},
            {"name_kanji", r.name_kanji},
            {"name_romaji", r.name_romaji},
            {"linked", r.linked}};
  if (r.serial) j["serial"] = *r.serial;
  if (!r.link_note.empty()) j["link_note"] = r.link_note;
  // enroll (seed 003): where the download PIN goes and whom the RA calls.
  if (!r.pin_recipient_email.empty())
    j["pin_recipient"] = {{"name", r.pin_recipient_name}, {"email", r.pin_recipient_email}};
  if (!r.contact_email.empty())
    j["contact"] = {{"name", r.contact_name}, {"department", r.contact_department}, {"phone", r.contact_phone},
                    {"email", r.contact_email}};
  return j;
}

json render(const ra::CompanyCertificate& c) {
  return {{"application", c.application_id}, {"serial", c.serial}, {"holder", c.holder},
          {"holder_romaji", c.holder_romaji}, {"not_before", format_rfc3339(c.not_before)},
          {"not_after", format_rfc3339(c.not_after)}, {"status", c.status}, {"users", c.users}};
}

}  // namespace jitsuin::api
