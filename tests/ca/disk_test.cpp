// What jitsuin keeps on disk (issue 8): a private home and database whatever the umask, a warning
// for a home open to others, no home created by a read-only command, and --out/--chain checked
// before the certificate exists and never replacing jitsuin's own files. The built binary on a
// real SQLite file and the embedded SoftHSM2 token.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "support/support.h"

namespace jitsuin::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 01000;   // absent: matches no mode
  return st.st_mode & 0777;
}

class Disk : public ::testing::Test {
 protected:
  TempDir dir;
  fs::path home = dir / "var";
  // Every command as a caller with the common umask 022 would run it.
  CommandResult jitsuin(const std::string& args) { return run("umask 022; " + jitsuin_cmd(home) + " " + args); }
  std::string p(const fs::path& f) { return sh_quote(f.string()); }
  void init() {
    auto r = jitsuin("ca init --root-key p256");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home);   // ca issue needs an administrator's session
  }
  std::int64_t issued() {
    auto r = jitsuin("ca show --json");
    EXPECT_EQ(r.status, 0) << r.output;
    return json::parse(r.output.substr(r.output.find('{')))["certificates_issued"].get<std::int64_t>();
  }
  // ca issue for a fresh key, with the given output options.
  CommandResult issue(const std::string& outputs) {
    openssl_csr(dir.path(), "ec", "leaf");
    write_text(dir / "subject.json", R"({"organization": "Sakura Kensetsu", "common_name": "Ken Sato"})");
    return jitsuin("ca issue --profile individual-signing --csr " + p(dir / "leaf.csr") + " --subject " +
                   p(dir / "subject.json") + " " + outputs);
  }
};

TEST_F(Disk, HomeDatabaseAndSecretsArePrivateWhateverTheUmask) {
  init();
  EXPECT_EQ(mode_of(home), 0700u);
  EXPECT_EQ(mode_of(home / "jitsuin.db"), 0600u);
  EXPECT_EQ(mode_of(home / "ca.pin"), 0600u);
  EXPECT_EQ(mode_of(home / "tokens"), 0700u);
  // The first administrator may be made in a new home as well: private too.
  write_text(dir / "pw", "correct horse battery\n");
  fs::permissions(dir / "pw", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  fs::path ra_home = dir / "ra-only";
  auto r = run("umask 022; " + jitsuin_cmd(ra_home) + " ra operator-add --name admin --role administrator --password-file " +
               p(dir / "pw"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(mode_of(ra_home), 0700u);
  EXPECT_EQ(mode_of(ra_home / "jitsuin.db"), 0600u);
  r = run("umask 022; JITSUIN_SESSION_FILE= " + jitsuin_cmd(ra_home) + " login --user admin --password-file " +
          p(dir / "pw"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(mode_of(ra_home / "sessions"), 0700u);
  // Published CRLs are public: they stay readable.
  r = jitsuin("crl publish");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(mode_of(home / "crl" / "issuing.crl"), 0644u);
  EXPECT_EQ(mode_of(home / "crl"), 0755u);
  r = jitsuin("crl publish --out " + p(dir / "www"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(mode_of(dir / "www"), 0755u);
  EXPECT_EQ(mode_of(dir / "www" / "root.crl"), 0644u);
}

TEST(DiskDb, DatabaseAndJournalsArePrivateWhateverTheUmask) {
  TempDir dir;
  mode_t old = umask(022);
  {
    auto db = db::Database::open(dir / "jitsuin.db");
    db->exec_script("CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    for (const char* f : {"jitsuin.db", "jitsuin.db-wal", "jitsuin.db-shm"}) EXPECT_EQ(mode_of(dir / f), 0600u) << f;
  }
  umask(old);
}

TEST_F(Disk, WarnsWhenTheHomeIsOpenToOthers) {
  init();
  auto r = jitsuin("ca show");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
  fs::permissions(home, fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec,
                  fs::perm_options::add);
  r = jitsuin("ca show");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("warning: the home " + home.string() + " is open to group or others (mode 0755)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("chmod 700"), std::string::npos) << r.output;
}

TEST_F(Disk, ReadOnlyCommandsCreateNoHome) {
  for (const char* cmd : {"ca show", "audit verify", "outbox list", "crl publish", "ra operator-list",
                          "ra bundle-list", "ra application-list"}) {
    auto r = jitsuin(cmd);
    EXPECT_NE(r.status, 0) << cmd << ": " << r.output;
    EXPECT_FALSE(fs::exists(home)) << cmd << " created " << home;
    EXPECT_NE(r.output.find("no jitsuin home " + home.string()), std::string::npos) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("ca init"), std::string::npos) << cmd << ": " << r.output;
  }
  // An existing but empty folder is not a home either: nothing is created in it.
  fs::create_directory(home);
  auto r = jitsuin("ca show");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("no jitsuin database"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::is_empty(home));
}

TEST_F(Disk, OutputPathsAreCheckedBeforeTheCertificateExists) {
  init();
  // A folder that does not exist: refused before issuing, and not created.
  auto r = issue("--out " + p(dir / "none" / "x.pem"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "none"));
  EXPECT_EQ(issued(), 0);
  r = issue("--out " + p(dir / "a.pem") + " --chain " + p(dir / "none" / "chain.pem"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(issued(), 0);
  EXPECT_FALSE(fs::exists(dir / "a.pem"));
  // A folder as the file, and the same file twice.
  r = issue("--out " + p(dir.path()));
  EXPECT_NE(r.status, 0) << r.output;
  r = issue("--out " + p(dir / "a.pem") + " --chain " + p(dir / "a.pem"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(issued(), 0);
  // jitsuin's own files are never replaced.
  ASSERT_EQ(jitsuin("crl publish").status, 0);
  const std::string db_head = read_file(home / "jitsuin.db").substr(0, 16);
  for (const fs::path& own : {home / "jitsuin.db", home / "jitsuin.db-wal", home / "ca.pin", home / "ca.so-pin",
                              home / "softhsm2.conf", home / "outbox.key", home / "crl" / "issuing.crl"}) {
    r = issue("--out " + p(own));
    EXPECT_NE(r.status, 0) << own << ": " << r.output;
    EXPECT_NE(r.output.find("jitsuin's own"), std::string::npos) << r.output;
  }
  // ... also when reached through another name for the home.
  fs::create_directory_symlink(home, dir / "alias");
  r = issue("--out " + p(dir / "alias" / "jitsuin.db"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_EQ(read_file(home / "jitsuin.db").substr(0, 16), db_head);
  EXPECT_EQ(db_head, std::string("SQLite format 3") + '\0');
  EXPECT_EQ(issued(), 0);

  // A good path: written whole, no temporary file left beside it.
  r = issue("--out " + p(dir / "leaf.pem") + " --chain " + p(dir / "chain.pem"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(issued(), 1);
  EXPECT_EQ(run("openssl x509 -noout -in " + p(dir / "leaf.pem")).status, 0);
  EXPECT_EQ(mode_of(dir / "leaf.pem"), 0644u);
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_FALSE(e.path().filename().string().starts_with(".")) << e.path();
}

}  // namespace
}  // namespace jitsuin::test
