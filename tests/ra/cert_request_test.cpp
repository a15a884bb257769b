// RA-8 additional certificate request (電子証明書追加発行申請): a company admin asks for a new
// certificate for one user ID; the RA checks and approves it (two people), PIN, restricted
// delivery, enrollment with a CSR, issuance, and the certificate ends up linked to the user ID.
// Refusals change nothing. Real SQLite, a real SoftHSM2 CA, openssl and the jitsuin binary.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "jitsuin/ca/authority.h"
#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/issuance.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/operators.h"
#include "jitsuin/ra/enrollment.h"
#include "jitsuin/ra/pin.h"
#include "company_fixture.h"
#include "support/support.h"
#include "operator_setup.h"

namespace jitsuin::ra {
namespace {

using nlohmann::json;
using test::count_rows;
using test::expect_error;

const std::string kOperatorPassword = "correct horse battery";


// The certificate data a company admin types in (organization left to the company's romaji name),
// for two years.
ApplicantInput light_form() {
  ApplicantInput a = testing::light_form();
  a.validity_years = 2;
  return a;
}

// A contracted company: a checked paper bundle, its company ID and two user IDs.
struct Company {
  std::int64_t id = 0;
  std::string admin, user1, user2;
};

struct RequestFixture {
  std::unique_ptr<test::CaFixture> caf = test::make_ca();
  UnixTime now = system_clock()();
  RaContext ctx{*caf->db, caf->config, [this] { return now; }};
  std::optional<Principal> alice, bob, carol;   // operator, approver, approver

  RequestFixture() {
    add_operator(ctx, nullptr, "admin", "", Role::administrator, kOperatorPassword);
    auto admin = *login(ctx, "admin", kOperatorPassword).principal;
    add_operator(ctx, &admin, "alice", "", Role::operator_, kOperatorPassword);
    add_operator(ctx, &admin, "bob", "", Role::approver, kOperatorPassword);
    add_operator(ctx, &admin, "carol", "", Role::approver, kOperatorPassword);
    testing::settle_operators(*caf->db);
    alice = *login(ctx, "alice", kOperatorPassword).principal;
    bob = *login(ctx, "bob", kOperatorPassword).principal;
    carol = *login(ctx, "carol", kOperatorPassword).principal;
  }

  Company company(const std::string& name, const std::string& romaji, const std::string& mail_domain) {
    BundleInput b;
    b.company = {name, "カイシャ", romaji, "東京都港区新橋1-1-1", "代表 一郎", "代表取締役"};
    b.received_on = date_in_japan(now);
    b.seal_form = b.applicant_list = true;
    b.contacts = {{"contact", "管理 花子", "総務部", "admin@" + mail_domain, "", ""},
                  {"billing", "請求 次郎", "経理部", "billing@" + mail_domain, "", ""}};
    b.users = {{"利用 一郎", "工事部", "user1@" + mail_domain}, {"利用 二郎", "工事部", "user2@" + mail_domain}};
    auto c = create_bundle(ctx, *alice, b);
    Date today = date_in_japan(now);
    for (auto k : {DocumentKind::registration_current, DocumentKind::representative_seal}) {
      DocumentInput d;
      d.kind = k;
      d.issued_on = d.received_on = today;
      add_document(ctx, *alice, c.bundle_id, d);
    }
    if (!check_bundle(ctx, *alice, c.bundle_id).complete) throw std::runtime_error("bundle incomplete");
    auto ids = issue_bundle_accounts(ctx, *alice, c.bundle_id);
    return {c.company_id, ids.accounts.at(0).login_id, ids.accounts.at(1).login_id, ids.accounts.at(2).login_id};
  }

  // approve (second person) → PIN → restricted delivery → enrollment with a fresh CSR → issuance.
  ca::IssuedCertificate approve_enroll_issue(std::int64_t app, const std::string& key) {
    approve_application(ctx, *bob, app);
    auto pin = issue_pin(ctx, *alice, app);
    record_mailing(ctx, *alice, app, std::to_string(200000000000 + app), date_in_japan(now));
    auto csr = test::openssl_csr(caf->home.path(), "ec", key);
    start_enrollment(ctx, app, pin.pin, csr, "enroll:web");   // throws when refused
    return issue_for_application(ctx, *caf->ca, app, "enroll:web");
  }

  // A company or user ID logged in with the initial password from its mail.
  Principal account(const std::string& login_id) {
    db::Statement st(*caf->db, "SELECT id FROM outbox WHERE template = 'user_id' ORDER BY id DESC");
    while (st.step()) {
      auto p = test::outbox_mail_params(*caf->db, st.int64(0));
      if (p.value("user_id", "") != login_id) continue;
      auto r = login_account(ctx, login_id, p.value("password", ""));
      if (!r.principal) throw std::runtime_error("login of " + login_id + " failed: " + r.message);
      return *r.principal;
    }
    throw std::runtime_error("no mailed password for " + login_id);
  }

  json last_audit_details(const std::string& action) {
    db::Statement st(*caf->db, "SELECT details FROM audit_log WHERE action = ? ORDER BY seq DESC LIMIT 1");
    st.bind(1, action);
    if (!st.step()) return json();
    return json::parse(st.text(0));
  }
};

std::vector<json> outbox_params(db::Database& db, const std::string& template_name, std::vector<std::string>* to = nullptr) {
  db::Statement st(db, "SELECT recipient, params FROM outbox WHERE template = ? ORDER BY id");
  st.bind(1, template_name);
  std::vector<json> out;
  while (st.step()) {
    if (to) to->push_back(st.text(0));
    out.push_back(json::parse(st.text(1)));
  }
  return out;
}

TEST(RaCertRequest, AdditionalRequestToLinkedCertificate) {
  RequestFixture f;
  Company c = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  Principal admin = f.account(c.admin);
  auto audit_before = count_rows(*f.caf->db, "audit_log");
  auto received_before = outbox_params(*f.caf->db, "application_received").size();

  auto req = request_additional_certificate(f.ctx, admin, {c.user1, light_form()});
  EXPECT_EQ(req.state, State::received);
  EXPECT_EQ(req.requested_by, c.admin);
  EXPECT_EQ(req.user_login_id, c.user1);
  EXPECT_EQ(req.company_id, c.id);
  EXPECT_FALSE(req.linked);
  EXPECT_EQ(count_rows(*f.caf->db, "audit_log"), audit_before + 1) << "one audit entry for the request";
  auto created = f.last_audit_details("ra.application.create");
  EXPECT_EQ(created["request"], "additional_certificate");
  EXPECT_EQ(created["user_id"], c.user1);
  Application app = get_application(f.ctx, *f.alice, req.application_id);
  EXPECT_EQ(app.created_by, "company:" + c.admin);
  EXPECT_EQ(app.form.organization_romaji, "Sakura Kensetsu") << "the company's romaji name by default";
  EXPECT_EQ(app.company_id, c.id);
  // The receipt goes to the company admin.
  std::vector<std::string> to;
  auto received = outbox_params(*f.caf->db, "application_received", &to);
  ASSERT_EQ(received.size(), received_before + 1);
  EXPECT_EQ(to.back(), "admin@sakura.example.jp");
  EXPECT_EQ(received.back()["application_number"], std::to_string(req.application_id));

  // No paper forms: the RA-2 document check refuses the request's bundle; no applicant joins it.
  auto msg = expect_error([&] { check_bundle(f.ctx, *f.alice, req.bundle_id); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("cert-request-check"), std::string::npos) << msg;
  ApplicantInput paper = light_form();
  paper.organization_romaji = "Sakura Kensetsu";
  msg = expect_error([&] { add_application(f.ctx, *f.alice, req.bundle_id, paper); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("additional certificate request"), std::string::npos) << msg;
  // The life cycle holds: no approval before the check, no second check.
  expect_error([&] { approve_application(f.ctx, *f.bob, req.application_id); }, ErrorKind::conflict);
  auto checked = check_certificate_request(f.ctx, *f.carol, req.application_id);
  EXPECT_EQ(checked.state, State::checked);
  EXPECT_EQ(get_application(f.ctx, *f.alice, req.application_id).checked_by, "ra:carol");
  expect_error([&] { check_certificate_request(f.ctx, *f.alice, req.application_id); }, ErrorKind::conflict);
  // Two-person rule: whoever checked it cannot approve it.
  expect_error([&] { approve_application(f.ctx, *f.carol, req.application_id); }, ErrorKind::forbidden);

  auto links_before = count_rows(*f.caf->db, "ra_certificate_links");
  auto issued = f.approve_enroll_issue(req.application_id, "light1");
  const std::string serial = issued.record.serial_hex;

  // Issued and linked to the user ID, in the issuing transaction, with the link_changed mails.
  app = get_application(f.ctx, *f.alice, req.application_id);
  EXPECT_EQ(app.state, State::issued);
  EXPECT_EQ(app.certificate_serial, serial);
  EXPECT_EQ(app.approved_by, "ra:bob");
  std::vector<std::string> states;
  for (const auto& e : application_history(f.ctx, *f.alice, req.application_id)) states.push_back(e.to);
  EXPECT_EQ(states, (std::vector<std::string>{"received", "checked", "approved", "pin_issued", "notice_mailed",
                                              "enrolled", "issued"}));
  EXPECT_EQ(count_rows(*f.caf->db, "ra_certificate_links"), links_before + 1);
  auto links = list_links(f.ctx, *f.alice, c.id);
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0].serial, serial);
  EXPECT_EQ(links[0].login_id, c.user1);
  EXPECT_EQ(links[0].linked_by, "company:" + c.admin);
  auto certs = company_certificates(f.ctx, *f.alice, c.id);
  ASSERT_EQ(certs.size(), 1u);
  EXPECT_EQ(certs[0].serial, serial);
  EXPECT_EQ(certs[0].status, "valid");
  EXPECT_EQ(certs[0].users, std::vector<std::string>{c.user1});
  auto stored = find_certificate_request(f.ctx, *f.alice, req.application_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_TRUE(stored->linked);
  EXPECT_EQ(stored->serial, serial);
  EXPECT_EQ(stored->state, State::issued);
  std::vector<std::string> link_to;
  auto link_mails = outbox_params(*f.caf->db, "link_changed", &link_to);
  ASSERT_EQ(link_mails.size(), 2u);
  EXPECT_EQ(std::set<std::string>(link_to.begin(), link_to.end()),
            (std::set<std::string>{"admin@sakura.example.jp", "user1@sakura.example.jp"}));
  for (const auto& p : link_mails) {
    EXPECT_EQ(p["serial"], serial);
    EXPECT_EQ(p["user_id"], c.user1);
    EXPECT_EQ(p["change"], "link");
  }
  auto issued_audit = f.last_audit_details("ra.application.issued");
  EXPECT_EQ(issued_audit["serial"], serial);
  EXPECT_EQ(issued_audit["linked_user"], c.user1);

  // openssl reads the subject the admin asked for (organization from the company, romaji fields).
  auto der = f.caf->home / "light1.der";
  {
    std::ofstream out(der, std::ios::binary);
    out.write(reinterpret_cast<const char*>(issued.record.der.data()), static_cast<std::streamsize>(issued.record.der.size()));
  }
  auto text = test::run("openssl x509 -inform DER -noout -subject -nameopt RFC2253 -in " + test::sh_quote(der.string()));
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("CN=Ichiro Tanaka"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("O=Sakura Kensetsu"), std::string::npos) << text.output;
  EXPECT_NE(text.output.find("OU=Honsha"), std::string::npos) << text.output;
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

// A user ID that changes hands between the request and the issuance is not linked to the
// certificate (it belongs to someone else now); the certificate is still issued and recorded.
TEST(RaCertRequest, TransferredUserIsNotLinkedAtIssuance) {
  RequestFixture f;
  Company c = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  Principal admin = f.account(c.admin);
  auto req = request_additional_certificate(f.ctx, admin, {c.user2, light_form()});
  check_certificate_request(f.ctx, *f.alice, req.application_id);
  change_account_holder(f.ctx, *f.alice, c.user2, "後任 四郎", "工事部", "successor@sakura.example.jp");
  auto issued = f.approve_enroll_issue(req.application_id, "light2");
  EXPECT_EQ(get_application(f.ctx, *f.alice, req.application_id).state, State::issued);
  EXPECT_TRUE(list_links(f.ctx, *f.alice, c.id).empty());
  auto stored = find_certificate_request(f.ctx, *f.alice, req.application_id);
  ASSERT_TRUE(stored.has_value());
  EXPECT_FALSE(stored->linked);
  EXPECT_NE(stored->link_note.find("changed hands"), std::string::npos) << stored->link_note;
  EXPECT_TRUE(outbox_params(*f.caf->db, "link_changed").empty());
  EXPECT_TRUE(f.last_audit_details("ra.application.issued").contains("link_skipped"));
  // The admin can still link it by hand (RA-8 link), once the right person holds it.
  change_certificate_link(f.ctx, admin, c.id, {issued.record.serial_hex, c.user1, std::nullopt});
  EXPECT_EQ(list_links(f.ctx, *f.alice, c.id).size(), 1u);
}

TEST(RaCertRequest, RefusalsChangeNothing) {
  RequestFixture f;
  Company c = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
  Company other = f.company("梅工業株式会社", "Ume Kogyo", "ume.example.jp");
  {
    db::Statement st(*f.caf->db, "UPDATE ra_accounts SET disabled_at = ? WHERE login_id = ?");
    st.bind(1, f.now).bind(2, c.user2).exec();
  }
  // Who asks: only a company admin can log in as one; an unknown company ID cannot log in at all.
  Principal admin = f.account(c.admin), other_admin = f.account(other.admin), user1 = f.account(c.user1);
  EXPECT_FALSE(login_account(f.ctx, "C999999", "AAAA-BBBB-CCCC-DDDD").principal);
  const std::vector<std::string> tables = {"ra_bundles", "ra_applications", "ra_certificate_requests",
                                           "ra_application_events", "outbox", "audit_log"};
  auto counts = [&] {
    std::vector<std::int64_t> n;
    for (const auto& t : tables) n.push_back(count_rows(*f.caf->db, t));
    return n;
  };
  const auto before = counts();
  auto refused = [&](const Principal& requester, const std::string& user, const ApplicantInput& form,
                     ErrorKind kind, const std::string& says) {
    auto msg = expect_error([&] { request_additional_certificate(f.ctx, requester, {user, form}); }, kind);
    EXPECT_NE(msg.find(says), std::string::npos) << msg;
    EXPECT_EQ(counts(), before) << "nothing stored after: " << msg;
  };
  ApplicantInput ok = light_form();
  // Who asks: only an enabled company ID.
  refused(user1, c.user1, ok, ErrorKind::forbidden, "not a company admin ID");
  refused(*f.alice, c.user1, ok, ErrorKind::forbidden, "not a company admin ID");
  // For whom: an enabled user ID of the same company.
  refused(admin, other.user1, ok, ErrorKind::forbidden, "another company");
  refused(other_admin, c.user1, ok, ErrorKind::forbidden, "another company");
  refused(admin, c.user2, ok, ErrorKind::conflict, "disabled");
  refused(admin, c.admin, ok, ErrorKind::invalid_input, "company ID");
  refused(admin, "U9999999", ok, ErrorKind::not_found, "U9999999");
  refused(admin, "", ok, ErrorKind::invalid_input, "user ID");
  // RA-8 romaji rules and the validity, by the Form-5 validation.
  auto bad = ok;
  bad.name_romaji = "Tarō Yamada";
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "name_romaji must be romaji");
  bad = ok;
  bad.department_romaji = "Ｈｏｎｓｈａ";
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "department_romaji must be romaji");
  bad = ok;
  bad.title_romaji = "Shacho_1";
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "title_romaji must be romaji");
  bad = ok;
  bad.department_romaji = std::string(35, 'd');
  bad.title_romaji = std::string(26, 't');   // 61 together
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "60");
  bad = ok;
  // The organisation is the company's own romaji name (issue 8; its 40-character limit is Form 1's).
  bad.organization_romaji = "Ume Kogyo";
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "'Ume Kogyo' is not the company's romaji name 'Sakura Kensetsu'");
  for (int years : {0, 3}) {
    bad = ok;
    bad.validity_years = years;
    refused(admin, c.user1, bad, ErrorKind::invalid_input, "validity_years must be 1 or 2");
  }
  bad = ok;
  bad.email = "not-an-address";
  refused(admin, c.user1, bad, ErrorKind::invalid_input, "email");

  // One open request per user ID; a paper application is not a request.
  auto req = request_additional_certificate(f.ctx, admin, {c.user1, ok});
  const auto after_one = counts();
  auto msg = expect_error([&] { request_additional_certificate(f.ctx, admin, {c.user1, ok}); }, ErrorKind::conflict);
  EXPECT_NE(msg.find("application " + std::to_string(req.application_id)), std::string::npos) << msg;
  EXPECT_EQ(counts(), after_one);
  // The operator's check refuses a request whose user ID was disabled meanwhile.
  {
    db::Statement st(*f.caf->db, "UPDATE ra_accounts SET disabled_at = ? WHERE login_id = ?");
    st.bind(1, f.now).bind(2, c.user1).exec();
  }
  expect_error([&] { check_certificate_request(f.ctx, *f.alice, req.application_id); }, ErrorKind::conflict);
  EXPECT_EQ(get_application(f.ctx, *f.alice, req.application_id).state, State::received);
  EXPECT_EQ(counts(), after_one);
  // A withdrawn request frees the user ID for a new one (once the ID is enabled again).
  withdraw_application(f.ctx, *f.alice, req.application_id, "the company asked again");
  {
    db::Statement st(*f.caf->db, "UPDATE ra_accounts SET disabled_at = NULL WHERE login_id = ?");
    st.bind(1, c.user1).exec();
  }
  EXPECT_NO_THROW(request_additional_certificate(f.ctx, admin, {c.user1, ok}));
  EXPECT_EQ(list_certificate_requests(f.ctx, *f.alice, c.id).size(), 2u);
  EXPECT_TRUE(list_certificate_requests(f.ctx, *f.alice, other.id).empty());
  EXPECT_TRUE(db::verify_audit(*f.caf->db).ok);
}

// The same request through the jitsuin binary: the company admin files it with its own password,
// operators list, check and approve it (two people).
TEST(RaCertRequestCli, AddListCheckApprove) {
  test::TempDir home;
  auto secret_file = [&](const std::string& name, const std::string& text) {
    auto p = home / name;
    test::write_text(p, text + "\n");
    std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                 std::filesystem::perm_options::replace);
    return test::sh_quote(p.string());
  };
  // Every command runs at one fixed time (the test clock), so "today" cannot change mid-test.
  const UnixTime now = system_clock()();
  auto as = [&](const std::string& who, const std::string& args) {
    return test::run(test::at_time(now) + "JITSUIN_SESSION_FILE=" +
                     test::sh_quote((home / (who + ".session")).string()) + " " + test::jitsuin_cmd(home.path()) + " " +
                     args);
  };
  auto as_json = [&](const std::string& who, const std::string& args) {
    auto r = as(who, args + " --json");
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
    try {
      return json::parse(r.output);
    } catch (const std::exception&) {
      ADD_FAILURE() << args << ": not JSON: " << r.output;
      return json();
    }
  };
  const std::string pwf = " --password-file " + secret_file("operator.pw", kOperatorPassword);
  // Issue 8: first passwords are temporary, and the approver bob is approved by proof of CA custody
  // (the only administrator created him), so the CA's embedded token exists first.
  const std::string first = " --password-file " + secret_file("first.pw", "first password from admin");
  const std::string change = " --current-file " + secret_file("first2.pw", "first password from admin") +
                             " --new-file " + secret_file("operator2.pw", kOperatorPassword);
  for (const auto& [who, args] : std::vector<std::pair<std::string, std::string>>{
           {"root", "ca init --root-key p256 --issuing-key p256"},
           {"admin", "ra operator-add --name admin --role administrator" + pwf},
           {"admin", "login --user admin" + pwf},
           {"admin", "ra operator-add --name alice --role operator" + first},
           {"admin", "ra operator-add --name bob --role approver" + first},
           {"root", "ra operator-approve --name bob --ca-custody --pin-file " + test::sh_quote((home / "ca.so-pin").string())},
           {"alice", "login --user alice" + first},
           {"alice", "ra passwd" + change},
           {"bob", "login --user bob" + first},
           {"bob", "ra passwd" + change}}) {
    auto r = as(who, args);
    ASSERT_EQ(r.status, 0) << args << ": " << r.output;
  }
  std::string today = date_in_japan(now).str();
  json bundle = {
      {"company", {{"name", "桜建設株式会社"}, {"name_kana", "サクラケンセツ"}, {"name_romaji", "Sakura Kensetsu"},
                   {"address", "東京都港区新橋1-1-1"}, {"representative_name", "桜 一郎"},
                   {"representative_title", "代表取締役"}}},
      {"received_on", today},
      {"seal_form", true},
      {"applicant_list", true},
      {"contacts", {{{"role", "contact"}, {"name", "管理 花子"}, {"email", "admin@sakura.example.jp"}},
                    {{"role", "billing"}, {"name", "請求 次郎"}, {"email", "billing@sakura.example.jp"}}}},
      {"users", {{{"name", "利用 一郎"}, {"email", "user1@sakura.example.jp"}}}}};
  test::write_text(home / "bundle.json", bundle.dump());
  auto created = as_json("alice", "ra bundle-create --file " + test::sh_quote((home / "bundle.json").string()));
  const std::string b = created["bundle"].dump();
  for (const char* kind : {"registration_current", "representative_seal"})
    ASSERT_EQ(as("alice", "ra document-add --bundle " + b + " --kind " + kind + " --issued " + today).status, 0);
  ASSERT_TRUE(as_json("alice", "ra check --bundle " + b)["complete"].get<bool>());
  auto accounts = as_json("alice", "ra accounts-issue --bundle " + b);
  ASSERT_EQ(accounts.size(), 2u) << accounts.dump();
  const std::string admin = accounts[0]["login_id"], user = accounts[1]["login_id"];
  // The initial passwords exist only in the queued mails.
  std::string admin_pw, user_pw;
  {
    auto db = db::Database::open(home / "jitsuin.db");
    db::Statement st(*db, "SELECT id FROM outbox WHERE template = 'user_id'");
    while (st.step()) {
      auto p = test::outbox_mail_params(*db, st.int64(0));
      if (p["user_id"] == admin) admin_pw = p["password"];
      if (p["user_id"] == user) user_pw = p["password"];
    }
  }
  ASSERT_FALSE(admin_pw.empty());
  ASSERT_FALSE(user_pw.empty());

  json cert = {{"name_kanji", "田中 一郎"}, {"name_kana", "タナカ イチロウ"}, {"name_romaji", "Ichiro Tanaka"},
               {"department_romaji", "Honsha"}, {"title_romaji", "Shacho"}, {"email", "pin-to@example.jp"},
               {"postcode", "105-0004"}, {"home_address", "東京都港区新橋3-3-3"}, {"validity_years", 1}};
  test::write_text(home / "cert.json", cert.dump());
  json bad_cert = cert;
  bad_cert["name_romaji"] = "田中 一郎";
  test::write_text(home / "bad.json", bad_cert.dump());
  const std::string add = "ra cert-request-add --admin " + admin + " --user " + user + " --file ";
  const std::string cert_file = test::sh_quote((home / "cert.json").string());

  // Refused: wrong password, a user ID as requester, bad romaji. Nothing is stored.
  auto wrong = as("nobody", add + cert_file + " --password-file " + secret_file("wrong.pw", "AAAA-BBBB-CCCC-DDDD"));
  EXPECT_EQ(wrong.status, 1);
  EXPECT_NE(wrong.output.find("wrong company ID or password"), std::string::npos) << wrong.output;
  auto by_user = as("nobody", "ra cert-request-add --admin " + user + " --user " + user + " --file " + cert_file +
                                  " --password-file " + secret_file("user.pw", user_pw));
  EXPECT_EQ(by_user.status, 1);
  EXPECT_NE(by_user.output.find("not a company admin ID"), std::string::npos) << by_user.output;
  const std::string admin_pwf = " --password-file " + secret_file("admin.pw", admin_pw);
  auto romaji = as("nobody", add + test::sh_quote((home / "bad.json").string()) + admin_pwf);
  EXPECT_EQ(romaji.status, 1);
  EXPECT_NE(romaji.output.find("name_romaji must be romaji"), std::string::npos) << romaji.output;
  EXPECT_EQ(as_json("alice", "ra cert-request-list").size(), 0u);

  auto req = as_json("nobody", add + cert_file + admin_pwf);
  EXPECT_EQ(req["state"], "received");
  EXPECT_EQ(req["user_id"], user);
  EXPECT_EQ(req["requested_by"], admin);
  const std::string app = req["application"].dump();
  auto list = as_json("alice", "ra cert-request-list --company " + created["company"].dump());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["application"], req["application"]);
  // Listing is the back office's: no operator session, no list.
  EXPECT_EQ(as("nobody", "ra cert-request-list").status, 1);

  auto checked = as_json("alice", "ra cert-request-check --application " + app);
  EXPECT_EQ(checked["state"], "checked");
  EXPECT_EQ(as("alice", "ra approve --application " + app).status, 1) << "an operator cannot approve";
  auto approved = as("bob", "ra approve --application " + app);
  ASSERT_EQ(approved.status, 0) << approved.output;
  auto shown = as_json("bob", "ra application-show --id " + app);
  EXPECT_EQ(shown["state"], "approved");
  EXPECT_EQ(shown["created_by"], "company:" + admin);
  EXPECT_EQ(shown["organization_romaji"], "Sakura Kensetsu");
  auto text = as("alice", "ra cert-request-list");
  EXPECT_NE(text.output.find("approved"), std::string::npos) << text.output;
  auto audit = test::run(test::jitsuin_cmd(home.path()) + " audit verify");
  EXPECT_EQ(audit.status, 0) << audit.output;
}

}  // namespace
}  // namespace jitsuin::ra
