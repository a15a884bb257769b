// `audit verify` checks the CA's rows against the audited history (issue 8, "audit and state"):
// each row must be what the latest audit entry that wrote it says. Tampering is done with the
// sqlite3 command-line tool, as an intruder with the file would; the verdict is the built
// binary's. Before this check, every tampering below passed `audit verify` (the chain was intact).
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "support/support.h"

namespace jitsuin::test {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  return s;
}

class RowCheck : public ::testing::Test {
 protected:
  CommandResult jitsuin(const std::string& args) { return run(jitsuin_cmd(home.path() / "var") + " " + args); }
  std::string p(const std::string& name) { return sh_quote((home.path() / name).string()); }
  std::string db() { return (home.path() / "var" / "jitsuin.db").string(); }
  void sql(const std::string& s) {
    auto r = run("sqlite3 " + sh_quote(db()) + " " + sh_quote(s));
    ASSERT_EQ(r.status, 0) << s << ": " << r.output;
  }
  std::string query(const std::string& s) {
    auto r = run("sqlite3 " + sh_quote(db()) + " " + sh_quote(s));
    EXPECT_EQ(r.status, 0) << r.output;
    return trim(r.output);
  }
  // Issues a certificate for a fresh openssl key; returns its serial (lower-case hex).
  std::string issue(const std::string& name) {
    openssl_csr(home.path(), "ec", name);
    write_text(home.path() / "subject.json",
               R"({"organization": "Example Kensetsu", "department": "Honsha", "title": "Shacho", "common_name": "Taro Yamada"})");
    auto r = jitsuin("ca issue --profile individual-signing --csr " + p(name + ".csr") + " --subject " + p("subject.json") +
                     " --out " + p(name + ".pem"));
    EXPECT_EQ(r.status, 0) << r.output;
    auto s = run("openssl x509 -noout -serial -in " + p(name + ".pem"));
    return lower(trim(s.output.substr(s.output.find('=') + 1)));
  }
  // A history: CA, two certificates, one revoked, a CRL publication. Keeps a copy to go back to.
  void history() {
    ASSERT_EQ(jitsuin("ca init --root-key p256").status, 0);
    login_administrator(home.path() / "var");   // ca issue and ca revoke need an administrator's session
    revoked = issue("a");
    valid = issue("b");
    auto r = jitsuin("ca revoke --serial " + revoked + " --reason keyCompromise");
    ASSERT_EQ(r.status, 0) << r.output;
    r = jitsuin("crl publish");
    ASSERT_EQ(r.status, 0) << r.output;
    r = jitsuin("audit verify");
    ASSERT_EQ(r.status, 0) << r.output;
    sql("PRAGMA wal_checkpoint(TRUNCATE)");
    ASSERT_EQ(run("cp " + sh_quote(db()) + " " + p("pristine.db")).status, 0);
  }
  void restore() {
    sql("PRAGMA wal_checkpoint(TRUNCATE)");
    run("cp " + p("pristine.db") + " " + sh_quote(db()) + " && rm -f " + sh_quote(db() + "-wal") + " " +
        sh_quote(db() + "-shm"));
    auto r = jitsuin("audit verify");
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // audit verify fails, naming `row` and each of `words`.
  void expect_failure(const std::string& row, const std::vector<std::string>& words) {
    auto r = jitsuin("audit verify");
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(lower(r.output).find(row), std::string::npos) << r.output;
    for (const auto& w : words) EXPECT_NE(r.output.find(w), std::string::npos) << w << " in: " << r.output;
  }
  std::string where(const std::string& serial) { return " WHERE serial = x'" + serial + "'"; }
  TempDir home;
  std::string revoked, valid;
};

TEST_F(RowCheck, ANormalHistoryVerifiesAndSaysWhatItChecked) {
  history();
  auto r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("4 certificate and 2 authority rows match it"), std::string::npos) << r.output;
  // The entries of each write carry the digest of the row as written.
  EXPECT_EQ(query("SELECT count(*) FROM audit_log WHERE details LIKE '%\"certificate_row\"%'"), "4");  // init, 2 issue, revoke
  EXPECT_EQ(query("SELECT count(*) FROM audit_log WHERE details LIKE '%\"authority_row\"%'"), "2");    // init, crl
}

TEST_F(RowCheck, ARevokedCertificateSetBackToValidIsNamed) {
  history();
  // What the issue found: the chain stays whole, and the next CRL would silently drop the serial.
  sql("UPDATE certificates SET revoked_at = NULL, revocation_effective = NULL, revocation_reason = NULL" + where(revoked));
  expect_failure(revoked, {"(cert.revoke)", "revoked there, it is not revoked now"});
  restore();
  // Only the reason, or only the effective time: the same.
  sql("UPDATE certificates SET revocation_reason = 4" + where(revoked));
  expect_failure(revoked, {"(cert.revoke)"});
  restore();
  sql("UPDATE certificates SET revocation_effective = revocation_effective + 86400 * 365" + where(revoked));
  expect_failure(revoked, {"(cert.revoke)"});
  restore();
  // The same number stored as text (a trailing letter keeps the column's integer affinity from
  // converting it back): SQL's <= against an integer never matches a text, so the CRL would drop
  // the serial although the value reads the same as a number.
  sql("UPDATE certificates SET revocation_effective = revocation_effective || 'x'" + where(revoked));
  ASSERT_EQ(query("SELECT typeof(revocation_effective) FROM certificates" + where(revoked)), "text");
  expect_failure(revoked, {"(cert.revoke)"});
  restore();
  // A valid certificate revoked behind the log's back.
  sql("UPDATE certificates SET revoked_at = 1, revocation_effective = 1, revocation_reason = 1" + where(valid));
  expect_failure(valid, {"(cert.issue)", "no audited entry revoked it"});
}

TEST_F(RowCheck, ChangedSubjectValidityKeyOrIssuerIsNamed) {
  history();
  for (const std::string change :
       {"subject = 'CN=Evil'", "not_after = not_after + 86400 * 3650", "not_before = not_before - 86400",
        "spki_sha256 = zeroblob(32)", "der = der || x'00'", "issuer_id = 1", "profile = 'smime'"}) {
    SCOPED_TRACE(change);
    sql("UPDATE certificates SET " + change + where(valid));
    expect_failure(valid, {"(cert.issue)", "its row is not the one entry"});
    restore();
  }
}

TEST_F(RowCheck, DeletedAndInsertedRowsAreNamed) {
  history();
  sql("DELETE FROM certificates" + where(valid));
  expect_failure(valid, {"(cert.issue)", "gone from the certificates table (deleted)"});
  restore();
  // A copy of a row under a new serial: issued behind the CA's back.
  sql("INSERT INTO certificates (serial, issuer_id, profile, subject, spki_sha256, not_before, not_after, issued_at, der) "
      "SELECT x'0badc0de', issuer_id, profile, subject, spki_sha256, not_before, not_after, issued_at, der "
      "FROM certificates" + where(valid));
  expect_failure("0badc0de", {"written by no audit entry: inserted behind the CA's back"});
}

TEST_F(RowCheck, TheCaAuthorityRowsAreChecked) {
  history();
  sql("UPDATE authorities SET key_uri = 'pkcs11:object=other' WHERE role = 'issuing'");
  expect_failure("authority issuing", {"(crl.publish)"});
  restore();
  sql("UPDATE authorities SET crl_number = 0 WHERE role = 'root'");
  expect_failure("authority root", {"(crl.publish)"});
  restore();
  sql("UPDATE authorities SET certificate_id = (SELECT id FROM certificates" + where(valid) + ") WHERE role = 'issuing'");
  expect_failure("authority issuing", {"(crl.publish)"});
}

TEST_F(RowCheck, ABrokenChainIsReportedFirst) {
  history();
  sql("UPDATE certificates SET subject = 'CN=Evil'" + where(valid));
  sql("UPDATE audit_log SET actor = 'x' WHERE seq = 2");
  auto r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("at entry 2: entry 2 was edited"), std::string::npos) << r.output;
}

// A database of an earlier version: entries without digests are replayed for what they say.
TEST_F(RowCheck, EntriesWithoutDigestsAreReplayed) {
  history();
  auto strip = run("/usr/bin/python3 " + sh_quote(std::string(JITSUIN_SOURCE_DIR) + "/tests/ca/strip_row_digests.py") + " " +
                   sh_quote(db()));
  ASSERT_EQ(strip.status, 0) << strip.output;
  ASSERT_EQ(query("SELECT count(*) FROM audit_log WHERE details LIKE '%_row\"%'"), "0");
  auto r = jitsuin("audit verify");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(6 written before row digests"), std::string::npos) << r.output;
  sql("PRAGMA wal_checkpoint(TRUNCATE)");
  ASSERT_EQ(run("cp " + sh_quote(db()) + " " + p("pristine.db")).status, 0);

  sql("UPDATE certificates SET revoked_at = NULL, revocation_effective = NULL, revocation_reason = NULL" + where(revoked));
  expect_failure(revoked, {"revoked by entry", "(cert.revoke), it is not revoked now"});
  restore();
  sql("UPDATE certificates SET revocation_effective = revocation_effective || 'x'" + where(revoked));
  expect_failure(revoked, {"takes effect at another time"});
  restore();
  sql("UPDATE certificates SET subject = 'CN=Evil'" + where(valid));
  expect_failure(valid, {"its subject is 'CN=Evil'", "(cert.issue)"});
  restore();
  sql("DELETE FROM certificates" + where(valid));
  expect_failure(valid, {"(deleted)"});
  restore();
  sql("UPDATE authorities SET crl_number = 7 WHERE role = 'issuing'");
  expect_failure("authority issuing", {"CRL number is 7", "(crl.publish) says 1"});
  restore();

  // The next write of a legacy row carries a digest again.
  r = jitsuin("ca revoke --serial " + valid + " --reason affiliationChanged");
  ASSERT_EQ(r.status, 0) << r.output;
  r = jitsuin("audit verify");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(5 written before row digests"), std::string::npos) << r.output;
  sql("UPDATE certificates SET revocation_reason = 1" + where(valid));
  expect_failure(valid, {"(cert.revoke)", "its row is not the one entry"});
}

}  // namespace
}  // namespace jitsuin::test
