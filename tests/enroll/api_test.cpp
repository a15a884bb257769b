// jitsuin_api: the error → status mapping, request decoding, authentication of operator sessions
// and handlers run on a real home (SoftHSM2 token, SQLite file).
#include <gtest/gtest.h>

#include <set>

#include "jitsuin/api/decode.h"
#include "jitsuin/api/handler.h"
#include "jitsuin/api/render.h"
#include "jitsuin/api/request.h"
#include "jitsuin/api/status.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/outbox.h"
#include "support/support.h"

namespace jitsuin {
namespace {

using nlohmann::json;
using test::expect_error;

const std::string kPassword = "correct horse battery";

TEST(ApiStatus, EveryKindHasItsHttpStatus) {
  EXPECT_EQ(api::http_status(ErrorKind::invalid_input), 400);
  EXPECT_EQ(api::http_status(ErrorKind::unauthenticated), 401);
  EXPECT_EQ(api::http_status(ErrorKind::forbidden), 403);
  EXPECT_EQ(api::http_status(ErrorKind::not_found), 404);
  EXPECT_EQ(api::http_status(ErrorKind::conflict), 409);
  EXPECT_EQ(api::http_status(ErrorKind::hsm), 503);
  for (auto k : {ErrorKind::config, ErrorKind::database, ErrorKind::crypto, ErrorKind::io, ErrorKind::internal})
    EXPECT_EQ(api::http_status(k), 500) << error_kind_name(k);
}

TEST(ApiStatus, EveryKindExitsOneOnTheCommandLine) {
  for (auto k : {ErrorKind::invalid_input, ErrorKind::unauthenticated, ErrorKind::forbidden, ErrorKind::not_found,
                 ErrorKind::conflict, ErrorKind::config, ErrorKind::hsm, ErrorKind::database, ErrorKind::crypto,
                 ErrorKind::io, ErrorKind::internal})
    EXPECT_EQ(api::exit_status(k), 1) << error_kind_name(k);
}

TEST(ApiStatus, ErrorBodyNamesTheKindAndTheMessage) {
  json b = api::error_body(Error(ErrorKind::forbidden, "approver role needed"));
  EXPECT_EQ(b, json({{"error", "forbidden"}, {"message", "approver role needed"}}));
}

// Issue 20 item 13: a 500's body never carries the exception's text (SQL, paths): the text goes to
// stderr, one line, under an id the body gives.
TEST(ApiStatus, A500SaysOnlyItsIdAndTheLogLineHasTheText) {
  for (auto k : {ErrorKind::config, ErrorKind::database, ErrorKind::crypto, ErrorKind::io, ErrorKind::internal}) {
    testing::internal::CaptureStderr();
    json b = api::error_body(Error(k, "cannot prepare SQL: no such table: operators\nin /var/lib/jitsuin/jitsuin.db"));
    std::string log = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(b.contains("id") && b["id"].is_string()) << b;
    std::string id = b["id"];
    EXPECT_EQ(b, json({{"error", "internal"}, {"message", "internal error"}, {"id", id}})) << error_kind_name(k);
    EXPECT_EQ(id.size(), 16u);
    EXPECT_EQ(log, "jitsuind: internal error " + id + ": " + error_kind_name(k) +
                       ": cannot prepare SQL: no such table: operators in /var/lib/jitsuin/jitsuin.db\n");
  }
  testing::internal::CaptureStderr();
  json a = api::error_body(ErrorKind::internal, "x"), b = api::error_body(ErrorKind::internal, "x");
  testing::internal::GetCapturedStderr();
  EXPECT_NE(a["id"], b["id"]);
  // Below 500 the message is the client's to read.
  EXPECT_EQ(api::error_body(Error(ErrorKind::hsm, "token busy")), json({{"error", "hsm"}, {"message", "token busy"}}));
}

TEST(ApiDecode, RefusesUnknownFields) {
  json j = {{"serial", "01"}, {"seriel", "02"}};
  api::Fields f(j);
  EXPECT_EQ(*f.opt_text("serial"), "01");
  auto msg = expect_error([&] { f.done(); }, ErrorKind::invalid_input);
  EXPECT_NE(msg.find("'seriel'"), std::string::npos) << msg;
}

TEST(ApiDecode, WrongTypesNameTheField) {
  json j = {{"name", 5}, {"id", "7"}, {"neg", -1}, {"flag", "yes"}, {"list", json::object()}};
  api::Fields f(j);
  EXPECT_NE(expect_error([&] { f.text("name"); }, ErrorKind::invalid_input).find("'name' must be a string"),
            std::string::npos);
  EXPECT_NE(expect_error([&] { f.whole("id"); }, ErrorKind::invalid_input).find("'id'"), std::string::npos);
  EXPECT_NE(expect_error([&] { f.whole("neg"); }, ErrorKind::invalid_input).find("'neg'"), std::string::npos);
  EXPECT_NE(expect_error([&] { f.flag("flag"); }, ErrorKind::invalid_input).find("'flag'"), std::string::npos);
  EXPECT_NE(expect_error([&] { f.array("list"); }, ErrorKind::invalid_input).find("'list'"), std::string::npos);
  EXPECT_NE(expect_error([&] { f.text("missing"); }, ErrorKind::invalid_input).find("'missing' is required"),
            std::string::npos);
  expect_error([] { api::Fields f(json::array()); }, ErrorKind::invalid_input);
  // Beyond int64 (kept unsigned by the parser): out of range, not wrapped to a negative number.
  json big = json::parse(R"({"n": 9223372036854775808, "m": 18446744073709551615, "k": 9223372036854775807})");
  api::Fields g(big);
  EXPECT_NE(expect_error([&] { g.opt_integer("n"); }, ErrorKind::invalid_input).find("'n' is out of range"), std::string::npos);
  EXPECT_NE(expect_error([&] { g.whole("m"); }, ErrorKind::invalid_input).find("'m' is out of range"), std::string::npos);
  EXPECT_EQ(g.whole("k"), INT64_MAX);
}

// The RA records rendered by render.h, exactly as the CLI's --json has shown them: every key, with
// the optional ones absent and present.
TEST(ApiRender, RaRecordsKeepTheirJson) {
  const UnixTime t1 = parse_rfc3339("2026-04-10T01:00:00Z"), t2 = parse_rfc3339("2026-04-20T03:00:00Z");

  ra::Deficiency d{"missing_document", std::nullopt, "Missing: X", "不足書類: X"};
  EXPECT_EQ(api::render(d).dump(), R"({"code":"missing_document","message":"Missing: X","message_ja":"不足書類: X"})");
  d.application_id = 7;
  EXPECT_EQ(api::render(d).dump(),
            R"({"application":7,"code":"missing_document","message":"Missing: X","message_ja":"不足書類: X"})");

  ra::Account a;
  a.id = 3, a.login_id = "U0000003", a.kind = "user", a.company_id = 1, a.name = "利用 者", a.department = "工事部";
  a.email = "user@example.jp", a.must_change_password = false, a.disabled = true, a.created_at = t1;
  a.failed_logins = 4, a.locked = true;
  EXPECT_EQ(api::render(a).dump(),
            R"({"company_id":1,"created_at":"2026-04-10T01:00:00Z","department":"工事部","disabled":true,)"
            R"("email":"user@example.jp","id":3,"kind":"user","locked":true,"login_id":"U0000003",)"
            R"("must_change_password":false,"name":"利用 者"})");

  ra::CertificateLink l{"0A1B", "U0000003", "C0000001", t1, std::nullopt, std::nullopt};
  EXPECT_EQ(api::render(l).dump(),
            R"({"linked_at":"2026-04-10T01:00:00Z","linked_by":"C0000001","serial":"0A1B","user_id":"U0000003"})");
  l.unlinked_by = "alice", l.unlinked_at = t2;
  EXPECT_EQ(api::render(l).dump(),
            R"({"linked_at":"2026-04-10T01:00:00Z","linked_by":"C0000001","serial":"0A1B",)"
            R"("unlinked_at":"2026-04-20T03:00:00Z","unlinked_by":"alice","user_id":"U0000003"})");

  ra::RevocationRequest r;
  r.id = 2, r.serial = "0A1B", r.reason = ca::RevocationReason::key_compromise, r.note = "lost", r.state = "pending";
  r.requested_by = "alice", r.requested_at = t1, r.effective_at = t2;
  EXPECT_EQ(api::render(r).dump(),
            R"({"effective_at":"2026-04-20T03:00:00Z","id":2,"note":"lost","reason":"keyCompromise",)"
            R"("requested_at":"2026-04-10T01:00:00Z","requested_by":"alice","serial":"0A1B","state":"pending"})");
  r.application_id = 5, r.state = "rejected", r.decided_by = "bob", r.decided_at = t2, r.rejection_reason = "no";
  EXPECT_EQ(api::render(r).dump(),
            R"({"application":5,"decided_at":"2026-04-20T03:00:00Z","decided_by":"bob",)"
            R"("effective_at":"2026-04-20T03:00:00Z","id":2,"note":"lost","reason":"keyCompromise",)"
            R"("rejection_reason":"no","requested_at":"2026-04-10T01:00:00Z","requested_by":"alice","serial":"0A1B",)"
            R"("state":"rejected"})");

  ra::CertificateRequest c;
  c.id = 1, c.application_id = 9, c.bundle_id = 4, c.company_id = 1, c.requested_by = "C0000001";
  c.user_login_id = "U0000003", c.requested_at = t1, c.state = ra::State::received, c.name_kanji = "山田 太郎";
  c.name_romaji = "Taro Yamada";
  EXPECT_EQ(api::render(c).dump(),
            R"({"application":9,"bundle":4,"company_id":1,"id":1,"linked":false,"name_kanji":"山田 太郎",)"
            R"("name_romaji":"Taro Yamada","requested_at":"2026-04-10T01:00:00Z","requested_by":"C0000001",)"
            R"("state":"received","user_id":"U0000003"})");
  c.state = ra::State::issued, c.serial = "0A1B", c.link_note = "user ID disabled";
  EXPECT_EQ(api::render(c).dump(),
            R"({"application":9,"bundle":4,"company_id":1,"id":1,"link_note":"user ID disabled","linked":false,)"
            R"("name_kanji":"山田 太郎","name_romaji":"Taro Yamada","requested_at":"2026-04-10T01:00:00Z",)"
            R"("requested_by":"C0000001","serial":"0A1B","state":"issued","user_id":"U0000003"})");
}

TEST(ApiRegistry, NamesAreUniqueAndRoutable) {
  std::set<std::string> names;
  for (const auto& h : api::handlers()) {
    EXPECT_TRUE(names.insert(h.name).second) << "twice: " << h.name;
    EXPECT_EQ(api::find_handler(h.name), &h);
  }
  for (const char* n : {"ca.init", "ca.issue", "ca.revoke", "ca.show", "crl.publish", "audit.verify",
                        "session.login", "session.logout", "outbox.deliver", "outbox.list", "ra.operator.add",
                        "ra.whoami", "ra.bundle.create", "ra.bundle.edit", "ra.application.edit", "ra.pin.issue",
                        "ra.cert_request.add"})
    EXPECT_TRUE(names.count(n)) << n;
  EXPECT_EQ(api::find_handler("ca.frobnicate"), nullptr);
  // What a network adapter may route to: never the CA's first setup, the cron jobs or the custody
  // steps. Issuing and revoking on the direct path need an RA administrator's session (issue 8).
  for (const char* n : {"ca.init", "crl.publish", "outbox.deliver", "ra.notify_expiring",
                        "ra.operator.approve_by_custody", "ra.operator.break_glass"})
    EXPECT_EQ(api::find_handler(n)->access, api::Access::local) << n;
  for (const char* n : {"ca.issue", "ca.revoke", "ca.revoke_ca"})
    EXPECT_EQ(api::find_handler(n)->access, api::Access::operator_session) << n;
  EXPECT_EQ(api::find_handler("session.login")->access, api::Access::request_credentials);
  EXPECT_EQ(api::find_handler("ra.cert_request.add")->access, api::Access::request_credentials);
  EXPECT_EQ(api::find_handler("ra.bundle.create")->access, api::Access::operator_session);
}

// A CA on a real token and database, and Services over the same home with an injected clock.
struct ApiFixture {
  std::unique_ptr<test::CaFixture> ca = test::make_ca();
  UnixTime now = system_clock()();   // the fixture's CA was made at the real time
  api::Services services{ca->config, [this] { return now; }};
  api::Caller cli{"cli:test", std::nullopt};

  json call(const std::string& name, const json& request, const api::Caller& caller) {
    return api::call(services, caller, name, request);
  }
  // The first administrator (bootstrap) and a logged-in session for it.
  std::string admin_session() {
    auto& rctx = services.ra();
    ra::add_operator(rctx, nullptr, "admin", "Administrator", ra::Role::administrator, kPassword);
    json r = call("session.login", {{"user", "admin"}, {"password", kPassword}}, cli);
    EXPECT_EQ(r["user"], "admin");
    EXPECT_EQ(r["role"], "administrator");
    return r["token"].get<std::string>();
  }
};

TEST(ApiHandlers, CaShowOnARealHome) {
  ApiFixture f;
  json j = f.call("ca.show", json::object(), f.cli);
  ASSERT_EQ(j["authorities"].size(), 2u) << j.dump(2);
  EXPECT_EQ(j["authorities"][0]["role"], "root");
  EXPECT_EQ(j["authorities"][1]["role"], "issuing");
  EXPECT_EQ(j["home"], f.ca->config.home.string());
  // The issuing CA's certificate, shown by serial, is the one the CA reports.
  std::string serial = j["authorities"][1]["serial"];
  json c = f.call("ca.show", {{"serial", serial}}, f.cli);
  EXPECT_EQ(c["serial"], serial);
  EXPECT_EQ(c["issuer"], "root");
  EXPECT_EQ(c["status"], "valid");
  json pem = f.call("ca.show", {{"serial", serial}, {"pem", true}}, f.cli);
  EXPECT_TRUE(pem["pem"].get<std::string>().starts_with("-----BEGIN CERTIFICATE-----"));
  auto r = api::respond(f.services, f.cli, "ca.show", {{"serial", "0badc0de"}});
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body["error"], "not_found");
}

TEST(ApiHandlers, IssueRevokeAndAuditThroughHandlers) {
  ApiFixture f;
  api::Caller admin{"cli:test", f.admin_session()};
  std::string csr = test::openssl_csr(f.ca->home.path(), "ec");
  const json request = {{"profile", "individual-signing"},
                        {"csr", csr},
                        {"subject", {{"organization", "Example"}, {"common_name", "Taro Yamada"}}}};
  // Without an administrator's session: refused, nothing issued (issue 8).
  auto certificates = test::count_rows(*f.ca->db, "certificates");
  EXPECT_EQ(api::respond(f.services, f.cli, "ca.issue", request).status, 401);
  EXPECT_EQ(test::count_rows(*f.ca->db, "certificates"), certificates);
  json issued = f.call("ca.issue", request, admin);
  ASSERT_TRUE(issued["certificate"].get<std::string>().starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_EQ(issued["chain"].size(), 2u);
  std::string serial = issued["serial"];
  EXPECT_EQ(api::respond(f.services, f.cli, "ca.revoke", {{"serial", serial}, {"reason", "keyCompromise"}}).status, 401);
  json revoked = f.call("ca.revoke", {{"serial", serial}, {"reason", "keyCompromise"}}, admin);
  EXPECT_EQ(revoked["reason"], "keyCompromise");
  EXPECT_EQ(f.call("ca.show", {{"serial", serial}}, f.cli)["revocation_reason"], "keyCompromise");
  // A subject field of the wrong type and an unknown request field are refused before anything is done.
  auto bad = api::respond(f.services, admin, "ca.issue",
                          {{"profile", "individual-signing"}, {"csr", csr}, {"subject", {{"common_name", 7}}}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body["message"].get<std::string>().find("'common_name'"), std::string::npos) << bad.body;
  auto unknown = api::respond(f.services, admin, "ca.revoke", {{"serial", serial}, {"reason", "superseded"}, {"why", "x"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body["error"], "invalid_input");
  json audit = f.call("audit.verify", json::object(), f.cli);
  EXPECT_TRUE(audit["ok"].get<bool>()) << audit;
}

TEST(ApiHandlers, OperatorHandlersRefuseMissingAndExpiredSessions) {
  ApiFixture f;
  std::string token = f.admin_session();
  api::Caller none{"cli:test", std::nullopt};
  for (const char* name : {"session.logout", "ra.whoami", "ra.operator.list", "ra.bundle.list"}) {
    auto r = api::respond(f.services, none, name, json::object());
    EXPECT_EQ(r.status, 401) << name;
    EXPECT_EQ(r.body["error"], "unauthenticated") << name;
  }
  api::Caller unknown{"cli:test", std::string(64, 'a')};
  EXPECT_EQ(api::respond(f.services, unknown, "ra.whoami", json::object()).status, 401);
  api::Caller admin{"cli:test", token};
  EXPECT_EQ(f.call("ra.whoami", json::object(), admin), json({{"name", "admin"}, {"role", "administrator"}, {"password_change_required", false}}));
  f.now += static_cast<UnixTime>(f.ca->config.ra.session_hours) * 3600 + 1;
  auto expired = api::respond(f.services, admin, "ra.whoami", json::object());
  EXPECT_EQ(expired.status, 401);
  EXPECT_NE(expired.body["message"].get<std::string>().find("expired"), std::string::npos) << expired.body;
}

TEST(ApiHandlers, LoginRefusesAWrongPasswordWith401) {
  ApiFixture f;
  f.admin_session();
  auto r = api::respond(f.services, f.cli, "session.login", {{"user", "admin"}, {"password", "wrong password!"}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.body["error"], "unauthenticated");
  auto typed = api::respond(f.services, f.cli, "session.login", {{"user", "admin"}, {"password", 12}});
  EXPECT_EQ(typed.status, 400);
}

// The first administrator is made on the CA host only: over the network (a Caller with a source
// address) the bootstrap is refused and nothing is created; the CLI's local caller may.
TEST(ApiHandlers, TheFirstAdministratorIsNeverMadeOverTheNetwork) {
  ApiFixture f;
  api::Caller remote{"jitsuind", std::nullopt};
  remote.source = "203.0.113.7";
  json request = {{"name", "admin"}, {"role", "administrator"}, {"password", kPassword}};
  auto r = api::respond(f.services, remote, "ra.operator.add", request);
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_NE(r.body["message"].get<std::string>().find("CA host"), std::string::npos) << r.body;
  EXPECT_FALSE(ra::any_operator(f.services.ra()));
  EXPECT_EQ(f.call("ra.operator.add", request, f.cli)["bootstrap"], true);
}

TEST(ApiHandlers, OperatorsThroughHandlers) {
  ApiFixture f;
  api::Caller admin{"cli:test", f.admin_session()};
  // After the bootstrap, adding an operator needs an administrator's session.
  auto anonymous = api::respond(f.services, f.cli, "ra.operator.add",
                                {{"name", "alice"}, {"role", "operator"}, {"password", kPassword}});
  EXPECT_EQ(anonymous.status, 401);
  json added = f.call("ra.operator.add", {{"name", "alice"}, {"role", "operator"}, {"password", kPassword}}, admin);
  EXPECT_EQ(added, json({{"name", "alice"}, {"role", "operator"}, {"bootstrap", false}, {"pending", false},
                         {"password_temporary", true}}));
  json login = f.call("session.login", {{"user", "alice"}, {"password", kPassword}}, f.cli);
  EXPECT_EQ(login["password_change_required"], true);
  api::Caller alice{"cli:test", login["token"]};
  // A temporary password: the session allows the password change only (issue 8).
  EXPECT_EQ(api::respond(f.services, alice, "ra.bundle.list", json::object()).status, 403);
  EXPECT_EQ(f.call("ra.whoami", json::object(), alice)["password_change_required"], true);
  f.call("ra.passwd", {{"current", kPassword}, {"new", kPassword + " 2"}}, alice);
  EXPECT_EQ(api::respond(f.services, alice, "ra.bundle.list", json::object()).status, 200);
  EXPECT_EQ(api::respond(f.services, alice, "ra.operator.unlock", {{"name", "admin"}}).status, 403);
  json list = f.call("ra.operator.list", json::object(), admin);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1]["name"], "alice");
  auto bad_role = api::respond(f.services, admin, "ra.operator.add",
                               {{"name", "bob"}, {"role", "boss"}, {"password", kPassword}});
  EXPECT_EQ(bad_role.status, 400);
  auto bad_id = api::respond(f.services, admin, "ra.bundle.show", {{"id", "seven"}});
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(bad_id.body["message"].get<std::string>().find("'id'"), std::string::npos) << bad_id.body;
  EXPECT_EQ(api::respond(f.services, admin, "ra.bundle.show", {{"id", 7}}).status, 404);
}

TEST(ApiDecode, BundleAndFormChangesAreTyped) {
  auto c = api::decode_bundle_changes({{"applied_by", "manager"}, {"token_quantity", 2},
                                       {"contacts", {{{"role", "contact"}, {"name", "Sato"}}}}});
  EXPECT_EQ(c.applied_by, "manager");
  EXPECT_EQ(c.token_quantity, 2);
  ASSERT_TRUE(c.contacts);
  EXPECT_EQ((*c.contacts)[0].name, "Sato");
  EXPECT_FALSE(c.seal_form);
  EXPECT_EQ(c.names(), (std::vector<std::string>{"applied_by", "contacts", "token_quantity"}));
  EXPECT_NE(expect_error([] { api::decode_bundle_changes({{"recieved_on", "2026-04-01"}}); }, ErrorKind::invalid_input)
                .find("unknown field 'recieved_on'"),
            std::string::npos);
  expect_error([] { api::decode_bundle_changes({{"seal_form", "yes"}}); }, ErrorKind::invalid_input);
  expect_error([] { api::decode_bundle_changes({{"contacts", {{{"role", "contact"}, {"fax", "1"}}}}}); },
               ErrorKind::invalid_input);
  EXPECT_TRUE(api::decode_bundle_changes(json::object()).empty());

  auto a = api::decode_applicant_changes({{"title_romaji", "Bucho"}, {"validity_years", 2}, {"email", "t@example.jp"}});
  ra::ApplicantInput form;
  form.email = "t@example.jp";
  std::vector<std::string> changed;
  auto applied = a.apply(form, &changed);
  EXPECT_EQ(applied.title_romaji, "Bucho");
  EXPECT_EQ(applied.validity_years, 2);
  EXPECT_EQ(changed, (std::vector<std::string>{"title_romaji", "validity_years"}));   // email unchanged
  expect_error([] { api::decode_applicant_changes({{"validity_years", "two"}}); }, ErrorKind::invalid_input);
  expect_error([] { api::decode_applicant({{"favourite", "x"}}); }, ErrorKind::invalid_input);
}

TEST(ApiHandlers, BundleAndApplicationEditsThroughHandlers) {
  ApiFixture f;
  api::Caller admin{"cli:test", f.admin_session()};
  f.call("ra.operator.add", {{"name", "alice"}, {"role", "operator"}, {"password", kPassword}}, admin);
  api::Caller alice{"cli:test", f.call("session.login", {{"user", "alice"}, {"password", kPassword}}, f.cli)["token"]};
  f.call("ra.passwd", {{"current", kPassword}, {"new", kPassword + " 2"}}, alice);   // first password: temporary
  std::string today = ra::date_in_japan(f.now).str();
  json bundle = {
      {"company", {{"name", "桜建設株式会社"}, {"name_kana", "サクラケンセツ"}, {"name_romaji", "Sakura Kensetsu"},
                   {"address", "東京都港区新橋1-1-1"}, {"representative_name", "桜 一郎"},
                   {"representative_title", "代表取締役"}}},
      {"received_on", today},
      {"contacts", {{{"role", "contact"}, {"name", "連絡 花子"}, {"email", "contact@example.jp"}}}},
      {"applicants", {{{"name_kanji", "山田 太郎"}, {"name_kana", "ヤマダ タロウ"}, {"name_romaji", "Taro Yamada"},
                       {"organization_romaji", "Sakura Kensetsu"}, {"email", "taro@example.jp"},
                       {"postcode", "105-0004"}, {"home_address", "東京都港区新橋2-6-2"}}}}};
  json created = f.call("ra.bundle.create", bundle, alice);
  std::int64_t id = created["bundle"], app = created["applications"][0];
  auto audit_rows = test::count_rows(f.services.db(), "audit_log");
  // A misspelt field is refused by the decoder; nothing is stored.
  auto typo = api::respond(f.services, alice, "ra.bundle.edit", {{"id", id}, {"changes", {{"aplied_by", "manager"}}}});
  EXPECT_EQ(typo.status, 400);
  EXPECT_NE(typo.body["message"].get<std::string>().find("unknown field 'aplied_by'"), std::string::npos) << typo.body;
  EXPECT_EQ(api::respond(f.services, alice, "ra.bundle.edit", {{"id", id}, {"changes", json::object()}}).status, 400);
  EXPECT_EQ(test::count_rows(f.services.db(), "audit_log"), audit_rows);
  f.call("ra.bundle.edit", {{"id", id}, {"changes", {{"applied_by", "manager"}, {"token_quantity", 3}}}}, alice);
  json shown = f.call("ra.bundle.show", {{"id", id}}, alice);
  EXPECT_EQ(shown["applied_by"], "manager");
  EXPECT_EQ(shown["token_quantity"], 3);
  EXPECT_EQ(shown["documents"], json::array());
  json edited = f.call("ra.application.edit", {{"id", app}, {"changes", {{"title_romaji", "Bucho"}}}}, alice);
  EXPECT_EQ(edited["title_romaji"], "Bucho");
  EXPECT_EQ(f.call("ra.application.show", {{"id", app}}, alice)["title_romaji"], "Bucho");
  auto wrong = api::respond(f.services, alice, "ra.application.edit", {{"id", app}, {"changes", {{"validity_years", "2"}}}});
  EXPECT_EQ(wrong.status, 400);
  EXPECT_NE(wrong.body["message"].get<std::string>().find("'validity_years'"), std::string::npos) << wrong.body;
  EXPECT_EQ(test::count_rows(f.services.db(), "audit_log"), audit_rows + 2);
  EXPECT_TRUE(f.call("audit.verify", json::object(), f.cli)["ok"].get<bool>());
}

TEST(ApiHandlers, OutboxListIsEmptyOnAFreshHome) {
  ApiFixture f;
  EXPECT_EQ(f.call("outbox.list", json::object(), f.cli), json::array());
  EXPECT_EQ(api::respond(f.services, f.cli, "outbox.list", {{"state", "lost"}}).status, 400);
}

// ---- paging (ra.outbox.list, audit.list): newest first, a cursor, "next" until the last page ----

// Every page of `name` from the newest, `limit` a page, following "next" through `cursor`.
std::vector<json> all_pages(ApiFixture& f, const api::Caller& who, const std::string& name, json request,
                            const std::string& cursor) {
  std::vector<json> pages;
  for (int guard = 0; guard < 1000; ++guard) {
    pages.push_back(f.call(name, request, who));
    const json& next = pages.back()["next"];
    if (next.is_null()) return pages;
    request[cursor] = next;
  }
  ADD_FAILURE() << "no last page";
  return pages;
}

void expect_bad_pages(ApiFixture& f, const api::Caller& who, const std::string& name, const std::string& cursor) {
  for (const json& bad : {json{{"limit", 0}}, json{{"limit", 1001}}, json{{"limit", -3}}, json{{cursor, 0}},
                          json{{cursor, -1}}, json{{cursor, "12"}}, json{{cursor, 1.5}}, json{{"limit", "10"}}}) {
    auto audit = test::count_rows(f.services.db(), "audit_log");
    auto r = api::respond(f.services, who, name, bad);
    EXPECT_EQ(r.status, 400) << name << " " << bad << " " << r.body;
    EXPECT_EQ(r.body["error"], "invalid_input") << r.body;
    const std::string field = bad.begin().key();
    EXPECT_NE(r.body["message"].get<std::string>().find(field), std::string::npos) << r.body;
    EXPECT_EQ(test::count_rows(f.services.db(), "audit_log"), audit);
  }
}

TEST(ApiPaging, TheOutboxIsListedAPageAtATime) {
  ApiFixture f;
  api::Caller admin{"cli:test", f.admin_session()};
  std::vector<std::int64_t> queued;
  {
    db::Transaction tx(f.services.db());
    for (int i = 0; i < 5; ++i)
      queued.push_back(ra::enqueue_mail(f.services.db(), {"p" + std::to_string(i) + "@example.jp", "application_received", "ja",
                                                          {{"name", "頁 太郎"}, {"application_number", "1"}}}, f.now));
    tx.commit();
  }
  auto first = f.call("ra.outbox.list", {{"limit", 2}}, admin);
  ASSERT_EQ(first["entries"].size(), 2u) << first;
  EXPECT_EQ(first["entries"][0]["id"], queued[4]);
  EXPECT_EQ(first["entries"][1]["id"], queued[3]);
  EXPECT_EQ(first["next"], queued[3]);
  auto pages = all_pages(f, admin, "ra.outbox.list", {{"limit", 2}}, "before_id");
  ASSERT_EQ(pages.size(), 3u);
  EXPECT_EQ(pages[2]["entries"].size(), 1u);
  EXPECT_EQ(pages[2]["entries"][0]["id"], queued[0]);
  EXPECT_TRUE(pages[2]["next"].is_null());
  // The old request shapes: none, or a state; the default page holds them all here.
  EXPECT_EQ(f.call("ra.outbox.list", json::object(), admin)["entries"].size(), 5u);
  EXPECT_EQ(f.call("ra.outbox.list", {{"state", "pending"}, {"before_id", queued[1]}}, admin)["entries"][0]["id"], queued[0]);
  expect_bad_pages(f, admin, "ra.outbox.list", "before_id");
  // The revocation requests: the same shape and the same refusals.
  EXPECT_EQ(f.call("ra.revocation.list", {{"state", "pending"}}, admin), json({{"entries", json::array()}, {"next", nullptr}}));
  expect_bad_pages(f, admin, "ra.revocation.list", "before_id");
}

TEST(ApiPaging, AnAuditorPagesBackThroughVerifiedEntries) {
  ApiFixture f;
  api::Caller admin{"cli:test", f.admin_session()};
  {
    db::Transaction tx(f.services.db());
    for (int i = 0; i < 9; ++i)
      db::append_audit(f.services.db(), {"test", i % 2 ? "test.odd" : "test.even", std::to_string(i), "{}"}, f.now);
    tx.commit();
  }
  auto whole = f.call("audit.list", {{"limit", 1000}}, admin);
  ASSERT_TRUE(whole["ok"].get<bool>());
  ASSERT_TRUE(whole["next"].is_null());
  const auto total = whole["entries"].size();
  ASSERT_GE(total, 9u);
  EXPECT_EQ(whole["checked"], total);

  // Page by page, every entry once, newest first, each page saying what the whole chain said.
  auto pages = all_pages(f, admin, "audit.list", {{"limit", 4}}, "before_seq");
  EXPECT_EQ(pages.size(), (total + 3) / 4);
  json walked = json::array();
  for (const auto& p : pages) {
    EXPECT_TRUE(p["ok"].get<bool>());
    EXPECT_EQ(p["checked"], total);
    for (const auto& e : p["entries"]) walked.push_back(e);
  }
  EXPECT_EQ(walked, whole["entries"]);

  // An entry appended between two pages does not shift the next one.
  auto first = f.call("audit.list", {{"limit", 3}}, admin);
  {
    db::Transaction tx(f.services.db());
    db::append_audit(f.services.db(), {"test", "test.late", "x", "{}"}, f.now);
    tx.commit();
  }
  auto second = f.call("audit.list", {{"limit", 3}, {"before_seq", first["next"]}}, admin);
  EXPECT_EQ(second["entries"][0]["seq"], first["entries"][2]["seq"].get<std::int64_t>() - 1);

  // Filtered by action: the cursor runs over the matching entries only.
  auto odd = all_pages(f, admin, "audit.list", {{"limit", 2}, {"action", "test.odd"}}, "before_seq");
  ASSERT_EQ(odd.size(), 2u);
  EXPECT_EQ(odd[0]["entries"].size(), 2u);
  EXPECT_EQ(odd[1]["entries"].size(), 2u);
  EXPECT_TRUE(odd[1]["next"].is_null());
  for (const auto& p : odd)
    for (const auto& e : p["entries"]) EXPECT_EQ(e["action"], "test.odd") << e;
  expect_bad_pages(f, admin, "audit.list", "before_seq");
}

}  // namespace
}  // namespace jitsuin
