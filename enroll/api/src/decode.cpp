#include "jitsuin/api/decode.h"

#include "jitsuin/api/request.h"
#include "jitsuin/core/error.h"

namespace jitsuin::api {

using nlohmann::json;

namespace {

int small_int(Fields& f, const std::optional<std::int64_t>& v, const std::string& name) {
  JITSUIN_ARG_CHECK(!v || (*v >= -1000000 && *v <= 1000000), f.field(name) + " is out of range");
  return static_cast<int>(*v);
}

ra::ApplicantChanges applicant_fields(Fields& f) {
  ra::ApplicantChanges c;
  c.name_kanji = f.opt_text("name_kanji");
  c.name_kana = f.opt_text("name_kana");
  c.name_romaji = f.opt_text("name_romaji");
  c.organization_romaji = f.opt_text("organization_romaji");
  c.department_romaji = f.opt_text("department_romaji");
  c.title_romaji = f.opt_text("title_romaji");
  c.email = f.opt_text("email");
  c.postcode = f.opt_text("postcode");
  c.home_address = f.opt_text("home_address");
  c.profile = f.opt_text("profile");
  if (auto v = f.opt_integer("validity_years")) c.validity_years = small_int(f, v, "validity_years");
  f.done();
  return c;
}

ra::ContactInput decode_contact(const json& j, const std::string& where) {
  Fields f(j, where);
  ra::ContactInput c;
  c.role = f.opt_text("role").value_or("");
  c.name = f.opt_text("name").value_or("");
  c.department = f.opt_text("department").value_or("");
  c.email = f.opt_text("email").value_or("");
  c.phone = f.opt_text("phone").value_or("");
  c.address = f.opt_text("address").value_or("");
  f.done();
  return c;
}

std::vector<ra::ContactInput> decode_contacts(const json& list) {
  std::vector<ra::ContactInput> out;
  for (std::size_t i = 0; i < list.size(); ++i) out.push_back(decode_contact(list[i], "contacts[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

ra::ApplicantInput decode_applicant(const json& j) {
  Fields f(j, "Form 5");
  return applicant_fields(f).apply(ra::ApplicantInput{});
}

ra::CertificateRequestInput decode_cert_request(const std::string& user, const json* form, const json* pin_recipient,
                                                const json* contact) {
  ra::CertificateRequestInput in{user, decode_applicant(form ? *form : json::object())};
  if (pin_recipient) {
    Fields p(*pin_recipient, "pin_recipient");
    in.pin_recipient_name = p.opt_text("name").value_or("");
    in.pin_recipient_email = p.text("email");
    p.done();
  }
  if (contact) {
    Fields c(*contact, "contact");
    in.contact_name = c.opt_text("name").value_or("");
    in.contact_department = c.opt_text("department").value_or("");
    in.contact_phone = c.opt_text("phone").value_or("");
    in.contact_email = c.opt_text("email").value_or("");
    c.done();
  }
  return in;
}

ra::ApplicantChanges decode_applicant_changes(const json& j) {
  Fields f(j, "the Form-5 changes");
  return applicant_fields(f);
}

ra::BundleInput decode_bundle(const json& j) {
  Fields f(j, "the bundle");
  ra::BundleInput b;
  if (f.has("company_id")) {
    b.company_id = f.whole("company_id");
    JITSUIN_ARG_CHECK(!f.has("company"), "give either company_id (existing company) or company, not both");
    f.value("company");
  } else {
    const json* c = f.object("company");
    JITSUIN_ARG_CHECK(c, "the bundle needs company (Form 1) or company_id");
    Fields cf(*c, "company");
    b.company.name = cf.opt_text("name").value_or("");
    b.company.name_kana = cf.opt_text("name_kana").value_or("");
    b.company.name_romaji = cf.opt_text("name_romaji").value_or("");
    b.company.address = cf.opt_text("address").value_or("");
    b.company.representative_name = cf.opt_text("representative_name").value_or("");
    b.company.representative_title = cf.opt_text("representative_title").value_or("");
    cf.done();
  }
  if (auto v = f.opt_text("contract_kind")) b.contract_kind = *v;
  if (auto v = f.opt_text("applied_by")) b.applied_by = *v;
  auto received = f.opt_text("received_on");
  JITSUIN_ARG_CHECK(received, "received_on (the date the bundle arrived) is required");
  b.received_on = ra::Date::parse(*received, "received_on");
  b.seal_form = f.flag("seal_form");
  b.seal_description = f.opt_text("seal_description").value_or("");
  b.applicant_list = f.flag("applicant_list");
  if (auto v = f.opt_integer("token_quantity")) b.token_quantity = small_int(f, v, "token_quantity");
  b.note = f.opt_text("note").value_or("");
  if (const json* c = f.array("contacts")) b.contacts = decode_contacts(*c);
  if (const json* a = f.array("applicants"))
    for (const auto& form : *a) b.applicants.push_back(decode_applicant(form));
  if (const json* u = f.array("users"))
    for (std::size_t i = 0; i < u->size(); ++i) {
      Fields uf((*u)[i], "users[" + std::to_string(i) + "]");
      b.users.push_back({uf.opt_text("name").value_or(""), uf.opt_text("department").value_or(""),
                         uf.opt_text("email").value_or("")});
      uf.done();
    }
  f.done();
  return b;
}

ra::BundleChanges decode_bundle_changes(const json& j) {
  Fields f(j, "the bundle changes");
  ra::BundleChanges c;
  if (auto v = f.opt_text("received_on")) c.received_on = ra::Date::parse(*v, "received_on");
  c.seal_form = f.opt_boolean("seal_form");
  c.seal_description = f.opt_text("seal_description");
  c.applicant_list = f.opt_boolean("applicant_list");
  if (auto v = f.opt_integer("token_quantity")) c.token_quantity = small_int(f, v, "token_quantity");
  c.note = f.opt_text("note");
  c.applied_by = f.opt_text("applied_by");
  c.contract_kind = f.opt_text("contract_kind");
  if (const json* list = f.array("contacts")) c.contacts = decode_contacts(*list);
  f.done();
  return c;
}

}  // namespace jitsuin::api
