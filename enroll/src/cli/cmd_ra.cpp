// jitsuin ra …: the registration authority's back office on the command line. Thin: parse, call
// ra/, print. The operator comes from the `jitsuin login` session.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/ra_session.h"
#include "jitsuin/core/error.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/letter.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/pin.h"
#include "jitsuin/ra/renewal.h"
#include "jitsuin/ra/revocation.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

// One command's context: config, database, RA context and (for most commands) the operator.
struct Ra {
  explicit Ra(const GlobalOptions& g) : ctx(g), rctx{ctx.db(), ctx.config(), ctx.clock()} {}
  ra::Principal who() { return current_operator(ctx, rctx); }
  Context ctx;
  ra::RaContext rctx;
};


json json_file(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw Error(ErrorKind::invalid_input, path + " is not valid JSON: " + e.what());
  }
}

ra::Date date_or_today(const Args& a, const std::string& name, Ra& r) {
  if (auto d = a.get(name)) return ra::Date::parse(*d, "--" + name);
  return ra::date_in_japan(r.rctx.clock());
}

void print_json(const json& j) { std::cout << j.dump(2) << "\n"; }

std::string str(const json& j, const char* key) {
  if (!j.contains(key)) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

// ---- operators --------------------------------------------------------------------------------

int operator_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name", "role", "display-name", "password-file"}, {});
  Ra r(g);
  std::string name = a.required("name");
  ra::Role role = ra::parse_role(a.required("role"));
  std::optional<ra::Principal> by;
  bool bootstrap = !ra::any_operator(r.rctx);
  if (!bootstrap) by = r.who();
  std::string pw = read_password("new password for " + name + ": ", a.get("password-file"));
  if (!a.get("password-file")) {
    std::string again = read_password("again: ", std::nullopt);
    if (again != pw) throw Error(ErrorKind::invalid_input, "the passwords differ");
  }
  auto info = ra::add_operator(r.rctx, by ? &*by : nullptr, name, a.get("display-name").value_or(""), role, pw);
  std::cout << (bootstrap ? "first administrator " : "operator ") << info.name << " (" << ra::role_name(info.role)
            << ") created\n";
  return 0;
}

int operator_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  Ra r(g);
  auto who = r.who();
  json out = json::array();
  for (const auto& o : ra::list_operators(r.rctx, who))
    out.push_back({{"name", o.name}, {"display_name", o.display_name}, {"role", ra::role_name(o.role)},
                   {"failed_logins", o.failed_logins}, {"locked", o.locked}, {"disabled", o.disabled},
                   {"created_at", format_rfc3339(o.created_at)}, {"created_by", o.created_by}});
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& o : out)
    std::cout << std::left << std::setw(20) << str(o, "name") << std::setw(15) << str(o, "role")
              << (o["disabled"].get<bool>() ? "disabled" : o["locked"].get<bool>() ? "LOCKED" : "active") << "\n";
  return 0;
}

int operator_unlock(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name"}, {});
  Ra r(g);
  ra::unlock_operator(r.rctx, r.who(), a.required("name"));
  std::cout << "operator " << a.required("name") << " unlocked\n";
  return 0;
}

int operator_disable(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name"}, {});
  Ra r(g);
  ra::disable_operator(r.rctx, r.who(), a.required("name"));
  std::cout << "operator " << a.required("name") << " disabled\n";
  return 0;
}

int passwd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"current-file", "new-file"}, {});
  Ra r(g);
  auto who = r.who();
  std::string current = read_password("current password: ", a.get("current-file"));
  std::string next = read_password("new password: ", a.get("new-file"));
  if (!a.get("new-file") && read_password("again: ", std::nullopt) != next)
    throw Error(ErrorKind::invalid_input, "the passwords differ");
  ra::change_password(r.rctx, who, current, next);
  std::cout << "password changed\n";
  return 0;
}

int operator_key(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"days", "out"}, {});
  Ra r(g);
  auto who = r.who();
  std::filesystem::path out = a.required("out");
  if (std::filesystem::exists(out)) throw Error(ErrorKind::conflict, out.string() + " exists; refusing to overwrite it");
  auto key = ra::issue_operator_key(r.rctx, who, static_cast<int>(a.opt_whole_number("days").value_or(30)));
  write_file_atomic(out, key.token + "\n", 0600);
  std::cout << "operator key for " << who.name() << " written to " << out.string() << " (mode 0600), valid until "
            << format_rfc3339(key.expires_at) << "; use it with JITSUIN_SESSION_FILE=" << out.string() << "\n";
  return 0;
}

int whoami(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  Ra r(g);
  auto who = r.who();
  std::cout << who.name() << " (" << ra::role_name(who.role()) << ")\n";
  return 0;
}

// ---- bundles and applications -----------------------------------------------------------------

int bundle_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"file"}, {"json"});
  Ra r(g);
  auto who = r.who();
  auto input = ra::parse_bundle_json(json_file(a.required("file")));
  auto c = ra::create_bundle(r.rctx, who, input);
  if (a.flag("json"))
    return print_json({{"bundle", c.bundle_id}, {"company", c.company_id}, {"applications", c.application_ids}}), 0;
  std::cout << "bundle " << c.bundle_id << " registered (company " << c.company_id << "); applications:";
  for (auto id : c.application_ids) std::cout << " " << id;
  std::cout << "\n";
  return 0;
}

int bundle_edit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "file"}, {});
  Ra r(g);
  ra::edit_bundle(r.rctx, r.who(), a.whole_number("id"), json_file(a.required("file")));
  std::cout << "bundle " << a.whole_number("id") << " updated\n";
  return 0;
}

int bundle_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {"json"});
  Ra r(g);
  r.who();
  auto id = a.whole_number("id");
  json j = ra::get_bundle(r.rctx, id).to_json();
  j["documents"] = json::array();
  for (const auto& d : ra::list_documents(r.rctx, id)) j["documents"].push_back(d.to_json());
  j["last_check_reasons"] = json::array();
  for (const auto& d : ra::last_check_reasons(r.rctx, id)) j["last_check_reasons"].push_back(d.to_json());
  if (a.flag("json")) return print_json(j), 0;
  std::cout << "bundle " << id << ": " << str(j["company"], "name") << " (" << str(j["company"], "name_romaji")
            << "), " << str(j, "contract_kind") << ", applied by " << str(j, "applied_by") << ", received "
            << str(j, "received_on") << "\n";
  std::cout << "  forms: seal (Form 2) " << (j["seal_form"].get<bool>() ? "yes" : "NO") << ", applicant list (Form 3) "
            << (j["applicant_list"].get<bool>() ? "yes" : "NO") << ", eTokens " << j["token_quantity"] << "\n";
  for (const auto& c : j["contacts"]) std::cout << "  " << str(c, "role") << ": " << str(c, "name") << " <" << str(c, "email") << ">\n";
  for (const auto& ap : j["applications"])
    std::cout << "  application " << ap["id"] << "  " << std::left << std::setw(14) << str(ap, "state") << str(ap, "name_kanji")
              << " / " << str(ap, "name_romaji") << "\n";
  for (const auto& d : j["documents"])
    std::cout << "  document " << d["id"] << "  " << str(d, "kind") << (d.contains("application") ? " (application " + d["application"].dump() + ")" : "")
              << " issued " << str(d, "issued_on") << " received " << str(d, "received_on")
              << (d["original"].get<bool>() ? "" : " COPY") << "\n";
  if (!j["last_check_reasons"].empty()) std::cout << "  last check found (to send back with the bundle):\n";
  for (const auto& d : j["last_check_reasons"])
    std::cout << "  - " << str(d, "message_ja") << "\n    (" << str(d, "message") << ")\n";
  return 0;
}

int bundle_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "limit"}, {"json"});
  Ra r(g);
  r.who();
  int limit = static_cast<int>(a.opt_whole_number("limit").value_or(1000));
  json out = json::array();
  for (const auto& b : ra::find_bundles(r.rctx, a.get("company").value_or(""), limit)) out.push_back(b.to_json());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& b : out)
    std::cout << std::left << std::setw(6) << b["id"].dump() << std::setw(12) << str(b, "received_on")
              << str(b["company"], "name") << "  (" << b["applications"].size() << " application(s))\n";
  return 0;
}

int application_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "file"}, {});
  Ra r(g);
  auto id = ra::add_application(r.rctx, r.who(), a.whole_number("bundle"),
                                ra::parse_applicant_json(json_file(a.required("file"))));
  std::cout << "application " << id << " added to bundle " << a.whole_number("bundle") << "\n";
  return 0;
}

int application_edit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "file"}, {});
  Ra r(g);
  ra::edit_application(r.rctx, r.who(), a.whole_number("id"), json_file(a.required("file")));
  std::cout << "application " << a.whole_number("id") << " updated\n";
  return 0;
}

int application_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {"json"});
  Ra r(g);
  r.who();
  auto id = a.whole_number("id");
  json j = ra::get_application(r.rctx, id).to_json();
  j["history"] = json::array();
  for (const auto& e : ra::application_history(r.rctx, id))
    j["history"].push_back({{"from", e.from}, {"to", e.to}, {"actor", e.actor}, {"at", format_rfc3339(e.at)},
                            {"note", e.note}});
  j["mailings"] = json::array();
  for (const auto& m : ra::list_mailings(r.rctx, id)) j["mailings"].push_back(m.to_json());
  if (a.flag("json")) return print_json(j), 0;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!it->is_array()) std::cout << std::left << std::setw(22) << it.key() << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
  std::cout << "history:\n";
  for (const auto& e : j["history"])
    std::cout << "  " << str(e, "at") << "  " << std::setw(14) << str(e, "to") << str(e, "actor")
              << (str(e, "note").empty() ? "" : "  (" + str(e, "note") + ")") << "\n";
  for (const auto& m : j["mailings"])
    std::cout << "mail " << str(m, "tracking_number") << ": " << str(m, "state") << " (sent " << str(m, "sent_on") << ")\n";
  return 0;
}

int application_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "applicant", "state", "bundle", "limit"}, {"json"});
  Ra r(g);
  r.who();
  ra::ApplicationFilter f;
  f.company = a.get("company").value_or("");
  f.applicant = a.get("applicant").value_or("");
  if (auto s = a.get("state")) f.state = ra::parse_state(*s);
  f.bundle_id = a.opt_whole_number("bundle");
  f.limit = static_cast<int>(a.opt_whole_number("limit").value_or(1000));
  json out = json::array();
  for (const auto& app : ra::find_applications(r.rctx, f)) out.push_back(app.to_json());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& app : out)
    std::cout << std::left << std::setw(6) << app["id"].dump() << std::setw(14) << str(app, "state") << std::setw(20)
              << str(app, "name_romaji") << str(app, "company") << "\n";
  return 0;
}

// ---- documents and the check ------------------------------------------------------------------

int document_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "application", "kind", "issued", "received", "note"}, {"copy"});
  Ra r(g);
  auto who = r.who();
  ra::DocumentInput d;
  d.kind = ra::parse_document_kind(a.required("kind"));
  d.application_id = a.opt_whole_number("application");
  d.issued_on = ra::Date::parse(a.required("issued"), "--issued");
  d.received_on = date_or_today(a, "received", r);
  d.original = !a.flag("copy");
  d.note = a.get("note").value_or("");
  auto id = ra::add_document(r.rctx, who, a.whole_number("bundle"), d);
  std::cout << "document " << id << " recorded: " << ra::document_kind_name(d.kind) << " issued " << d.issued_on.str()
            << ", accepted until " << ra::document_accepted_until(d.issued_on).str() << "\n";
  return 0;
}

int document_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  Ra r(g);
  r.who();
  json out = json::array();
  for (const auto& d : ra::list_documents(r.rctx, a.whole_number("bundle"))) out.push_back(d.to_json());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& d : out)
    std::cout << std::left << std::setw(6) << d["id"].dump() << std::setw(30) << str(d, "kind") << "issued "
              << str(d, "issued_on") << " received " << str(d, "received_on") << (d["original"].get<bool>() ? "" : " COPY")
              << (d.contains("application") ? "  application " + d["application"].dump() : "") << "\n";
  return 0;
}

int document_remove(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "reason"}, {});
  Ra r(g);
  ra::remove_document(r.rctx, r.who(), a.whole_number("id"), a.required("reason"));
  std::cout << "document " << a.whole_number("id") << " removed\n";
  return 0;
}

int check(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  Ra r(g);
  auto res = ra::check_bundle(r.rctx, r.who(), a.whole_number("bundle"));
  json reasons = json::array();
  for (const auto& d : res.reasons) reasons.push_back(d.to_json());
  if (a.flag("json"))
    return print_json({{"complete", res.complete}, {"state", res.new_state}, {"applications", res.moved},
                       {"reasons", reasons}}),
           0;
  if (res.complete) {
    std::cout << "bundle " << a.whole_number("bundle") << " is complete; " << res.moved.size() << " application(s) checked\n";
    return 0;
  }
  std::cout << "bundle " << a.whole_number("bundle") << " is INCOMPLETE (" << res.reasons.size()
            << " reason(s)); applications marked incomplete. To send back with the bundle:\n";
  for (const auto& d : res.reasons) std::cout << "  - " << d.message_ja << "\n    (" << d.message << ")\n";
  return 0;
}

int resubmit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "note"}, {});
  Ra r(g);
  auto moved = ra::resubmit_bundle(r.rctx, r.who(), a.whole_number("bundle"), a.get("note").value_or(""));
  std::cout << moved.size() << " application(s) resubmitted; record the new documents, then run ra check\n";
  return 0;
}

// ---- decisions ----------------------------------------------------------------------------------

int approve(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "bundle"}, {});
  Ra r(g);
  auto application = a.opt_whole_number("application");
  auto bundle = a.opt_whole_number("bundle");
  if (!application && !bundle) throw UsageError("give --application ID or --bundle ID");
  auto who = r.who();
  if (application) {
    ra::approve_application(r.rctx, who, *application);
    std::cout << "application " << *application << " approved\n";
  }
  if (bundle)   // one transaction: every checked application of the bundle, or none
    for (auto id : ra::approve_bundle(r.rctx, who, *bundle)) std::cout << "application " << id << " approved\n";
  return 0;
}

int reject(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  Ra r(g);
  ra::reject_application(r.rctx, r.who(), a.whole_number("application"), a.required("reason"));
  std::cout << "application " << a.whole_number("application") << " rejected\n";
  return 0;
}

int withdraw(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  Ra r(g);
  ra::withdraw_application(r.rctx, r.who(), a.whole_number("application"), a.required("reason"));
  std::cout << "application " << a.whole_number("application") << " withdrawn\n";
  return 0;
}

int issue_pin(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "letter", "language", "enrollment-url"}, {"no-letter"});
  Ra r(g);
  auto who = r.who();
  auto id = a.whole_number("application");
  std::string language = a.get("language").value_or("ja");
  std::filesystem::path letter =
      a.get("letter").value_or((r.ctx.config().home / "letters" / ("application-" + std::to_string(id) + "-" +
                                                                     std::to_string(r.rctx.clock()) + ".pdf"))
                                   .string());
  std::optional<StagedFile> staged;
  auto pin = ra::issue_pin(r.rctx, who, id, [&](const ra::IssuedPin& p, const ra::Application& app) {
    if (a.flag("no-letter")) return;
    // Rendered inside the transaction: if the letter cannot be made, no PIN is issued.
    ra::ApprovalLetter l = ra::compose_approval_letter(r.rctx, app, p, a.get("enrollment-url"));
    Bytes pdf = ra::render_approval_letter(l, language);
    // A bare file name (--letter notice.pdf) has no parent to create.
    if (!letter.parent_path().empty()) std::filesystem::create_directories(letter.parent_path());
    staged.emplace(letter, std::string_view(reinterpret_cast<const char*>(pdf.data()), pdf.size()), 0600);
  });
  if (staged) staged->commit();
  std::cout << "application PIN for application " << id << " (shown once, not stored): " << pin.pin << "\n"
            << "expires " << format_rfc3339(pin.expires_at) << "\n";
  if (staged) std::cout << "approval notice: " << letter.string() << "\n";
  return 0;
}

int pin_reissue_request(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  Ra r(g);
  ra::request_pin_reissue(r.rctx, r.who(), a.whole_number("application"), a.required("reason"));
  std::cout << "PIN re-issue requested; the old PIN no longer works. Another operator with the approver role\n"
               "issues the new one: jitsuin ra issue-pin --application "
            << a.whole_number("application") << "\n";
  return 0;
}

// ---- restricted-delivery mail -------------------------------------------------------------------

int mail_sent(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "tracking", "date"}, {});
  Ra r(g);
  auto who = r.who();
  auto m = ra::record_mailing(r.rctx, who, a.whole_number("application"), a.required("tracking"), date_or_today(a, "date", r));
  std::cout << "approval notice for application " << m.application_id << " sent, tracking " << m.tracking_number << "\n";
  return 0;
}

int mail_event(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"tracking", "event", "date"}, {});
  Ra r(g);
  auto who = r.who();
  auto m = ra::record_postal_event(r.rctx, who, a.required("tracking"), a.required("event"), date_or_today(a, "date", r));
  std::cout << "mailing " << m.tracking_number << " is " << m.state;
  if (m.hold_ends() && m.state == "held") std::cout << " (at the post office until " << m.hold_ends()->str() << ")";
  std::cout << "\n";
  return 0;
}

int mail_resend(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "tracking", "date", "charge", "note"}, {});
  Ra r(g);
  auto who = r.who();
  auto m = ra::resend_notice(r.rctx, who, a.whole_number("application"), a.required("tracking"), date_or_today(a, "date", r),
                             static_cast<int>(a.whole_number("charge")), a.get("note").value_or(""));
  std::cout << "approval notice re-sent, tracking " << m.tracking_number << ", charge " << m.charge_yen << " yen\n";
  return 0;
}

int mail_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application"}, {"json"});
  Ra r(g);
  r.who();
  json out = json::array();
  for (const auto& m : ra::list_mailings(r.rctx, a.opt_whole_number("application"))) out.push_back(m.to_json());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& m : out)
    std::cout << std::left << std::setw(16) << str(m, "tracking_number") << std::setw(11) << str(m, "state")
              << "application " << m["application"] << "  sent " << str(m, "sent_on")
              << (m["charge_yen"].get<int>() ? "  charge " + m["charge_yen"].dump() + " yen" : "") << "\n";
  return 0;
}

int mail_expire_holds(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  Ra r(g);
  auto done = ra::expire_holds(r.rctx, "cron", ra::date_in_japan(r.rctx.clock()));
  for (const auto& m : done)
    std::cout << "mailing " << m.tracking_number << " (application " << m.application_id << ") returned after the hold\n";
  return 0;
}

// ---- revocation ---------------------------------------------------------------------------------

int revocation_request(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial", "reason", "effective", "note"}, {});
  Ra r(g);
  auto who = r.who();
  std::optional<UnixTime> eff;
  if (auto e = a.get("effective")) eff = parse_rfc3339(*e);
  auto req = ra::request_revocation(r.rctx, who, a.required("serial"),
                                    ca::parse_revocation_reason(a.required("reason")), eff, a.get("note").value_or(""));
  std::cout << "revocation request " << req.id << " for " << req.serial << ", effective "
            << format_rfc3339(req.effective_at) << "; a second operator approves it: jitsuin ra revocation-approve --id "
            << req.id << "\n";
  return 0;
}

int revocation_approve(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {});
  Ra r(g);
  auto req = ra::approve_revocation(r.rctx, r.who(), a.whole_number("id"));
  std::cout << "certificate " << req.serial << " revoked, effective " << format_rfc3339(req.effective_at) << "\n";
  return 0;
}

int revocation_execute(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {});
  Ra r(g);
  auto req = ra::execute_revocation(r.rctx, r.who(), a.whole_number("id"));
  std::cout << "certificate " << req.serial << " revoked, effective " << format_rfc3339(req.effective_at) << "\n";
  return 0;
}

int revocation_reject(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "reason"}, {});
  Ra r(g);
  auto req = ra::reject_revocation(r.rctx, r.who(), a.whole_number("id"), a.required("reason"));
  std::cout << "revocation request " << req.id << " rejected\n";
  return 0;
}

int revocation_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"state"}, {"json"});
  Ra r(g);
  r.who();
  json out = json::array();
  for (const auto& q : ra::list_revocations(r.rctx, a.get("state").value_or(""))) out.push_back(q.to_json());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& q : out)
    std::cout << std::left << std::setw(6) << q["id"].dump() << std::setw(10) << str(q, "state") << std::setw(36)
              << str(q, "serial") << str(q, "reason") << "  effective " << str(q, "effective_at") << "\n";
  return 0;
}

// ---- renewal ------------------------------------------------------------------------------------

int notify_expiring(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  Ra r(g);
  auto sent = ra::send_expiry_notices(r.rctx, "cron");
  json out = json::array();
  for (const auto& n : sent)
    out.push_back({{"application", n.application_id}, {"serial", n.serial}, {"email", n.email},
                   {"days_before", n.days_before}, {"not_after", format_rfc3339(n.not_after)}});
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& n : out)
    std::cout << "expiry notice (" << n["days_before"] << " days) for certificate " << str(n, "serial") << " to "
              << str(n, "email") << "\n";
  std::cout << out.size() << " expiry notice(s) queued\n";
  return 0;
}

int renewal_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"from", "bundle", "file"}, {});
  Ra r(g);
  auto who = r.who();
  json changes = a.get("file") ? json_file(*a.get("file")) : json::object();
  auto id = ra::create_renewal(r.rctx, who, a.whole_number("from"), a.whole_number("bundle"), changes);
  std::cout << "renewal application " << id << " created from application " << a.whole_number("from") << "\n";
  return 0;
}

// ---- company and user IDs, certificate links ------------------------------------------------------

void print_accounts(const std::vector<ra::Account>& accounts, bool as_json) {
  json out = json::array();
  for (const auto& a : accounts) out.push_back(a.to_json());
  if (as_json) return print_json(out);
  for (const auto& a : out)
    std::cout << std::left << std::setw(10) << str(a, "login_id") << std::setw(9) << str(a, "kind") << std::setw(20)
              << str(a, "name") << str(a, "email") << (a["disabled"].get<bool>() ? "  (disabled)" : "") << "\n";
}

int accounts_issue(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  Ra r(g);
  auto issued = ra::issue_bundle_accounts(r.rctx, r.who(), a.whole_number("bundle"));
  print_accounts(issued.accounts, a.flag("json"));
  if (!a.flag("json")) std::cout << "initial passwords were mailed to each holder; they are not shown\n";
  return 0;
}

int account_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "name", "department", "email"}, {});
  Ra r(g);
  auto acc = ra::add_user_account(r.rctx, r.who(), a.whole_number("company"), a.required("name"),
                                  a.get("department").value_or(""), a.required("email"));
  std::cout << "user ID " << acc.login_id << " issued; initial password mailed to " << acc.email << "\n";
  return 0;
}

int account_change_holder(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"login-id", "name", "department", "email"}, {});
  Ra r(g);
  auto acc = ra::change_account_holder(r.rctx, r.who(), a.required("login-id"), a.required("name"),
                                       a.get("department").value_or(""), a.required("email"));
  std::cout << "user ID " << acc.login_id << " now held by " << acc.name << "; new initial password mailed; "
            << "certificate links removed\n";
  return 0;
}

int account_unlock(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"login-id"}, {});
  Ra r(g);
  ra::unlock_account(r.rctx, r.who(), a.required("login-id"));
  std::cout << "ID " << a.required("login-id") << " unlocked\n";
  return 0;
}

int account_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company"}, {"json"});
  Ra r(g);
  r.who();
  print_accounts(ra::list_accounts(r.rctx, a.opt_whole_number("company")), a.flag("json"));
  return 0;
}

int link(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "serial", "link", "unlink"}, {"json"});
  Ra r(g);
  ra::LinkChange change{a.required("serial"), a.get("link"), a.get("unlink")};
  auto links = ra::change_certificate_link(r.rctx, r.who(), a.whole_number("company"), change);
  json out = json::array();
  for (const auto& l : links) out.push_back(l.to_json());
  if (a.flag("json")) return print_json(out), 0;
  std::cout << "certificate " << ca::normalize_serial(change.serial) << " is linked to:";
  for (const auto& l : links) std::cout << " " << l.login_id;
  std::cout << (links.empty() ? " nobody" : "") << "\n";
  return 0;
}

int company_certificates(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company"}, {"json"});
  Ra r(g);
  r.who();
  auto certs = ra::company_certificates(r.rctx, a.whole_number("company"));
  if (a.flag("json")) {
    json out = json::array();
    for (const auto& c : certs)
      out.push_back({{"application", c.application_id}, {"serial", c.serial}, {"holder", c.holder},
                     {"holder_romaji", c.holder_romaji}, {"not_before", format_rfc3339(c.not_before)},
                     {"not_after", format_rfc3339(c.not_after)}, {"status", c.status}, {"users", c.users}});
    return print_json(out), 0;
  }
  for (const auto& c : certs) {
    std::cout << std::left << std::setw(34) << c.serial << std::setw(20) << c.holder_romaji << std::setw(12)
              << c.status << "until " << format_rfc3339(c.not_after) << "  users:";
    for (const auto& u : c.users) std::cout << " " << u;
    std::cout << "\n";
  }
  return 0;
}

const CommandRegistrar kRegistrar({
    {"ra", "operator-add", "ra operator-add --name NAME --role ROLE [--display-name TEXT] [--password-file FILE]",
     "Creates an RA operator account. ROLE: operator, approver, auditor, administrator. Needs an\n"
     "administrator's session, except for the very first account, which must be an administrator.",
     operator_add},
    {"ra", "operator-list", "ra operator-list [--json]", "Lists operator accounts with their lock state.", operator_list},
    {"ra", "operator-unlock", "ra operator-unlock --name NAME", "Clears a password lockout (administrator).",
     operator_unlock},
    {"ra", "operator-disable", "ra operator-disable --name NAME", "Disables an account and ends its sessions.",
     operator_disable},
    {"ra", "whoami", "ra whoami", "Shows the logged-in operator.", whoami},
    {"ra", "operator-key", "ra operator-key --out FILE [--days N]",
     "Writes an operator key (mode 0600) for unattended scripts: a session of the logged-in operator\n"
     "valid N days (default 30, at most 365). Use it with JITSUIN_SESSION_FILE=FILE; logout ends it.",
     operator_key},
    {"ra", "passwd", "ra passwd [--current-file FILE --new-file FILE]",
     "Changes the logged-in operator's password (at least 12 characters); files must be mode 0600.", passwd},
    {"ra", "bundle-create", "ra bundle-create --file BUNDLE.json [--json]",
     "Registers a paper application bundle (Forms 1-6) from JSON:\n"
     "  {\"company\": {name, name_kana, name_romaji, address, representative_name, representative_title}\n"
     "   | \"company_id\": N,\n"
     "   \"contract_kind\": \"new\"|\"change\", \"applied_by\": \"representative\"|\"manager\",\n"
     "   \"received_on\": \"YYYY-MM-DD\", \"seal_form\": bool, \"seal_description\": text,\n"
     "   \"applicant_list\": bool, \"token_quantity\": N, \"note\": text,\n"
     "   \"contacts\": [{role: contact|billing, name, department, email, phone, address}],\n"
     "   \"applicants\": [{name_kanji, name_kana, name_romaji, organization_romaji, department_romaji,\n"
     "                    title_romaji, email, postcode, home_address, validity_years: 1|2, profile}],\n"
     "   \"users\": [{name, department, email}]}\n"
     "Unknown fields are refused; on any error nothing is stored.",
     bundle_create},
    {"ra", "bundle-edit", "ra bundle-edit --id N --file CHANGES.json",
     "Changes bundle fields (received_on, seal_form, seal_description, applicant_list, token_quantity,\n"
     "note, applied_by, contract_kind, contacts) while it is being checked.",
     bundle_edit},
    {"ra", "bundle-show", "ra bundle-show --id N [--json]",
     "Shows a bundle: company, forms, applications, documents and the reasons of the last check.", bundle_show},
    {"ra", "bundle-list", "ra bundle-list [--company TEXT] [--limit N] [--json]",
     "Lists bundles, newest first; --company matches the name in kanji, kana or romaji.", bundle_list},
    {"ra", "application-add", "ra application-add --bundle N --file FORM5.json",
     "Adds a Form-5 applicant to a bundle that is still being checked.", application_add},
    {"ra", "application-edit", "ra application-edit --id N --file CHANGES.json",
     "Changes Form-5 fields while the application is received, incomplete or resubmitted.", application_edit},
    {"ra", "application-show", "ra application-show --id N [--json]",
     "Shows an application with its history (who, when) and its mailings.", application_show},
    {"ra", "application-list",
     "ra application-list [--company TEXT] [--applicant TEXT] [--state STATE] [--bundle N] [--limit N] [--json]",
     "Searches applications. STATE: received, incomplete, resubmitted, checked, approved, pin_issued,\n"
     "notice_mailed, enrolled, issued, rejected, withdrawn.",
     application_list},
    {"ra", "document-add",
     "ra document-add --bundle N [--application N] --kind KIND --issued YYYY-MM-DD [--received YYYY-MM-DD] [--copy] [--note TEXT]",
     "Records a public document received for a bundle (--received defaults to today in Japan). KIND:\n"
     "registration_current (現在事項全部証明書), registration_history (履歴事項全部証明書),\n"
     "registration_representative (代表者事項全部証明書), representative_seal (代表者印の印鑑証明書),\n"
     "residence_record (住民票, --application), personal_seal (印鑑登録証明書, --application).\n"
     "--copy records a copy (not accepted by the check).",
     document_add},
    {"ra", "document-list", "ra document-list --bundle N [--json]", "Lists the documents of a bundle.", document_list},
    {"ra", "document-remove", "ra document-remove --id N --reason TEXT", "Removes a document recorded by mistake.",
     document_remove},
    {"ra", "check", "ra check --bundle N [--json]",
     "Checks a bundle's forms and documents (RA-2): complete → applications checked; else incomplete,\n"
     "with the reasons (Japanese and English) to print and send back with the bundle.",
     check},
    {"ra", "resubmit", "ra resubmit --bundle N [--note TEXT]",
     "The company sent missing papers: incomplete applications become resubmitted.", resubmit},
    {"ra", "approve", "ra approve (--application N | --bundle N)",
     "Approves checked applications (approver role; never your own entries: two-person rule).", approve},
    {"ra", "reject", "ra reject --application N --reason TEXT", "Rejects an application.", reject},
    {"ra", "withdraw", "ra withdraw --application N --reason TEXT", "Records a withdrawal by the company.", withdraw},
    {"ra", "issue-pin",
     "ra issue-pin --application N [--letter FILE.pdf] [--language ja|en] [--enrollment-url URL] [--no-letter]",
     "Issues the application PIN of an approved application, prints it once and writes the approval\n"
     "notice PDF (mode 0600; default HOME/letters/). A re-issue needs ra pin-reissue-request by another\n"
     "operator first.",
     issue_pin},
    {"ra", "pin-reissue-request", "ra pin-reissue-request --application N --reason TEXT",
     "Asks for a new PIN (locked, expired, letter returned or lost); the old PIN stops working.",
     pin_reissue_request},
    {"ra", "mail-sent", "ra mail-sent --application N --tracking NUMBER [--date YYYY-MM-DD]",
     "Records the restricted-delivery mailing (本人限定受取郵便) of the approval notice.", mail_sent},
    {"ra", "mail-event", "ra mail-event --tracking NUMBER --event held|delivered|returned [--date YYYY-MM-DD]",
     "Records what the post office reported. Held mail is kept one week, then returned.", mail_event},
    {"ra", "mail-resend",
     "ra mail-resend --application N --tracking NUMBER --charge YEN [--note TEXT] [--date YYYY-MM-DD]",
     "Sends the notice again after a return or loss; the charge is recorded (0 needs a note).", mail_resend},
    {"ra", "mail-list", "ra mail-list [--application N] [--json]", "Lists mailings.", mail_list},
    {"ra", "mail-expire-holds", "ra mail-expire-holds",
     "Cron: marks held mailings whose week at the post office is over as returned.", mail_expire_holds},
    {"ra", "revocation-request",
     "ra revocation-request --serial HEX --reason NAME [--effective RFC3339] [--note TEXT]",
     "Records a revocation request (失効申請). The effective time defaults to now + ra.revocation_delay_days.",
     revocation_request},
    {"ra", "revocation-approve", "ra revocation-approve --id N",
     "Approves a revocation request (a different operator, approver role) and revokes the certificate\n"
     "at the requested time.",
     revocation_approve},
    {"ra", "revocation-execute", "ra revocation-execute --id N",
     "Carries out an approved request left by an earlier version, which approved and revoked in two steps.",
     revocation_execute},
    {"ra", "revocation-reject", "ra revocation-reject --id N --reason TEXT", "Rejects a revocation request.",
     revocation_reject},
    {"ra", "notify-expiring", "ra notify-expiring [--json]",
     "Cron: queues expiry notices for issued certificates entering a notice window\n"
     "(ra.expiry_notice_days, default 60 and 30 days); each notice is sent once.",
     notify_expiring},
    {"ra", "renewal-create", "ra renewal-create --from APPLICATION --bundle N [--file CHANGES.json]",
     "Creates a renewal application in bundle N re-using the Form-5 data of an issued application,\n"
     "with CHANGES applied. Only certificates whose expiry notice was sent, or that expired less than a\n"
     "year ago, can be renewed. When the new certificate is issued the old one is revoked (superseded).",
     renewal_create},
    {"ra", "accounts-issue", "ra accounts-issue --bundle N [--json]",
     "Issues the company ID (企業ID, to the Form-4 contact) and a user ID (ユーザID) per Form 6 of a\n"
     "checked bundle; initial passwords are mailed, never shown.",
     accounts_issue},
    {"ra", "account-add", "ra account-add --company N --name TEXT --email ADDR [--department TEXT]",
     "Issues an additional user ID.", account_add},
    {"ra", "account-change-holder",
     "ra account-change-holder --login-id U... --name TEXT --email ADDR [--department TEXT]",
     "利用者変更: a user ID passes to another person (staff transfer); new initial password mailed,\n"
     "certificate links removed.",
     account_change_holder},
    {"ra", "account-list", "ra account-list [--company N] [--json]", "Lists company and user IDs.", account_list},
    {"ra", "account-unlock", "ra account-unlock --login-id C...|U...",
     "Clears the password lockout of a company ID or user ID (administrator).", account_unlock},
    {"ra", "link", "ra link --company N --serial HEX [--link U...] [--unlink U...] [--json]",
     "Links an issued certificate of the company to a user ID (署名用ID) and/or unlinks one; one user\n"
     "each per update. The company admins and the linked user are mailed.",
     link},
    {"ra", "company-certificates", "ra company-certificates --company N [--json]",
     "The company's certificates with status and linked user IDs (自社電子証明書照会).", company_certificates},
    {"ra", "revocation-list", "ra revocation-list [--state pending|approved|revoked|rejected] [--json]",
     "Lists revocation requests.", revocation_list},
});

}  // namespace

}  // namespace jitsuin::cli
