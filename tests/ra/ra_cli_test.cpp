// The RA through the jitsuin binary: bootstrap, login sessions, a bundle from JSON, the document
// check, the two-person rule, the PIN letter, mail tracking, listings as JSON.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <algorithm>
#include <regex>

#include "jitsuin/ra/date.h"
#include "support/support.h"

namespace jitsuin::ra {
namespace {

using nlohmann::json;

struct Cli {
  test::TempDir home;
  std::filesystem::path pw = home / "pw";
  std::filesystem::path first = home / "first";   // the first password an administrator sets

  Cli() {
    test::write_text(pw, "correct horse battery\n");
    test::write_text(first, "first password from admin\n");
    for (const auto& p : {pw, first})
      std::filesystem::permissions(p, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                                   std::filesystem::perm_options::replace);
  }
  // An operator made as issue 8 wants (needs `ca init` and the logged-in "admin"): created with a
  // first password, approved by proof of CA custody when its role approves or administers, logged
  // in, and its own password set.
  void new_operator(const std::string& name, const std::string& role) const {
    ok("admin", "ra operator-add --name " + name + " --role " + role + " --password-file " + test::sh_quote(first.string()));
    if (role == "approver" || role == "administrator")
      ok("root", "ra operator-approve --name " + name + " --ca-custody --pin-file " +
                     test::sh_quote((home / "ca.so-pin").string()));
    ok(name, "login --user " + name + " --password-file " + test::sh_quote(first.string()));
    ok(name, "ra passwd --current-file " + test::sh_quote(first.string()) + " --new-file " + test::sh_quote(pw.string()));
  }
  std::filesystem::path session(const std::string& who) const { return home / (who + ".session"); }
  test::CommandResult as(const std::string& who, const std::string& args) const {
    return test::run("JITSUIN_SESSION_FILE=" + test::sh_quote(session(who).string()) + " " +
                     test::jitsuin_cmd(home.path()) + " " + args);
  }
  json as_json(const std::string& who, const std::string& args) const {
    auto r = as(who, args + " --json");
    EXPECT_EQ(r.status, 0) << args << ": " << r.output;
    try {
      return json::parse(r.output);
    } catch (const std::exception& e) {
      ADD_FAILURE() << args << ": not JSON: " << r.output;
      return json();
    }
  }
  void ok(const std::string& who, const std::string& args) const {
    auto r = as(who, args);
    ASSERT_EQ(r.status, 0) << args << ": " << r.output;
  }
};

TEST(RaCli, BundleToPinLetter) {
  // A fixed time (JITSUIN_TEST_NOW) for every command: "today" cannot change between the
  // commands, as it could around midnight in Japan.
  const UnixTime at = parse_rfc3339("2031-05-01T03:00:00Z");
  test::ScopedEnv fixed_now("JITSUIN_TEST_NOW", std::to_string(at));
  Cli c;
  const std::string pwf = " --password-file " + test::sh_quote(c.pw.string());
  c.ok("admin", "ra operator-add --name admin --role administrator" + pwf);
  auto again = c.as("nobody", "ra operator-add --name mallory --role administrator" + pwf);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.output.find("not logged in"), std::string::npos) << again.output;

  c.ok("admin", "login --user admin" + pwf);
  struct stat st{};
  ASSERT_EQ(stat(c.session("admin").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  c.ok("root", "ca init --root-key p256 --issuing-key p256");   // custody approves bob (issue 8)
  c.new_operator("alice", "operator");
  c.new_operator("bob", "approver");
  auto who = c.as("bob", "ra whoami");
  EXPECT_NE(who.output.find("bob (approver)"), std::string::npos) << who.output;
  // A wrong password is refused (and counted), the session file untouched.
  test::write_text(c.home / "bad", "wrong wrong wrong\n");
  std::filesystem::permissions(c.home / "bad", std::filesystem::perms::owner_read, std::filesystem::perm_options::replace);
  auto bad = c.as("eve", "login --user alice --password-file " + test::sh_quote((c.home / "bad").string()));
  EXPECT_EQ(bad.status, 1);
  EXPECT_FALSE(std::filesystem::exists(c.session("eve")));

  std::string today = date_in_japan(at).str();
  json bundle = {
      {"company", {{"name", "桜建設株式会社"}, {"name_kana", "サクラケンセツ"}, {"name_romaji", "Sakura Kensetsu"},
                   {"address", "東京都港区新橋1-1-1"}, {"representative_name", "桜 一郎"},
                   {"representative_title", "代表取締役"}}},
      {"applied_by", "manager"},
      {"received_on", today},
      {"seal_form", true},
      {"applicant_list", true},
      {"token_quantity", 1},
      {"contacts", {{{"role", "contact"}, {"name", "連絡 花子"}, {"email", "contact@example.jp"}},
                    {{"role", "billing"}, {"name", "請求 次郎"}, {"email", "billing@example.jp"}}}},
      {"applicants", {{{"name_kanji", "山田 太郎"}, {"name_kana", "ヤマダ タロウ"}, {"name_romaji", "Taro Yamada"},
                       {"organization_romaji", "Sakura Kensetsu"}, {"title_romaji", "Shihainin"},
                       {"email", "taro@example.jp"}, {"postcode", "105-0004"},
                       {"home_address", "東京都港区新橋2-6-2"}, {"validity_years", 1}}}}};
  test::write_text(c.home / "bundle.json", bundle.dump());
  // Bad JSON input: unknown field, refused, nothing stored.
  json typo = bundle;
  typo["recieved_on"] = today;
  test::write_text(c.home / "typo.json", typo.dump());
  auto t = c.as("alice", "ra bundle-create --file " + test::sh_quote((c.home / "typo.json").string()));
  EXPECT_EQ(t.status, 1);
  EXPECT_NE(t.output.find("unknown field 'recieved_on'"), std::string::npos) << t.output;
  EXPECT_EQ(c.as_json("alice", "ra bundle-list").size(), 0u);

  auto created = c.as_json("alice", "ra bundle-create --file " + test::sh_quote((c.home / "bundle.json").string()));
  const std::string b = created["bundle"].dump(), app = created["applications"][0].dump();
  c.ok("alice", "ra document-add --bundle " + b + " --kind registration_representative --issued " + today);
  c.ok("alice", "ra document-add --bundle " + b + " --kind representative_seal --issued " + today);
  c.ok("alice", "ra document-add --bundle " + b + " --application " + app + " --kind residence_record --issued " + today);
  c.ok("alice", "ra document-add --bundle " + b + " --application " + app + " --kind personal_seal --copy --issued " + today);
  auto chk = c.as_json("alice", "ra check --bundle " + b);
  EXPECT_FALSE(chk["complete"].get<bool>());
  std::set<std::string> codes;
  for (const auto& r : chk["reasons"]) codes.insert(r["code"].get<std::string>());
  EXPECT_EQ(codes, (std::set<std::string>{"registration_kind_not_accepted", "copy_not_accepted"}));
  auto show = c.as("alice", "ra bundle-show --id " + b);
  EXPECT_NE(show.output.find("支配人による申請"), std::string::npos) << show.output;

  c.ok("alice", "ra resubmit --bundle " + b + " --note 'originals arrived'");
  c.ok("alice", "ra document-add --bundle " + b + " --kind registration_current --issued " + today);
  c.ok("alice", "ra document-add --bundle " + b + " --application " + app + " --kind personal_seal --issued " + today);
  chk = c.as_json("alice", "ra check --bundle " + b);
  EXPECT_TRUE(chk["complete"].get<bool>()) << chk.dump();

  auto self = c.as("alice", "ra approve --application " + app);
  EXPECT_EQ(self.status, 1);
  EXPECT_NE(self.output.find("may not approve"), std::string::npos) << self.output;
  c.ok("bob", "ra approve --bundle " + b);
  EXPECT_EQ(c.as_json("alice", "ra application-list --state approved").size(), 1u);
  EXPECT_EQ(c.as_json("alice", "ra application-list --applicant yamada").size(), 1u);
  EXPECT_EQ(c.as_json("alice", "ra application-list --company 存在しない").size(), 0u);
  auto unknown = c.as("alice", "ra application-list --state done");
  EXPECT_EQ(unknown.status, 1);
  EXPECT_NE(unknown.output.find("unknown application state 'done'"), std::string::npos) << unknown.output;

  auto letter = c.home / "letter.pdf";
  auto pin = c.as("alice", "ra issue-pin --application " + app + " --letter " + test::sh_quote(letter.string()));
  ASSERT_EQ(pin.status, 0) << pin.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(pin.output, m, std::regex("[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")))
      << pin.output;
  ASSERT_EQ(stat(letter.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(read_file(letter).substr(0, 5), "%PDF-");
  auto text = test::run("pdftotext " + test::sh_quote(letter.string()) + " -");
  ASSERT_EQ(text.status, 0) << text.output;
  // Compared without separators: pdftotext joins a hyphen at a line end with the next line.
  auto bare = [](std::string s) {
    s.erase(std::remove_if(s.begin(), s.end(), [](char ch) { return ch == '-' || ch == ' ' || ch == '\n'; }), s.end());
    return s;
  };
  EXPECT_NE(bare(text.output).find(bare(m.str(0))), std::string::npos)
      << "the letter carries the PIN " << m.str(0) << ":\n" << text.output;
  EXPECT_NE(text.output.find("山田 太郎"), std::string::npos) << text.output;
  auto twice = c.as("bob", "ra issue-pin --application " + app);
  EXPECT_EQ(twice.status, 1);
  EXPECT_NE(twice.output.find("re-issue request"), std::string::npos) << twice.output;

  c.ok("alice", "ra mail-sent --application " + app + " --tracking 1234-5678-9012");
  auto dup = c.as("alice", "ra mail-resend --application " + app + " --tracking 123456789012 --charge 1200");
  EXPECT_EQ(dup.status, 1);
  auto mails = c.as_json("alice", "ra mail-list");
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["state"], "sent");
  auto shown = c.as_json("bob", "ra application-show --id " + app);
  EXPECT_EQ(shown["state"], "notice_mailed");
  EXPECT_EQ(shown["history"].size(), 7u);
  EXPECT_FALSE(shown.dump().find("scrypt") != std::string::npos) << "no PIN hash in output";

  // Password change: the old password stops working.
  test::write_text(c.home / "new", "a much better passphrase\n");
  std::filesystem::permissions(c.home / "new", std::filesystem::perms::owner_read, std::filesystem::perm_options::replace);
  c.ok("bob", "ra passwd --current-file " + test::sh_quote(c.pw.string()) + " --new-file " +
                  test::sh_quote((c.home / "new").string()));
  EXPECT_EQ(c.as("bob2", "login --user bob" + pwf).status, 1);
  c.ok("bob2", "login --user bob --password-file " + test::sh_quote((c.home / "new").string()));

  // An operator key for scripts acts as alice, with mode 0600.
  auto key = c.home / "alice.key";
  c.ok("alice", "ra operator-key --days 7 --password-file " + test::sh_quote(c.pw.string()) + " --out " +
                    test::sh_quote(key.string()));
  ASSERT_EQ(stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto viakey = test::run("JITSUIN_SESSION_FILE=" + test::sh_quote(key.string()) + " " + test::jitsuin_cmd(c.home.path()) +
                          " ra whoami");
  EXPECT_NE(viakey.output.find("alice (operator)"), std::string::npos) << viakey.output;
  // Issue 20, item 5: the key makes no keys; keys are listed and revoked; a password change
  // (not keeping keys) ends the others.
  auto bred = test::run("JITSUIN_SESSION_FILE=" + test::sh_quote(key.string()) + " " + test::jitsuin_cmd(c.home.path()) +
                        " ra operator-key --password-file " + test::sh_quote(c.pw.string()) + " --out " +
                        test::sh_quote((c.home / "bred.key").string()));
  EXPECT_EQ(bred.status, 1) << bred.output;
  EXPECT_NE(bred.output.find("cannot make operator keys"), std::string::npos) << bred.output;
  auto second = c.home / "second.key";
  c.ok("alice", "ra operator-key --days 1 --label reports --password-file " + test::sh_quote(c.pw.string()) + " --out " +
                    test::sh_quote(second.string()));
  auto keys = c.as_json("alice", "ra operator-keys");
  ASSERT_EQ(keys["keys"].size(), 2u) << keys;
  EXPECT_EQ(keys["keys"][1]["label"], "reports");
  c.ok("alice", "ra operator-key-revoke --id " + std::to_string(keys["keys"][1]["id"].get<std::int64_t>()));
  EXPECT_EQ(test::run("JITSUIN_SESSION_FILE=" + test::sh_quote(second.string()) + " " +
                      test::jitsuin_cmd(c.home.path()) + " ra whoami").status, 1) << "revoked";
  test::write_text(c.pw.string() + ".alice2", "alice's much newer passphrase\n");
  std::filesystem::permissions(c.pw.string() + ".alice2", std::filesystem::perms::owner_read,
                               std::filesystem::perm_options::replace);
  c.ok("alice", "ra passwd --end-keys --current-file " + test::sh_quote(c.pw.string()) + " --new-file " +
                    test::sh_quote(c.pw.string() + ".alice2"));
  auto ended = test::run("JITSUIN_SESSION_FILE=" + test::sh_quote(key.string()) + " " + test::jitsuin_cmd(c.home.path()) +
                         " ra whoami");
  EXPECT_EQ(ended.status, 1) << "the password change ended the key: " << ended.output;
  c.ok("alice", "ra whoami");   // the session that changed it stays

  c.ok("alice", "logout");
  auto gone = c.as("alice", "ra application-list");
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.output.find("not logged in"), std::string::npos) << gone.output;
  auto audit = test::run(test::jitsuin_cmd(c.home.path()) + " audit verify");
  EXPECT_EQ(audit.status, 0) << audit.output;
}


// A relative $JITSUIN_SESSION_FILE names a file in the current folder (it once failed: "cannot
// create directories" for its empty parent folder).
TEST(RaCli, ARelativeSessionFileIsInTheCurrentFolder) {
  Cli c;
  const std::string pwf = " --password-file " + test::sh_quote(c.pw.string());
  c.ok("admin", "ra operator-add --name admin --role administrator" + pwf);
  const std::string in_home = "cd " + test::sh_quote(c.home.path().string()) + " && JITSUIN_SESSION_FILE=relative.session ";
  auto r = test::run(in_home + test::jitsuin_cmd(c.home.path()) + " login --user admin" + pwf);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(std::filesystem::exists(c.home / "relative.session"));
  auto who = test::run(in_home + test::jitsuin_cmd(c.home.path()) + " ra whoami");
  EXPECT_EQ(who.status, 0) << who.output;
  EXPECT_NE(who.output.find("admin"), std::string::npos) << who.output;
}

// Revocation through the CLI: request by one operator, approval by another, then the CRL.
// Every command runs at a fixed time T (JITSUIN_TEST_NOW); the CRLs are published at T, before
// the revocation takes effect, and at T + 2 h, after it: no waiting on the wall clock.
TEST(RaCli, RevocationRequestApprovalAndCrl) {
  const UnixTime t = parse_rfc3339("2031-05-01T00:00:00Z");
  test::ScopedEnv fixed_now("JITSUIN_TEST_NOW", std::to_string(t));
  Cli c;
  const std::string pwf = " --password-file " + test::sh_quote(c.pw.string());
  auto init = test::run(test::jitsuin_cmd(c.home.path()) + " ca init");
  ASSERT_EQ(init.status, 0) << init.output;
  test::openssl_csr(c.home.path(), "ec", "leaf");
  test::write_text(c.home / "subject.json", R"({"organization": "Sakura Kensetsu", "common_name": "Ken Sato"})");

  c.ok("admin", "ra operator-add --name admin --role administrator" + pwf);
  c.ok("admin", "login --user admin" + pwf);
  c.new_operator("alice", "operator");
  c.new_operator("bob", "approver");
  // The direct path needs an administrator's session.
  auto issued = c.as("admin", "ca issue --profile individual-signing --csr " +
                                  test::sh_quote((c.home / "leaf.csr").string()) + " --subject " +
                                  test::sh_quote((c.home / "subject.json").string()) + " --out " +
                                  test::sh_quote((c.home / "leaf.pem").string()));
  ASSERT_EQ(issued.status, 0) << issued.output;
  auto serial = test::run("openssl x509 -noout -serial -in " + test::sh_quote((c.home / "leaf.pem").string()));
  ASSERT_EQ(serial.status, 0);
  std::string hex = serial.output.substr(serial.output.find('=') + 1);
  hex.erase(hex.find_last_not_of("\n") + 1);

  auto bad = c.as("alice", "ra revocation-request --serial " + hex + " --reason whatever");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("unknown revocation reason"), std::string::npos) << bad.output;
  // Effective an hour after T, so the CRL can be checked before and after.
  const UnixTime effective = t + 3600;
  auto req = c.as("bob", "ra revocation-request --serial " + hex + " --reason keyCompromise --effective " +
                             format_rfc3339(effective) + " --note 'token lost'");
  ASSERT_EQ(req.status, 0) << req.output;
  auto self = c.as("bob", "ra revocation-approve --id 1");
  EXPECT_EQ(self.status, 1);
  EXPECT_NE(self.output.find("two-person"), std::string::npos) << self.output;
  auto clerk = c.as("alice", "ra revocation-approve --id 1");
  EXPECT_EQ(clerk.status, 1);
  EXPECT_NE(clerk.output.find("may not approve"), std::string::npos) << clerk.output;
  EXPECT_EQ(c.as_json("alice", "ra revocation-list --state pending").size(), 1u);
  c.ok("admin", "ra revocation-approve --id 1");
  auto list = c.as_json("alice", "ra revocation-list");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "revoked");
  EXPECT_EQ(list[0]["decided_by"], "ra:admin");
  // paging: a page of one, nothing before the first request, a bad page refused by its name.
  EXPECT_EQ(c.as_json("alice", "ra revocation-list --limit 1").size(), 1u);
  EXPECT_EQ(c.as_json("alice", "ra revocation-list --before " + list[0]["id"].dump()).size(), 0u);
  auto bad_page = c.as("alice", "ra revocation-list --limit 1001");
  EXPECT_EQ(bad_page.status, 1);
  EXPECT_NE(bad_page.output.find("'limit'"), std::string::npos) << bad_page.output;

  std::string upper = hex;
  auto crl = [&](UnixTime at) {
    auto pub = test::run(test::at_time(at) + test::jitsuin_cmd(c.home.path()) + " crl publish");
    EXPECT_EQ(pub.status, 0) << pub.output;
    auto text = test::run("openssl crl -text -noout -in " + test::sh_quote((c.home / "crl" / "issuing.crl.pem").string()));
    EXPECT_EQ(text.status, 0) << text.output;
    return text.output;
  };
  auto before = crl(t);
  EXPECT_EQ(before.find(upper), std::string::npos) << "not yet effective: " << before;
  EXPECT_NE(before.find("Last Update: May  1 00:00:00 2031 GMT"), std::string::npos) << before;
  auto text = crl(t + 2 * 3600);
  EXPECT_NE(text.find("Last Update: May  1 02:00:00 2031 GMT"), std::string::npos) << text;
  EXPECT_NE(text.find(upper), std::string::npos) << text;
  EXPECT_NE(text.find("Key Compromise"), std::string::npos) << text;
  EXPECT_NE(text.find("Revocation Date: May  1 01:00:00 2031 GMT"), std::string::npos) << text;
}

}  // namespace
}  // namespace jitsuin::ra
