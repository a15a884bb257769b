// Issue 20 item 2: a process that ran out of file descriptors while it used the token must sign
// again with the same key once the descriptors are back (real SoftHSM2, real descriptor shortage
// made with dup() until EMFILE).
#include <gtest/gtest.h>

#include <cerrno>
#include <unistd.h>

#include <vector>

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

// Takes every free descriptor of the process; gives them back when it goes.
struct Exhaust {
  std::vector<int> fds;
  Exhaust() {
    for (;;) {
      int fd = dup(0);
      if (fd < 0) {
        EXPECT_EQ(errno, EMFILE);
        break;
      }
      fds.push_back(fd);
    }
  }
  ~Exhaust() {
    for (int fd : fds) close(fd);
  }
};

bool try_sign(EVP_PKEY* key) {
  try {
    return !sign(key, "during the shortage").empty();
  } catch (const std::exception&) {
    return false;
  }
}

TEST(TokenReopen, KeySignsAgainAfterTheProcessRanOutOfDescriptors) {
  TempDir home;
  const std::string label = "reopen-" + std::to_string(getpid()), pin = "user-pin-1234";
  new_token(label, "so-pin-1234", pin);
  auto c = token_config(home, label, pin);
  auto keys = hsm::open_key_store(c);
  auto made = keys->generate("tls-key", hsm::KeyAlgorithm::p256);
  std::shared_ptr<const hsm::Signer> key = keys->find(made->reference());
  // As jitsuind installs the TLS key: a self-holding wrapper made once, before the shortage.
  ossl::PKey tls_key = hsm::self_holding_pkey(key);
  Bytes before = sign(tls_key.get(), "before");
  EXPECT_EQ(openssl_verify(home, made->pkey(), "before", before).status, 0);

  bool signed_in_shortage = false;
  {
    Exhaust gone;
    signed_in_shortage = try_sign(tls_key.get());
  }
  std::cerr << "signature while out of descriptors: " << (signed_in_shortage ? "made" : "failed") << "\n";
  // The descriptors are back: the same wrapper signs again (the token is opened again once),
  Bytes after = sign(tls_key.get(), "after");
  auto v = openssl_verify(home, made->pkey(), "after", after);
  EXPECT_EQ(v.status, 0) << v.output;
  // the signer's own pkey() (how the CA and the OCSP responder sign) has the key found anew,
  Bytes direct = sign(key->pkey(), "direct");
  EXPECT_EQ(openssl_verify(home, made->pkey(), "direct", direct).status, 0);
  // and so has a key found anew through another store of the process (same shared token).
  Bytes again = sign(hsm::open_key_store(c)->find(made->reference())->pkey(), "again");
  EXPECT_EQ(openssl_verify(home, made->pkey(), "again", again).status, 0);
}

}  // namespace
}  // namespace jitsuin::test
