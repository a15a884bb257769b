// jitsuin ra cert-request-…: a company admin's additional certificate request (RA-8,
// 電子証明書追加発行申請) and the operator's check of it. Adapters over ra.cert_request.* of jitsuin_api.
//
// cert-request-add is the company admin's own act: the admin is identified by the company ID and
// its password (never by an operator session, and never by a name alone). The other commands are
// the back office's and need an operator session from `jitsuin login`.
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/api_call.h"
#include "cli/commands.h"
#include "cli/ra_session.h"

namespace jitsuin::cli {

namespace {

using nlohmann::json;

void print_request(const json& r) {
  std::cout << std::left << "application " << std::setw(6) << r["application"].dump() << std::setw(15)
            << r["state"].get<std::string>() << std::setw(10) << r["user_id"].get<std::string>() << std::setw(22)
            << r["name_romaji"].get<std::string>() << "by " << r["requested_by"].get<std::string>();
  if (r.contains("serial"))
    std::cout << "  certificate " << r["serial"].get<std::string>() << (r["linked"].get<bool>() ? " (linked)" : " (not linked)");
  std::cout << "\n";
}

int cert_request_add(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"admin", "user", "file", "password-file"}, {"json"});
  std::string admin = a.required("admin"), user = a.required("user");
  json form = read_json_file(a.required("file"));
  Context ctx(g);
  std::string password = read_password("password for company ID " + admin + ": ", a.get("password-file"));
  json req = call_api(ctx, "ra.cert_request.add", {{"admin", admin}, {"password", password}, {"user", user}, {"form", form}});
  if (a.flag("json")) return print_json(req), 0;
  std::cout << "additional certificate request received: application " << req["application"] << " for user ID "
            << str(req, "user_id") << "; the receipt was mailed to the company admin\n";
  return 0;
}

int cert_request_list(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"company"}, {"json"});
  json request = json::object();
  if (a.get("company")) request["company"] = a.whole_number("company");
  Context ctx(g);
  json out = call_api(ctx, "ra.cert_request.list", request);
  if (a.flag("json")) return print_json(out), 0;
  for (const auto& req : out) print_request(req);
  if (out.empty()) std::cout << "no additional certificate requests\n";
  return 0;
}

int cert_request_check(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {"application"}, {"json"});
  Context ctx(g);
  json req = call_api(ctx, "ra.cert_request.check", {{"application", a.whole_number("application")}});
  if (a.flag("json")) return print_json(req), 0;
  std::cout << "application " << req["application"] << " checked; it needs an approval by another operator "
            << "(jitsuin ra approve)\n";
  return 0;
}

const CommandRegistrar kRegistrar({
    {"ra", "cert-request-add",
     "ra cert-request-add --admin C... --user U... --file CERT.json [--password-file FILE] [--json]",
     "電子証明書追加発行申請: the company admin requests a new signing certificate for one user ID of\n"
     "the company; when it is issued it is linked to that user ID. CERT.json holds the Form-5 fields:\n"
     "  {name_kanji, name_kana, name_romaji, organization_romaji (default: the company's romaji name),\n"
     "   department_romaji, title_romaji, email (download PIN), postcode, home_address (the approval\n"
     "   notice goes by restricted delivery), validity_years: 1|2, profile}\n"
     "The admin's password is read from FILE (mode 0600) or the terminal; after ra.password_max_failures\n"
     "wrong passwords the company ID locks until an administrator runs `jitsuin ra account-unlock`.\n"
     "The request then follows the usual cycle: ra cert-request-check, ra approve (another operator),\n"
     "ra issue-pin, ...",
     cert_request_add},
    {"ra", "cert-request-list", "ra cert-request-list [--company N] [--json]",
     "Lists company admins' additional certificate requests with their state and link.", cert_request_list},
    {"ra", "cert-request-check", "ra cert-request-check --application N [--json]",
     "Checks an additional certificate request (received online, no paper documents): the user ID is\n"
     "still enabled and unchanged. received → checked.",
     cert_request_check},
});

}  // namespace

}  // namespace jitsuin::cli
