// `jitsuin ocsp respond` between `openssl ocsp -reqout` and `openssl ocsp -respin`, on the
// embedded defaults: the answer verifies against the root, statuses good / revoked with reason /
// unknown, the nonce echoed, malformed input answered malformedRequest; audit verify stays OK.
#include <gtest/gtest.h>

#include <regex>

#include "support/support.h"

namespace jitsuin::test {
namespace {

class OcspCli : public ::testing::Test {
 protected:
  CommandResult jitsuin(const std::string& args) { return run(jitsuin_cmd(home.path() / "var") + " " + args); }
  std::string p(const std::string& name) { return sh_quote((home.path() / name).string()); }
  void SetUp() override {
    auto r = jitsuin("ca init --root-key rsa2048");
    ASSERT_EQ(r.status, 0) << r.output;
    login_administrator(home.path() / "var");
    write_text(home.path() / "subject.json",
               R"({"organization": "Example Kensetsu", "department": "Honsha", "title": "Shacho", "common_name": "Taro Yamada"})");
  }
  std::string issue(const std::string& name) {
    openssl_csr(home.path(), "ec", name);
    auto r = jitsuin("ca issue --profile individual-signing --csr " + p(name + ".csr") + " --subject " + p("subject.json") +
                     " --out " + p(name + ".pem") + " --chain " + p("chain.pem"));
    EXPECT_EQ(r.status, 0) << r.output;
    run("openssl x509 -in " + p("chain.pem") + " -out " + p("issuing.pem"));   // the first of the chain
    run("sed -n '/END/,$p' " + p("chain.pem") + " | tail -n +2 > " + p("root.pem"));
    auto s = run("openssl x509 -noout -serial -in " + p(name + ".pem"));
    return s.output.substr(s.output.find('=') + 1, s.output.size() - s.output.find('=') - 2);
  }
  // openssl asks about cert.pem, jitsuin answers, openssl verifies and reads the answer.
  CommandResult ask(const std::string& cert, const std::string& flags = "-no_nonce") {
    auto r = run("openssl ocsp -issuer " + p("issuing.pem") + " -cert " + p(cert) + " -reqout " + p("req.der") + " " + flags);
    EXPECT_EQ(r.status, 0) << r.output;
    r = jitsuin("ocsp respond --request " + p("req.der") + " --out " + p("resp.der"));
    EXPECT_EQ(r.status, 0) << r.output;
    return run("openssl ocsp -respin " + p("resp.der") + " -issuer " + p("issuing.pem") + " -CAfile " + p("root.pem") +
               " -cert " + p(cert) + " -no_nonce -resp_text");
  }
  TempDir home;
};

TEST_F(OcspCli, GoodRevokedUnknownNonceAndMalformed) {
  std::string serial = issue("a");
  issue("b");
  auto r = ask("a.pem");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("a.pem: good"), std::string::npos) << r.output;
  // responderID byKey: openssl prints the key hash (byName would print the signer's name).
  EXPECT_TRUE(std::regex_search(r.output, std::regex("Responder Id: [0-9A-F]{40}\n"))) << r.output;
  EXPECT_NE(r.output.find("OCSP Signing"), std::string::npos) << r.output;   // the signer, included

  // The nonce openssl put into the request comes back in the response, and openssl checks it.
  r = run("openssl ocsp -issuer " + p("issuing.pem") + " -cert " + p("b.pem") + " -reqout " + p("req.der"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = jitsuin("ocsp respond --request " + p("req.der") + " --out " + p("resp.der"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(": good"), std::string::npos) << r.output;
  auto req_text = run("openssl ocsp -reqin " + p("req.der") + " -req_text").output;
  auto resp_text = run("openssl ocsp -respin " + p("resp.der") + " -resp_text -noverify").output;
  auto nonce_of = [](const std::string& text) {
    auto at = text.find("OCSP Nonce:");
    if (at == std::string::npos) return std::string("none");
    auto line = text.find('\n', at);
    auto end = text.find('\n', line + 1);
    return text.substr(line + 1, end - line - 1);
  };
  EXPECT_NE(nonce_of(req_text), "none") << req_text;
  EXPECT_EQ(nonce_of(resp_text), nonce_of(req_text)) << resp_text;
  // openssl's own nonce check: the response read against the request it answers.
  r = run("openssl ocsp -reqin " + p("req.der") + " -respin " + p("resp.der") + " -CAfile " + p("root.pem") +
          " -verify_other " + p("issuing.pem"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(r.output.find("once"), std::string::npos) << r.output;   // no "Nonce Verify error", no "no nonce"
  EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;

  r = jitsuin("ca revoke --serial " + serial + " --reason keyCompromise");
  ASSERT_EQ(r.status, 0) << r.output;
  r = ask("a.pem");
  EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("a.pem: revoked"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Reason: keyCompromise"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Revocation Time:"), std::string::npos) << r.output;

  // A serial the CA never issued.
  r = run("openssl ocsp -issuer " + p("issuing.pem") + " -serial 0x1234 -no_nonce -reqout " + p("req.der"));
  ASSERT_EQ(r.status, 0) << r.output;
  r = jitsuin("ocsp respond --request " + p("req.der") + " --out " + p("resp.der"));
  EXPECT_NE(r.output.find("1234: unknown"), std::string::npos) << r.output;
  r = run("openssl ocsp -respin " + p("resp.der") + " -issuer " + p("issuing.pem") + " -CAfile " + p("root.pem") +
          " -serial 0x1234 -no_nonce");
  EXPECT_NE(r.output.find("Response verify OK"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(": unknown"), std::string::npos) << r.output;

  // Not an OCSP request: malformedRequest, nothing else.
  write_text(home.path() / "junk.der", "not an OCSP request");
  r = jitsuin("ocsp respond --request " + p("junk.der") + " --out " + p("resp.der"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("malformedRequest"), std::string::npos) << r.output;
  r = run("openssl ocsp -respin " + p("resp.der") + " -resp_text -noverify");
  EXPECT_NE(r.output.find("malformedrequest"), std::string::npos) << r.output;

  r = jitsuin("audit verify");
  EXPECT_EQ(r.status, 0) << r.output;
}

}  // namespace
}  // namespace jitsuin::test
