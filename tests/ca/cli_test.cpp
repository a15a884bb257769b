// The jitsuin command line as operators and cron use it, on the embedded defaults
// (SoftHSM2 token and SQLite file created under --home on first use).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "support/support.h"

namespace jitsuin::test {
namespace {

class Cli : public ::testing::Test {
 protected:
  CommandResult jitsuin(const std::string& args) { return run(jitsuin_cmd(home.path() / "var") + " " + args); }
  std::string p(const std::string& name) { return sh_quote((home.path() / name).string()); }
  // The CA, and its RA administrator logged in: `ca issue` and `ca revoke` need that session.
  void init() {
    auto r = jitsuin("ca init --root-key rsa2048");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home.path() / "var");
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
  // ca init, the administrator and its login, two issuances, a revocation, one CRL publication
  // (both CRLs): one entry each.
  EXPECT_NE(r.output.find("audit log OK: 7 entries"), std::string::npos) << r.output;
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

// issue 8: the direct path (ca issue, ca revoke, ca revoke-ca) needs an RA administrator's session
// and audits the operator, not the Unix user: with only the home folder nobody goes around the RA.
TEST_F(Cli, DirectIssueAndRevokeNeedAnAdministratorsSession) {
  auto r = jitsuin("ca init --root-key p256");
  ASSERT_EQ(r.status, 0) << r.output;
  openssl_csr(home.path(), "ec", "a");
  write_text(home.path() / "subject.json", R"({"organization": "Example Kensetsu", "common_name": "Taro Yamada"})");
  const std::string issue_a = "ca issue --profile individual-signing --csr " + p("a.csr") + " --subject " +
                              p("subject.json") + " --out " + p("a.pem");
  r = jitsuin(issue_a);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not logged in"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(home.path() / "a.pem"));

  auto pw = login_administrator(home.path() / "var");
  // An operator (no second administrator needed for that role) who has set her own password.
  r = jitsuin("ra operator-add --name olga --role operator --password-file " + sh_quote(pw.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string as_olga = "JITSUIN_SESSION_FILE=" + p("olga.session") + " ";
  r = run(as_olga + jitsuin_cmd(home.path() / "var") + " login --user olga --password-file " + sh_quote(pw.string()));
  ASSERT_EQ(r.status, 0) << r.output;
  write_text(home.path() / "olga.pw", "olga's own passphrase, not the first one\n");
  std::filesystem::permissions(home.path() / "olga.pw", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  r = run(as_olga + jitsuin_cmd(home.path() / "var") + " ra passwd --current-file " + sh_quote(pw.string()) +
          " --new-file " + p("olga.pw"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(as_olga + jitsuin_cmd(home.path() / "var") + " " + issue_a);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("forbidden"), std::string::npos) << r.output;

  r = jitsuin(issue_a);
  ASSERT_EQ(r.status, 0) << r.output;
  auto s = run("openssl x509 -noout -serial -in " + p("a.pem"));
  std::string serial = s.output.substr(s.output.find('=') + 1, s.output.size() - s.output.find('=') - 2);
  r = run(as_olga + jitsuin_cmd(home.path() / "var") + " ca revoke --serial " + serial + " --reason superseded");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("forbidden"), std::string::npos) << r.output;
  EXPECT_NE(jitsuin("ca show --serial " + serial).output.find("status: valid"), std::string::npos);
  r = jitsuin("ca revoke --serial " + serial + " --reason superseded");
  EXPECT_EQ(r.status, 0) << r.output;
  auto actors = run("sqlite3 " + sh_quote((home.path() / "var" / "jitsuin.db").string()) +
                    " \"SELECT action || ' ' || actor FROM audit_log WHERE action LIKE 'cert.%' ORDER BY seq\"");
  EXPECT_EQ(actors.output, "cert.issue ra:admin\ncert.revoke ra:admin\n");
  jitsuin("logout");
  r = jitsuin("ca revoke-ca --reason cACompromise --confirm");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not logged in"), std::string::npos) << r.output;
}

// issue 8: after a transfer's revocation scheduled three days ahead, keyCompromise takes effect
// now, replacing it (one audit entry naming what it replaced), and the key is refused for good.
TEST_F(Cli, KeyCompromiseReplacesARevocationScheduledForLater) {
  init();
  std::string serial = issue("a");
  const UnixTime now = system_clock()();
  auto r = jitsuin("ca revoke --serial " + serial + " --reason affiliationChanged --effective " +
                   format_rfc3339(now + 3 * 86400));
  ASSERT_EQ(r.status, 0) << r.output;
  r = jitsuin("ca revoke --serial " + serial + " --reason superseded");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("only keyCompromise"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial " + serial + " --reason keyCompromise");
  ASSERT_EQ(r.status, 0) << r.output;
  r = jitsuin("ca show --serial " + serial);
  EXPECT_NE(r.output.find("status: revoked"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("keyCompromise"), std::string::npos) << r.output;
  auto db = sh_quote((home.path() / "var" / "jitsuin.db").string());
  auto last = run("sqlite3 " + db + " \"SELECT action, json_extract(details, '$.replaced.reason') FROM audit_log "
                                    "ORDER BY seq DESC LIMIT 1\"");
  EXPECT_EQ(last.output, "cert.revoke|affiliationChanged\n");

  r = jitsuin("crl publish");
  ASSERT_EQ(r.status, 0) << r.output;
  write_text(home.path() / "trust.pem", read_file(home.path() / "chain.pem") +
                                            read_file(home.path() / "var" / "crl" / "issuing.crl.pem") +
                                            read_file(home.path() / "var" / "crl" / "root.crl.pem"));
  r = run("openssl verify -x509_strict -crl_check_all -CAfile " + p("trust.pem") + " " + p("a.pem"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
  r = run("openssl crl -noout -text -in " + sh_quote((home.path() / "var" / "crl" / "issuing.crl.pem").string()));
  EXPECT_NE(r.output.find("Key Compromise"), std::string::npos) << r.output;

  // The same key with another subject: refused, nothing written.
  auto audit = jitsuin("audit verify").output;
  write_text(home.path() / "other.json", R"({"organization": "Ume Kogyo", "common_name": "Hanako Ito"})");
  r = jitsuin("ca issue --profile individual-signing --csr " + p("a.csr") + " --subject " + p("other.json") +
              " --out " + p("again.pem"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("reported compromised"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(home.path() / "again.pem"));
  EXPECT_EQ(jitsuin("audit verify").output, audit);
}

// issue 8: the issuing CA's certificate is revoked by its own root-CA command, never by ca revoke;
// the root CRL carries it, a chain through it fails, and its key signs nothing more.
TEST_F(Cli, RevokedIssuingCaSignsNothingMore) {
  init();
  std::string leaf = issue("a");
  ASSERT_EQ(jitsuin("crl publish").status, 0);
  auto show = jitsuin("ca show --json");
  auto j = nlohmann::json::parse(show.output);
  std::string root_serial = j["authorities"][0]["serial"], issuing_serial = j["authorities"][1]["serial"];
  auto r = jitsuin("ca revoke --serial " + issuing_serial + " --reason cACompromise");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("jitsuin ca revoke-ca"), std::string::npos) << r.output;
  r = jitsuin("ca revoke --serial " + root_serial + " --reason cACompromise");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("a root is never revoked"), std::string::npos) << r.output;
  r = jitsuin("ca revoke-ca --reason cACompromise");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--confirm"), std::string::npos) << r.output;
  r = jitsuin("ca revoke-ca --reason keyCompromise --confirm");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("not keyCompromise"), std::string::npos) << r.output;
  EXPECT_NE(jitsuin("ca show --serial " + issuing_serial).output.find("status: valid"), std::string::npos);

  r = jitsuin("ca revoke-ca --reason cACompromise --confirm");
  ASSERT_EQ(r.status, 0) << r.output;
  openssl_csr(home.path(), "ec", "b");
  r = jitsuin("ca issue --profile individual-signing --csr " + p("b.csr") + " --subject " + p("subject.json") +
              " --out " + p("b.pem"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("signs no certificate and no CRL"), std::string::npos) << r.output;
  auto issuing_crl = read_file(home.path() / "var" / "crl" / "issuing.crl");
  r = jitsuin("crl publish");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("published root CRL #2 with 1 entries"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("not published: issuing CRL"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("published issuing CRL"), std::string::npos) << r.output;
  EXPECT_EQ(read_file(home.path() / "var" / "crl" / "issuing.crl"), issuing_crl) << "the revoked key signed a CRL";

  auto crl_dir = home.path() / "var" / "crl";
  r = run("openssl crl -noout -text -in " + sh_quote((crl_dir / "root.crl.pem").string()));
  std::string upper = issuing_serial;
  for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  EXPECT_NE(r.output.find("Serial Number: " + upper), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("CA Compromise"), std::string::npos) << r.output;
  write_text(home.path() / "trust.pem", read_file(home.path() / "chain.pem") + read_file(crl_dir / "issuing.crl.pem") +
                                            read_file(crl_dir / "root.crl.pem"));
  r = run("openssl verify -x509_strict -crl_check_all -CAfile " + p("trust.pem") + " " + p("a.pem"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("certificate revoked"), std::string::npos) << r.output;
  (void)leaf;
  EXPECT_EQ(jitsuin("audit verify").status, 0);
}

// issue 8: a killed crl publish leaves its staged files (".issuing.crl.XXXXXX"); the next run
// removes those, and never a staged file young enough to be a concurrent publication's.
TEST_F(Cli, StaleStagedCrlFilesAreRemoved) {
  init();
  auto crl_dir = home.path() / "var" / "crl";
  std::filesystem::create_directories(crl_dir);
  const auto old = std::filesystem::file_time_type::clock::now() - std::chrono::hours(1);
  for (const char* name : {".issuing.crl.Ab12Cd", ".root.crl.pem.zZ9yY8", ".issuing.crt.q1w2e3", ".other.crl.Ab12Cd",
                           "notes.txt"}) {
    write_text(crl_dir / name, "left behind");
    std::filesystem::last_write_time(crl_dir / name, old);
  }
  write_text(crl_dir / ".issuing.crl.Ef34Gh", "a concurrent publication's");
  auto r = jitsuin("crl publish");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* gone : {".issuing.crl.Ab12Cd", ".root.crl.pem.zZ9yY8", ".issuing.crt.q1w2e3"})
    EXPECT_FALSE(std::filesystem::exists(crl_dir / gone)) << gone;
  for (const char* kept : {".issuing.crl.Ef34Gh", ".other.crl.Ab12Cd", "notes.txt"})
    EXPECT_TRUE(std::filesystem::exists(crl_dir / kept)) << kept;
}

}  // namespace
}  // namespace jitsuin::test
