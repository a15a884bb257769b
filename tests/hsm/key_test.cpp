// Keys generated on a token, signing with them, and certificates stored next to them (EN-2, CA-1).
// pkcs11-tool (OpenSC) is the independent view of what is on the token.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "hsm_util.h"
#include "jitsuin/hsm/pkcs11.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using hsm::KeyAlgorithm;
using hsm::Token;

template <typename E = Error>
E expect_throw(const std::function<void()>& f) {
  try {
    f();
  } catch (const E& e) {
    return e;
  }
  ADD_FAILURE() << "expected an exception";
  throw std::runtime_error("no exception");
}

Token logged_in_token(const std::string& label) {
  Token t = new_token(label, "so-pin-1234", "user-1234");
  t.login("user-1234");
  return t;
}

struct AlgCase {
  KeyAlgorithm alg;
  const char* description;
  int base_id;
};

void PrintTo(const AlgCase& c, std::ostream* os) { *os << c.description; }

class KeyGeneration : public ::testing::TestWithParam<AlgCase> {};

TEST_P(KeyGeneration, SignsOnTheTokenAndOpenSslVerifies) {
  const auto& c = GetParam();
  auto t = logged_in_token("keygen");
  Bytes id{0xca, 0xfe, 0x01};
  auto key = t.generate_key(c.alg, "applicant-key", id);
  EXPECT_EQ(key.description(), c.description);
  EXPECT_EQ(key.label(), "applicant-key");
  EXPECT_EQ(key.id(), id);
  ASSERT_NE(key.pkey(), nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(key.pkey()), c.base_id);

  const std::string data = "jitsuin signs this with a key that never leaves the token";
  Bytes sig = sign(key.pkey(), data);
  TempDir dir;
  auto good = openssl_verify(dir, key.pkey(), data, sig);
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_NE(good.output.find("Verified OK"), std::string::npos) << good.output;
  // The verification means something: other data does not verify.
  auto bad = openssl_verify(dir, key.pkey(), data + "!", sig);
  EXPECT_NE(bad.status, 0) << bad.output;

  // The same key is found again by id, by label and by URI, and signs as well.
  auto again = t.find_key(std::nullopt, id);
  EXPECT_EQ(public_pem(again.pkey()), public_pem(key.pkey()));
  EXPECT_EQ(t.find_key(std::string("applicant-key"), std::nullopt).id(), id);
  hsm::Pkcs11Uri uri;
  uri.id = id;
  EXPECT_EQ(public_pem(t.find_key(uri).pkey()), public_pem(key.pkey()));
  auto sig2 = sign(again.pkey(), "second message");
  EXPECT_EQ(openssl_verify(dir, key.pkey(), "second message", sig2).status, 0);
}

INSTANTIATE_TEST_SUITE_P(Token, KeyGeneration,
                         ::testing::Values(AlgCase{KeyAlgorithm::rsa2048, "RSA-2048", EVP_PKEY_RSA},
                                           AlgCase{KeyAlgorithm::p256, "EC P-256", EVP_PKEY_EC},
                                           AlgCase{KeyAlgorithm::p384, "EC P-384", EVP_PKEY_EC},
                                           AlgCase{KeyAlgorithm::rsa3072, "RSA-3072", EVP_PKEY_RSA}),
                         [](const auto& info) { return hsm::key_algorithm_name(info.param.alg); });

TEST(Token, KeyAlgorithmNames) {
  for (auto alg : {KeyAlgorithm::rsa2048, KeyAlgorithm::rsa3072, KeyAlgorithm::rsa4096, KeyAlgorithm::p256,
                   KeyAlgorithm::p384})
    EXPECT_EQ(hsm::parse_key_algorithm(hsm::key_algorithm_name(alg)), alg);
  auto e = expect_throw([] { hsm::parse_key_algorithm("rsa1024"); });
  EXPECT_EQ(e.kind(), ErrorKind::invalid_input);
  EXPECT_NE(std::string(e.what()).find("rsa1024"), std::string::npos);
}

TEST(Token, DuplicateKeyIdRefused) {
  auto t = logged_in_token("dup-id");
  t.generate_key(KeyAlgorithm::p256, "first", {0x11});
  auto e = expect_throw([&] { t.generate_key(KeyAlgorithm::p384, "second", {0x11}); });
  EXPECT_EQ(e.kind(), ErrorKind::conflict);
  EXPECT_NE(std::string(e.what()).find("11"), std::string::npos) << e.what();
  // Nothing was added: one key pair with that id, still the first.
  auto objs = t.objects();
  EXPECT_EQ(std::count_if(objs.begin(), objs.end(), [](const hsm::ObjectInfo& o) { return o.kind == "private key"; }),
            1);
  EXPECT_EQ(t.find_key(std::nullopt, Bytes{0x11}).label(), "first");
  // Another id is fine.
  EXPECT_NO_THROW(t.generate_key(KeyAlgorithm::p256, "second", {0x12}));
}

TEST(Token, KeyIdAndLabelChecked) {
  auto t = logged_in_token("bad-args");
  EXPECT_EQ(expect_throw([&] { t.generate_key(KeyAlgorithm::p256, "x", {}); }).kind(), ErrorKind::invalid_input);
  EXPECT_EQ(expect_throw([&] { t.generate_key(KeyAlgorithm::p256, "x", Bytes(65, 1)); }).kind(),
            ErrorKind::invalid_input);
  EXPECT_EQ(expect_throw([&] { t.generate_key(KeyAlgorithm::p256, "", {0x01}); }).kind(), ErrorKind::invalid_input);
  EXPECT_TRUE(t.objects().empty());
}

TEST(Token, FindKeyNotFound) {
  auto t = logged_in_token("find-missing");
  t.generate_key(KeyAlgorithm::p256, "present", {0x01});
  auto e = expect_throw([&] { t.find_key(std::string("absent"), std::nullopt); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_NE(std::string(e.what()).find("absent"), std::string::npos);
  EXPECT_EQ(expect_throw([&] { t.find_key(std::string("present"), Bytes{0x02}); }).kind(), ErrorKind::not_found);
}

TEST(Token, PrivateKeyIsSensitiveAndNeverExtractable) {
  auto t = logged_in_token("sensitive");
  t.generate_key(KeyAlgorithm::rsa2048, "rsa-key", {0xa1});
  t.generate_key(KeyAlgorithm::p256, "ec-key", {0xa2});
  auto privs = pkcs11_tool_objects("sensitive", "user-1234", "Private Key Object");
  ASSERT_EQ(privs.size(), 2u);
  for (const auto& p : privs) {
    EXPECT_NE(p.find("sensitive"), std::string::npos) << p;
    EXPECT_NE(p.find("always sensitive"), std::string::npos) << p;
    EXPECT_NE(p.find("never extractable"), std::string::npos) << p;
    EXPECT_NE(p.find("local"), std::string::npos) << p;   // generated on the token, not imported
    EXPECT_NE(p.find("sign"), std::string::npos) << p;
  }
  EXPECT_NE(privs[0].find("ID:"), std::string::npos);
  // The check tells keys apart: a software key imported with pkcs11-tool is sensitive, but was
  // extractable once and was not generated on the token.
  TempDir dir;
  auto der = dir / "imported.der";
  ASSERT_EQ(run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out " +
                sh_quote(der.string()))
                .status,
            0);
  auto imp = pkcs11_tool("sensitive", "user-1234",
                         "--write-object " + sh_quote(der.string()) + " --type privkey --id a3 --label imported");
  ASSERT_EQ(imp.status, 0) << imp.output;
  privs = pkcs11_tool_objects("sensitive", "user-1234", "Private Key Object");
  ASSERT_EQ(privs.size(), 3u);
  int generated = 0;
  for (const auto& p : privs) {
    bool imported = p.find("ID:         a3") != std::string::npos;
    EXPECT_EQ(p.find("never extractable") != std::string::npos, !imported) << p;
    EXPECT_EQ(p.find("local") != std::string::npos, !imported) << p;
    generated += !imported;
  }
  EXPECT_EQ(generated, 2);
}

TEST(Token, StoresACertificateAndItsChainNextToTheKey) {
  auto t = logged_in_token("with-cert");
  Bytes id{0x5e, 0x01};
  auto key = t.generate_key(KeyAlgorithm::p256, "signing-key", id);
  auto root_key = software_key();
  auto issuing_key = software_key();
  auto root = make_cert(root_key.get(), "Test Root", root_key.get(), "Test Root", true);
  auto issuing = make_cert(issuing_key.get(), "Test Issuing", root_key.get(), "Test Root", true);
  auto ee = make_cert(key.pkey(), "YAMADA Taro", issuing_key.get(), "Test Issuing", false);

  t.store_certificate(ee.get(), "signing-cert", id);
  t.store_certificate(issuing.get(), "chain-issuing", id);
  t.store_certificate(root.get(), "chain-root", id);

  auto ders = t.certificates();
  std::vector<Bytes> expected{ossl::cert_der(ee.get()), ossl::cert_der(issuing.get()), ossl::cert_der(root.get())};
  std::sort(ders.begin(), ders.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ders, expected);

  auto objs = t.objects();
  std::vector<std::string> cert_labels;
  for (const auto& o : objs) {
    EXPECT_EQ(o.id, id) << o.kind << " " << o.label;
    if (o.kind == "certificate") cert_labels.push_back(o.label + "|" + o.detail);
  }
  std::sort(cert_labels.begin(), cert_labels.end());
  EXPECT_EQ(cert_labels, (std::vector<std::string>{"chain-issuing|CN=Test Issuing", "chain-root|CN=Test Root",
                                                   "signing-cert|CN=YAMADA Taro"}));
  EXPECT_EQ(std::count_if(objs.begin(), objs.end(), [](const hsm::ObjectInfo& o) { return o.kind == "private key"; }),
            1);
  EXPECT_EQ(std::count_if(objs.begin(), objs.end(), [](const hsm::ObjectInfo& o) { return o.kind == "public key"; }),
            1);
  for (const auto& o : objs) {
    if (o.kind != "certificate") {
      EXPECT_EQ(o.detail, "EC P-256") << o.kind;
    }
  }

  // pkcs11-tool sees the certificates with the key's CKA_ID.
  auto certs = pkcs11_tool_objects("with-cert", "user-1234", "Certificate Object");
  ASSERT_EQ(certs.size(), 3u);
  for (const auto& c : certs) EXPECT_NE(c.find("ID:         5e01"), std::string::npos) << c;
  auto privs = pkcs11_tool_objects("with-cert", "user-1234", "Private Key Object");
  ASSERT_EQ(privs.size(), 1u);
  EXPECT_NE(privs[0].find("ID:         5e01"), std::string::npos) << privs[0];
  // And reads back the very certificate we stored.
  TempDir dir;
  auto read = pkcs11_tool("with-cert", "user-1234",
                          "--read-object --type cert --label signing-cert --output-file " +
                              sh_quote((dir / "ee.der").string()));
  ASSERT_EQ(read.status, 0) << read.output;
  auto der = read_file(dir / "ee.der");
  EXPECT_EQ(Bytes(der.begin(), der.end()), ossl::cert_der(ee.get()));

  // Removing by id removes the certificates and only them.
  EXPECT_EQ(t.remove_certificates(Bytes{0x99}), 0);
  EXPECT_EQ(t.remove_certificates(id), 3);
  EXPECT_TRUE(t.certificates().empty());
  EXPECT_EQ(t.remove_certificates(id), 0);
  EXPECT_TRUE(pkcs11_tool_objects("with-cert", "user-1234", "Certificate Object").empty());
  auto still = t.find_key(std::nullopt, id);
  auto sig = sign(still.pkey(), "after removal");
  EXPECT_EQ(openssl_verify(dir, key.pkey(), "after removal", sig).status, 0);
}

TEST(Token, RemoveCertificatesKeepsOtherIds) {
  auto t = logged_in_token("two-ids");
  auto k1 = t.generate_key(KeyAlgorithm::p256, "k1", {0x01});
  auto k2 = t.generate_key(KeyAlgorithm::p256, "k2", {0x02});
  auto c1 = make_cert(k1.pkey(), "one", k1.pkey(), "one", false);
  auto c2 = make_cert(k2.pkey(), "two", k2.pkey(), "two", false);
  t.store_certificate(c1.get(), "c1", {0x01});
  t.store_certificate(c2.get(), "c2", {0x02});
  EXPECT_EQ(t.remove_certificates({0x01}), 1);
  auto left = t.certificates();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], ossl::cert_der(c2.get()));
}

TEST(Token, KeyFoundBeforeALoginMustBeFoundAgain) {
  auto t = logged_in_token("stale-key");
  auto key = t.generate_key(KeyAlgorithm::p256, "k", {0x01});
  auto pub = public_pem(key.pkey());
  t.login("user-1234");
  // libp11 dropped the object behind the old handle: refused, not used after free.
  auto e = expect_throw<hsm::HsmError>([&] { key.pkey(); });
  EXPECT_EQ(e.kind(), ErrorKind::conflict);
  auto again = t.find_key(std::nullopt, Bytes{0x01});
  EXPECT_EQ(public_pem(again.pkey()), pub);
  TempDir dir;
  EXPECT_EQ(openssl_verify(dir, again.pkey(), "x", sign(again.pkey(), "x")).status, 0);
}

TEST(Token, KeysSurviveReopeningTheModule) {
  Bytes id{0x77};
  std::string pub;
  {
    auto t = logged_in_token("persist");
    pub = public_pem(t.generate_key(KeyAlgorithm::p384, "persistent", id).pkey());
  }
  // Every handle released: the module is unloaded and loaded again from its token files.
  auto module = hsm::Module::load(softhsm_module());
  hsm::Pkcs11Uri uri;
  uri.token = "persist";
  auto t = module->open(uri);
  t.login("user-1234");
  auto key = t.find_key(std::nullopt, id);
  EXPECT_EQ(public_pem(key.pkey()), pub);
  EXPECT_EQ(key.description(), "EC P-384");
}

}  // namespace
}  // namespace jitsuin::test
