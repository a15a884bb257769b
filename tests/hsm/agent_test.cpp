// The applicant-token facade of `jitsuin token` (hsm/agent.h) on SoftHSM2 tokens of this test
// process only (support's process_softhsm: its own SOFTHSM2_CONF and token folder in a TempDir;
// no CA token involved), checked independently with OpenSC's pkcs11-tool and openssl.
#include <gtest/gtest.h>

#include <openssl/pem.h>

#include <algorithm>
#include <functional>

#include "hsm_util.h"
#include "jitsuin/hsm/agent.h"
#include "jitsuin/hsm/pkcs11.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using hsm::KeyAlgorithm;
using hsm::agent::AgentToken;

const std::string kModule = hsm::agent::kDefaultModule;

std::string failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(AgentToken, ListsTokensAndOpensOneByLabelSerialOrUri) {
  auto t = new_token("etoken-a", "so-pin-1234", "user-1234");
  new_token("etoken-b", "so-pin-1234", "user-1234");
  auto tokens = hsm::agent::list_tokens(kModule);
  auto it = std::find_if(tokens.begin(), tokens.end(), [](auto& s) { return s.label == "etoken-a"; });
  ASSERT_NE(it, tokens.end());
  EXPECT_TRUE(it->initialized);
  EXPECT_TRUE(it->user_pin_initialized);
  EXPECT_FALSE(it->user_pin_locked);
  EXPECT_EQ(it->manufacturer, "SoftHSM project");
  EXPECT_TRUE(std::any_of(tokens.begin(), tokens.end(), [](auto& s) { return !s.initialized; }));
  EXPECT_EQ(AgentToken::open(kModule, "etoken-a").state().serial, it->serial);
  EXPECT_EQ(AgentToken::open(kModule, "serial=" + it->serial).state().label, "etoken-a");
  EXPECT_EQ(AgentToken::open(kModule, it->uri).state().label, "etoken-a");
  // Several initialised tokens and no selector: the agent does not guess.
  EXPECT_TRUE(contains(failure_of([] { AgentToken::open(kModule, ""); }), "several tokens match"));
}

TEST(AgentToken, TokenNotFoundNamesTheTokensThatAreThere) {
  new_token("present-one", "so-pin-1234", "user-1234");
  std::string msg = failure_of([] { AgentToken::open(kModule, "my-etoken"); });
  EXPECT_TRUE(contains(msg, "token not found")) << msg;
  EXPECT_TRUE(contains(msg, "'my-etoken'")) << msg;
  EXPECT_TRUE(contains(msg, "'present-one'")) << msg;
  EXPECT_TRUE(contains(msg, "uninitialised token in slot")) << msg;
}

TEST(AgentToken, UninitialisedTokenIsInitialisedOnlyWhenAsked) {
  new_token("other", "so-pin-1234", "user-1234");
  auto tokens = hsm::agent::list_tokens(kModule);
  auto blank = std::find_if(tokens.begin(), tokens.end(), [](auto& s) { return !s.initialized; });
  ASSERT_NE(blank, tokens.end());
  hsm::Pkcs11Uri by_slot;
  by_slot.slot_id = blank->slot_id;
  std::string msg = failure_of([&] { AgentToken::open(kModule, by_slot.to_string()); });
  EXPECT_TRUE(contains(msg, "not initialised")) << msg;
  EXPECT_TRUE(contains(msg, "jitsuin token init")) << msg;
  auto t = AgentToken::open(kModule, by_slot.to_string(), true);
  t.initialize(std::nullopt, "fresh-so-99", "brand-new", "fresh-user-99");
  EXPECT_EQ(AgentToken::open(kModule, "brand-new").state().user_pin_initialized, true);
  AgentToken::open(kModule, "brand-new").login("fresh-user-99");
}

// The key pair, its request and the certificates, as an independent tool sees them.
void enroll_like_the_agent(KeyAlgorithm alg, const std::string& label) {
  new_token(label, "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, label);
  t.login("user-1234");
  auto key = t.generate_key_and_csr(alg, "jitsuin application 7", "jitsuin application 7");
  EXPECT_EQ(key.id.size(), 16u);
  EXPECT_EQ(key.description, alg == KeyAlgorithm::p256 ? "EC P-256" : "RSA-2048");
  // openssl checks the request's self-signature, made on the token.
  TempDir dir;
  write_text(dir.path() / "req.pem", key.csr_pem);
  auto req = run("openssl req -in " + sh_quote((dir.path() / "req.pem").string()) + " -verify -noout -subject");
  EXPECT_EQ(req.status, 0) << req.output;
  EXPECT_TRUE(contains(req.output, "verify OK")) << req.output;
  EXPECT_TRUE(contains(req.output, "jitsuin application 7")) << req.output;

  // A certificate for that key (signed by a software CA), and the CA certificate as the chain.
  ossl::Bio bio(BIO_new_mem_buf(key.csr_pem.data(), static_cast<int>(key.csr_pem.size())));
  ossl::Req parsed(PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(parsed);
  auto ca_key = software_key();
  auto ca = make_cert(ca_key.get(), "Test Issuing CA", ca_key.get(), "Test Issuing CA", true);
  auto cert = make_cert(X509_REQ_get0_pubkey(parsed.get()), "Taro Yamada", ca_key.get(), "Test Issuing CA", false);
  auto stranger_key = software_key();
  auto stranger = make_cert(stranger_key.get(), "Someone else", ca_key.get(), "Test Issuing CA", false);
  EXPECT_TRUE(t.key_matches(key.id, cert.get()));
  EXPECT_FALSE(t.key_matches(key.id, stranger.get()));
  t.store_certificates(key.id, "jitsuin application 7", cert.get(), {ca.get()});
  t.store_certificates(key.id, "jitsuin application 7", cert.get(), {ca.get()});   // not twice
  EXPECT_EQ(t.certificates().size(), 2u);

  auto objects = t.objects("user-1234");
  auto has = [&](const std::string& kind, const Bytes& id) {
    return std::any_of(objects.begin(), objects.end(), [&](auto& o) { return o.kind == kind && o.id == id; });
  };
  EXPECT_TRUE(has("private key", key.id));
  EXPECT_TRUE(has("public key", key.id));
  EXPECT_TRUE(has("certificate", key.id));
  auto c = std::find_if(objects.begin(), objects.end(), [&](auto& o) { return o.kind == "certificate" && o.id == key.id; });
  EXPECT_TRUE(contains(c->detail, "Taro Yamada")) << c->detail;
  EXPECT_EQ(c->not_after.size(), 20u) << c->not_after;   // 2027-11-30T00:00:00Z

  // pkcs11-tool: the private key and the certificate share the ID; the key is sensitive and never
  // extractable, and reading it fails.
  auto id_hex = to_hex(key.id);
  auto priv = pkcs11_tool_objects(label, "user-1234", "Private Key Object");
  ASSERT_EQ(priv.size(), 1u);
  EXPECT_TRUE(contains(priv[0], "ID:         " + id_hex)) << priv[0];
  EXPECT_TRUE(contains(priv[0], "sensitive")) << priv[0];
  EXPECT_TRUE(contains(priv[0], "never extractable")) << priv[0];
  auto certs = pkcs11_tool_objects(label, "user-1234", "Certificate Object");
  ASSERT_EQ(certs.size(), 2u);
  EXPECT_TRUE(std::any_of(certs.begin(), certs.end(), [&](auto& b) { return contains(b, "ID:         " + id_hex); }));
  // pkcs11-tool 0.23 cannot read private keys at all (it says so and exits 0), so GnuTLS's p11tool
  // is asked too: the key's flags, and exporting its value fails.
  std::string pct;
  for (auto b : key.id) pct += "%" + to_hex(Bytes{b});
  const std::string p11 = "GNUTLS_PIN=user-1234 p11tool --provider " + sh_quote(kModule) + " --login ";
  auto flags = run(p11 + "--list-privkeys " + sh_quote("pkcs11:token=" + label));
  EXPECT_EQ(flags.status, 0) << flags.output;
  EXPECT_TRUE(contains(flags.output, "CKA_NEVER_EXTRACTABLE; CKA_SENSITIVE")) << flags.output;
  EXPECT_FALSE(contains(flags.output, "CKA_EXTRACTABLE;")) << flags.output;
  auto read = run(p11 + "--export " + sh_quote("pkcs11:token=" + label + ";id=" + pct + ";type=private"));
  EXPECT_NE(read.status, 0) << read.output;
  auto cert_read = pkcs11_tool(label, "user-1234", "--read-object --type cert --id " + id_hex + " -o " +
                                                       sh_quote((dir.path() / "cert.der").string()));
  EXPECT_EQ(cert_read.status, 0) << cert_read.output;
  EXPECT_EQ(read_file(dir.path() / "cert.der"), std::string(reinterpret_cast<const char*>(ossl::cert_der(cert.get()).data()),
                                                             ossl::cert_der(cert.get()).size()));
}

TEST(AgentToken, P256KeyCsrAndCertificateWithTheKeysId) { enroll_like_the_agent(KeyAlgorithm::p256, "etoken-p256"); }

TEST(AgentToken, Rsa2048KeyCsrAndCertificateWithTheKeysId) {
  enroll_like_the_agent(KeyAlgorithm::rsa2048, "etoken-rsa");
}

// The token key does what the certificate's keyUsage allows and no more (S/MIME: an RSA key that
// decrypts, an EC key that derives; a signing certificate's key does neither), as pkcs11-tool sees
// it; and a message encrypted by openssl to the public key is decrypted on the token.
TEST(AgentToken, KeysDecryptOrDeriveOnlyWhenTheCertificateAllowsIt) {
  const std::string label = "etoken-uses";
  new_token(label, "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, label);
  t.login("user-1234");
  using hsm::KeyUses;
  auto rsa_enc = t.generate_key_and_csr(KeyAlgorithm::rsa2048, "enc", "enc",
                                        KeyUses::for_key_usage({"digitalSignature", "keyEncipherment"}));
  auto rsa_sig = t.generate_key_and_csr(KeyAlgorithm::rsa2048, "sig", "sig",
                                        KeyUses::for_key_usage({"digitalSignature", "nonRepudiation"}));
  auto ec_ka = t.generate_key_and_csr(KeyAlgorithm::p256, "ka", "ka", KeyUses::for_key_usage({"digitalSignature", "keyAgreement"}));
  auto ec_sig = t.generate_key_and_csr(KeyAlgorithm::p256, "ecsig", "ecsig", KeyUses::for_key_usage({"digitalSignature"}));
  auto usage = [&](const Bytes& id, const char* kind = "Private Key Object") {
    for (const auto& block : pkcs11_tool_objects(label, "user-1234", kind))
      if (contains(block, "ID:         " + to_hex(id))) {
        auto at = block.find("Usage:");
        return at == std::string::npos ? std::string() : block.substr(at, block.find('\n', at) - at);
      }
    ADD_FAILURE() << "no " << kind << " " << to_hex(id);
    return std::string();
  };
  EXPECT_TRUE(contains(usage(rsa_enc.id), "decrypt") && contains(usage(rsa_enc.id), "unwrap")) << usage(rsa_enc.id);
  EXPECT_FALSE(contains(usage(rsa_sig.id), "decrypt") || contains(usage(rsa_sig.id), "unwrap")) << usage(rsa_sig.id);
  EXPECT_TRUE(contains(usage(ec_ka.id), "derive")) << usage(ec_ka.id);
  EXPECT_FALSE(contains(usage(ec_sig.id), "derive")) << usage(ec_sig.id);
  EXPECT_TRUE(contains(usage(rsa_sig.id), "sign") && contains(usage(ec_sig.id), "sign"));
  // Issue 20 item 10: every usage attribute is set, so SoftHSM's defaults (an EC key that would
  // "decrypt, sign, unwrap") never apply: a signing key signs and its public key verifies, no more.
  const char* pub = "Public Key Object";
  EXPECT_EQ(usage(rsa_sig.id), "Usage:      sign");
  EXPECT_EQ(usage(ec_sig.id), "Usage:      sign");
  EXPECT_EQ(usage(rsa_sig.id, pub), "Usage:      verify");
  EXPECT_EQ(usage(ec_sig.id, pub), "Usage:      verify");
  EXPECT_EQ(usage(rsa_enc.id), "Usage:      decrypt, sign, unwrap");
  EXPECT_EQ(usage(rsa_enc.id, pub), "Usage:      encrypt, verify, wrap");
  EXPECT_EQ(usage(ec_ka.id), "Usage:      sign, derive");
  EXPECT_EQ(usage(ec_ka.id, pub), "Usage:      verify");

  // openssl encrypts to the public key of each RSA request (PKCS#1 v1.5, as S/MIME key transport);
  // pkcs11-tool decrypts with the token key that may, and fails with the one that may not.
  TempDir dir;
  for (const auto* k : {&rsa_enc, &rsa_sig}) {
    auto n = to_hex(k->id);
    write_text(dir.path() / (n + ".csr"), k->csr_pem);
    auto enc = run("openssl req -in " + sh_quote((dir.path() / (n + ".csr")).string()) + " -pubkey -noout > " +
                   sh_quote((dir.path() / (n + ".pub")).string()) + " && printf 'content key' | openssl pkeyutl -encrypt -pubin -inkey " +
                   sh_quote((dir.path() / (n + ".pub")).string()) + " -pkeyopt rsa_padding_mode:pkcs1 -out " +
                   sh_quote((dir.path() / (n + ".enc")).string()));
    ASSERT_EQ(enc.status, 0) << enc.output;
    auto dec = pkcs11_tool(label, "user-1234", "--decrypt -m RSA-PKCS --id " + n + " --input-file " +
                                                   sh_quote((dir.path() / (n + ".enc")).string()) + " --output-file " +
                                                   sh_quote((dir.path() / (n + ".dec")).string()));
    if (k == &rsa_enc) {
      EXPECT_EQ(dec.status, 0) << dec.output;
      EXPECT_EQ(read_file(dir.path() / (n + ".dec")), "content key");
    } else {
      EXPECT_NE(dec.status, 0) << dec.output;
    }
  }
}

TEST(AgentToken, OnlyP256AndRsa2048) {
  new_token("etoken-384", "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, "etoken-384");
  t.login("user-1234");
  EXPECT_TRUE(contains(failure_of([&] { t.generate_key_and_csr(KeyAlgorithm::p384, "k", "k"); }), "P-256 or RSA-2048"));
}

// SoftHSM2 2.6 counts wrong user PINs (CKF_USER_PIN_COUNT_LOW) but never locks the PIN, so a
// locked PIN (and its "use jitsuin token unblock" message) cannot be produced on it; the unblock
// itself (SO login + C_InitPIN) is the same call either way.
TEST(AgentToken, WrongPinSaysWhatTheTokenReportsAndUnblockSetsANewPin) {
  new_token("etoken-lock", "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, "etoken-lock");
  t.login("user-1234");
  t.generate_key_and_csr(KeyAlgorithm::p256, "kept", "kept");
  std::string msg;
  for (int i = 0; i < 3; ++i) msg = failure_of([&] { t.login("wrong-pin"); });
  EXPECT_TRUE(contains(msg, "wrong PIN")) << msg;
  EXPECT_TRUE(contains(msg, "few tries left before the PIN locks")) << msg;
  EXPECT_TRUE(contains(msg, "after too many wrong PINs the token locks it")) << msg;
  EXPECT_TRUE(t.state().user_pin_count_low);
  // A wrong SO PIN does not unblock; the right one does, and the key stays.
  EXPECT_TRUE(contains(failure_of([&] { t.unblock("wrong-so-pin", "new-user-77"); }), "wrong PIN"));
  t.unblock("so-pin-1234", "new-user-77");
  EXPECT_FALSE(t.state().user_pin_locked);
  EXPECT_TRUE(contains(failure_of([&] { t.login("user-1234"); }), "wrong PIN"));
  auto objects = t.objects("new-user-77");
  EXPECT_TRUE(std::any_of(objects.begin(), objects.end(), [](auto& o) { return o.kind == "private key" && o.label == "kept"; }));
}

TEST(AgentToken, InitialiseWipesEverythingAndSetsBothNewPins) {
  new_token("etoken-old", "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, "etoken-old");
  t.login("user-1234");
  t.generate_key_and_csr(KeyAlgorithm::p256, "old key", "old");
  ASSERT_FALSE(t.objects("user-1234").empty());
  // The current SO PIN is required; a wrong one changes nothing.
  EXPECT_TRUE(contains(failure_of([&] { t.initialize("not-the-so-pin", "new-so-5678", "etoken-new", "new-user-5678"); }),
                       "wrong"));
  EXPECT_FALSE(t.objects("user-1234").empty());
  t.initialize("so-pin-1234", "new-so-5678", "etoken-new", "new-user-5678");
  EXPECT_EQ(t.state().label, "etoken-new");
  EXPECT_TRUE(t.objects("new-user-5678").empty());
  auto listing = pkcs11_tool("etoken-new", "new-user-5678", "--list-objects");
  EXPECT_EQ(listing.status, 0) << listing.output;
  EXPECT_FALSE(contains(listing.output, "Object;")) << listing.output;
  // The old SO PIN is gone, the new one works.
  EXPECT_TRUE(contains(failure_of([&] { t.unblock("so-pin-1234", "whatever-1"); }), "wrong PIN"));
  t.unblock("new-so-5678", "third-user-1");
  t.login("third-user-1");
}

TEST(AgentToken, ChangePinsAndThePinPolicy) {
  new_token("etoken-pins", "so-pin-1234", "user-1234");
  auto t = AgentToken::open(kModule, "etoken-pins");
  t.change_user_pin("user-1234", "user-5678");
  t.login("user-5678");
  EXPECT_TRUE(contains(failure_of([&] { t.login("user-1234"); }), "wrong PIN"));
  t.change_so_pin("so-pin-1234", "so-pin-5678");
  t.unblock("so-pin-5678", "user-9999");
  t.login("user-9999");
  EXPECT_TRUE(contains(failure_of([&] { t.change_user_pin("user-9999", "abc"); }), "at least 4"));
  EXPECT_TRUE(contains(failure_of([&] { t.change_user_pin("user-9999", "ユーザ1234"); }), "half-width"));
  t.login("user-9999");
}

}  // namespace
}  // namespace jitsuin::test
