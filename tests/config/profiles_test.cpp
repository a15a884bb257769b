// Start-up checks: the certificate profiles are loaded and checked when the CA is constructed
// (a broken one stops every command that loads the CA, naming its file), and the CLI's
// test-only clock hook JITSUIN_TEST_NOW.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jitsuin/ca/profile.h"
#include "jitsuin/core/error.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using nlohmann::json;

const std::filesystem::path kShipped = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config" / "profiles";

// A copy of the shipped profiles in dir/profiles.
std::filesystem::path copy_profiles(const std::filesystem::path& dir) {
  auto out = dir / "profiles";
  std::filesystem::create_directories(out);
  for (const auto& e : std::filesystem::directory_iterator(kShipped)) std::filesystem::copy_file(e.path(), out / e.path().filename());
  return out;
}

TEST(Profiles, TheShippedProfilesAllLoad) {
  ca::ProfileSet set = ca::load_profiles(kShipped);
  EXPECT_EQ(set.names(), (std::vector<std::string>{"individual-signing", "ocsp-signing", "smime", "tls-server", "tsa"}));
  EXPECT_EQ(set.size(), 5u);
  EXPECT_TRUE(set.get("tls-server").server_names_in_san);
  EXPECT_TRUE(set.get("smime").email_in_san);
  EXPECT_TRUE(set.get("ocsp-signing").ocsp_no_check);
  EXPECT_EQ(set.get("tsa").extended_key_usage, std::vector<std::string>{"timeStamping"});
  // Each is the profile load_profile reads on its own.
  for (const auto& name : set.names()) EXPECT_EQ(set.get(name).key_usage, ca::load_profile(kShipped, name).key_usage);
  auto msg = expect_error([&] { set.get("no-such-profile"); }, ErrorKind::not_found);
  EXPECT_NE(msg.find("unknown profile 'no-such-profile' (known: individual-signing, ocsp-signing, smime, tls-server, tsa)"),
            std::string::npos) << msg;
  expect_error([&] { set.get("../smime"); }, ErrorKind::not_found);
}

TEST(Profiles, ABrokenProfileIsRefusedWithItsFileNamed) {
  auto smime = json::parse(read_file(kShipped / "smime.json"));
  auto edited = [&](auto&& change) {
    json j = smime;
    change(j);
    return j.dump();
  };
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"{\"description\": ", "parse error"},
      {"[]", "must be an object"},
      {edited([](json& j) { j["key_usag"] = json::array(); }), "unknown key 'key_usag'"},
      {edited([](json& j) { j["subject"]["requried"] = json::array(); }), "subject: unknown key 'requried'"},
      {edited([](json& j) { j["validity"]["days"] = 5; }), "validity: unknown key 'days'"},
      {edited([](json& j) { j["key_usage"] = json::array(); }), "key_usage must not be empty"},
      {edited([](json& j) { j["key_usage"] = {"digitalSignatur"}; }), "unknown value 'digitalSignatur'"},
      {edited([](json& j) { j["subject"]["required"] = {"email"}; }), "common_name must be required"},
      {edited([](json& j) { j["validity"]["default_days"] = 400; }), "at most 365 days"},
      {edited([](json& j) { j.erase("validity"); }), "validity"},
  };
  for (const auto& [text, expected] : broken) {
    SCOPED_TRACE(text);
    TempDir dir;
    auto profiles = copy_profiles(dir.path());
    write_text(profiles / "smime.json", text);
    auto msg = expect_error([&] { ca::load_profiles(profiles); }, ErrorKind::config);
    EXPECT_NE(msg.find((profiles / "smime.json").string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
}

TEST(Profiles, AFileThatIsNoProfileNameAndAMissingFolderAreRefused) {
  TempDir dir;
  auto profiles = copy_profiles(dir.path());
  std::filesystem::copy_file(profiles / "tsa.json", profiles / "TSA copy.json");
  auto msg = expect_error([&] { ca::load_profiles(profiles); }, ErrorKind::config);
  EXPECT_NE(msg.find((profiles / "TSA copy.json").string()), std::string::npos) << msg;
  msg = expect_error([&] { ca::load_profiles(dir / "nowhere"); }, ErrorKind::config);
  EXPECT_NE(msg.find((dir / "nowhere").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("ca.profiles_dir"), std::string::npos) << msg;
}

TEST(Profiles, TheCaLoadsItsProfilesWhenConstructed) {
  auto f = make_ca();
  auto profiles = copy_profiles(f->home.path());
  config::Config config = f->config;
  config.ca.profiles_dir = profiles;
  EXPECT_NO_THROW(ca::CertificateAuthority(config, *f->db, *f->keys, system_clock()));
  // A profile that would only fail at its first use now fails the construction.
  write_text(profiles / "tsa.json", R"({"subject": {"required": ["common_name"]}, "validity": {}, "key_usage": []})");
  auto msg = expect_error([&] { ca::CertificateAuthority(config, *f->db, *f->keys, system_clock()); }, ErrorKind::config);
  EXPECT_NE(msg.find((profiles / "tsa.json").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("key_usage must not be empty"), std::string::npos) << msg;
}

// Through the binary: a home whose profiles folder holds a broken profile.
TEST(Profiles, EveryCommandThatLoadsTheCaRefusesABrokenProfile) {
  TempDir home;
  write_text(home / "jitsuin.json", read_file(config::default_config_path()));   // profiles_dir: home/profiles
  auto profiles = copy_profiles(home.path());
  auto jitsuin = jitsuin_cmd(home.path());
  auto init = run(jitsuin + " ca init");
  ASSERT_EQ(init.status, 0) << init.output;
  auto show = run(jitsuin + " ca show");
  ASSERT_EQ(show.status, 0) << show.output;
  openssl_csr(home.path(), "ec", "leaf");
  write_text(home / "subject.json", R"({"organization": "Sakura Kensetsu", "common_name": "Ken Sato"})");
  const std::string issue = jitsuin + " ca issue --profile individual-signing --csr " +
                            sh_quote((home / "leaf.csr").string()) + " --subject " +
                            sh_quote((home / "subject.json").string()) + " --out " + sh_quote((home / "leaf.pem").string());
  login_administrator(home.path());   // ca issue needs an administrator's session
  auto good = run(issue);
  ASSERT_EQ(good.status, 0) << good.output;

  // smime breaks: every command stops at start-up — issuing with another profile, showing the CA,
  // publishing CRLs, and RA commands that never touch the CA.
  write_text(profiles / "smime.json", R"({"subject": {"required": ["common_name"]}, "validity": {"default_days": 0},
                                          "key_usage": ["digitalSignature"]})");
  for (const std::string& cmd : {issue, jitsuin + " ca show", jitsuin + " crl publish", jitsuin + " ra bundle-list",
                                 jitsuin + " audit verify"}) {
    SCOPED_TRACE(cmd);
    auto r = run(cmd);
    EXPECT_EQ(r.status, 1) << r.output;
    EXPECT_NE(r.output.find((profiles / "smime.json").string()), std::string::npos) << r.output;
  }
}

TEST(TestClock, JitsuinTestNowFixesTheCommandsClock) {
  TempDir home;
  auto jitsuin = jitsuin_cmd(home.path());
  // RFC 3339 (with an offset) and Unix seconds both name the time.
  auto init = run("JITSUIN_TEST_NOW=2031-05-01T09:00:00+09:00 " + jitsuin + " ca init");
  ASSERT_EQ(init.status, 0) << init.output;
  auto show = run(at_time(parse_rfc3339("2031-05-01T00:00:05Z")) + jitsuin + " ca show --json");
  ASSERT_EQ(show.status, 0) << show.output;
  auto j = json::parse(show.output);
  EXPECT_EQ(j["authorities"][0]["not_before"], "2031-05-01T00:00:00Z");
  EXPECT_EQ(j["authorities"][0]["status"], "valid");
  // Twenty years and a day later the root has expired, by the command's clock.
  auto later = run(at_time(parse_rfc3339("2051-04-27T00:00:00Z")) + jitsuin + " ca show --json");
  ASSERT_EQ(later.status, 0) << later.output;
  EXPECT_EQ(json::parse(later.output)["authorities"][0]["status"], "expired") << later.output;
  auto bad = run("JITSUIN_TEST_NOW=yesterday " + jitsuin + " ca show");
  EXPECT_EQ(bad.status, 1) << bad.output;
  EXPECT_NE(bad.output.find("JITSUIN_TEST_NOW='yesterday'"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace jitsuin::test
