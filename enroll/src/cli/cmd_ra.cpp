// jitsuin ra …: the registration authority's back office on the command line: adapters over the
// ra.* handlers of jitsuin_api (argv → request, response → text or --json). The operator comes from
// the `jitsuin login` session; passwords from the terminal or a file.
#include <iomanip>
#include <iostream>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "cli/ra_session.h"
#include "jitsuin/core/error.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

// Calls a handler in a fresh context: one command, one request.
json call(const GlobalOptions& g, const char* handler, const json& request) {
  Context ctx(g);
  return call_api(ctx, handler, request);
}

json id_request(const char* key, std::int64_t id) { return {{key, id}}; }

// ---- operators --------------------------------------------------------------------------------

int operator_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name", "role", "display-name", "password-file"}, {"temporary"});
  Context ctx(g, api::HomeCreation::allowed);   // the first administrator may be made in a new home
  std::string name = a.required("name");
  json req = {{"name", name}, {"role", a.required("role")}};
  if (auto d = a.get("display-name")) req["display_name"] = *d;
  std::string pw = read_password("new password for " + name + ": ", a.get("password-file"));
  if (!a.get("password-file")) {
    std::string again = read_password("again: ", std::nullopt);
    if (again != pw) throw Error(ErrorKind::invalid_input, "the passwords differ");
  }
  req["password"] = pw;
  if (a.flag("temporary")) req["temporary"] = true;
  json r = call_api(ctx, "ra.operator.add", req);
  std::cout << (r["bootstrap"].get<bool>() ? "first administrator " : "operator ") << str(r, "name") << " ("
            << str(r, "role") << ") created\n";
  if (r["pending"].get<bool>())
    std::cout << "it cannot log in until a second administrator approves it: jitsuin ra operator-approve --name "
              << str(r, "name") << "\n";
  if (r["password_temporary"].get<bool>())
    std::cout << "the password is temporary: " << str(r, "name") << " sets their own at the first login (jitsuin ra passwd)\n";
  return 0;
}

// The CA token PIN of a custody proof: from FILE (mode 0600, e.g. HOME/ca.so-pin), or the terminal.
json custody_request(const Args& a) {
  std::string kind = a.get("pin").value_or("so");
  std::string pin = read_password(std::string("CA token ") + (kind == "so" ? "SO PIN" : "user PIN") + ": ",
                                  a.get("pin-file"));
  return {{"name", a.required("name")}, {"pin_kind", kind}, {"pin", pin}};
}

int operator_approve(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name", "pin", "pin-file"}, {"ca-custody"});
  Context ctx(g);
  if (a.flag("ca-custody")) {
    call_api(ctx, "ra.operator.approve_by_custody", custody_request(a));
    std::cout << "operator " << a.required("name") << " approved by proof of CA custody\n";
    return 0;
  }
  JITSUIN_ARG_CHECK(!a.get("pin") && !a.get("pin-file"), "--pin and --pin-file go with --ca-custody");
  call_api(ctx, "ra.operator.approve", {{"name", a.required("name")}});
  std::cout << "operator " << a.required("name") << " approved\n";
  return 0;
}

int break_glass(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name", "pin", "pin-file", "new-password-file"}, {"reset-password"});
  Context ctx(g);
  json req = custody_request(a);
  if (auto f = a.get("new-password-file")) {
    req["new_password"] = read_password("", f);
  } else if (a.flag("reset-password")) {
    std::string pw = read_password("new temporary password for " + a.required("name") + ": ", std::nullopt);
    if (read_password("again: ", std::nullopt) != pw) throw Error(ErrorKind::invalid_input, "the passwords differ");
    req["new_password"] = pw;
  }
  json r = call_api(ctx, "ra.operator.break_glass", req);
  std::cout << "administrator " << a.required("name") << " unlocked by proof of CA custody";
  if (r["password_reset"].get<bool>()) std::cout << "; the new password is temporary (jitsuin ra passwd at the next login)";
  std::cout << "\n";
  return 0;
}

int operator_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  json out = call(g, "ra.operator.list", json::object());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& o : out)
    std::cout << std::left << std::setw(20) << str(o, "name") << std::setw(15) << str(o, "role")
              << (o["disabled"].get<bool>() ? "disabled"
                  : o["pending"].get<bool>() ? "pending approval"
                  : o["locked"].get<bool>()  ? "LOCKED"
                                             : "active")
              << (o["password_temporary"].get<bool>() ? " (temporary password)" : "") << "\n";
  return 0;
}

int operator_unlock(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name"}, {});
  call(g, "ra.operator.unlock", {{"name", a.required("name")}});
  std::cout << "operator " << a.required("name") << " unlocked\n";
  return 0;
}

int operator_disable(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"name"}, {});
  call(g, "ra.operator.disable", {{"name", a.required("name")}});
  std::cout << "operator " << a.required("name") << " disabled\n";
  return 0;
}

int passwd(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"current-file", "new-file"}, {"keep-keys", "end-keys"});
  if (a.flag("keep-keys") && a.flag("end-keys")) throw Error(ErrorKind::invalid_input, "--keep-keys or --end-keys, not both");
  Context ctx(g);
  call_api(ctx, "ra.whoami", json::object());   // not logged in: say so before asking for passwords
  std::string current = read_password("current password: ", a.get("current-file"));
  std::string next = read_password("new password: ", a.get("new-file"));
  if (!a.get("new-file") && read_password("again: ", std::nullopt) != next)
    throw Error(ErrorKind::invalid_input, "the passwords differ");
  // Every other session ends with the old password; the operator keys too, unless kept (asked at
  // a terminal, else --keep-keys).
  bool keep = a.flag("keep-keys");
  if (!keep && !a.flag("end-keys") && isatty(STDIN_FILENO)) {
    std::cout << "keep your operator keys (scripts' tokens) working? [y/N] " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    keep = answer == "y" || answer == "Y" || answer == "yes";
  }
  json r = call_api(ctx, "ra.passwd", {{"current", current}, {"new", next}, {"keep_keys", keep}});
  std::cout << "password changed; " << r.value("sessions_ended", 0) << " other session(s)"
            << (keep ? "" : " and operator key(s)") << " ended" << (keep ? "; operator keys kept" : "") << "\n";
  return 0;
}

int operator_key(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"days", "out", "label", "password-file"}, {});
  Context ctx(g);
  call_api(ctx, "ra.whoami", json::object());
  OutputFile out(ctx, "--out", a.required("out"), OutputFile::Existing::refuse);
  json req = json::object();
  if (auto d = a.opt_whole_number("days")) req["days"] = *d;
  if (auto l = a.get("label")) req["label"] = *l;
  // Minting a key needs the password again (not just the session).
  req["password"] = read_password("password: ", a.get("password-file"));
  json key = call_api(ctx, "ra.operator.key", req);
  out.write(key["token"].get<std::string>() + "\n", 0600);
  std::cout << "operator key for " << str(key, "name") << " written to " << out.path().string()
            << " (mode 0600), valid until " << str(key, "expires_at")
            << "; use it with JITSUIN_SESSION_FILE=" << out.path().string() << "\n";
  return 0;
}

int operator_keys(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  json r = call(g, "ra.operator.keys", json::object());
  if (a.flag("json")) {
    std::cout << r.dump(2) << "\n";
    return 0;
  }
  for (const auto& k : r["keys"])
    std::cout << k["id"].get<std::int64_t>() << "  until " << str(k, "expires_at") << "  made " << str(k, "created_at")
              << "  " << str(k, "label") << "\n";
  if (r["keys"].empty()) std::cout << "no live operator keys\n";
  return 0;
}

int operator_key_revoke(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {});
  auto id = a.opt_whole_number("id");
  if (!id) throw Error(ErrorKind::invalid_input, "--id N is required (ra operator-keys lists them)");
  call(g, "ra.operator.key_revoke", {{"id", *id}});
  std::cout << "operator key " << *id << " revoked\n";
  return 0;
}

int whoami(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  json who = call(g, "ra.whoami", json::object());
  std::cout << str(who, "name") << " (" << str(who, "role") << ")"
            << (who["password_change_required"].get<bool>() ? ": temporary password, change it with jitsuin ra passwd" : "")
            << "\n";
  return 0;
}

// ---- bundles and applications -----------------------------------------------------------------

int bundle_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"file"}, {"json"});
  Context ctx(g);
  json c = call_api(ctx, "ra.bundle.create", read_json_file(a.required("file")));
  if (a.flag("json")) return print_json(c), 0;
  std::cout << "bundle " << c["bundle"] << " registered (company " << c["company"] << "); applications:";
  for (const auto& id : c["applications"]) std::cout << " " << id;
  std::cout << "\n";
  return 0;
}

int bundle_edit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "file"}, {});
  Context ctx(g);
  call_api(ctx, "ra.bundle.edit", {{"id", a.whole_number("id")}, {"changes", read_json_file(a.required("file"))}});
  std::cout << "bundle " << a.whole_number("id") << " updated\n";
  return 0;
}

int bundle_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {"json"});
  Context ctx(g);
  auto id = a.whole_number("id");
  json j = call_api(ctx, "ra.bundle.show", id_request("id", id));
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
  json req = json::object();
  if (auto c = a.get("company")) req["company"] = *c;
  if (auto l = a.opt_whole_number("limit")) req["limit"] = *l;
  json out = call(g, "ra.bundle.list", req);
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& b : out)
    std::cout << std::left << std::setw(6) << b["id"].dump() << std::setw(12) << str(b, "received_on")
              << str(b["company"], "name") << "  (" << b["applications"].size() << " application(s))\n";
  return 0;
}

int application_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "file"}, {"json"});
  Context ctx(g);
  json r = call_api(ctx, "ra.application.add",
                    {{"bundle", a.whole_number("bundle")}, {"form", read_json_file(a.required("file"))}});
  if (a.flag("json")) return print_json(r), 0;
  std::cout << "application " << r["application"] << " added to bundle " << a.whole_number("bundle") << "\n";
  return 0;
}

int application_edit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "file"}, {});
  Context ctx(g);
  call_api(ctx, "ra.application.edit", {{"id", a.whole_number("id")}, {"changes", read_json_file(a.required("file"))}});
  std::cout << "application " << a.whole_number("id") << " updated\n";
  return 0;
}

int application_show(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {"json"});
  Context ctx(g);
  json j = call_api(ctx, "ra.application.show", id_request("id", a.whole_number("id")));
  if (a.flag("json")) return print_json(j), 0;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!it->is_array()) std::cout << std::left << std::setw(22) << it.key() << (it->is_string() ? it->get<std::string>() : it->dump()) << "\n";
  std::cout << "history:\n";
  for (const auto& e : j["history"])
    std::cout << "  " << str(e, "at") << "  " << std::setw(14) << str(e, "to") << str(e, "actor")
              << (str(e, "note").empty() ? "" : "  (" + str(e, "note") + ")") << "\n";
  for (const auto& m : j["mailings"])
    std::cout << "mail " << str(m, "tracking_number") << ": " << str(m, "state") << " (sent " << str(m, "sent_on") << ")\n";
  // enroll: the download PINs mailed (never the PIN itself).
  for (const auto& p : j.value("download_pins", json::array()))
    std::cout << "download PIN " << str(p, "status") << ": issued " << str(p, "issued_at") << " to " << str(p, "mailed_to")
              << ", expires " << str(p, "expires_at") << ", " << p.value("failures", 0) << " wrong\n";
  return 0;
}

int application_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "applicant", "state", "bundle", "limit"}, {"json"});
  json req = json::object();
  for (const char* k : {"company", "applicant", "state"})
    if (auto v = a.get(k)) req[k] = *v;
  if (auto b = a.opt_whole_number("bundle")) req["bundle"] = *b;
  if (auto l = a.opt_whole_number("limit")) req["limit"] = *l;
  json out = call(g, "ra.application.list", req);
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& app : out)
    std::cout << std::left << std::setw(6) << app["id"].dump() << std::setw(14) << str(app, "state") << std::setw(20)
              << str(app, "name_romaji") << str(app, "company") << "\n";
  return 0;
}

// ---- documents and the check ------------------------------------------------------------------

int document_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "application", "kind", "issued", "received", "note"}, {"copy", "json"});
  json req = {{"bundle", a.whole_number("bundle")}, {"kind", a.required("kind")}, {"issued", a.required("issued")}};
  if (auto app = a.opt_whole_number("application")) req["application"] = *app;
  if (auto r = a.get("received")) req["received"] = *r;
  if (auto n = a.get("note")) req["note"] = *n;
  if (a.flag("copy")) req["copy"] = true;
  json d = call(g, "ra.document.add", req);
  if (a.flag("json")) return print_json(d), 0;
  std::cout << "document " << d["id"] << " recorded: " << str(d, "kind") << " issued " << str(d, "issued_on")
            << ", accepted until " << str(d, "accepted_until") << "\n";
  return 0;
}

int document_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  json out = call(g, "ra.document.list", id_request("bundle", a.whole_number("bundle")));
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& d : out)
    std::cout << std::left << std::setw(6) << d["id"].dump() << std::setw(30) << str(d, "kind") << "issued "
              << str(d, "issued_on") << " received " << str(d, "received_on") << (d["original"].get<bool>() ? "" : " COPY")
              << (d.contains("application") ? "  application " + d["application"].dump() : "") << "\n";
  return 0;
}

int document_remove(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "reason"}, {});
  call(g, "ra.document.remove", {{"id", a.whole_number("id")}, {"reason", a.required("reason")}});
  std::cout << "document " << a.whole_number("id") << " removed\n";
  return 0;
}

int check(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  json res = call(g, "ra.check", id_request("bundle", a.whole_number("bundle")));
  if (a.flag("json")) return print_json(res), 0;
  if (res["complete"].get<bool>()) {
    std::cout << "bundle " << a.whole_number("bundle") << " is complete; " << res["applications"].size()
              << " application(s) checked\n";
    return 0;
  }
  std::cout << "bundle " << a.whole_number("bundle") << " is INCOMPLETE (" << res["reasons"].size()
            << " reason(s)); applications marked incomplete. To send back with the bundle:\n";
  for (const auto& d : res["reasons"]) std::cout << "  - " << str(d, "message_ja") << "\n    (" << str(d, "message") << ")\n";
  return 0;
}

int resubmit(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle", "note"}, {"json"});
  json req = id_request("bundle", a.whole_number("bundle"));
  if (auto n = a.get("note")) req["note"] = *n;
  json r = call(g, "ra.resubmit", req);
  if (a.flag("json")) return print_json(r), 0;
  std::cout << r["applications"].size() << " application(s) resubmitted; record the new documents, then run ra check\n";
  return 0;
}

// ---- decisions ----------------------------------------------------------------------------------

int approve(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "bundle"}, {"json"});
  json req = json::object();
  if (a.get("application")) req["application"] = a.whole_number("application");
  if (auto b = a.opt_whole_number("bundle")) req["bundle"] = *b;
  Context ctx(g);
  if (req.empty()) throw UsageError("give --application ID or --bundle ID");
  json r = call_api(ctx, "ra.approve", req);
  if (a.flag("json")) return print_json(r), 0;
  for (const auto& id : r["approved"]) std::cout << "application " << id << " approved\n";
  return 0;
}

int reject(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  call(g, "ra.reject", {{"application", a.whole_number("application")}, {"reason", a.required("reason")}});
  std::cout << "application " << a.whole_number("application") << " rejected\n";
  return 0;
}

int withdraw(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  call(g, "ra.withdraw", {{"application", a.whole_number("application")}, {"reason", a.required("reason")}});
  std::cout << "application " << a.whole_number("application") << " withdrawn\n";
  return 0;
}

// The letters jitsuin keeps under HOME/letters when no --letter is given; deleted by mail-sent.
std::filesystem::path home_letters(const Context& ctx) { return ctx.config().home / "letters"; }
std::string home_letter_prefix(std::int64_t application) {
  return "application-" + std::to_string(application) + "-";
}

void write_letter(OutputFile& letter, const json& pin) {
  Bytes pdf = from_base64(pin["letter_pdf"].get<std::string>());
  letter.write(std::string_view(reinterpret_cast<const char*>(pdf.data()), pdf.size()), 0600);
}

// The PIN is issued and the letter rendered in one transaction by ra.pin.issue; writing the PDF is
// this adapter's part. The letter's path is checked (its folder exists and takes the file) before
// the PIN exists, so that a path that cannot be written to costs no PIN.
int issue_pin(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "letter", "language", "enrollment-url"}, {"no-letter", "json"});
  Context ctx(g);
  auto id = a.whole_number("application");
  bool with_letter = !a.flag("no-letter");
  json req = {{"application", id}, {"letter", with_letter}, {"language", a.get("language").value_or("ja")}};
  if (auto url = a.get("enrollment-url")) req["enrollment_url"] = *url;
  std::optional<OutputFile> letter;
  if (with_letter && a.get("letter")) letter.emplace(ctx, "--letter", *a.get("letter"));
  else if (with_letter)
    letter.emplace(OutputFile::in_home(
        ctx, home_letters(ctx) / (home_letter_prefix(id) + std::to_string(ctx.clock()()) + ".pdf")));
  json pin = call_api(ctx, "ra.pin.issue", req);
  if (a.flag("json")) {
    // The response as the API gives it, but the letter as the file it was written to.
    if (letter) write_letter(*letter, pin);
    pin.erase("letter_pdf");
    if (letter) pin["letter"] = letter->path().string();
    return print_json(pin), 0;
  }
  std::cout << "application PIN for application " << id << " (shown once, not stored): " << str(pin, "pin") << "\n"
            << "expires " << str(pin, "expires_at") << "\n" << std::flush;
  if (letter) {
    write_letter(*letter, pin);
    std::cout << "approval notice: " << letter->path().string() << "\n";
  }
  return 0;
}

int pin_reissue_request(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "reason"}, {});
  call(g, "ra.pin.reissue_request", {{"application", a.whole_number("application")}, {"reason", a.required("reason")}});
  std::cout << "PIN re-issue requested; the old PIN no longer works. Another operator with the approver role\n"
               "issues the new one: jitsuin ra issue-pin --application "
            << a.whole_number("application") << "\n";
  return 0;
}

// ---- restricted-delivery mail -------------------------------------------------------------------

int mail_sent(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "tracking", "date"}, {"json"});
  json req = {{"application", a.whole_number("application")}, {"tracking", a.required("tracking")}};
  if (auto d = a.get("date")) req["date"] = *d;
  Context ctx(g);
  json m = call_api(ctx, "ra.mail.sent", req);
  if (!a.flag("json"))
    std::cout << "approval notice for application " << m["application"] << " sent, tracking "
              << str(m, "tracking_number") << "\n";
  // The letter has gone by post: the copies jitsuin kept under HOME/letters hold the PIN in clear,
  // so they go now (a letter written elsewhere with --letter is the operator's to delete).
  std::error_code ec;
  std::string prefix = home_letter_prefix(a.whole_number("application"));
  for (const auto& e : std::filesystem::directory_iterator(home_letters(ctx), ec)) {
    std::string name = e.path().filename().string();
    if (!name.starts_with(prefix) || !name.ends_with(".pdf") || !e.is_regular_file()) continue;
    std::filesystem::remove(e.path());   // throws, naming the file, when it cannot be deleted
    if (!a.flag("json")) std::cout << "deleted " << e.path().string() << " (it held the PIN)\n";
  }
  if (a.flag("json")) print_json(m);
  return 0;
}

int mail_event(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"tracking", "event", "date"}, {"json"});
  json req = {{"tracking", a.required("tracking")}, {"event", a.required("event")}};
  if (auto d = a.get("date")) req["date"] = *d;
  json m = call(g, "ra.mail.event", req);
  if (a.flag("json")) return print_json(m), 0;
  std::cout << "mailing " << str(m, "tracking_number") << " is " << str(m, "state");
  if (m.contains("hold_ends") && str(m, "state") == "held")
    std::cout << " (at the post office until " << str(m, "hold_ends") << ")";
  std::cout << "\n";
  return 0;
}

int mail_resend(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application", "tracking", "date", "charge", "note"}, {});
  json req = {{"application", a.whole_number("application")},
              {"tracking", a.required("tracking")},
              {"charge", a.whole_number("charge")}};
  if (auto d = a.get("date")) req["date"] = *d;
  if (auto n = a.get("note")) req["note"] = *n;
  json m = call(g, "ra.mail.resend", req);
  std::cout << "approval notice re-sent, tracking " << str(m, "tracking_number") << ", charge " << m["charge_yen"]
            << " yen\n";
  return 0;
}

int mail_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application"}, {"json"});
  json req = json::object();
  if (auto id = a.opt_whole_number("application")) req["application"] = *id;
  json out = call(g, "ra.mail.list", req);
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& m : out)
    std::cout << std::left << std::setw(16) << str(m, "tracking_number") << std::setw(11) << str(m, "state")
              << "application " << m["application"] << "  sent " << str(m, "sent_on")
              << (m["charge_yen"].get<int>() ? "  charge " + m["charge_yen"].dump() + " yen" : "") << "\n";
  return 0;
}

int mail_expire_holds(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {});
  for (const auto& m : call(g, "ra.mail.expire_holds", json::object()))
    std::cout << "mailing " << str(m, "tracking_number") << " (application " << m["application"]
              << ") returned after the hold\n";
  return 0;
}

// ---- revocation ---------------------------------------------------------------------------------

int revocation_request(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"serial", "reason", "effective", "note"}, {});
  json req = {{"serial", a.required("serial")}, {"reason", a.required("reason")}};
  if (auto e = a.get("effective")) req["effective"] = *e;
  if (auto n = a.get("note")) req["note"] = *n;
  json q = call(g, "ra.revocation.request", req);
  std::cout << "revocation request " << q["id"] << " for " << str(q, "serial") << ", effective " << str(q, "effective_at")
            << "; a second operator approves it: jitsuin ra revocation-approve --id " << q["id"] << "\n";
  return 0;
}

int revocation_approve(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {});
  json q = call(g, "ra.revocation.approve", id_request("id", a.whole_number("id")));
  std::cout << "certificate " << str(q, "serial") << " revoked, effective " << str(q, "effective_at") << "\n";
  return 0;
}

int revocation_execute(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id"}, {});
  json q = call(g, "ra.revocation.execute", id_request("id", a.whole_number("id")));
  std::cout << "certificate " << str(q, "serial") << " revoked, effective " << str(q, "effective_at") << "\n";
  return 0;
}

int revocation_reject(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"id", "reason"}, {});
  json q = call(g, "ra.revocation.reject", {{"id", a.whole_number("id")}, {"reason", a.required("reason")}});
  std::cout << "revocation request " << q["id"] << " rejected\n";
  return 0;
}

int revocation_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"state", "limit", "before"}, {"json"});
  json req = json::object();
  if (auto s = a.get("state")) req["state"] = *s;
  if (auto n = a.opt_whole_number("limit")) req["limit"] = *n;
  if (auto b = a.opt_whole_number("before")) req["before_id"] = *b;
  json page = call(g, "ra.revocation.list", req);
  const json& out = page["entries"];
  // One page, newest first; where older requests remain, how to read them (on stderr: the JSON on
  // stdout stays the list).
  if (!page["next"].is_null()) std::cerr << "older requests: jitsuin ra revocation-list --before " << page["next"] << "\n";
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& q : out)
    std::cout << std::left << std::setw(6) << q["id"].dump() << std::setw(10) << str(q, "state") << std::setw(36)
              << str(q, "serial") << str(q, "reason") << "  effective " << str(q, "effective_at") << "\n";
  return 0;
}

// ---- renewal ------------------------------------------------------------------------------------

int notify_expiring(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, {"json"});
  json out = call(g, "ra.notify_expiring", json::object());
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& n : out)
    std::cout << "expiry notice (" << n["days_before"] << " days) for certificate " << str(n, "serial") << " to "
              << str(n, "email") << "\n";
  std::cout << out.size() << " expiry notice(s) queued\n";
  return 0;
}

int renewal_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"from", "bundle", "file"}, {});
  Context ctx(g);
  json req = {{"from", a.whole_number("from")}, {"bundle", a.whole_number("bundle")}};
  if (auto f = a.get("file")) req["changes"] = read_json_file(*f);
  json r = call_api(ctx, "ra.renewal.create", req);
  std::cout << "renewal application " << r["application"] << " created from application " << a.whole_number("from")
            << "\n";
  return 0;
}

// ---- company and user IDs, certificate links ------------------------------------------------------

void print_accounts(const json& out, bool as_json) {
  if (as_json) return print_json(out);
  for (const auto& a : out)
    std::cout << std::left << std::setw(10) << str(a, "login_id") << std::setw(9) << str(a, "kind") << std::setw(20)
              << str(a, "name") << str(a, "email") << (a["disabled"].get<bool>() ? "  (disabled)" : "") << "\n";
}

int accounts_issue(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"bundle"}, {"json"});
  print_accounts(call(g, "ra.accounts.issue", id_request("bundle", a.whole_number("bundle"))), a.flag("json"));
  if (!a.flag("json")) std::cout << "initial passwords were mailed to each holder; they are not shown\n";
  return 0;
}

int account_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "name", "department", "email"}, {});
  json req = {{"company", a.whole_number("company")}, {"name", a.required("name")}, {"email", a.required("email")}};
  if (auto d = a.get("department")) req["department"] = *d;
  json acc = call(g, "ra.account.add", req);
  std::cout << "user ID " << str(acc, "login_id") << " issued; initial password mailed to " << str(acc, "email") << "\n";
  return 0;
}

int account_change_holder(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"login-id", "name", "department", "email"}, {});
  json req = {{"login_id", a.required("login-id")}, {"name", a.required("name")}, {"email", a.required("email")}};
  if (auto d = a.get("department")) req["department"] = *d;
  json acc = call(g, "ra.account.change_holder", req);
  std::cout << "user ID " << str(acc, "login_id") << " now held by " << str(acc, "name") << "; new initial password mailed; "
            << "certificate links removed\n";
  return 0;
}

int account_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company"}, {"json"});
  json req = json::object();
  if (auto c = a.opt_whole_number("company")) req["company"] = *c;
  print_accounts(call(g, "ra.account.list", req), a.flag("json"));
  return 0;
}

int account_unlock(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"login-id"}, {});
  call(g, "ra.account.unlock", {{"login_id", a.required("login-id")}});
  std::cout << "ID " << a.required("login-id") << " unlocked\n";
  return 0;
}

int link(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company", "serial", "link", "unlink"}, {"json"});
  json req = {{"company", a.whole_number("company")}, {"serial", a.required("serial")}};
  if (auto l = a.get("link")) req["link"] = *l;
  if (auto u = a.get("unlink")) req["unlink"] = *u;
  json r = call(g, "ra.link", req);
  if (a.flag("json")) return print_json(r["links"]), 0;
  std::cout << "certificate " << str(r, "serial") << " is linked to:";
  for (const auto& l : r["links"]) std::cout << " " << str(l, "user_id");
  std::cout << (r["links"].empty() ? " nobody" : "") << "\n";
  return 0;
}

int company_certificates(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company"}, {"json"});
  json out = call(g, "ra.company_certificates", id_request("company", a.whole_number("company")));
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& c : out) {
    std::cout << std::left << std::setw(34) << str(c, "serial") << std::setw(20) << str(c, "holder_romaji")
              << std::setw(12) << str(c, "status") << "until " << str(c, "not_after") << "  users:";
    for (const auto& u : c["users"]) std::cout << " " << u.get<std::string>();
    std::cout << "\n";
  }
  return 0;
}

const CommandRegistrar kRegistrar({
    {"ra", "operator-add", "ra operator-add --name NAME --role ROLE [--display-name TEXT] [--password-file FILE] [--temporary]",
     "Creates an RA operator account. ROLE: operator, approver, auditor, administrator. Needs an\n"
     "administrator's session, except for the very first account, which must be an administrator.\n"
     "The password is temporary: the new operator sets their own at the first login (ra passwd);\n"
     "the very first account's only with --temporary (./run.sh: a generated password shown once).\n"
     "An approver or administrator account waits for a second administrator's approval\n"
     "(ra operator-approve) before it can log in.",
     operator_add},
    {"ra", "operator-approve", "ra operator-approve --name NAME [--ca-custody [--pin so|user] [--pin-file FILE]]",
     "Approves a pending approver or administrator account: an administrator other than its creator.\n"
     "With --ca-custody, while there is only one active administrator, a PIN of the CA token proves\n"
     "custody of the CA instead (default the SO PIN, HOME/ca.so-pin for the embedded token; FILE mode\n"
     "0600, else asked on the terminal). Every approval is audited with creator and approver.",
     operator_approve},
    {"ra", "break-glass",
     "ra break-glass --name NAME [--pin so|user] [--pin-file FILE] [--new-password-file FILE | --reset-password]",
     "Unlocks a locked-out administrator by proof of CA custody: a PIN of the CA token (default the\n"
     "SO PIN, HOME/ca.so-pin for the embedded token), checked on the token. With a new password\n"
     "(from FILE, or asked with --reset-password) it also sets a temporary password and ends the\n"
     "account's sessions. Audited (ra.operator.break_glass; a refused PIN as ra.custody.failure).",
     break_glass},
    {"ra", "operator-list", "ra operator-list [--json]", "Lists operator accounts with their lock state.", operator_list},
    {"ra", "operator-unlock", "ra operator-unlock --name NAME", "Clears a password lockout (administrator).",
     operator_unlock},
    {"ra", "operator-disable", "ra operator-disable --name NAME", "Disables an account and ends its sessions.",
     operator_disable},
    {"ra", "whoami", "ra whoami", "Shows the logged-in operator.", whoami},
    {"ra", "operator-key", "ra operator-key --out FILE [--days N] [--label TEXT] [--password-file FILE]",
     "Writes an operator key (mode 0600) for unattended scripts: a session of the logged-in operator\n"
     "valid N days (default 30, at most ra.api_key_max_days). Needs your password again, and a login\n"
     "session (a key makes no keys). Use it with JITSUIN_SESSION_FILE=FILE; logout ends it.",
     operator_key},
    {"ra", "operator-keys", "ra operator-keys [--json]", "Lists your live operator keys (id, expiry, label).",
     operator_keys},
    {"ra", "operator-key-revoke", "ra operator-key-revoke --id N", "Revokes one of your operator keys.",
     operator_key_revoke},
    {"ra", "passwd", "ra passwd [--current-file FILE --new-file FILE] [--keep-keys | --end-keys]",
     "Changes the logged-in operator's password (at least 12 characters); files must be mode 0600.\n"
     "Every other session of yours ends; your operator keys too unless --keep-keys (asked at a terminal).",
     passwd},
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
    {"ra", "application-add", "ra application-add --bundle N --file FORM5.json [--json]",
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
     "ra document-add --bundle N [--application N] --kind KIND --issued YYYY-MM-DD [--received YYYY-MM-DD] [--copy] [--note TEXT]\n"
     "  [--json]",
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
    {"ra", "resubmit", "ra resubmit --bundle N [--note TEXT] [--json]",
     "The company sent missing papers: incomplete applications become resubmitted.", resubmit},
    {"ra", "approve", "ra approve (--application N | --bundle N) [--json]",
     "Approves checked applications (approver role; never your own entries: two-person rule).", approve},
    {"ra", "reject", "ra reject --application N --reason TEXT", "Rejects an application.", reject},
    {"ra", "withdraw", "ra withdraw --application N --reason TEXT", "Records a withdrawal by the company.", withdraw},
    {"ra", "issue-pin",
     "ra issue-pin --application N [--letter FILE.pdf] [--language ja|en] [--enrollment-url URL] [--no-letter]\n"
     "  [--json]",
     "Issues the application PIN of an approved application, prints it once and writes the approval\n"
     "notice PDF (mode 0600; default HOME/letters/, deleted by ra mail-sent). --letter must name a file\n"
     "in an existing folder, not one of jitsuin's own; it is checked before the PIN exists. A re-issue\n"
     "needs ra pin-reissue-request by another operator first.",
     issue_pin},
    {"ra", "pin-reissue-request", "ra pin-reissue-request --application N --reason TEXT",
     "Asks for a new PIN (locked, expired, letter returned or lost); the old PIN stops working.",
     pin_reissue_request},
    {"ra", "mail-sent", "ra mail-sent --application N --tracking NUMBER [--date YYYY-MM-DD] [--json]",
     "Records the restricted-delivery mailing (本人限定受取郵便) of the approval notice, and deletes\n"
     "the application's approval notice files under HOME/letters/ (they hold the PIN).",
     mail_sent},
    {"ra", "mail-event", "ra mail-event --tracking NUMBER --event held|delivered|returned [--date YYYY-MM-DD] [--json]",
     "Records what the post office reported. Held mail is kept one week, then returned.", mail_event},
    {"ra", "mail-resend",
     "ra mail-resend --application N --tracking NUMBER --charge YEN [--note TEXT] [--date YYYY-MM-DD]",
     "Sends the notice again after a return or loss; the charge is recorded (0 needs a note).", mail_resend},
    {"ra", "mail-list", "ra mail-list [--application N] [--json]", "Lists mailings.", mail_list},
    {"ra", "mail-expire-holds", "ra mail-expire-holds",
     "Cron: marks held mailings whose week at the post office is over as returned.", mail_expire_holds},
    {"ra", "revocation-request",
     "ra revocation-request --serial HEX --reason NAME [--effective RFC3339] [--note TEXT]",
     "Records a revocation request (失効申請). The effective time defaults to now + ra.revocation_delay_days\n"
     "(now for keyCompromise). keyCompromise is taken for a certificate whose revocation is not yet in\n"
     "effect: approved, it replaces that revocation and takes effect earlier.",
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
     "with CHANGES applied: department, title, e-mail, validity may change, never the person (names,\n"
     "kana, romaji name, postcode, home address: a new holder needs a new application). Only\n"
     "certificates whose expiry notice was sent, or that expired less than a year ago, can be renewed.\n"
     "When the new certificate is issued the old one is revoked (superseded).",
     renewal_create},
    {"ra", "accounts-issue", "ra accounts-issue --bundle N [--json]",
     "Issues the company ID (企業ID, to the Form-4 contact) and a user ID (ユーザID) per Form 6 of a\n"
     "checked bundle; initial passwords are mailed, never shown (a user ID's to its user and to the\n"
     "Form-4 contact).",
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
    {"ra", "revocation-list", "ra revocation-list [--state pending|approved|revoked|rejected] [--limit N] [--before ID] [--json]",
     "Lists revocation requests, newest first, a page at a time (default 100).", revocation_list},
});

}  // namespace

}  // namespace jitsuin::cli
