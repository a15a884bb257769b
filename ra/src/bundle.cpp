#include "jitsuin/ra/bundle.h"

#include <algorithm>
#include <set>

#include "jitsuin/ca/profile.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/outbox.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

ContactInput validated(const ContactInput& c) {
  JITSUIN_ARG_CHECK(c.role == "contact" || c.role == "billing",
                    "Form-4 role must be \"contact\" or \"billing\", not '" + c.role + "'");
  ContactInput o;
  o.role = c.role;
  o.name = detail::text_field(c.name, "Form-4 " + c.role + " name", 64, true);
  o.department = detail::text_field(c.department, "Form-4 " + c.role + " department", 64, false);
  o.email = detail::text_field(c.email, "Form-4 " + c.role + " email", 128, true);
  JITSUIN_ARG_CHECK(is_valid_email(o.email), "Form-4 " + c.role + " email '" + o.email + "' is not a valid address");
  o.phone = detail::text_field(c.phone, "Form-4 " + c.role + " phone", 20, false);
  for (char ch : o.phone)
    JITSUIN_ARG_CHECK((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == ' ' || ch == '(' || ch == ')',
                      "Form-4 " + c.role + " phone '" + o.phone + "' may hold digits, '-', '+', '(', ')' and spaces only");
  o.address = detail::text_field(c.address, "Form-4 " + c.role + " address", 200, false);
  return o;
}

CompanyInput validated(const CompanyInput& c) {
  CompanyInput o;
  o.name = detail::text_field(c.name, "company name", 100, true);
  o.name_kana = detail::text_field(c.name_kana, "company name_kana", 100, true);
  o.name_romaji = detail::text_field(c.name_romaji, "company name_romaji", 40, true);
  JITSUIN_ARG_CHECK(ca::is_romaji(o.name_romaji), "company name_romaji must be romaji: half-width letters, digits, "
                                                  "space, hyphen and dot only (got '" + o.name_romaji + "')");
  o.address = detail::text_field(c.address, "company address", 200, true);
  o.representative_name = detail::text_field(c.representative_name, "representative_name", 64, true);
  o.representative_title = detail::text_field(c.representative_title, "representative_title", 64, true);
  return o;
}

void check_bundle_fields(const std::string& contract_kind, const std::string& applied_by, int token_quantity) {
  JITSUIN_ARG_CHECK(contract_kind == "new" || contract_kind == "change",
                    "contract_kind must be \"new\" or \"change\", not '" + contract_kind + "'");
  JITSUIN_ARG_CHECK(applied_by == "representative" || applied_by == "manager",
                    "applied_by must be \"representative\" (代表者) or \"manager\" (支配人), not '" + applied_by + "'");
  JITSUIN_ARG_CHECK(token_quantity >= 0 && token_quantity <= 1000, "token_quantity must be between 0 and 1000");
}

void check_received(RaContext& ctx, const Date& received) {
  Date today = date_in_japan(ctx.clock());
  JITSUIN_ARG_CHECK(received <= today, "received_on " + received.str() + " is in the future (today is " + today.str() + ")");
}

void insert_contacts(RaContext& ctx, std::int64_t bundle_id, const std::vector<ContactInput>& contacts) {
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_contacts (bundle_id, role, name, department, email, phone, address) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)");
  for (const auto& c : contacts) {
    ins.reset();
    ins.bind(1, bundle_id).bind(2, c.role).bind(3, c.name).bind(4, c.department).bind(5, c.email).bind(6, c.phone);
    ins.bind(7, c.address).exec();
  }
}

std::vector<ContactInput> validated_contacts(const std::vector<ContactInput>& in) {
  std::vector<ContactInput> out;
  std::set<std::string> roles;
  for (const auto& c : in) {
    out.push_back(validated(c));
    JITSUIN_ARG_CHECK(roles.insert(c.role).second, "Form 4 names more than one " + c.role + " person");
  }
  return out;
}

}  // namespace

std::vector<std::string> BundleChanges::names() const {
  std::vector<std::string> out;
  if (applicant_list) out.push_back("applicant_list");
  if (applied_by) out.push_back("applied_by");
  if (contacts) out.push_back("contacts");
  if (contract_kind) out.push_back("contract_kind");
  if (note) out.push_back("note");
  if (received_on) out.push_back("received_on");
  if (seal_description) out.push_back("seal_description");
  if (seal_form) out.push_back("seal_form");
  if (token_quantity) out.push_back("token_quantity");
  return out;
}

BundleCreated create_bundle(RaContext& ctx, const Principal& by, const BundleInput& in) {
  by.require(Permission::enter, "register application bundles");
  // Validate everything before the transaction: an error leaves nothing behind.
  check_bundle_fields(in.contract_kind, in.applied_by, in.token_quantity);
  check_received(ctx, in.received_on);
  CompanyInput company;
  if (!in.company_id) company = validated(in.company);
  auto contacts = validated_contacts(in.contacts);
  for (std::size_t i = 0; i < in.applicants.size(); ++i) {
    try {
      validate_applicant(ctx, in.applicants[i]);
    } catch (const Error& e) {
      throw Error(e.kind(), "applicant " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  std::vector<UserInput> users;
  for (const auto& u : in.users) {
    UserInput v{detail::text_field(u.name, "Form-6 user name", 64, true),
                detail::text_field(u.department, "Form-6 user department", 64, false),
                detail::text_field(u.email, "Form-6 user email", 128, true)};
    JITSUIN_ARG_CHECK(is_valid_email(v.email), "Form-6 user email '" + v.email + "' is not a valid address");
    users.push_back(v);
  }
  std::string note = detail::text_field(in.note, "note", 1000, false);
  std::string seal = detail::text_field(in.seal_description, "seal_description", 200, false);

  db::Transaction tx(ctx.db);
  UnixTime now = ctx.clock();
  BundleCreated out;
  if (in.company_id) {
    db::Statement st(ctx.db, "SELECT id FROM ra_companies WHERE id = ?");
    st.bind(1, *in.company_id);
    if (!st.step()) throw Error(ErrorKind::not_found, "no company " + std::to_string(*in.company_id));
    out.company_id = *in.company_id;
  } else {
    db::Statement ins(ctx.db,
                      "INSERT INTO ra_companies (name, name_kana, name_romaji, address, representative_name, "
                      "representative_title, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    ins.bind(1, company.name).bind(2, company.name_kana).bind(3, company.name_romaji).bind(4, company.address);
    ins.bind(5, company.representative_name).bind(6, company.representative_title).bind(7, now).bind(8, now).exec();
    out.company_id = ctx.db.last_insert_rowid();
  }
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_bundles (company_id, contract_kind, applied_by, received_on, seal_form_received, "
                    "seal_description, applicant_list_received, token_quantity, note, created_by, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, out.company_id).bind(2, in.contract_kind).bind(3, in.applied_by).bind(4, in.received_on.str());
  ins.bind(5, in.seal_form ? 1 : 0).bind(6, seal).bind(7, in.applicant_list ? 1 : 0).bind(8, in.token_quantity);
  ins.bind(9, note).bind(10, by.actor()).bind(11, now).bind(12, now).exec();
  out.bundle_id = ctx.db.last_insert_rowid();
  insert_contacts(ctx, out.bundle_id, contacts);
  db::Statement uins(ctx.db,
                     "INSERT INTO ra_user_applications (bundle_id, name, department, email, created_at) "
                     "VALUES (?, ?, ?, ?, ?)");
  for (const auto& u : users) {
    uins.reset();
    uins.bind(1, out.bundle_id).bind(2, u.name).bind(3, u.department).bind(4, u.email).bind(5, now).exec();
  }
  // One entry for the whole bundle: it names each application created with it.
  json created = json::array();
  for (const auto& a : in.applicants) {
    std::int64_t id = detail::insert_application(ctx, by.actor(), out.bundle_id, a, std::nullopt, json::object(),
                                                 detail::TransitionAudit::caller);
    out.application_ids.push_back(id);
    created.push_back({{"id", id}, {"name_romaji", a.name_romaji}, {"profile", a.profile},
                       {"validity_years", a.validity_years}});
  }
  detail::audit(ctx, by.actor(), "ra.bundle.create", "bundle:" + std::to_string(out.bundle_id),
                {{"company", out.company_id},
                 {"applications", created},
                 {"users", users.size()},
                 {"received_on", in.received_on.str()}});
  for (const auto& c : contacts)
    if (c.role == "contact")
      enqueue_mail(ctx.db,
                   {c.email, "application_received", "ja",
                    {{"name", c.name}, {"application_number", "B" + std::to_string(out.bundle_id)}, {"received_at", now}}},
                   now);
  tx.commit();
  return out;
}

void edit_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const BundleChanges& changes) {
  by.require(Permission::enter, "edit application bundles");
  JITSUIN_ARG_CHECK(!changes.empty(), "no changes given");
  db::Transaction tx(ctx.db);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  for (const auto& a : b.applications)
    if (a.state != State::received && a.state != State::incomplete && a.state != State::resubmitted &&
        a.state != State::rejected && a.state != State::withdrawn)
      throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " has been checked (application " +
                                           std::to_string(a.id) + " is " + state_name(a.state) +
                                           "); its forms can no longer change");
  Date received = changes.received_on.value_or(b.received_on);
  check_received(ctx, received);
  bool seal_form = changes.seal_form.value_or(b.seal_form);
  bool list = changes.applicant_list.value_or(b.applicant_list);
  std::string seal = changes.seal_description
                         ? detail::text_field(*changes.seal_description, "seal_description", 200, false)
                         : b.seal_description;
  std::string note = changes.note ? detail::text_field(*changes.note, "note", 1000, false) : b.note;
  std::string applied_by = changes.applied_by.value_or(b.applied_by);
  std::string kind = changes.contract_kind.value_or(b.contract_kind);
  int quantity = changes.token_quantity.value_or(b.token_quantity);
  check_bundle_fields(kind, applied_by, quantity);
  db::Statement up(ctx.db,
                   "UPDATE ra_bundles SET received_on = ?, seal_form_received = ?, seal_description = ?, "
                   "applicant_list_received = ?, token_quantity = ?, note = ?, applied_by = ?, contract_kind = ?, "
                   "updated_at = ? WHERE id = ?");
  up.bind(1, received.str()).bind(2, seal_form ? 1 : 0).bind(3, seal).bind(4, list ? 1 : 0).bind(5, quantity);
  up.bind(6, note).bind(7, applied_by).bind(8, kind).bind(9, ctx.clock()).bind(10, bundle_id).exec();
  if (changes.contacts) {
    auto contacts = validated_contacts(*changes.contacts);
    db::Statement del(ctx.db, "DELETE FROM ra_contacts WHERE bundle_id = ?");
    del.bind(1, bundle_id).exec();
    insert_contacts(ctx, bundle_id, contacts);
  }
  detail::audit(ctx, by.actor(), "ra.bundle.edit", "bundle:" + std::to_string(bundle_id),
                {{"fields", json(changes.names())}});
  tx.commit();
}

namespace {

constexpr const char* kBundleSelect =
    "SELECT b.id, b.company_id, c.name, c.name_kana, c.name_romaji, c.address, c.representative_name, "
    "c.representative_title, b.contract_kind, b.applied_by, b.received_on, b.seal_form_received, b.seal_description, "
    "b.applicant_list_received, b.token_quantity, b.note, b.created_by, b.created_at "
    "FROM ra_bundles b JOIN ra_companies c ON c.id = b.company_id ";

Bundle read_bundle(RaContext& ctx, db::Statement& st) {
  Bundle b;
  b.id = st.int64(0);
  b.company_id = st.int64(1);
  b.company = {st.text(2), st.text(3), st.text(4), st.text(5), st.text(6), st.text(7)};
  b.contract_kind = st.text(8);
  b.applied_by = st.text(9);
  b.received_on = Date::parse(st.text(10), "stored received_on");
  b.seal_form = st.int64(11) != 0;
  b.seal_description = st.text(12);
  b.applicant_list = st.int64(13) != 0;
  b.token_quantity = static_cast<int>(st.int64(14));
  b.note = st.text(15);
  b.created_by = st.text(16);
  b.created_at = st.int64(17);
  db::Statement c(ctx.db,
                  "SELECT role, name, department, email, phone, address FROM ra_contacts WHERE bundle_id = ? ORDER BY role DESC");
  c.bind(1, b.id);
  while (c.step()) b.contacts.push_back({c.text(0), c.text(1), c.text(2), c.text(3), c.text(4), c.text(5)});
  db::Statement u(ctx.db, "SELECT name, department, email FROM ra_user_applications WHERE bundle_id = ? ORDER BY id");
  u.bind(1, b.id);
  while (u.step()) b.users.push_back({u.text(0), u.text(1), u.text(2)});
  ApplicationFilter f;
  f.bundle_id = b.id;
  b.applications = detail::find_applications(ctx, f);
  return b;
}

}  // namespace

Bundle detail::get_bundle(RaContext& ctx, std::int64_t bundle_id) {
  db::Statement st(ctx.db, std::string(kBundleSelect) + "WHERE b.id = ?");
  st.bind(1, bundle_id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no bundle " + std::to_string(bundle_id));
  return read_bundle(ctx, st);
}

std::vector<Bundle> detail::find_bundles(RaContext& ctx, const std::string& company, int limit) {
  db::Statement st(ctx.db, std::string(kBundleSelect) +
                               "WHERE ?1 = '' OR instr(lower(c.name), lower(?1)) OR instr(lower(c.name_kana), lower(?1)) "
                               "OR instr(lower(c.name_romaji), lower(?1)) ORDER BY b.id DESC LIMIT ?2");
  st.bind(1, company).bind(2, std::clamp(limit, 1, 100000));
  std::vector<Bundle> out;
  while (st.step()) out.push_back(read_bundle(ctx, st));
  return out;
}

Bundle get_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  detail::require_read(by, "show a bundle");
  return detail::get_bundle(ctx, bundle_id);
}

std::vector<Bundle> find_bundles(RaContext& ctx, const Principal& by, const std::string& company, int limit) {
  detail::require_read(by, "search bundles");
  return detail::find_bundles(ctx, company, limit);
}

}  // namespace jitsuin::ra
