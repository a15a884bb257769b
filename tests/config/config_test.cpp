// Configuration: defaults, strict decoding (unknown keys and bad values refused with the place
// named), paths resolved against home, and where the config file is found.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "jitsuin/config/config.h"
#include "jitsuin/core/error.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using config::Config;
using config::parse_config;

// A string as the inside of a JSON string literal.
std::string nlohmann_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// parse_config must refuse text with a config error whose message holds every part of `parts`.
void expect_refused(const std::string& json, std::initializer_list<std::string> parts) {
  SCOPED_TRACE(json);
  try {
    parse_config(json, "/srv/jitsuin", "/etc/jitsuin");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Config, DefaultsAreFilledAndPathsResolvedAgainstHome) {
  Config c = parse_config("{}", "/srv/jitsuin", "/etc/jitsuin");
  EXPECT_EQ(c.home, "/srv/jitsuin");
  EXPECT_EQ(c.database.type, "sqlite");
  EXPECT_EQ(c.database.path, "/srv/jitsuin/jitsuin.db");
  EXPECT_EQ(c.database.synchronous, "full");
  EXPECT_EQ(c.hsm.type, "pkcs11");
  EXPECT_EQ(c.hsm.module, "/usr/lib/softhsm/libsofthsm2.so");
  EXPECT_EQ(c.hsm.token, "pkcs11:token=jitsuin-ca");
  EXPECT_EQ(c.hsm.pin_file, "/srv/jitsuin/ca.pin");
  EXPECT_EQ(c.hsm.pin_env, "JITSUIN_CA_PIN");
  EXPECT_TRUE(c.hsm.embedded_softhsm);
  EXPECT_EQ(c.hsm.lock_wait_seconds, 30);
  EXPECT_EQ(c.ca.root.key, "rsa3072");
  EXPECT_EQ(c.ca.root.validity_days, 7300);
  EXPECT_EQ(c.ca.root.subject.at("common_name"), "Jitsuin Root CA");
  EXPECT_EQ(c.ca.issuing.key, "p256");
  EXPECT_EQ(c.ca.issuing.validity_days, 3650);
  EXPECT_EQ(c.ca.profiles_dir, "/etc/jitsuin/profiles");   // relative to the config file's folder
  EXPECT_EQ(c.ca.crl.publish_dir, "/srv/jitsuin/crl");
  EXPECT_EQ(c.ca.crl.validity_hours, 48);
  EXPECT_TRUE(c.ca.policies.empty());
}

TEST(Config, RelativeHomeBecomesAbsolute) {
  Config c = parse_config("{}", "var/../state", "/etc/jitsuin");
  EXPECT_TRUE(c.home.is_absolute());
  EXPECT_EQ(c.home, (std::filesystem::current_path() / "state").lexically_normal());
  EXPECT_EQ(c.database.path, c.home / "jitsuin.db");
}

TEST(Config, ExplicitValuesAndPaths) {
  Config c = parse_config(R"({
    "database": {"path": "db/ca.sqlite", "synchronous": "normal"},
    "hsm": {"module": "/opt/vendor/p11.so", "token": "pkcs11:token=prod;serial=42", "pin_file": "/etc/jitsuin/pin",
            "pin_env": "", "embedded_softhsm": false},
    "ca": {"root": {"key": "p384", "subject": {"country": "JP", "common_name": "R"}, "validity_days": 100},
           "profiles_dir": "/usr/share/jitsuin/profiles",
           "crl": {"publish_dir": "/var/www/crl", "validity_hours": 24, "distribution_point": "https://ca.example.jp/i.crl"},
           "policies": [{"oid": "1.2.392.200091.1", "cps": "https://ca.example.jp/cps"}, {"oid": "2.5.29.32.0"}]}
  })", "/srv/jitsuin", "/etc/jitsuin");
  EXPECT_EQ(c.database.path, "/srv/jitsuin/db/ca.sqlite");
  EXPECT_EQ(c.database.synchronous, "normal");
  EXPECT_EQ(c.hsm.module, "/opt/vendor/p11.so");
  EXPECT_EQ(c.hsm.token, "pkcs11:token=prod;serial=42");
  EXPECT_EQ(c.hsm.pin_file, "/etc/jitsuin/pin");   // absolute stays
  EXPECT_EQ(c.hsm.pin_env, "");
  EXPECT_FALSE(c.hsm.embedded_softhsm);
  EXPECT_EQ(c.ca.root.key, "p384");
  EXPECT_EQ(c.ca.root.subject.size(), 2u);
  EXPECT_EQ(c.ca.root.validity_days, 100);
  EXPECT_EQ(c.ca.issuing.key, "p256");   // untouched section keeps its defaults
  EXPECT_EQ(c.ca.profiles_dir, "/usr/share/jitsuin/profiles");
  EXPECT_EQ(c.ca.crl.publish_dir, "/var/www/crl");
  EXPECT_EQ(c.ca.crl.validity_hours, 24);
  ASSERT_EQ(c.ca.policies.size(), 2u);
  EXPECT_EQ(c.ca.policies[0].oid, "1.2.392.200091.1");
  EXPECT_EQ(c.ca.policies[1].cps, "");
}

TEST(Config, TheShippedConfigLoads) {
  TempDir home;
  auto file = std::filesystem::path(JITSUIN_SOURCE_DIR) / "config" / "jitsuin.json";
  Config c = config::load_config(file, home.path());
  EXPECT_EQ(c.config_file, file);
  EXPECT_EQ(c.database.path, home.path() / "jitsuin.db");
  EXPECT_EQ(c.ca.profiles_dir, file.parent_path() / "profiles");
  EXPECT_FALSE(c.ca.policies.empty());
}

TEST(Config, UnknownKeysAreRefusedWithTheKeyNamed) {
  expect_refused(R"({"databse": {}})", {"unknown key 'databse'"});
  expect_refused(R"({"database": {"paht": "x.db"}})", {"database", "unknown key 'paht'"});
  expect_refused(R"({"hsm": {"pin": "1234"}})", {"hsm", "unknown key 'pin'"});
  expect_refused(R"({"ca": {"root": {"kye": "p256"}}})", {"ca.root", "unknown key 'kye'"});
  expect_refused(R"({"ca": {"crl": {"validity": 1}}})", {"ca.crl", "unknown key 'validity'"});
  expect_refused(R"({"ca": {"policies": [{"oid": "1.2.3", "url": "x"}]}})", {"ca.policies[0]", "unknown key 'url'"});
  expect_refused(R"({"ca": {"issuing": {"subject": {"common_name": "x", "locality": "Tokyo"}}}})",
                 {"ca.issuing.subject", "unknown name attribute 'locality'"});
  expect_refused(R"({"ca": {"extra": true}})", {"ca", "unknown key 'extra'"});
}

TEST(Config, BadTypesAreRefused) {
  expect_refused(R"([])", {"must be an object"});
  expect_refused(R"({"database": []})", {"database", "must be an object"});
  expect_refused(R"({"database": {"path": 5}})", {"database.path", "must be a string"});
  expect_refused(R"({"hsm": {"embedded_softhsm": "yes"}})", {"hsm.embedded_softhsm", "true or false"});
  expect_refused(R"({"hsm": {"lock_wait_seconds": "30"}})", {"hsm.lock_wait_seconds", "integer"});
  expect_refused(R"({"hsm": {"lock_wait_seconds": -1}})", {"hsm.lock_wait_seconds", "between 0 and 3600"});
  expect_refused(R"({"hsm": {"lock_wait_seconds": 3601}})", {"hsm.lock_wait_seconds", "between 0 and 3600"});
  expect_refused(R"({"ca": {"root": {"validity_days": "365"}}})", {"ca.root.validity_days", "integer"});
  expect_refused(R"({"ca": {"root": {"validity_days": 365.5}}})", {"ca.root.validity_days", "integer"});
  expect_refused(R"({"ca": {"crl": {"validity_hours": 4294967297}}})", {"ca.crl.validity_hours"});
  expect_refused(R"({"ca": {"crl": {"validity_hours": -4294967295}}})", {"ca.crl.validity_hours"});
  expect_refused(R"({"ca": {"policies": {"oid": "1.2.3"}}})", {"ca.policies", "must be an array"});
  expect_refused(R"({"ca": {"policies": ["1.2.3"]}})", {"ca.policies[0]", "must be an object"});
  expect_refused(R"({"ca": {"root": {"subject": {"common_name": 1}}}})", {"ca.root.subject.common_name"});
  expect_refused(R"({"database": {"path": ""}})", {"database.path", "must not be empty"});
  expect_refused(R"({"database": )", {"not valid JSON"});
}

TEST(Config, BadValuesAreRefused) {
  expect_refused(R"({"database": {"type": "postgres"}})", {"database.type", "postgres"});
  expect_refused(R"({"database": {"synchronous": "off"}})", {"database.synchronous"});
  expect_refused(R"({"hsm": {"type": "kms"}})", {"hsm.type", "kms"});
  expect_refused(R"({"hsm": {"token": "token=jitsuin-ca"}})", {"hsm.token", "PKCS#11 URI"});
  expect_refused(R"({"ca": {"root": {"validity_days": 0}}})", {"ca.root.validity_days"});
  expect_refused(R"({"ca": {"crl": {"validity_hours": 745}}})", {"ca.crl.validity_hours"});
  expect_refused(R"({"ca": {"root": {"subject": {"country": "JP"}}}})", {"ca.root.subject", "common_name"});
}

TEST(Config, BadKeyAlgorithmIsRefused) {
  for (const char* alg : {"rsa1024", "RSA2048", "ed25519", "p521", ""}) {
    expect_refused(std::string(R"({"ca": {"issuing": {"key": ")") + alg + R"("}}})",
                   {"ca.issuing.key", std::string("'") + alg + "'", "rsa2048, rsa3072, rsa4096, p256, p384"});
  }
  for (const char* alg : {"rsa2048", "rsa3072", "rsa4096", "p256", "p384"})
    EXPECT_TRUE(config::is_known_key_algorithm(alg)) << alg;
  EXPECT_FALSE(config::is_known_key_algorithm("rsa1024"));
}

TEST(Config, BadUrlsAreRefused) {
  for (const char* url : {"ftp://ca.example.jp/x.crl", "ca.example.jp/x.crl", "http://", "https://", "http:///x.crl",
                          "http://ca.example.jp/a b.crl", "HTTP//x", "http://ca.example.jp/\n"}) {
    std::string u = nlohmann_escape(url);
    expect_refused(R"({"ca": {"crl": {"distribution_point": ")" + u + R"("}}})",
                   {"ca.crl.distribution_point", "http(s) URL"});
    expect_refused(R"({"ca": {"aia_ca_issuers": ")" + u + R"("}})", {"ca.aia_ca_issuers"});
    expect_refused(R"({"ca": {"ocsp_url": ")" + u + R"("}})", {"ca.ocsp_url"});
    expect_refused(R"({"ca": {"policies": [{"oid": "1.2.3", "cps": ")" + u + R"("}]}})", {"ca.policies[0].cps"});
  }
  EXPECT_NO_THROW(parse_config(R"({"ca": {"aia_ca_issuers": "http://localhost:8080/ca/i.crt"}})", "/h", "/b"));
  EXPECT_NO_THROW(parse_config(R"({"ca": {"aia_ca_issuers": ""}})", "/h", "/b"));   // empty: left out
}

TEST(Config, BadOidsAreRefused) {
  for (const char* oid : {"", "1", "1.", ".1.2", "1..2", "1.2.", "a.b", "1.2.x", "3.1", "1.40", "0.99", "1.02.3",
                          "1.2.3 ", "1.2.-3", "1.2.99999999999999999999"})
    expect_refused(std::string(R"({"ca": {"policies": [{"oid": ")") + oid + R"("}]}})", {"ca.policies[0].oid"});
  for (const char* oid : {"2.5.29.32.0", "1.3.6.1.4.1.55555.1.1", "0.4.0.194112.1.2", "2.999.1", "1.39"})
    EXPECT_NO_THROW(parse_config(std::string(R"({"ca": {"policies": [{"oid": ")") + oid + R"("}]}})", "/h", "/b"))
        << oid;
}

// One bad value per section, refused with the section and key named.
TEST(Config, EverySectionRefusesABadValueNamingIt) {
  expect_refused(R"({"database": {"synchronous": "extra"}})", {"config database.synchronous:"});
  expect_refused(R"({"hsm": {"type": "softhsm"}})", {"config hsm.type:", "'softhsm' is not supported (pkcs11)"});
  expect_refused(R"({"ca": {"issuing": {"validity_days": 36501}}})", {"config ca.issuing.validity_days:"});
  expect_refused(R"({"ca": {"crl": {"validity_hours": 0}}})", {"config ca.crl.validity_hours:"});
  expect_refused(R"({"ca": {"ocsp_validity_hours": 0}})", {"config ca.ocsp_validity_hours:", "between 1 and 168"});
  expect_refused(R"({"ca": {"ocsp_validity_hours": 169}})", {"config ca.ocsp_validity_hours:"});
  expect_refused(R"({"ca": {"policies": [{"oid": "2.5.29.32.0"}, {"oid": "4.1"}]}})", {"config ca.policies[1].oid:"});
  expect_refused(R"({"ca": {"root_aia_ca_issuers": "file:///etc/root.crt"}})", {"config ca.root_aia_ca_issuers:"});
  expect_refused(R"({"mail": {"from": "Jitsuin CA"}})", {"config mail.from:", "e-mail address"});
  expect_refused(R"({"mail": {"smtp_url": "http://mail.example.jp"}})", {"config mail.smtp_url:"});
  expect_refused(R"({"mail": {"max_attempts": 0}})", {"config mail.max_attempts:", "between 1 and 100"});
  expect_refused(R"({"mail": {"retry_base_seconds": 86401}})", {"config mail.retry_base_seconds:"});
  expect_refused(R"({"mail": {"unknown": 1}})", {"config mail:", "unknown key 'unknown'"});
  expect_refused(R"({"ra": {"session_hours": 25}})", {"config ra.session_hours:", "between 1 and 24"});
  expect_refused(R"({"ra": {"api_key_max_days": 366}})", {"config ra.api_key_max_days:", "between 1 and 365"});
  expect_refused(R"({"ra": {"api_key_max_days": 0}})", {"config ra.api_key_max_days:", "between 1 and 365"});
  expect_refused(R"({"ra": {"pin_validity_days": 0}})", {"config ra.pin_validity_days:"});
  expect_refused(R"({"ra": {"pin_max_attempts": 21}})", {"config ra.pin_max_attempts:"});
  expect_refused(R"({"ra": {"revocation_delay_days": -1}})", {"config ra.revocation_delay_days:"});
  expect_refused(R"({"ra": {"password_max_failures": 0}})", {"config ra.password_max_failures:"});
  expect_refused(R"({"ra": {"expiry_notice_days": []}})", {"config ra.expiry_notice_days:"});
  expect_refused(R"({"ra": {"expiry_notice_days": [30, 0]}})", {"config ra.expiry_notice_days:"});
  // 4294967297 would wrap to 1 in a 32-bit int.
  expect_refused(R"({"ra": {"expiry_notice_days": [4294967297]}})", {"config ra.expiry_notice_days:"});
  expect_refused(R"({"ra": {"expiry_notice_days": [-4294967295]}})", {"config ra.expiry_notice_days:"});
  expect_refused(R"({"ra": {"enrollment_url": "localhost:8443/enroll"}})", {"config ra.enrollment_url:", "URL"});
  expect_refused(R"({"ra": {"enrollment_url": ""}})", {"config ra.enrollment_url:", "must not be empty"});
  expect_refused(R"({"ra": {"sesion_hours": 8}})", {"config ra:", "unknown key 'sesion_hours'"});
  // issue 9: jitsuind's section.
  expect_refused(R"({"server": {"listen": "localhost"}})", {"config server.listen:", "ADDRESS:PORT"});
  expect_refused(R"({"server": {"http_listen": "127.0.0.1:99999"}})", {"config server.http_listen:"});
  expect_refused(R"({"server": {"server_names": []}})", {"config server.server_names:"});
  expect_refused(R"({"server": {"server_names": [1]}})", {"config server.server_names:"});
  expect_refused(R"({"server": {"body_limit_bytes": 10}})", {"config server.body_limit_bytes:"});
  expect_refused(R"({"server": {"header_limit_bytes": 1000000}})", {"config server.header_limit_bytes:"});
  expect_refused(R"({"server": {"timeout_seconds": 0}})", {"config server.timeout_seconds:"});
  expect_refused(R"({"server": {"max_pipelined": 0}})", {"config server.max_pipelined:"});
  expect_refused(R"({"server": {"keepalive_requests": 0}})", {"config server.keepalive_requests:"});
  expect_refused(R"({"server": {"api_connections": -1}})", {"config server.api_connections:"});
  expect_refused(R"({"server": {"threads": -1}})", {"config server.threads:"});
  expect_refused(R"({"server": {"tls_days": 399}})", {"config server.tls_days:", "between 1 and 398"});
  expect_refused(R"({"server": {"port": 1}})", {"config server:", "unknown key 'port'"});
  // issue 9 (ops): the metrics listener and the outbox worker's interval.
  expect_refused(R"({"server": {"metrics_listen": "9090"}})", {"config server.metrics_listen:", "ADDRESS:PORT"});
  expect_refused(R"({"server": {"outbox_interval_seconds": -1}})", {"config server.outbox_interval_seconds:"});
  expect_refused(R"({"server": {"outbox_interval_seconds": 86401}})", {"config server.outbox_interval_seconds:"});
}

// Each section checks itself, also when built in code rather than decoded (the server and the
// tests build configs too): the defaults pass, one bad value is refused naming section and key.
TEST(Config, EverySectionValidatesItself) {
  EXPECT_NO_THROW(Config{}.validate());
  auto refused = [](auto&& validate, const std::string& where) {
    SCOPED_TRACE(where);
    auto msg = expect_error(validate, ErrorKind::config);
    EXPECT_EQ(msg.rfind("config " + where + ":", 0), 0u) << msg;
  };
  config::DatabaseConfig db;
  db.type = "postgres";
  refused([&] { db.validate(); }, "database.type");
  config::HsmConfig hsm;
  hsm.token = "jitsuin-ca";
  refused([&] { hsm.validate(); }, "hsm.token");
  config::CaKeyConfig key;
  key.key = "p256";
  key.subject = {{"common_name", "X"}};
  key.validity_days = 0;   // the struct's own default: a key section must say how long
  refused([&] { key.validate("ca.issuing"); }, "ca.issuing.validity_days");
  key.validity_days = 10;
  key.subject = {{"country", "JP"}};
  refused([&] { key.validate("ca.root"); }, "ca.root.subject");
  config::PolicyConfig policy{"1.2.3", "not a url"};
  refused([&] { policy.validate("ca.policies[2]"); }, "ca.policies[2].cps");
  config::CrlConfig crl;
  crl.distribution_point = "ldap://ca.example.jp/crl";
  refused([&] { crl.validate(); }, "ca.crl.distribution_point");
  // CRL partitions (issue 20 item 11): their URLs are made from a distribution point ending in .crl.
  crl.distribution_point = "http://ca.example.jp/crl/issuing";
  crl.partition_size = 100000;
  refused([&] { crl.validate(); }, "ca.crl.distribution_point");
  crl.distribution_point = "http://ca.example.jp/crl/issuing.crl";
  EXPECT_NO_THROW(crl.validate());
  crl.partition_size = -1;
  refused([&] { crl.validate(); }, "ca.crl.partition_size");
  crl.partition_size = 0;
  config::CaConfig ca;
  ca.root.key = "rsa1024";
  refused([&] { ca.validate(); }, "ca.root.key");
  config::MailConfig mail;
  mail.from = "nobody";
  refused([&] { mail.validate(); }, "mail.from");
  config::RaConfig ra;
  ra.session_hours = 0;
  refused([&] { ra.validate(); }, "ra.session_hours");
  Config c;
  c.ra.enrollment_url = "https://";
  refused([&] { c.validate(); }, "ra.enrollment_url");
}

TEST(Config, SectionsDecodeOverTheirDefaults) {
  config::RaConfig ra;
  ra.decode(nlohmann::json{{"session_hours", 12}, {"enrollment_url", "https://ca.example.jp/enroll"}});
  EXPECT_EQ(ra.session_hours, 12);
  EXPECT_EQ(ra.enrollment_url, "https://ca.example.jp/enroll");
  EXPECT_EQ(ra.pin_validity_days, 30);   // untouched keys keep their defaults
  EXPECT_EQ(ra.expiry_notice_days, (std::vector<int>{60, 30}));
  config::MailConfig mail;
  mail.decode(nlohmann::json::object());
  EXPECT_EQ(mail.from, "Jitsuin CA <noreply@localhost>");
  EXPECT_EQ(mail.max_attempts, 8);
  config::HsmConfig hsm;
  auto msg = expect_error([&] { hsm.decode(nlohmann::json{{"pin", "1234"}}); }, ErrorKind::config);
  EXPECT_NE(msg.find("config hsm: unknown key 'pin'"), std::string::npos) << msg;
  // The RA's enrollment URL: default, and from the file.
  EXPECT_EQ(parse_config("{}", "/h", "/b").ra.enrollment_url, "https://localhost:8443/enroll");
  EXPECT_EQ(parse_config(R"({"ra": {"enrollment_url": "https://ca.example.jp/enroll"}})", "/h", "/b").ra.enrollment_url,
            "https://ca.example.jp/enroll");
}

TEST(Config, HsmTypeIsOneOfTheKnownBackends) {
  EXPECT_EQ(config::known_hsm_types(), std::vector<std::string>{"pkcs11"});
  for (const auto& type : config::known_hsm_types())
    EXPECT_EQ(parse_config(R"({"hsm": {"type": ")" + type + R"("}})", "/h", "/b").hsm.type, type);
  for (const char* type : {"softhsm", "PKCS11", "", "kms"})
    expect_refused(std::string(R"({"hsm": {"type": ")") + type + R"("}})",
                   {"config hsm.type:", std::string("'") + type + "' is not supported (pkcs11)"});
}

class LocateConfig : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = getenv("JITSUIN_CONFIG")) saved_ = v;
    unsetenv("JITSUIN_CONFIG");
  }
  void TearDown() override {
    if (saved_) setenv("JITSUIN_CONFIG", saved_->c_str(), 1);
    else unsetenv("JITSUIN_CONFIG");
  }
  std::optional<std::string> saved_;
};

TEST_F(LocateConfig, ExplicitThenEnvironmentThenHomeThenDefault) {
  TempDir home;
  // Nothing: the documented default from the source tree.
  EXPECT_EQ(config::locate_config("", home.path()), config::default_config_path());
  EXPECT_TRUE(std::filesystem::exists(config::default_config_path()));
  // home/jitsuin.json once it exists.
  write_text(home / "jitsuin.json", "{}");
  EXPECT_EQ(config::locate_config("", home.path()), home / "jitsuin.json");
  // $JITSUIN_CONFIG beats home; an empty variable counts as unset.
  setenv("JITSUIN_CONFIG", "", 1);
  EXPECT_EQ(config::locate_config("", home.path()), home / "jitsuin.json");
  setenv("JITSUIN_CONFIG", "/etc/jitsuin/from-env.json", 1);
  EXPECT_EQ(config::locate_config("", home.path()), "/etc/jitsuin/from-env.json");
  // An explicit path beats everything.
  EXPECT_EQ(config::locate_config("/tmp/explicit.json", home.path()), "/tmp/explicit.json");
}

TEST(Config, LoadConfigOfAMissingFileIsAConfigError) {
  TempDir home;
  try {
    config::load_config(home / "nope.json", home.path());
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    EXPECT_NE(std::string(e.what()).find("nope.json"), std::string::npos) << e.what();
  }
}

TEST(Config, LoadConfigResolvesProfilesNextToTheFile) {
  TempDir dir;
  std::filesystem::create_directories(dir / "etc");
  write_text(dir / "etc" / "jitsuin.json", R"({"ca": {"profiles_dir": "my-profiles"}})");
  auto c = config::load_config(dir / "etc" / "jitsuin.json", dir / "home");
  EXPECT_EQ(c.ca.profiles_dir, dir / "etc" / "my-profiles");
  EXPECT_EQ(c.database.path, dir / "home" / "jitsuin.db");
}

}  // namespace
}  // namespace jitsuin::test
