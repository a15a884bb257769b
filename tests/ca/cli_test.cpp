// The jitsuin command line as operators and cron use it, on the embedded defaults
// (SoftHSM2 token and SQLite file created under --home on first use).
#include <gtest/gtest.h>

#include "support/support.h"

namespace jitsuin::test {
namespace {

class Cli : public ::testing::Test {
 protected:
  CommandResult jitsuin(const std::string& args) { return run(jitsuin_cmd(home.path() / "var") + " " + args); }
  std::string p(const std::string& name) { return sh_quote((home.path() / name).string()); }
  void init() {
    auto r = jitsuin("ca init --root-key rsa2048");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // Issues a certificate for a fresh openssl key; returns its serial (hex).
  std::string issue(const std::string& name) {
    openssl_csr(home.path(), "ec", name);
    write_text(home.path() / "subject.json",
               R"({"organization": "Example Kensetsu", "department": "Honsha", "title": "Shacho", "common_name": "Taro Yamada"})");
    auto r = jitsuin("ca issue --profile individual-signing --csr " + p(name + ".csr") + " --subject " + p("subject.json") +
                     " --out " + p(name + ".pem") + " --chain " + p("chain.pem"));
    EXPECT_EQ(r.status, 0) << r.output;
    auto s = run("openssl x509 -noout -serial -in " + p(name + ".pem"));
    return s.output.substr(s.output.find('=') + 1, s.output.size() - s.output.find('=') - 2);
  }
  TempDir home;
};

TEST_F(Cli, HelpAndUsageErrors) {
  auto r = jitsuin("--help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("ca issue --profile NAME"), std::string::npos);
  r = jitsuin("ca revoke --help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("keyCompromise"), std::string::npos);
  EXPECT_EQ(jitsuin("ca frobnicate").status, 2);
  r = jitsuin("ca issue --profile smime");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("--csr is required"), std::string::npos) << r.output;
  EXPECT_EQ(jitsuin("ca show --bogus").status, 2);
  r = jitsuin("ca show");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("run: jitsuin ca init"), std::string::npos) << r.output;
}

TEST_F(Cli, WholeLifeCycleCheckedByOpenssl) {
  init();
  auto var = home.path() / "var";
  EXPECT_TRUE(std::filesystem::exists(var / "jitsuin.db"));
  EXPECT_TRUE(std::filesystem::exists(var / "softhsm2.conf"));
  EXPECT_EQ(std::filesystem::status(var / "ca.pin").permissions() & std::filesystem::perms::group_all,
            std::filesystem::perms::none);
  auto r = jitsuin("ca init");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("already exists"), std::string::npos) << r.output;

  std::string good = issue("good"), bad = issue("bad");
  r = jitsuin("ca show --serial " + good);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("status: valid"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial " + bad + " --reason affiliationChanged");
  EXPECT_EQ(r.status, 0) << r.output;
  r = jitsuin("crl publish");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("issuing CRL #1 with 1 entries"), std::string::npos) << r.output;

  auto crl = [&](const char* role) { return sh_quote((var / "crl" / (std::string(role) + ".crl.pem")).string()); };
  write_text(home.path() / "trust.pem", read_file(home.path() / "chain.pem") + read_file(var / "crl" / "issuing.crl.pem") +
                                            read_file(var / "crl" / "root.crl.pem"));
  r = run("openssl verify -x509_strict -crl_check_all -CAfile " + p("trust.pem") + " " + p("bad.pem"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
  r = run("openssl verify -x509_strict -crl_check_all -CAfile " + p("trust.pem") + " " + p("good.pem"));
  EXPECT_EQ(r.status, 0) << r.output;
  (void)crl;

  r = jitsuin("ca show --json");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"certificates_issued\": 2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"revoked\": 1"), std::string::npos) << r.output;
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
  // ca init, two issuances, a revocation, one CRL publication (both CRLs): one entry each.
  EXPECT_NE(r.output.find("audit log OK: 5 entries"), std::string::npos) << r.output;
  // Second publication: next number, and --out elsewhere.
  r = jitsuin("crl publish --out " + p("elsewhere"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("issuing CRL #2"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(home.path() / "elsewhere" / "issuing.crl"));
}

TEST_F(Cli, BadInputChangesNothing) {
  init();
  std::string serial = issue("one");
  auto before = jitsuin("audit verify").output;
  write_text(home.path() / "bad.csr", "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n");
  auto r = jitsuin("ca issue --profile individual-signing --csr " + p("bad.csr") + " --subject " + p("subject.json") +
                   " --out " + p("never.pem"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("invalid_input"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(home.path() / "never.pem"));
  write_text(home.path() / "bad.json", "{\"common_name\": ");
  openssl_csr(home.path(), "ec", "two");
  r = jitsuin("ca issue --profile individual-signing --csr " + p("two.csr") + " --subject " + p("bad.json") + " --out " +
              p("never.pem"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not valid JSON"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial 00ff --reason keyCompromise");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("no certificate with serial"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial " + serial + " --reason keyCompromise --effective yesterday");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("RFC 3339"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial " + serial + " --reason lost");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(jitsuin("audit verify").output, before);
  EXPECT_NE(jitsuin("ca show --serial " + serial).output.find("status: valid"), std::string::npos);
}

TEST_F(Cli, WrongCaPinIsAClearError) {
  init();
  // Only commands that sign log in to the token: crl publish does, ca show does not.
  auto r = run("JITSUIN_CA_PIN=wrong-pin " + jitsuin_cmd(home.path() / "var") + " crl publish");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("CKR_PIN_INCORRECT"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unauthenticated"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("wrong-pin"), std::string::npos) << "a PIN must never be printed";
  r = run("JITSUIN_CA_PIN=wrong-pin " + jitsuin_cmd(home.path() / "var") + " ca show");
  EXPECT_EQ(r.status, 0) << "ca show signs nothing and must not log in: " << r.output;
  // A PIN file readable by others is refused.
  std::filesystem::permissions(home.path() / "var" / "ca.pin", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  openssl_csr(home.path(), "ec", "x");
  write_text(home.path() / "x.json", R"({"organization": "Example Kensetsu", "department": "Honsha", "title": "Shacho", "common_name": "Taro Yamada"})");
  r = jitsuin("ca issue --profile individual-signing --csr " + (home.path() / "x.csr").string() + " --subject " +
              (home.path() / "x.json").string() + " --out " + (home.path() / "x.pem").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("chmod 600"), std::string::npos) << r.output;
}

// Commands that do not sign never open a token session: with the token gone (its directory moved
// away), reading, revoking and verifying still work, while issuing and CRL signing fail, and work
// again once the token is back.
TEST_F(Cli, OnlySigningCommandsOpenTheToken) {
  init();
  std::string serial = issue("a");
  auto var = home.path() / "var";
  std::filesystem::rename(var / "tokens", home.path() / "tokens.away");
  std::filesystem::create_directories(var / "tokens");
  auto r = jitsuin("ca show");
  EXPECT_EQ(r.status, 0) << r.output;
  r = jitsuin("ca show --serial " + serial);
  EXPECT_EQ(r.status, 0) << r.output;
  r = jitsuin("ca revoke --serial " + serial + " --reason superseded");
  EXPECT_EQ(r.status, 0) << r.output;
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
  r = jitsuin("crl publish");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("token not present"), std::string::npos) << r.output;
  r = jitsuin("ca issue --profile individual-signing --csr " + (home.path() / "a.csr").string() + " --subject " +
              (home.path() / "subject.json").string() + " --out " + (home.path() / "b.pem").string());
  EXPECT_EQ(r.status, 1) << r.output;
  std::filesystem::remove_all(var / "tokens");
  std::filesystem::rename(home.path() / "tokens.away", var / "tokens");
  r = jitsuin("crl publish");
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST_F(Cli, AuditVerifyDetectsEditsDeletionsAndReordering) {
  init();
  issue("a");
  issue("b");
  auto r = jitsuin("crl publish");
  ASSERT_EQ(r.status, 0) << r.output;
  auto db = (home.path() / "var" / "jitsuin.db").string();
  auto sql = [&](const std::string& s) {
    auto r2 = run("sqlite3 " + sh_quote(db) + " " + sh_quote(s));
    ASSERT_EQ(r2.status, 0) << r2.output;
  };
  ASSERT_EQ(jitsuin("audit verify").status, 0);
  run("cp " + sh_quote(db) + " " + p("pristine.db"));
  auto restore = [&] {
    sql("PRAGMA wal_checkpoint(TRUNCATE)");
    run("cp " + p("pristine.db") + " " + sh_quote(db) + " && rm -f " + sh_quote(db + "-wal") + " " + sh_quote(db + "-shm"));
    ASSERT_EQ(jitsuin("audit verify").status, 0);
  };
  sql("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2");
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("entry 2 was edited"), std::string::npos) << r.output;
  restore();

  sql("DELETE FROM audit_log WHERE seq = 3");
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("at entry 3: entry 3 before entry 4 is missing"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("missing"), std::string::npos) << r.output;
  restore();

  sql("DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)");
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("at the end of the log is missing"), std::string::npos) << r.output;
  restore();

  // Swap entries 2 and 3 (ids exchanged through a temporary number).
  sql("UPDATE audit_log SET seq = 1000 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3; "
      "UPDATE audit_log SET seq = 3 WHERE seq = 1000;");
  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("at entry 2"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace jitsuin::test
