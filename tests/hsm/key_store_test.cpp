// The key-store seam: the factory chooses the backend by hsm.type, opening a store touches no
// device, and a key generated through it is found again by its reference and signs on the token
// (checked by the openssl command line and pkcs11-tool, not by our own code).
#include <gtest/gtest.h>

#include "hsm_util.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::test {
namespace {

config::Config token_config(const TempDir& home, const std::string& label, const std::string& pin) {
  config::Config c;
  c.home = home.path();
  c.hsm.embedded_softhsm = false;
  c.hsm.module = softhsm_module();
  c.hsm.token = "pkcs11:token=" + label;
  c.hsm.pin_env = "";
  c.hsm.pin_file = home / "ca.pin";
  write_file_atomic(c.hsm.pin_file, pin + "\n", 0600);
  return c;
}

TEST(KeyStore, UnknownTypeIsAStartUpError) {
  config::Config c;
  c.hsm.type = "cloud-kms";
  std::string msg = expect_error([&] { hsm::open_key_store(c); }, ErrorKind::config);
  EXPECT_NE(msg.find("cloud-kms"), std::string::npos) << msg;
}

TEST(KeyStore, OpeningTouchesNoDeviceUntilAKeyIsUsed) {
  TempDir home;
  auto c = token_config(home, "no-such-token", "1234");
  c.hsm.module = home / "no-such-module.so";
  auto keys = hsm::open_key_store(c);   // nothing loaded, nothing opened
  EXPECT_EQ(keys->type(), "pkcs11");
  std::string msg = expect_error([&] { keys->find("pkcs11:token=no-such-token;object=k;type=private"); },
                                 ErrorKind::config);
  EXPECT_NE(msg.find("no-such-module.so"), std::string::npos) << msg;
}

TEST(KeyStore, GeneratedKeyIsFoundByItsReferenceAndSignsOnTheToken) {
  TempDir home;
  const std::string label = "keystore-" + std::to_string(getpid()), pin = "user-pin-1234";
  new_token(label, "so-pin-1234", pin);
  auto c = token_config(home, label, pin);
  auto keys = hsm::open_key_store(c);
  auto made = keys->generate("signer-a", hsm::KeyAlgorithm::p256);
  EXPECT_EQ(made->description(), "EC P-256");
  EXPECT_NE(made->reference().find("object=signer-a"), std::string::npos) << made->reference();
  EXPECT_NE(made->reference().find("token=" + label), std::string::npos) << made->reference();

  // A second store (another process would do the same) finds the key by the stored reference.
  auto again = hsm::open_key_store(c)->find(made->reference());
  Bytes sig = sign(again->pkey(), "contract text");
  auto v = openssl_verify(home, made->pkey(), "contract text", sig);
  EXPECT_EQ(v.status, 0) << v.output;
  // The key is on the token, private and not extractable, as pkcs11-tool sees it.
  auto objects = pkcs11_tool_objects(label, pin, "Private Key Object");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_NE(objects[0].find("signer-a"), std::string::npos) << objects[0];
  EXPECT_NE(objects[0].find("never extractable"), std::string::npos) << objects[0];

  expect_error([&] { keys->find("pkcs11:token=" + label + ";object=nobody;type=private"); }, ErrorKind::not_found);
  expect_error([&] { keys->find("pkcs11:token=" + label); }, ErrorKind::invalid_input);
}

}  // namespace
}  // namespace jitsuin::test
