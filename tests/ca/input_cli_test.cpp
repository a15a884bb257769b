// Issue 8 (input), on the command line: strict input files (one JSON key once, one PEM block,
// size caps) and the small CLI fixes (group --help, --days overflow, show --pem, reason list).
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "support/support.h"

namespace jitsuin::test {
namespace {

class InputCli : public ::testing::Test {
 protected:
  CommandResult jitsuin(const std::string& args) { return run(jitsuin_cmd(home.path() / "var") + " " + args); }
  std::string p(const std::string& name) { return sh_quote((home.path() / name).string()); }
  void init() {
    auto r = jitsuin("ca init --root-key rsa2048");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home.path() / "var");   // ca issue needs an administrator's session
  }
  CommandResult issue(const std::string& profile, const std::string& csr, const std::string& subject,
                      const std::string& more = "") {
    return jitsuin("ca issue --profile " + profile + " --csr " + csr + " --subject " + subject + " --out " +
                   p("out.pem") + more);
  }
  std::int64_t issued() {
    auto r = jitsuin("ca show --json");
    EXPECT_EQ(r.status, 0) << r.output;
    auto at = r.output.find("\"certificates_issued\": ");
    return at == std::string::npos ? -1 : std::stoll(r.output.substr(at + 23));
  }
  TempDir home;
};

const char* const kSubject =
    R"({"organization": "Example Kensetsu", "department": "Honsha", "title": "Shacho", "common_name": "Taro Yamada"})";

TEST_F(InputCli, AnSmimeAddressWithACommaAddsNoNames) {
  init();
  openssl_csr(home.path(), "ec", "k");
  write_text(home.path() / "smime.json",
             R"({"common_name": "Taro Yamada", "email": "taro@example.jp,DNS:www.bank.example,IP:10.0.0.1"})");
  auto r = issue("smime", p("k.csr"), p("smime.json"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("email 'taro@example.jp,DNS:www.bank.example,IP:10.0.0.1' is not a valid address"),
            std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(home.path() / "out.pem"));
  EXPECT_EQ(issued(), 0);
  // The plain address is issued, with exactly that one name.
  write_text(home.path() / "smime.json", R"({"common_name": "Taro Yamada", "email": "taro@example.jp"})");
  r = issue("smime", p("k.csr"), p("smime.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = run("openssl x509 -noout -ext subjectAltName -in " + p("out.pem"));
  EXPECT_NE(r.output.find("    email:taro@example.jp\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("DNS"), std::string::npos) << r.output;
}

TEST_F(InputCli, StrictInputFiles) {
  init();
  openssl_csr(home.path(), "ec", "k");
  openssl_csr(home.path(), "ec", "k2");
  // A key given twice: refused, not "the last one wins" (which issued CN=Evil).
  write_text(home.path() / "twice.json",
             R"({"organization": "Example Kensetsu", "common_name": "Taro Yamada", "common_name": "Evil"})");
  auto r = issue("individual-signing", p("k.csr"), p("twice.json"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("the key 'common_name' appears twice"), std::string::npos) << r.output;
  // A CSR file with two PEM blocks.
  write_text(home.path() / "two.csr", read_file(home.path() / "k.csr") + read_file(home.path() / "k2.csr"));
  write_text(home.path() / "subject.json", kSubject);
  r = issue("individual-signing", p("two.csr"), p("subject.json"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("more than one PEM block"), std::string::npos) << r.output;
  // A CSR or subject that never ends: refused at the cap. The memory limit only makes the old
  // behaviour (reading until memory ran out) end in a failure; the new one reads 64 KiB + 1.
  r = run("ulimit -v 1048576; " + jitsuin_cmd(home.path() / "var") +
          " ca issue --profile individual-signing --csr /dev/zero --subject " + p("subject.json") + " --out " +
          p("out.pem"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("CSR file /dev/zero is larger than 64 KiB"), std::string::npos) << r.output;
  r = run("ulimit -v 1048576; " + jitsuin_cmd(home.path() / "var") +
          " ca issue --profile individual-signing --csr " + p("k.csr") + " --subject /dev/zero --out " + p("out.pem"));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("subject file /dev/zero is larger than 1 MiB"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(home.path() / "out.pem"));
  EXPECT_EQ(issued(), 0);
}

TEST_F(InputCli, DaysPastTheRangeOfIntAreReportedAsGiven) {
  init();
  openssl_csr(home.path(), "ec", "k");
  write_text(home.path() / "subject.json", kSubject);
  auto r = issue("individual-signing", p("k.csr"), p("subject.json"), " --days 2147483648");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("allows validity of 365, 730 days, not 2147483648"), std::string::npos) << r.output;
  r = issue("individual-signing", p("k.csr"), p("subject.json"), " --days 4294967661");   // 2^32 + 365
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("not 4294967661"), std::string::npos) << r.output;
  EXPECT_EQ(issued(), 0);
}

TEST_F(InputCli, ShowPemNeedsSerial) {
  init();
  auto r = jitsuin("ca show --pem");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--pem needs --serial"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("CA:"), std::string::npos) << "no status printed instead: " << r.output;
}

TEST_F(InputCli, UnknownReasonListsOnlyAcceptedReasons) {
  init();
  auto r = jitsuin("ca revoke --serial 00ff --reason lost");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("unknown revocation reason 'lost'"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("keyCompromise"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("certificateHold"), std::string::npos) << r.output;
}

// Every group of commands answers --help with its own commands (no CA needed).
TEST_F(InputCli, EveryGroupListsItsCommands) {
  auto all = jitsuin("--help");
  ASSERT_EQ(all.status, 0) << all.output;
  std::map<std::string, std::set<std::string>> groups;   // group -> "jitsuin GROUP NAME" lines
  std::istringstream lines(all.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string jitsuin_word, group, name;
    words >> jitsuin_word >> group >> name;
    if (jitsuin_word != "jitsuin" || name.empty() || name[0] == '-' || name[0] == '[') continue;
    groups[group].insert("jitsuin " + group + " " + name);
  }
  for (const char* g : {"ca", "crl", "audit", "ra", "outbox"}) EXPECT_TRUE(groups.count(g)) << g << all.output;
  for (const auto& [group, commands] : groups) {
    for (const char* help : {" --help", " -h", " help"}) {
      auto r = jitsuin(group + help);
      EXPECT_EQ(r.status, 0) << group << help << ": " << r.output;
      EXPECT_EQ(r.output.find("unknown command"), std::string::npos) << r.output;
      for (const auto& c : commands) EXPECT_NE(r.output.find(c), std::string::npos) << group << ": " << c << r.output;
      // Only this group's commands.
      for (const auto& [other, other_commands] : groups) {
        if (other == group) continue;
        for (const auto& c : other_commands) EXPECT_EQ(r.output.find(c + " "), std::string::npos) << c;
      }
    }
    auto r = jitsuin(group);   // no command: the same list, as a usage error
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("commands of '" + group + "'"), std::string::npos) << r.output;
  }
}

}  // namespace
}  // namespace jitsuin::test
