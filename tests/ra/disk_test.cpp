// The approval letter on disk (issue 8): --letter checked before the PIN exists (no folder made,
// jitsuin's own files never replaced), the default copy under HOME/letters private and deleted
// once the letter is recorded as posted. The built binary on the fixture's database.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>

#include "company_fixture.h"

namespace jitsuin::ra {
namespace {

namespace fs = std::filesystem;
using testing::CompanyFixture;

unsigned mode_of(const fs::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 01000;
  return st.st_mode & 0777;
}

struct LetterCli {
  CompanyFixture f;
  fs::path home = f.caf->home.path();
  test::TempDir out;   // the operator's own folder, outside the home
  std::int64_t app = 0;

  LetterCli() {
    auto c = f.company("桜建設株式会社", "Sakura Kensetsu", "sakura.example.jp");
    app = request_additional_certificate(f.ctx, f.account(c.admin), {c.user1, testing::light_form()}).application_id;
    check_certificate_request(f.ctx, *f.alice, app);
    approve_application(f.ctx, *f.bob, app);
    test::write_text(out / "pw", testing::kPassword + "\n");
    fs::permissions(out / "pw", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
    auto r = as("login --user alice --password-file " + test::sh_quote((out / "pw").string()));
    if (r.status != 0) throw std::runtime_error("login failed: " + r.output);
  }
  test::CommandResult as(const std::string& args) const {
    return test::run("umask 022; JITSUIN_SESSION_FILE=" + test::sh_quote((out / "alice.session").string()) + " " +
                     test::jitsuin_cmd(home) + " " + args);
  }
  test::CommandResult issue_pin(const std::string& letter_option) const {
    return as("ra issue-pin --application " + std::to_string(app) + " " + letter_option);
  }
};

TEST(LetterOnDisk, LetterPathCheckedBeforeThePinExists) {
  LetterCli c;
  // A folder that does not exist is not made, and costs no PIN.
  auto r = c.issue_pin("--letter " + test::sh_quote((c.out / "none" / "x.pdf").string()));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("does not exist"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(c.out / "none"));
  // A folder as the letter, and jitsuin's own files.
  for (const fs::path& bad : {c.out.path(), c.home / "jitsuin.db", c.home / "ca.pin", c.home / "letters" / "x.pdf"}) {
    r = c.issue_pin("--letter " + test::sh_quote(bad.string()));
    EXPECT_NE(r.status, 0) << bad << ": " << r.output;
  }
  EXPECT_EQ(read_file(c.home / "jitsuin.db").substr(0, 15), "SQLite format 3");
  // None of them issued a PIN: the first good path gets one, without a re-issue request.
  r = c.issue_pin("--letter " + test::sh_quote((c.out / "letter.pdf").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(c.out / "letter.pdf").substr(0, 5), "%PDF-");
  EXPECT_EQ(mode_of(c.out / "letter.pdf"), 0600u);
}

TEST(LetterOnDisk, HomeCopyIsPrivateAndDeletedOnceMailed) {
  LetterCli c;
  auto r = c.issue_pin("");
  ASSERT_EQ(r.status, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("approval notice: (\\S+)"))) << r.output;
  fs::path letter = m.str(1);
  EXPECT_EQ(letter.parent_path(), c.home / "letters");
  EXPECT_EQ(mode_of(c.home / "letters"), 0700u);
  EXPECT_EQ(mode_of(letter), 0600u);
  // Another application's letter stays.
  test::write_text(c.home / "letters" / ("application-" + std::to_string(c.app + 10) + "-1.pdf"), "%PDF-other");
  r = c.as("ra mail-sent --application " + std::to_string(c.app) + " --tracking 1234-5678-9012");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(fs::exists(letter)) << "the letter with the PIN is still in the home after mail-sent";
  EXPECT_NE(r.output.find("deleted " + letter.string()), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(c.home / "letters" / ("application-" + std::to_string(c.app + 10) + "-1.pdf")));
}

}  // namespace
}  // namespace jitsuin::ra
