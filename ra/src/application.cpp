#include "jitsuin/ra/application.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "jitsuin/ca/profile.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/bundle.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

// Code points of valid UTF-8 (validated by the caller).
std::vector<std::uint32_t> code_points(const std::string& s) {
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    std::uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (std::size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3f);
    out.push_back(cp);
    i += len;
  }
  return out;
}

// フリガナ: hiragana, katakana (full or half width), the long-vowel mark and spaces.
bool is_kana(const std::string& s) {
  for (std::uint32_t cp : code_points(s)) {
    bool ok = (cp >= 0x3041 && cp <= 0x309f) || (cp >= 0x30a0 && cp <= 0x30ff) || (cp >= 0xff65 && cp <= 0xff9f) ||
              cp == 0x3000 || cp == 0x20;
    if (!ok) return false;
  }
  return true;
}

std::string normalize_postcode(const std::string& p) {
  std::string digits;
  for (char c : p) {
    if (c >= '0' && c <= '9') digits += c;
    else JITSUIN_ARG_CHECK(c == '-', "postcode '" + p + "' must be 7 digits (NNN-NNNN)");
  }
  JITSUIN_ARG_CHECK(digits.size() == 7, "postcode '" + p + "' must be 7 digits (NNN-NNNN)");
  return digits.substr(0, 3) + "-" + digits.substr(3);
}

constexpr const char* kSelect =
    "SELECT a.id, a.bundle_id, b.company_id, c.name, a.state, a.name_kanji, a.name_kana, a.name_romaji, "
    "a.organization_romaji, a.department_romaji, a.title_romaji, a.email, a.postcode, a.home_address, "
    "a.validity_years, a.profile, a.renewal_of, a.created_by, a.created_at, a.updated_at, a.checked_by, "
    "a.approved_by, a.approved_at, a.pin_issued_by, a.pin_issued_at, a.pin_expires_at, a.pin_failures, "
    "a.pin_locked_at, a.pin_reissue_requested_by, a.certificate_serial, a.issued_at "
    "FROM ra_applications a JOIN ra_bundles b ON b.id = a.bundle_id JOIN ra_companies c ON c.id = b.company_id ";

Application read(db::Statement& st) {
  Application a;
  a.id = st.int64(0);
  a.bundle_id = st.int64(1);
  a.company_id = st.int64(2);
  a.company_name = st.text(3);
  a.state = parse_state(st.text(4));
  a.form.name_kanji = st.text(5);
  a.form.name_kana = st.text(6);
  a.form.name_romaji = st.text(7);
  a.form.organization_romaji = st.text(8);
  a.form.department_romaji = st.text(9);
  a.form.title_romaji = st.text(10);
  a.form.email = st.text(11);
  a.form.postcode = st.text(12);
  a.form.home_address = st.text(13);
  a.form.validity_years = static_cast<int>(st.int64(14));
  a.form.profile = st.text(15);
  a.renewal_of = st.opt_int64(16);
  a.created_by = st.text(17);
  a.created_at = st.int64(18);
  a.updated_at = st.int64(19);
  a.checked_by = st.opt_text(20);
  a.approved_by = st.opt_text(21);
  a.approved_at = st.opt_int64(22);
  a.pin_issued_by = st.opt_text(23);
  a.pin_issued_at = st.opt_int64(24);
  a.pin_expires_at = st.opt_int64(25);
  a.pin_failures = static_cast<int>(st.int64(26));
  a.pin_locked_at = st.opt_int64(27);
  a.pin_reissue_requested_by = st.opt_text(28);
  a.certificate_serial = st.opt_text(29);
  a.issued_at = st.opt_int64(30);
  return a;
}

ApplicantInput normalized(const ApplicantInput& in) {
  ApplicantInput a = in;
  a.name_kanji = detail::text_field(in.name_kanji, "name_kanji", 64, true);
  a.name_kana = detail::text_field(in.name_kana, "name_kana", 64, true);
  a.name_romaji = detail::text_field(in.name_romaji, "name_romaji", 64, true);
  a.organization_romaji = detail::text_field(in.organization_romaji, "organization_romaji", 64, true);
  a.department_romaji = detail::text_field(in.department_romaji, "department_romaji", 64, false);
  a.title_romaji = detail::text_field(in.title_romaji, "title_romaji", 64, false);
  a.email = detail::text_field(in.email, "email", 128, true);
  a.postcode = normalize_postcode(detail::text_field(in.postcode, "postcode", 8, true));
  a.home_address = detail::text_field(in.home_address, "home_address", 200, true);
  a.profile = detail::text_field(in.profile, "profile", 64, true);
  return a;
}

}  // namespace

namespace {

// The Form-5 text fields by name, for changes applied field by field.
using TextChange = std::optional<std::string> ApplicantChanges::*;
using TextField = std::string ApplicantInput::*;
const std::vector<std::tuple<const char*, TextChange, TextField>>& text_fields() {
  static const std::vector<std::tuple<const char*, TextChange, TextField>> fields{
      {"department_romaji", &ApplicantChanges::department_romaji, &ApplicantInput::department_romaji},
      {"email", &ApplicantChanges::email, &ApplicantInput::email},
      {"home_address", &ApplicantChanges::home_address, &ApplicantInput::home_address},
      {"name_kana", &ApplicantChanges::name_kana, &ApplicantInput::name_kana},
      {"name_kanji", &ApplicantChanges::name_kanji, &ApplicantInput::name_kanji},
      {"name_romaji", &ApplicantChanges::name_romaji, &ApplicantInput::name_romaji},
      {"organization_romaji", &ApplicantChanges::organization_romaji, &ApplicantInput::organization_romaji},
      {"postcode", &ApplicantChanges::postcode, &ApplicantInput::postcode},
      {"profile", &ApplicantChanges::profile, &ApplicantInput::profile},
      {"title_romaji", &ApplicantChanges::title_romaji, &ApplicantInput::title_romaji}};
  return fields;
}

}  // namespace

bool ApplicantChanges::empty() const {
  for (const auto& [name, change, field] : text_fields())
    if (this->*change) return false;
  return !validity_years;
}

ApplicantInput ApplicantChanges::apply(ApplicantInput form, std::vector<std::string>* changed) const {
  std::vector<std::string> names;
  for (const auto& [name, change, field] : text_fields()) {
    if (!(this->*change)) continue;
    if (form.*field != *(this->*change)) names.push_back(name);
    form.*field = *(this->*change);
  }
  if (validity_years) {
    if (form.validity_years != *validity_years) names.push_back("validity_years");
    form.validity_years = *validity_years;
  }
  std::sort(names.begin(), names.end());
  if (changed) *changed = names;
  return form;
}

config::NameFields applicant_subject(const ApplicantInput& a) {
  config::NameFields s{{"common_name", a.name_romaji}};
  // An S/MIME coupon holder may be an individual (seed 004): no organisation then.
  if (!a.organization_romaji.empty()) s["organization"] = a.organization_romaji;
  if (!a.department_romaji.empty()) s["department"] = a.department_romaji;
  if (!a.title_romaji.empty()) s["title"] = a.title_romaji;
  return s;
}

namespace detail {

config::NameFields profile_subject(const ca::Profile& profile, const ApplicantInput& a) {
  config::NameFields s = applicant_subject(a);
  // An S/MIME profile (seed 004) names the Form-5 address in the certificate: one per address.
  auto names = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), "email") != v.end(); };
  if (names(profile.required_fields) || names(profile.optional_fields)) s["email"] = a.email;
  return s;
}

}  // namespace detail

void validate_applicant(RaContext& ctx, const ApplicantInput& in) {
  ApplicantInput a = normalized(in);
  JITSUIN_ARG_CHECK(is_kana(a.name_kana), "name_kana must be written in kana (フリガナ), got '" + a.name_kana + "'");
  for (auto [field, value] : {std::pair{"name_romaji", &a.name_romaji}, {"organization_romaji", &a.organization_romaji},
                              {"department_romaji", &a.department_romaji}, {"title_romaji", &a.title_romaji}}) {
    if (value->empty()) continue;
    JITSUIN_ARG_CHECK(ca::is_romaji(*value), std::string(field) +
                                                 " must be romaji: half-width letters, digits, space, hyphen and dot "
                                                 "only (got '" + *value + "')");
  }
  JITSUIN_ARG_CHECK(is_valid_email(a.email), "email '" + a.email + "' is not a valid address");
  JITSUIN_ARG_CHECK(a.validity_years == 1 || a.validity_years == 2,
                    "validity_years must be 1 or 2, not " + std::to_string(a.validity_years));
  // The romaji length rules of RA-8 and the validity are the certificate profile's: reuse them.
  ca::Profile profile = ca::load_profile(ctx.config.ca.profiles_dir, a.profile);
  profile.validate_subject(detail::profile_subject(profile, a));
  profile.validity_days(a.validity_years * 365);
}

Application detail::get_application(RaContext& ctx, std::int64_t id) {
  db::Statement st(ctx.db, std::string(kSelect) + "WHERE a.id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no application " + std::to_string(id));
  return read(st);
}

std::vector<Application> detail::find_applications(RaContext& ctx, const ApplicationFilter& f) {
  std::string sql = std::string(kSelect) +
                    "WHERE (?1 IS NULL OR a.bundle_id = ?1) AND (?2 IS NULL OR b.company_id = ?2) "
                    "AND (?3 = '' OR instr(lower(c.name), lower(?3)) OR instr(lower(c.name_kana), lower(?3)) "
                    "  OR instr(lower(c.name_romaji), lower(?3))) "
                    "AND (?4 = '' OR instr(lower(a.name_kanji), lower(?4)) OR instr(lower(a.name_kana), lower(?4)) "
                    "  OR instr(lower(a.name_romaji), lower(?4))) "
                    "AND (?5 IS NULL OR a.state = ?5) ORDER BY a.id DESC LIMIT ?6";
  db::Statement st(ctx.db, sql);
  st.bind(1, f.bundle_id).bind(2, f.company_id).bind(3, f.company).bind(4, f.applicant);
  if (f.state) st.bind(5, state_name(*f.state)); else st.bind_null(5);
  st.bind(6, std::clamp(f.limit, 1, 100000));
  std::vector<Application> out;
  while (st.step()) out.push_back(read(st));
  // The newest `limit` matches (a search over years of applications must show this week's), in
  // the order they came in.
  std::reverse(out.begin(), out.end());
  return out;
}

namespace detail {

// Inserts a validated Form 5 (inside the caller's transaction).
std::int64_t insert_application(RaContext& ctx, const std::string& actor, std::int64_t bundle_id,
                                const ApplicantInput& in, std::optional<std::int64_t> renewal_of,
                                const json& audit_details, TransitionAudit audit_mode) {
  ApplicantInput a = normalized(in);
  UnixTime now = ctx.clock();
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_applications (bundle_id, state, name_kanji, name_kana, name_romaji, "
                    "organization_romaji, department_romaji, title_romaji, email, postcode, home_address, "
                    "validity_years, profile, renewal_of, created_by, created_at, updated_at) "
                    "VALUES (?, 'received', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, bundle_id).bind(2, a.name_kanji).bind(3, a.name_kana).bind(4, a.name_romaji);
  ins.bind(5, a.organization_romaji).bind(6, a.department_romaji).bind(7, a.title_romaji).bind(8, a.email);
  ins.bind(9, a.postcode).bind(10, a.home_address).bind(11, a.validity_years).bind(12, a.profile);
  ins.bind(13, renewal_of).bind(14, actor).bind(15, now).bind(16, now).exec();
  std::int64_t id = ctx.db.last_insert_rowid();
  record_created(ctx, id, actor);
  json details = {{"bundle", bundle_id}, {"name_romaji", a.name_romaji}, {"profile", a.profile},
                  {"validity_years", a.validity_years}};
  details.update(audit_details);
  if (audit_mode == TransitionAudit::entry)
    audit(ctx, actor, "ra.application.create", "application:" + std::to_string(id), details);
  return id;
}

}  // namespace detail

std::int64_t add_application(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const ApplicantInput& form) {
  by.require(Permission::enter, "enter applications");
  validate_applicant(ctx, form);
  db::Transaction tx(ctx.db);
  detail::get_bundle(ctx, bundle_id);  // not_found
  detail::require_paper_bundle(ctx, bundle_id, "add applicants to it");
  db::Statement late(ctx.db,
                     "SELECT count(*) FROM ra_applications WHERE bundle_id = ? AND state NOT IN "
                     "('received', 'incomplete', 'resubmitted', 'rejected', 'withdrawn')");
  late.bind(1, bundle_id);
  late.step();
  if (late.int64(0) > 0)
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) +
                                         " has been checked already; a new applicant needs a new bundle");
  std::int64_t id = detail::insert_application(ctx, by.actor(), bundle_id, form, std::nullopt);
  tx.commit();
  return id;
}

Application edit_application(RaContext& ctx, const Principal& by, std::int64_t id, const ApplicantChanges& changes) {
  by.require(Permission::enter, "edit applications");
  JITSUIN_ARG_CHECK(!changes.empty(), "no changes given");
  db::Transaction tx(ctx.db);
  Application app = detail::get_application(ctx, id);
  if (app.state != State::received && app.state != State::incomplete && app.state != State::resubmitted)
    throw Error(ErrorKind::conflict, "application " + std::to_string(id) + " is " + state_name(app.state) +
                                         "; Form-5 data can only change while received, incomplete or resubmitted");
  std::vector<std::string> changed;
  ApplicantInput a = changes.apply(app.form, &changed);
  validate_applicant(ctx, a);
  a = normalized(a);
  db::Statement up(ctx.db,
                   "UPDATE ra_applications SET name_kanji = ?, name_kana = ?, name_romaji = ?, organization_romaji = ?, "
                   "department_romaji = ?, title_romaji = ?, email = ?, postcode = ?, home_address = ?, "
                   "validity_years = ?, profile = ?, updated_at = ? WHERE id = ?");
  up.bind(1, a.name_kanji).bind(2, a.name_kana).bind(3, a.name_romaji).bind(4, a.organization_romaji);
  up.bind(5, a.department_romaji).bind(6, a.title_romaji).bind(7, a.email).bind(8, a.postcode);
  up.bind(9, a.home_address).bind(10, a.validity_years).bind(11, a.profile).bind(12, ctx.clock()).bind(13, id).exec();
  detail::audit(ctx, by.actor(), "ra.application.edit", "application:" + std::to_string(id),
                {{"fields", json(changed)}});
  tx.commit();
  return detail::get_application(ctx, id);
}

namespace {

// checked → approved inside the caller's transaction, with or without its own audit entry.
void approve_one(RaContext& ctx, const Principal& by, std::int64_t id, detail::TransitionAudit audit) {
  Application app = detail::get_application(ctx, id);
  // Two-person rule: whoever entered or checked the application cannot approve it.
  if (app.created_by == by.actor() || (app.checked_by && *app.checked_by == by.actor()))
    throw Error(ErrorKind::forbidden, "operator " + by.name() + " entered or checked application " +
                                          std::to_string(id) + " and so cannot approve it (two-person rule)");
  detail::transition(ctx, id, State::approved, by.actor(), "", json::object(), audit);
  db::Statement up(ctx.db, "UPDATE ra_applications SET approved_by = ?, approved_at = ? WHERE id = ?");
  up.bind(1, by.actor()).bind(2, ctx.clock()).bind(3, id).exec();
}

}  // namespace

void approve_application(RaContext& ctx, const Principal& by, std::int64_t id) {
  by.require(Permission::approve, "approve applications");
  db::Transaction tx(ctx.db);
  approve_one(ctx, by, id, detail::TransitionAudit::entry);
  tx.commit();
}

std::vector<std::int64_t> approve_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  by.require(Permission::approve, "approve applications");
  db::Transaction tx(ctx.db);
  std::vector<std::int64_t> ids;
  {
    db::Statement st(ctx.db, "SELECT id FROM ra_applications WHERE bundle_id = ? AND state = 'checked' ORDER BY id");
    st.bind(1, bundle_id);
    while (st.step()) ids.push_back(st.int64(0));
  }
  if (ids.empty())
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " has no checked application");
  // Any refusal (the two-person rule for one of them) rolls back every approval.
  for (auto id : ids) approve_one(ctx, by, id, detail::TransitionAudit::caller);
  detail::audit(ctx, by.actor(), "ra.bundle.approve", "bundle:" + std::to_string(bundle_id),
                {{"applications", ids}, {"from", "checked"}, {"to", "approved"}});
  tx.commit();
  return ids;
}

void reject_application(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& reason) {
  by.require(Permission::approve, "reject applications");
  std::string why = detail::text_field(reason, "the rejection reason", 500, true);
  db::Transaction tx(ctx.db);
  detail::transition(ctx, id, State::rejected, by.actor(), why);
  tx.commit();
}

void withdraw_application(RaContext& ctx, const Principal& by, std::int64_t id, const std::string& note) {
  by.require(Permission::enter, "record withdrawals");
  std::string why = detail::text_field(note, "the withdrawal note", 500, true);
  db::Transaction tx(ctx.db);
  detail::transition(ctx, id, State::withdrawn, by.actor(), why);
  // A withdrawn application's PIN must stop working at once.
  db::Statement up(ctx.db, "UPDATE ra_applications SET pin_hash = NULL WHERE id = ?");
  up.bind(1, id).exec();
  tx.commit();
}

Application get_application(RaContext& ctx, const Principal& by, std::int64_t id) {
  detail::require_read(by, "show an application");
  return detail::get_application(ctx, id);
}

std::vector<Application> find_applications(RaContext& ctx, const Principal& by, const ApplicationFilter& filter) {
  detail::require_read(by, "search applications");
  return detail::find_applications(ctx, filter);
}

}  // namespace jitsuin::ra
