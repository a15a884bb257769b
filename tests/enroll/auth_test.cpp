// Authentication and authorisation over the API, against a real jitsuind (the built binary, on
// 127.0.0.1 port 0) on a home made with the RA fixtures (real SoftHSM2 token, real SQLite file):
//  - the authorisation matrix: every handler (routed or not), /health and the static files ×
//    {anonymous, operator, approver, auditor, administrator, company admin of the company, company
//    admin of another company} → the status the handler's documented permission gives;
//  - no company.* list shows another company's rows (two companies, both with data);
//  - the README's curl examples (operator login → bearer, operator key, company login) run as written;
//  - the access log names the principal of a bearer call, never the token;
//  - rate limits: 429 with Retry-After and the JSON body, per address and per account, for every
//    authentication endpoint and for bearer tokens that do not resolve; they survive a restart.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "jitsuin/api/handler.h"
#include "jitsuin/core/util.h"
#include "ra/company_fixture.h"

namespace {

using namespace jitsuin;
using nlohmann::json;
using ra::testing::CompanyFixture;
using ra::testing::kPassword;
namespace fs = std::filesystem;

// ---------------------------------------------------------------- a jitsuind of our own

// A config for the fixture's home: its private token, the shipped profiles, the rate limits given.
fs::path write_config(const test::CaFixture& caf, int per_address, int per_account, int window) {
  auto src = fs::path(JITSUIN_SOURCE_DIR) / "config";
  json c = json::parse(read_file(src / "jitsuin.json"));
  c["ca"]["profiles_dir"] = (src / "profiles").string();
  c["hsm"]["embedded_softhsm"] = false;
  c["hsm"]["token"] = "pkcs11:token=" + caf.token_label;
  c["hsm"]["pin_env"] = "";
  c["server"]["auth_rate_per_address"] = per_address;
  c["server"]["auth_rate_per_account"] = per_account;
  c["server"]["auth_rate_window_seconds"] = window;
  // Every principal tries the same unknown coupon and download PIN numbers, which are counted like
  // real ones (issue 20): room for all of them before the number locks.
  c["ra"]["pin_max_attempts"] = 20;
  auto file = caf.home / "test-config.json";
  test::write_text(file, c.dump(2));
  return file;
}

struct Reply {
  int status = 0;
  json body;
  std::string headers;
};

class Jitsuind {
 public:
  Jitsuind(const fs::path& home, const fs::path& config) : home_(home) {
    auto out = home / "server.out";
    fs::remove(out);
    auto r = test::run("(exec " + test::sh_quote(JITSUIND_BINARY) + " --home " + test::sh_quote(home.string()) +
                       " --config " + test::sh_quote(config.string()) +
                       " --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 >" + test::sh_quote(out.string()) + " 2>>" +
                       test::sh_quote((home / "server.err").string()) + " </dev/null) & echo $!");
    pid_ = std::stoi(r.output);
    std::regex ports(R"(https=127\.0\.0\.1:(\d+) http=127\.0\.0\.1:(\d+))");
    for (int i = 0; i < 1200; ++i) {
      std::ifstream in(out);
      std::string line;
      std::smatch m;
      if (std::getline(in, line) && std::regex_search(line, m, ports)) {
        https_ = "https://127.0.0.1:" + m[1].str();
        http_ = "http://127.0.0.1:" + m[2].str();
        return;
      }
      if (::kill(pid_, 0) != 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("jitsuind did not start: " + read_file(home / "server.err"));
  }
  ~Jitsuind() {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 600 && ::kill(pid_, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const std::string& https() const { return https_; }
  const std::string& http() const { return http_; }
  fs::path root() const { return home_ / "server" / "root.pem"; }
  std::string log() const { return read_file(home_ / "server.out"); }

  /// GET or POST (with a body) on the HTTPS listener; the token goes in a header file, not argv.
  Reply request(const std::string& path, const std::optional<json>& body, const std::string& token = "",
                const std::string& base = "") const {
    auto dir = home_ / "curl";
    fs::create_directories(dir);
    std::string cmd = "curl -sS --cacert " + test::sh_quote(root().string()) + " -o " + test::sh_quote((dir / "body").string()) +
                      " -D " + test::sh_quote((dir / "headers").string()) + " -w '%{http_code}'";
    if (!token.empty()) {
      write_file_atomic(dir / "auth", "Authorization: Bearer " + token + "\n", 0600);
      cmd += " -H @" + test::sh_quote((dir / "auth").string());
    }
    if (body) {
      test::write_text(dir / "request.json", body->dump());
      cmd += " -H 'Content-Type: application/json' --data-binary @" + test::sh_quote((dir / "request.json").string());
    }
    cmd += " " + test::sh_quote((base.empty() ? https_ : base) + path);
    auto r = test::run(cmd);
    Reply reply;
    reply.status = std::atoi(r.output.c_str());
    reply.headers = fs::exists(dir / "headers") ? read_file(dir / "headers") : "";
    std::string text = fs::exists(dir / "body") ? read_file(dir / "body") : "";
    reply.body = json::parse(text, nullptr, false);
    fs::remove(dir / "body");
    fs::remove(dir / "headers");
    return reply;
  }
  Reply call(const std::string& handler, const json& body, const std::string& token = "") const {
    return request("/api/v1/" + handler, body, token);
  }

 private:
  fs::path home_;
  pid_t pid_ = 0;
  std::string https_, http_;
};

// ---------------------------------------------------------------- the matrix

enum class Who { anonymous, operator_, approver, auditor, administrator, company_admin, other_company_admin };
const char* who_name(Who w) {
  switch (w) {
    case Who::anonymous: return "anonymous";
    case Who::operator_: return "operator";
    case Who::approver: return "approver";
    case Who::auditor: return "auditor";
    case Who::administrator: return "administrator";
    case Who::company_admin: return "company admin";
    case Who::other_company_admin: return "other company's admin";
  }
  return "?";
}
constexpr Who kEveryone[] = {Who::anonymous, Who::operator_, Who::approver, Who::auditor,
                             Who::administrator, Who::company_admin, Who::other_company_admin};

// What a handler documents that it needs (handler.h Access; ra::Permission in ra/ headers).
enum class Need {
  local,        // Access::local: never routed (404 for everyone)
  credentials,  // the request carries its own credentials: the same answer whoever calls
  self,         // any RA operator (own session, own password, own key)
  read,         // Permission::read: every operator role
  enter,        // Permission::enter: operator, approver, administrator
  approve,      // Permission::approve: approver, administrator
  administer,   // Permission::administer: administrator
  company,      // a company admin's own session (company.*)
  audit,        // the CA's read-only reports: auditor, administrator (i9)
};

struct Route {
  std::string name;
  Need need;
  json body;         // decodes, so that authorisation is what decides
  int allowed;       // the status for a principal who may call it (the body names nothing that exists: 404)
  std::optional<int> other_company = std::nullopt;   // company routes whose body names the company's own objects
};

int expected(const Route& r, Who w) {
  if (r.need == Need::local) return 404;
  if (r.need == Need::credentials) return r.allowed;
  if (w == Who::anonymous) return 401;
  const bool company = w == Who::company_admin || w == Who::other_company_admin;
  if (r.need == Need::company) {
    if (!company) return 403;
    return w == Who::other_company_admin && r.other_company ? *r.other_company : r.allowed;
  }
  if (company) return 403;
  bool may = false;
  switch (r.need) {
    case Need::self:
    case Need::read: may = true; break;
    case Need::enter: may = w != Who::auditor; break;
    case Need::approve: may = w == Who::approver || w == Who::administrator; break;
    case Need::administer: may = w == Who::administrator; break;
    case Need::audit: may = w == Who::auditor || w == Who::administrator; break;
    default: break;
  }
  return may ? r.allowed : 403;
}

json applicant_form() {
  return {{"name_kanji", "山田 太郎"}, {"name_kana", "ヤマダ タロウ"}, {"name_romaji", "Taro Yamada"},
          {"department_romaji", "Honsha"}, {"title_romaji", "Buchou"}, {"email", "taro@example.jp"},
          {"postcode", "105-0004"}, {"home_address", "東京都港区新橋2-6-2"}, {"validity_years", 1}};
}

json bundle_body(const std::string& today) {
  json app = applicant_form();
  app["organization_romaji"] = "Sakura Kensetsu";
  return {{"company", {{"name", "桜建設株式会社"}, {"name_kana", "サクラケンセツ"}, {"name_romaji", "Sakura Kensetsu"},
                       {"address", "東京都港区新橋1-1-1"}, {"representative_name", "桜 一郎"},
                       {"representative_title", "代表取締役"}}},
          {"received_on", today},
          {"contacts", {{{"role", "contact"}, {"name", "連絡 花子"}, {"email", "contact@example.jp"}}}},
          {"applicants", {app}}};
}

// Every handler there is, with what it needs. Ids 999999 and serial 7777777777 name nothing.
std::vector<Route> routes(const ra::testing::Company& a, const std::string& today) {
  const json none = json::object();
  const std::int64_t no = 999999;
  const std::string no_serial = "7777777777";
  return {
      {"ca.init", Need::local, none, 404},
      {"ca.issue", Need::administer, {{"profile", "smime"}, {"csr", "not a CSR"}, {"subject", {{"common_name", "x"}}}}, 400},
      {"ca.revoke", Need::administer, {{"serial", no_serial}, {"reason", "superseded"}}, 404},
      {"ca.revoke_ca", Need::administer, {{"reason", "superseded"}}, 400},   // not confirmed
      {"crl.publish", Need::local, none, 404},
      {"trust.add", Need::administer, {{"certificate", "not a certificate"}}, 400},
      {"trust.list", Need::local, none, 404},
      {"trust.remove", Need::administer, {{"name", "nobody"}}, 404},
      {"ocsp.respond", Need::local, none, 404},
      {"session.login", Need::credentials, {{"user", "nobody"}, {"password", "not the password at all"}}, 401},
      {"session.logout", Need::self, none, 200},   // run last
      {"outbox.deliver", Need::local, none, 404},
      {"outbox.list", Need::local, none, 404},
      {"ra.operator.add", Need::administer, {{"name", "newcomer"}, {"role", "operator"}, {"password", "short"}}, 400},
      {"ra.operator.list", Need::read, none, 200},
      {"ra.operator.unlock", Need::administer, {{"name", "nobody"}}, 404},
      {"ra.operator.disable", Need::administer, {{"name", "nobody"}}, 404},
      {"ra.operator.approve", Need::administer, {{"name", "nobody"}}, 404},
      {"ra.operator.approve_by_custody", Need::local, {{"name", "nobody"}, {"pin", "1234"}}, 404},
      {"ra.operator.break_glass", Need::local, {{"name", "nobody"}, {"pin", "1234"}}, 404},
      {"ra.operator.key", Need::self, {{"days", 1}, {"password", kPassword}}, 200},
      {"ra.operator.keys", Need::self, none, 200},
      {"ra.operator.key_revoke", Need::self, {{"id", no}}, 404},
      {"ra.passwd", Need::self, {{"current", kPassword}, {"new", "short"}}, 400},
      {"ra.whoami", Need::self, none, 200},
      {"ra.bundle.create", Need::enter, bundle_body(today), 200},
      {"ra.bundle.edit", Need::enter, {{"id", no}, {"changes", {{"applied_by", "manager"}}}}, 404},
      {"ra.bundle.show", Need::read, {{"id", no}}, 404},
      {"ra.bundle.list", Need::read, none, 200},
      {"ra.application.add", Need::enter, {{"bundle", no}, {"form", bundle_body(today)["applicants"][0]}}, 404},
      {"ra.application.edit", Need::enter, {{"id", no}, {"changes", {{"email", "x@example.jp"}}}}, 404},
      {"ra.application.show", Need::read, {{"id", no}}, 404},
      {"ra.application.list", Need::read, none, 200},
      {"ra.document.add", Need::enter, {{"bundle", no}, {"kind", "registration_current"}, {"issued", today}}, 404},
      {"ra.document.list", Need::read, {{"bundle", no}}, 200},   // an empty list
      {"ra.document.remove", Need::enter, {{"id", no}, {"reason", "wrong"}}, 404},
      {"ra.check", Need::enter, {{"bundle", no}}, 404},
      {"ra.resubmit", Need::enter, {{"bundle", no}}, 404},
      {"ra.approve", Need::approve, {{"application", no}}, 404},
      {"ra.reject", Need::approve, {{"application", no}, {"reason", "wrong"}}, 404},
      {"ra.withdraw", Need::enter, {{"application", no}, {"reason", "asked"}}, 404},
      {"ra.pin.issue", Need::enter, {{"application", no}, {"letter", false}}, 404},
      {"ra.pin.reissue_request", Need::enter, {{"application", no}, {"reason", "lost"}}, 404},
      {"ra.mail.sent", Need::enter, {{"application", no}, {"tracking", "123456789012"}}, 404},
      {"ra.mail.event", Need::enter, {{"tracking", "999999999999"}, {"event", "delivered"}}, 404},
      {"ra.mail.resend", Need::enter,
       {{"application", no}, {"tracking", "123456789013"}, {"charge", 0}, {"note", "free"}}, 404},
      {"ra.mail.list", Need::read, none, 200},
      {"ra.mail.expire_holds", Need::local, none, 404},
      {"ra.revocation.request", Need::enter, {{"serial", no_serial}, {"reason", "superseded"}}, 404},
      {"ra.revocation.approve", Need::approve, {{"id", no}}, 404},
      {"ra.revocation.execute", Need::approve, {{"id", no}}, 404},
      {"ra.revocation.reject", Need::approve, {{"id", no}, {"reason", "wrong"}}, 404},
      {"ra.revocation.list", Need::read, none, 200},
      {"ra.notify_expiring", Need::local, none, 404},
      {"ra.renewal.create", Need::enter, {{"from", no}, {"bundle", no}}, 404},
      {"ra.accounts.issue", Need::enter, {{"bundle", no}}, 404},
      {"ra.account.add", Need::enter, {{"company", no}, {"name", "x"}, {"email", "x@example.jp"}}, 409},   // no company ID
      {"ra.account.change_holder", Need::enter, {{"login_id", "U9999999"}, {"name", "x"}, {"email", "x@example.jp"}}, 404},
      {"ra.account.list", Need::read, none, 200},
      {"ra.account.unlock", Need::administer, {{"login_id", "U9999999"}}, 404},
      {"ra.link", Need::enter, {{"company", no}, {"serial", no_serial}, {"link", "U9999999"}}, 404},
      {"ra.company_certificates", Need::read, {{"company", a.id}}, 200},
      {"ra.cert_request.add", Need::credentials,
       {{"admin", "C9999999"}, {"password", "not the password"}, {"user", "U9999999"}, {"form", applicant_form()}}, 401},
      {"ra.cert_request.list", Need::read, none, 200},
      {"ra.cert_request.check", Need::enter, {{"application", no}}, 404},
      {"company.login", Need::credentials, {{"login_id", "C9999999"}, {"password", "not the password"}}, 401},
      {"company.logout", Need::company, none, 200},   // run last
      // acctpw (issue 20 item 6): the own password; a new password too short is refused first (400).
      {"company.passwd", Need::company, {{"current", "not the password"}, {"new", "short"}}, 400},
      {"account.passwd", Need::credentials,
       {{"login_id", "U9999999"}, {"current", "not the password"}, {"new", "a long enough new password"}}, 401},
      {"company.whoami", Need::company, none, 200},
      {"company.accounts", Need::company, none, 200},
      {"company.certificates", Need::company, none, 200},
      {"company.cert_requests", Need::company, none, 200},
      // The company's own user ID: a new request; the other company's admin may not name it.
      {"company.cert_request.add", Need::company, {{"user", a.user2}, {"form", applicant_form()}}, 200, 403},
      // The company's own certificate, not linked to user2: conflict; another company's: forbidden.
      {"company.link", Need::company, {{"serial", a.serial}, {"unlink", a.user2}}, 409, 403},
      {"company.links", Need::company, {{"history", true}}, 200},
      // i9: the CA's read-only reports, for auditors and administrators over the API.
      {"ca.show", Need::audit, none, 200},
      {"ca.show", Need::audit, {{"serial", no_serial}}, 404},
      {"audit.verify", Need::audit, none, 200},

      // enroll (issue 10): the applicant's PINs are the credentials. A PIN that cannot be one is a
      // typo (400, not counted); a well-formed download PIN for a number without one: 401.
      {"enroll.status", Need::credentials, {{"application_id", no}, {"application_pin", "not a PIN"}}, 400},
      {"enroll.start", Need::credentials,
       {{"application_id", no}, {"application_pin", "AAAA-AAAA-AAAA-AAAA"}, {"csr", "not a CSR"}}, 400},
      {"enroll.collect", Need::credentials, {{"application_id", no}, {"download_pin", "AAAA-AAAA-AAAA-AAAA"}}, 401},
      {"ra.download_pin.reissue", Need::approve, {{"id", no}}, 404},
      // smime (issue 10, seed 004): coupon orders are the back office's; the coupon is the holder's
      // credential (a well-formed code with an unknown number: 401, like a wrong one).
      {"ra.smime_order.create", Need::enter,
       {{"ordered_by", "Buyer"}, {"delivery_email", "buyer@example.jp"}, {"quantity", 1}}, 200},
      {"ra.smime_order.show", Need::read, {{"id", no}}, 404},
      {"ra.smime_order.list", Need::read, none, 200},
      {"smime.apply", Need::credentials,
       {{"coupon", "999999-AAAA-AAAA-AAAA-AAAA"}, {"name_romaji", "Taro Yamada"}, {"email", "t@example.jp"}}, 401},
      {"smime.reissue", Need::credentials,
       {{"coupon", "999999-AAAA-AAAA-AAAA-AAAA"}, {"name_romaji", "Taro Yamada"}, {"email", "t@example.jp"}}, 401},

      // webra (issue 11): the console's list of certificates coming up for renewal.
      {"ra.expiry.list", Need::read, {{"within_days", 60}}, 200},
      // web: log out everywhere (ends every session of the caller: run before the logouts)
      {"session.logout_all", Need::self, none, 200},
      // webadmin (issue 11): the outbox, the audit list and the company admin's pages. The company
      // admin hands its own user2 over; another company's admin may not name it.
      {"ra.outbox.list", Need::read, none, 200},
      {"ra.outbox.retry", Need::enter, {{"id", no}}, 404},
      {"audit.list", Need::audit, {{"limit", 5}}, 200},
      {"company.account.change_holder", Need::company,
       {{"login_id", a.user2}, {"name", "新任 三郎"}, {"email", "user2-next@alpha.example.jp"}}, 200, 403},
      {"company.mails", Need::company, none, 200},
      {"company.logout_all", Need::company, none, 200},   // run before the logouts
  };
}

// The fixture: four operators (settled), two companies with IDs, an issued certificate each
// (linked to user1) from a company admin's request; then the database and token are closed and
// the CRLs published, so that jitsuind has the home to itself.
struct Home {
  CompanyFixture fx;
  ra::testing::Company a, b;
  std::string a_password, b_password, a_user1_password, today;
  fs::path config;

  Home(int per_address, int per_account, int window, bool companies = true) {
    today = ra::date_in_japan(fx.now).str();
    if (companies) {
      a = fx.company("アルファ株式会社", "Alpha Kensetsu", "alpha.example.jp");
      b = fx.company("ベータ株式会社", "Beta Shoji", "beta.example.jp");
      fx.requested_certificate(a, "ka");
      fx.requested_certificate(b, "kb");
      a_password = fx.mailed_password(a.admin);
      b_password = fx.mailed_password(b.admin);
      a_user1_password = fx.mailed_password(a.user1);
    }
    fx.caf->ca.reset();
    fx.caf->keys.reset();
    fx.caf->token.reset();
    fx.caf->db.reset();
    config = write_config(*fx.caf, per_address, per_account, window);
    auto r = test::run(cli() + " crl publish");
    if (r.status != 0) throw std::runtime_error("crl publish: " + r.output);
  }
  fs::path home() const { return fx.caf->home.path(); }
  std::string cli() const {
    return test::sh_quote(test::jitsuin_binary()) + " --home " + test::sh_quote(home().string()) + " --config " +
           test::sh_quote(config.string());
  }
};

std::string login(const Jitsuind& d, const std::string& handler, const json& body) {
  auto r = d.call(handler, body);
  if (r.status != 200 || !r.body.contains("token")) throw std::runtime_error(handler + ": " + r.body.dump());
  return r.body["token"];
}

// A company admin's session: logged in with the mailed initial password, which it then changes
// (until then the session allows only company.passwd); the session stays.
constexpr const char* kCompanyPassword = "the company admin's own password";
std::string company_login(const Jitsuind& d, const std::string& login_id, const std::string& mailed) {
  std::string token = login(d, "company.login", {{"login_id", login_id}, {"password", mailed}});
  auto r = d.call("company.passwd", {{"current", mailed}, {"new", kCompanyPassword}}, token);
  if (r.status != 200) throw std::runtime_error("company.passwd: " + r.body.dump());
  return token;
}

TEST(ApiAuthorisation, EveryRouteTimesEveryPrincipal) {
  Home h(100000, 100000, 60);
  Jitsuind d(h.home(), h.config);
  std::map<Who, std::string> token = {
      {Who::anonymous, ""},
      {Who::operator_, login(d, "session.login", {{"user", "alice"}, {"password", kPassword}})},
      {Who::approver, login(d, "session.login", {{"user", "bob"}, {"password", kPassword}})},
      {Who::auditor, login(d, "session.login", {{"user", "audrey"}, {"password", kPassword}})},
      {Who::administrator, login(d, "session.login", {{"user", "admin"}, {"password", kPassword}})},
      {Who::company_admin, company_login(d, h.a.admin, h.a_password)},
      {Who::other_company_admin, company_login(d, h.b.admin, h.b_password)},
  };

  // The table covers every handler there is, routed or not: a new handler needs its row here.
  auto table = routes(h.a, h.today);
  std::set<std::string> in_table, registered;
  for (const auto& r : table) in_table.insert(r.name);
  for (const auto& hd : api::handlers()) registered.insert(hd.name);
  EXPECT_EQ(in_table, registered);

  auto check = [&](const Route& r) {
    for (Who w : kEveryone) {
      auto reply = d.call(r.name, r.body, token[w]);
      EXPECT_EQ(reply.status, expected(r, w)) << r.name << " as " << who_name(w) << ": " << reply.body.dump();
      EXPECT_TRUE(reply.body.is_object() || reply.body.is_array()) << r.name << ": not JSON";
      if (reply.status >= 400) {
        EXPECT_TRUE(reply.body.contains("error")) << r.name << ": " << reply.body.dump();
      }
    }
  };
  for (const auto& r : table)
    if (r.name != "session.logout" && r.name != "company.logout" && r.name != "session.logout_all" &&
        r.name != "company.logout_all")   // webadmin
      check(r);

  // No route leaks another company's rows: both companies have IDs, a certificate, a request, a link.
  for (auto [who, mine, theirs] : {std::tuple{Who::company_admin, &h.a, &h.b}, std::tuple{Who::other_company_admin, &h.b, &h.a}}) {
    auto accounts = d.call("company.accounts", json::object(), token[who]).body;
    ASSERT_EQ(accounts.size(), 3u) << accounts;
    for (const auto& x : accounts) EXPECT_EQ(x["company_id"], mine->id) << x;
    auto certs = d.call("company.certificates", json::object(), token[who]).body;
    ASSERT_FALSE(certs.empty());
    std::string all = certs.dump();
    EXPECT_NE(all.find(mine->serial), std::string::npos);
    EXPECT_EQ(all.find(theirs->serial), std::string::npos) << all;
    for (const auto& c : certs) EXPECT_EQ(c["status"], "valid") << c;
    auto requests = d.call("company.cert_requests", json::object(), token[who]).body;
    ASSERT_FALSE(requests.empty());
    for (const auto& x : requests) EXPECT_EQ(x["company_id"], mine->id) << x;
    auto links = d.call("company.links", {{"history", true}}, token[who]).body;
    ASSERT_FALSE(links.empty());
    for (const auto& x : links) {
      EXPECT_NE(x["user_id"], theirs->user1);
      EXPECT_NE(x["user_id"], theirs->user2);
    }
    // webadmin: its notification mails, only to its own addresses (the fixture's are @<domain>).
    auto mails = d.call("company.mails", json::object(), token[who]).body["entries"];
    ASSERT_TRUE(mails.is_array() && !mails.empty()) << mails;
    const std::string domain = mine == &h.a ? "@alpha.example.jp" : "@beta.example.jp";
    for (const auto& m : mails) {
      EXPECT_TRUE(m["to"].get<std::string>().ends_with(domain)) << m;
      EXPECT_EQ(m.dump().find(theirs->admin), std::string::npos) << m;
    }
    auto me = d.call("company.whoami", json::object(), token[who]).body;
    EXPECT_EQ(me["login_id"], mine->admin);
    EXPECT_EQ(me["company"], mine->id);
  }
  // A company admin links and unlinks its own certificate; the other company's admin cannot.
  auto linked = d.call("company.link", {{"serial", h.a.serial}, {"link", h.a.user2}}, token[Who::company_admin]);
  EXPECT_EQ(linked.status, 200) << linked.body;
  EXPECT_EQ(d.call("company.link", {{"serial", h.a.serial}, {"unlink", h.a.user2}}, token[Who::other_company_admin]).status, 403);
  EXPECT_EQ(d.call("company.link", {{"serial", h.a.serial}, {"unlink", h.a.user2}}, token[Who::company_admin]).status, 200);

  // The access log names the holder of a bearer token's session, never the token.
  std::string log = d.log();
  EXPECT_NE(log.find(R"("principal":")" + h.a.admin + "\""), std::string::npos);
  EXPECT_NE(log.find(R"("principal":"audrey")"), std::string::npos);
  for (const auto& [w, t] : token)
    if (!t.empty()) {
      EXPECT_EQ(log.find(t), std::string::npos) << "a token of " << who_name(w) << " in the log";
    }

  // The logouts end the callers' own sessions, so they come last.
  for (const auto& r : table)
    if (r.name == "session.logout_all" || r.name == "company.logout_all") check(r);   // web, webadmin
  for (const auto& r : table)
    if (r.name == "session.logout" || r.name == "company.logout") check(r);
  EXPECT_EQ(d.call("ra.whoami", json::object(), token[Who::operator_]).status, 401);
  EXPECT_EQ(d.call("company.whoami", json::object(), token[Who::company_admin]).status, 401);

  // Not the API: /health and the published files, for everyone, whatever the token.
  for (Who w : kEveryone) {
    EXPECT_EQ(d.request("/health", std::nullopt, token[w]).status, 200) << who_name(w);
    for (const char* f : {"/crl/issuing.crl", "/crl/root.crl", "/ca/issuing.crt", "/ca/root.crt"}) {
      EXPECT_EQ(d.request(f, std::nullopt, token[w]).status, 200) << f << " as " << who_name(w);
      EXPECT_EQ(d.request(f, std::nullopt, token[w], d.http()).status, 200) << f << " over HTTP as " << who_name(w);
    }
  }
}

// The README's examples under "### Authentication and rate limits", run as written against this
// server (api and root point at it; jitsuin is the built CLI on this home).
TEST(ApiAuthorisation, ReadmeExamplesRun) {
  Home h(100000, 100000, 60);
  Jitsuind d(h.home(), h.config);
  std::string readme = read_file(fs::path(JITSUIN_SOURCE_DIR) / "README.md");
  auto section = readme.find("### Authentication and rate limits");
  ASSERT_NE(section, std::string::npos);
  auto start = readme.find("```sh\n", section);
  ASSERT_NE(start, std::string::npos);
  start += 6;
  std::string snippet = readme.substr(start, readme.find("```", start) - start);
  auto dir = h.home() / "readme";
  fs::create_directories(dir);
  write_file_atomic(dir / "alice.pw", kPassword + "\n", 0600);
  write_file_atomic(dir / "initial.pw", h.a_password + "\n", 0600);
  write_file_atomic(dir / "company.pw", std::string("company-admin-own-password-1\n"), 0600);
  std::string prelude = "set -euo pipefail\ncd " + test::sh_quote(dir.string()) + "\n" +
                        "jitsuin() { " + h.cli() + " \"$@\"; }\n" +
                        "export JITSUIN_SESSION_FILE=" + test::sh_quote((dir / "cli.session").string()) + "\n";
  // The README's own first line sets api, root and company_id for a default install; point them here.
  std::string here = "api=" + d.https() + "/api/v1 root=" + test::sh_quote(d.root().string()) + " company_id=" + h.a.admin + "\n";
  ASSERT_TRUE(snippet.starts_with("api=")) << snippet;
  std::string script = prelude + here + snippet.substr(snippet.find('\n') + 1);
  test::write_text(dir / "readme.sh", script);
  auto r = test::run("bash " + test::sh_quote((dir / "readme.sh").string()));
  ASSERT_EQ(r.status, 0) << r.output << "\n--- script:\n" << script;
  // What the examples print: whoami of alice (login, then the operator key) and the company's certificates.
  EXPECT_NE(r.output.find(R"("name":"alice")"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(h.a.serial), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(h.b.serial), std::string::npos) << r.output;
  // The operator key resolved as alice's session: the access log names her for the key's call.
  EXPECT_NE(d.log().find(R"("target":"/api/v1/ra.bundle.list")"), std::string::npos);
}

Reply expect_limited(const Reply& r, const std::string& what) {
  EXPECT_EQ(r.status, 429) << what << ": " << r.body.dump();
  EXPECT_EQ(r.body.value("error", ""), "rate_limited") << what;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.headers, m, std::regex(R"((^|\n)[Rr]etry-[Aa]fter: (\d+)\r?\n)"))) << what << r.headers;
  if (!m.empty()) {
    int seconds = std::stoi(m[2].str());
    EXPECT_GE(seconds, 1) << what;
    EXPECT_LE(seconds, 3600) << what;
    EXPECT_EQ(r.body.value("retry_after", -1), seconds) << what;
  }
  return r;
}

TEST(ApiRateLimits, PerAddressAndPerAccountSurviveARestartAndLeaveTheCliAlone) {
  // Per account 3, per address 8, in a window of an hour (so no test run crosses it).
  Home h(8, 3, 3600, false);
  auto audit_rows = [&] {
    auto db = h.fx.caf->open_db();
    return test::count_rows(*db, "audit_log");
  };
  {
    Jitsuind d(h.home(), h.config);
    // Per account: the fourth attempt on "alice" is refused before her password is looked at —
    // even the right one — and the lockout counter did not move past the three wrong ones.
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(d.call("session.login", {{"user", "alice"}, {"password", "wrong password " + std::to_string(i)}}).status, 401);
    auto before = audit_rows();
    expect_limited(d.call("session.login", {{"user", "alice"}, {"password", kPassword}}), "4th login of alice");
    EXPECT_EQ(audit_rows(), before + 1);   // the first refusal of the window: ra.auth.rate_limited, once
    expect_limited(d.call("session.login", {{"user", "alice"}, {"password", kPassword}}), "5th login of alice");
    EXPECT_EQ(audit_rows(), before + 1);
    // Another account from the same address still may (the address has 3 + 0 counted of 8).
    auto admin = login(d, "session.login", {{"user", "admin"}, {"password", kPassword}});
    // Company logins and ra.cert_request.add's credentials count per account too.
    for (int i = 0; i < 3; ++i) EXPECT_EQ(d.call("company.login", {{"login_id", "C0000042"}, {"password", "x"}}).status, 401);
    expect_limited(d.call("company.login", {{"login_id", "C0000042"}, {"password", "x"}}), "company login");
    expect_limited(d.call("ra.cert_request.add", {{"admin", "C0000042"}, {"password", "x"}, {"user", "U1"},
                                                  {"form", applicant_form()}}),
                   "cert_request.add with C0000042's password");
    // Per address: 3 (alice) + 1 (admin) + 3 (company) = 7 of 8; one bearer token that does not
    // resolve makes 8, and then everything that authenticates from this address is refused.
    EXPECT_EQ(d.call("ra.whoami", json::object(), "0123456789abcdef").status, 401);
    expect_limited(d.call("ra.whoami", json::object(), "0123456789abcdef"), "bearer over the address limit");
    expect_limited(d.call("ra.whoami", json::object(), admin), "a valid bearer over the address limit");
    expect_limited(d.call("session.login", {{"user", "bob"}, {"password", kPassword}}), "login over the address limit");
    // What needs no authentication is served.
    EXPECT_EQ(d.request("/health", std::nullopt).status, 200);
  }
  // After a restart the counters are still there.
  {
    Jitsuind d(h.home(), h.config);
    expect_limited(d.call("session.login", {{"user", "bob"}, {"password", kPassword}}), "after a restart");
  }
  // The CLI (the CA host's own user) is not rate limited.
  auto pw = h.home() / "alice.pw";
  write_file_atomic(pw, kPassword + "\n", 0600);
  auto r = test::run("JITSUIN_SESSION_FILE=" + test::sh_quote((h.home() / "cli.session").string()) + " " + h.cli() +
                     " login --user alice --password-file " + test::sh_quote(pw.string()));
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace

// acctpw (issue 20, item 6): a company ID's mailed initial password gives a session that allows
// only the password change (and whoami, logout), over the API and the browser's cookie session;
// company.passwd checks the current password through the login counter, clears the initial
// password, ends the ID's other sessions and writes one audit entry without a password.
TEST(ApiAuthorisation, MailedInitialPasswordAllowsOnlyThePasswordChange) {
  Home h(100000, 100000, 60);
  Jitsuind d(h.home(), h.config);
  const std::string admin = login(d, "session.login", {{"user", "admin"}, {"password", kPassword}});
  auto db_value = [&](const std::string& sql, const std::string& login_id) {
    auto db = h.fx.caf->open_db();
    db::Statement st(*db, sql);
    st.bind(1, login_id);
    EXPECT_TRUE(st.step()) << sql;
    return st.int64(0);
  };
  auto must_change = [&](const std::string& id) {
    return db_value("SELECT must_change_password FROM ra_accounts WHERE login_id = ?", id);
  };
  auto failures = [&](const std::string& id) {
    return db_value("SELECT failed_logins FROM ra_accounts WHERE login_id = ?", id);
  };

  // Logged in with the mailed password: told so, and every route but the password change refused.
  auto first = d.call("company.login", {{"login_id", h.a.admin}, {"password", h.a_password}});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.body["password_change_required"], true);
  const std::string token = first.body["token"];
  const std::string other = login(d, "company.login", {{"login_id", h.a.admin}, {"password", h.a_password}});
  for (const auto& [name, body] : std::vector<std::pair<std::string, json>>{
           {"company.accounts", json::object()}, {"company.certificates", json::object()},
           {"company.cert_requests", json::object()}, {"company.links", {{"history", true}}},
           {"company.mails", json::object()}, {"company.logout_all", json::object()},
           {"company.link", {{"serial", h.a.serial}, {"link", h.a.user2}}}}) {
    auto r = d.call(name, body, token);
    EXPECT_EQ(r.status, 403) << name << ": " << r.body;
    EXPECT_EQ(r.body.value("error", ""), "forbidden") << name;
    EXPECT_NE(r.body.value("message", "").find("password change required"), std::string::npos) << name << r.body;
  }
  auto me = d.call("company.whoami", json::object(), token);
  EXPECT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.body["password_change_required"], true);

  // A wrong current password: refused (401) and counted like a wrong login; a short new one: 400.
  const std::string mine = "alpha's own password";
  auto wrong = d.call("company.passwd", {{"current", "AAAA-BBBB-CCCC-DDDD"}, {"new", mine}}, token);
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(failures(h.a.admin), 1);
  EXPECT_EQ(d.call("company.passwd", {{"current", h.a_password}, {"new", "short"}}, token).status, 400);
  EXPECT_EQ(must_change(h.a.admin), 1);

  // The change: the caller's session stays and works everywhere, the other one ends.
  auto changed = d.call("company.passwd", {{"current", h.a_password}, {"new", mine}}, token);
  ASSERT_EQ(changed.status, 200) << changed.body;
  EXPECT_EQ(changed.body["sessions_ended"], 1);
  EXPECT_EQ(must_change(h.a.admin), 0);
  EXPECT_EQ(failures(h.a.admin), 0);
  EXPECT_EQ(d.call("company.accounts", json::object(), token).status, 200);
  EXPECT_EQ(d.call("company.whoami", json::object(), token).body["password_change_required"], false);
  EXPECT_EQ(d.call("company.whoami", json::object(), other).status, 401);
  EXPECT_EQ(d.call("company.login", {{"login_id", h.a.admin}, {"password", h.a_password}}).status, 401);
  auto again = d.call("company.login", {{"login_id", h.a.admin}, {"password", mine}});
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.body["password_change_required"], false);

  // A user ID (no session) changes its own with account.passwd; a wrong current one is counted.
  const std::string user_pw = h.a_user1_password;
  ASSERT_FALSE(user_pw.empty());
  EXPECT_EQ(d.call("account.passwd", {{"login_id", h.a.user1}, {"current", "AAAA-BBBB-CCCC-DDDD"}, {"new", mine}}).status, 401);
  EXPECT_EQ(failures(h.a.user1), 1);
  auto user = d.call("account.passwd", {{"login_id", h.a.user1}, {"current", user_pw}, {"new", mine}});
  EXPECT_EQ(user.status, 200) << user.body;
  EXPECT_EQ(must_change(h.a.user1), 0);

  // One audit entry per change, naming the ID, and no password anywhere in the log.
  auto entries = d.call("audit.list", {{"action", "ra.account.password"}, {"limit", 50}}, admin);
  ASSERT_EQ(entries.status, 200) << entries.body;
  ASSERT_EQ(entries.body["entries"].size(), 2u) << entries.body;
  EXPECT_EQ(entries.body["entries"][1]["object"], "account:" + h.a.admin) << entries.body;
  EXPECT_EQ(entries.body["entries"][1]["details"]["was_initial"], true) << entries.body;
  auto failed = d.call("audit.list", {{"action", "ra.account.login_failure"}, {"limit", 50}}, admin).body.dump();
  EXPECT_NE(failed.find("password change"), std::string::npos) << failed;
  auto all = d.call("audit.list", {{"limit", 500}}, admin).body.dump();
  for (const auto& secret : {mine, h.a_password, user_pw}) {
    EXPECT_EQ(all.find(secret), std::string::npos) << "a password in the audit log";
    EXPECT_EQ(d.log().find(secret), std::string::npos) << "a password in the access log";
  }

  // The pages: company b's admin logs in through /web/login with its mailed password; the session
  // says so, the API refuses the cookie's other calls, and the password page is there.
  auto dir = h.home() / "web";
  fs::create_directories(dir);
  const std::string curl = "curl -sS --cacert " + test::sh_quote(d.root().string()) + " -c " +
                           test::sh_quote((dir / "jar").string()) + " -b " + test::sh_quote((dir / "jar").string());
  auto web = [&](const std::string& path, const std::optional<json>& body, const std::string& csrf = "") {
    std::string cmd = curl + " -o " + test::sh_quote((dir / "out").string()) + " -w '%{http_code}'";
    if (body) {
      test::write_text(dir / "in.json", body->dump());
      cmd += " -H 'Content-Type: application/json' --data-binary @" + test::sh_quote((dir / "in.json").string());
    }
    if (!csrf.empty()) cmd += " -H 'X-CSRF-Token: " + csrf + "'";
    auto r = test::run(cmd + " " + test::sh_quote(d.https() + path));
    return std::pair{std::atoi(r.output.c_str()), read_file(dir / "out")};
  };
  auto [st, text] = web("/web/login", json{{"kind", "company"}, {"login_id", h.b.admin}, {"password", h.b_password}});
  ASSERT_EQ(st, 200) << text;
  auto logged = json::parse(text);
  EXPECT_EQ(logged["password_change_required"], true) << text;
  const std::string csrf = logged["csrf_token"];
  auto [sst, session] = web("/web/session", std::nullopt);
  EXPECT_EQ(sst, 200) << session;
  EXPECT_EQ(json::parse(session)["password_change_required"], true) << session;
  auto [ast, accounts] = web("/api/v1/company.accounts", json::object(), csrf);
  EXPECT_EQ(ast, 403) << accounts;
  auto [pst, page] = web("/company/password.html", std::nullopt);
  EXPECT_EQ(pst, 200);
  EXPECT_NE(page.find("id=\"password-form\""), std::string::npos) << page;
  EXPECT_NE(page.find("company.password.initial"), std::string::npos) << page;
  auto [jst, script] = web("/common/page.js", std::nullopt);
  EXPECT_NE(script.find("${home}password.html"), std::string::npos) << "the pages send the session to the password form";
  auto [cst, done] = web("/api/v1/company.passwd", json{{"current", h.b_password}, {"new", "beta's own password"}}, csrf);
  EXPECT_EQ(cst, 200) << done;
  auto [ast2, accounts2] = web("/api/v1/company.accounts", json::object(), csrf);
  EXPECT_EQ(ast2, 200) << accounts2;
}
