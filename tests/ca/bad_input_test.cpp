// Bad input: a clear error, and no row, file or audit entry changed.
#include <gtest/gtest.h>

#include "peers.h"

namespace jitsuin::test {
namespace {

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    f = make_ca();
    certs = count_rows(*f->db, "certificates");
    audit = count_rows(*f->db, "audit_log");
  }
  void TearDown() override {
    EXPECT_EQ(count_rows(*f->db, "certificates"), certs);
    EXPECT_EQ(count_rows(*f->db, "audit_log"), audit);
  }
  // Expects issue() to fail with kind and a message containing needle.
  void refused(const std::string& csr, const std::string& profile, const config::NameFields& subject,
               ErrorKind kind, const std::string& needle, std::optional<int> days = std::nullopt) {
    try {
      f->ca->issue({profile, csr, subject, days, {}}, {"test"});
      ADD_FAILURE() << "expected a refusal containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
  std::string good_csr() { return openssl_csr(dir.path(), "ec", "good"); }
  std::unique_ptr<CaFixture> f;
  TempDir dir;
  std::int64_t certs = 0, audit = 0;
};

std::string der_of(const TempDir& dir, const std::string& pem) {
  write_text(dir / "in.csr", pem);
  auto r = run("openssl req -in " + sh_quote((dir / "in.csr").string()) + " -outform DER -out " +
               sh_quote((dir / "out.der").string()));
  if (r.status != 0) throw std::runtime_error(r.output);
  return read_file(dir / "out.der");
}

TEST_F(BadInput, MalformedCsrs) {
  std::string pem = good_csr();
  std::string der = der_of(dir, pem);
  ASSERT_GT(der.size(), 100u);
  refused("", "individual-signing", kTaro, ErrorKind::invalid_input, "empty");
  refused("garbage that is not a CSR", "individual-signing", kTaro, ErrorKind::invalid_input, "not valid DER");
  refused(der.substr(0, der.size() / 2), "individual-signing", kTaro, ErrorKind::invalid_input, "malformed or truncated");
  refused(der + "x", "individual-signing", kTaro, ErrorKind::invalid_input, "trailing data");
  auto cut = pem.find("-----END");
  refused(pem.substr(0, cut / 2), "individual-signing", kTaro, ErrorKind::invalid_input, "not valid PEM");
  refused(ossl::cert_pem(f->ca->root_certificate()), "individual-signing", kTaro, ErrorKind::invalid_input,
          "not a CERTIFICATE REQUEST");
}

TEST_F(BadInput, CsrWithBadSelfSignature) {
  std::string der = der_of(dir, good_csr());
  der[der.size() - 5] ^= 0x01;   // inside the signature value
  refused(der, "individual-signing", kTaro, ErrorKind::invalid_input, "self-signature is invalid");
}

TEST_F(BadInput, WeakOrUnsupportedKeys) {
  refused(openssl_csr(dir.path(), "rsa:1024", "weak"), "individual-signing", kTaro, ErrorKind::invalid_input,
          "at least 2048 bits");
  auto r = run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:secp256k1 -nodes -keyout /dev/null "
               "-subj /CN=x -out " + sh_quote((dir.path() / "k1.csr").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  refused(read_file(dir.path() / "k1.csr"), "individual-signing", kTaro, ErrorKind::invalid_input, "P-256 or P-384");
  r = run("openssl req -new -newkey ed25519 -nodes -keyout /dev/null -subj /CN=x -out " +
          sh_quote((dir.path() / "ed.csr").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  refused(read_file(dir.path() / "ed.csr"), "individual-signing", kTaro, ErrorKind::invalid_input, "not allowed");
}

TEST_F(BadInput, CompressedEcPointIsRefused) {
  // The certificate copies the CSR's key encoding and the key-reuse check fingerprints it, so each
  // key must have exactly one accepted encoding.
  auto key = (dir / "c.key").string(), csr = (dir / "c.csr").string();
  auto r = run("openssl ecparam -name prime256v1 -genkey -noout | openssl ec -conv_form compressed -out " +
               sh_quote(key) + " && openssl req -new -key " + sh_quote(key) + " -subj /CN=x -out " + sh_quote(csr) +
               " && openssl req -in " + sh_quote(csr) + " -noout -text | grep -A1 'pub:' | grep -q ' 0[23]:'");
  ASSERT_EQ(r.status, 0) << r.output;
  refused(read_file(csr), "individual-signing", kTaro, ErrorKind::invalid_input, "uncompressed form");
}

TEST_F(BadInput, CsrSignedWithSha1IsRefused) {
  auto r = run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha1 -nodes -keyout /dev/null "
               "-subj /CN=x -out " + sh_quote((dir / "sha1.csr").string()));
  ASSERT_EQ(r.status, 0) << r.output;
  refused(read_file(dir / "sha1.csr"), "individual-signing", kTaro, ErrorKind::invalid_input,
          "use PKCS#1 v1.5 RSA or ECDSA with SHA-256, SHA-384 or SHA-512");
}

TEST_F(BadInput, EcKeyWithExplicitCurveParametersIsRefused) {
  auto key = (dir / "x.key").string(), csr = (dir / "x.csr").string();
  auto r = run("openssl ecparam -name prime256v1 -genkey -noout -param_enc explicit -out " + sh_quote(key) +
               " && openssl req -new -key " + sh_quote(key) + " -subj /CN=x -out " + sh_quote(csr));
  ASSERT_EQ(r.status, 0) << r.output;
  refused(read_file(csr), "individual-signing", kTaro, ErrorKind::invalid_input,
          "explicit curve parameters are not allowed");
}

TEST_F(BadInput, RsaKeyWithAnEvenExponentIsRefused) {
  std::string der = der_of(dir, openssl_csr(dir.path(), "rsa:2048", "even"));
  // The public exponent 65537 (INTEGER 01 00 01) becomes 65536; the key is refused before the
  // (now broken) self-signature is looked at.
  const std::string e65537("\x02\x03\x01\x00\x01", 5);
  auto at = der.find(e65537);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(der.find(e65537, at + 1), std::string::npos);
  der[at + 4] = 0x00;
  refused(der, "individual-signing", kTaro, ErrorKind::invalid_input, "invalid public exponent");
}

TEST_F(BadInput, UnknownProfile) {
  refused(good_csr(), "no-such-profile", kTaro, ErrorKind::not_found, "unknown profile 'no-such-profile'");
  refused(good_csr(), "../jitsuin", kTaro, ErrorKind::not_found, "unknown profile");
}

TEST_F(BadInput, SubjectsBreakingTheRomajiRules) {
  std::string csr = good_csr();
  auto with = [&](const std::string& k, const std::string& v) {
    auto s = kTaro;
    s[k] = v;
    return s;
  };
  refused(csr, "individual-signing", with("common_name", "山田 太郎"), ErrorKind::invalid_input, "must be romaji");
  refused(csr, "individual-signing", with("common_name", "Ｔａｒｏ"), ErrorKind::invalid_input, "must be romaji");
  refused(csr, "individual-signing", with("department", "Honsha/Sales"), ErrorKind::invalid_input, "must be romaji");
  refused(csr, "individual-signing", with("organization", std::string(41, 'a')), ErrorKind::invalid_input,
          "at most 40 characters");
  refused(csr, "individual-signing", with("organization", "Example Kensetsu Co. Ltd"), ErrorKind::invalid_input,
          "company form");
  refused(csr, "individual-signing", with("organization", "Example Kensetsu K.K."), ErrorKind::invalid_input,
          "company form");
  auto long_pair = kTaro;
  long_pair["department"] = std::string(31, 'd');
  long_pair["title"] = std::string(30, 't');
  refused(csr, "individual-signing", long_pair, ErrorKind::invalid_input, "together must be at most 60");
  refused(csr, "individual-signing", with("email", "taro@example.jp"), ErrorKind::invalid_input,
          "'email' is not used by profile individual-signing");
  refused(csr, "individual-signing", with("country", "US"), ErrorKind::invalid_input, "set by profile");
  auto no_cn = kTaro;
  no_cn.erase("common_name");
  refused(csr, "individual-signing", no_cn, ErrorKind::invalid_input, "'common_name' is required");
  refused(csr, "individual-signing", kTaro, ErrorKind::invalid_input, "allows validity of 365, 730 days", 500);
  refused(csr, "smime", {{"common_name", "Taro"}, {"email", "not-an-address"}}, ErrorKind::invalid_input,
          "not a valid address");
  // Exactly at the limits is fine.
  auto at_limit = kTaro;
  at_limit["organization"] = std::string(40, 'a');
  at_limit["department"] = std::string(30, 'd');
  at_limit["title"] = std::string(30, 't');
  EXPECT_NO_THROW(f->ca->issue({"individual-signing", csr, at_limit, {}, {}}, {"test"}));
  certs += 1;
  audit += 1;
}

TEST_F(BadInput, WrongCaPin) {
  auto module = hsm::Module::load(softhsm_module());
  hsm::Pkcs11Uri uri;
  uri.token = f->token_label;
  hsm::Token t = module->open(uri);
  t.logout();
  try {
    t.login("wrong-pin");
    FAIL() << "expected a wrong PIN error";
  } catch (const hsm::HsmError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
    EXPECT_NE(std::string(e.what()).find("CKR_PIN_INCORRECT"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace jitsuin::test
