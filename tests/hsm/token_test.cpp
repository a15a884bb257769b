// Token management as the applicant's local agent (`jitsuin token`, EN-3) uses it: listing,
// initialisation, the PIN policy, PIN changes and unblocking, and how wrong PINs are reported.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "hsm_util.h"
#include "jitsuin/hsm/pkcs11.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

using hsm::HsmError;
using hsm::KeyAlgorithm;
using hsm::Token;

constexpr unsigned long kPinIncorrect = 0xA0;      // CKR_PIN_INCORRECT
constexpr unsigned long kTokenNotPresent = 0xE0;   // CKR_TOKEN_NOT_PRESENT

// Runs f, which must throw E; returns the exception.
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

std::shared_ptr<hsm::Module> softhsm() { return hsm::Module::load(softhsm_module()); }

bool can_login(Token& t, const std::string& pin) {
  try {
    t.login(pin);
    t.logout();
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(Token, SeveralTokensCanBeInitialisedInOneProcess) {
  auto a = new_token("multi-a", "so-pin-1234", "user-1234");
  auto b = new_token("multi-b", "so-pin-1234", "user-1234");
  EXPECT_EQ(a.info().label, "multi-a");
  EXPECT_EQ(b.info().label, "multi-b");
}

TEST(Token, ListsTokensWithTheirState) {
  auto t = new_token("listed", "so-pin-1234", "user-1234");
  auto tokens = softhsm()->tokens();
  auto it = std::find_if(tokens.begin(), tokens.end(), [](const hsm::TokenInfo& i) { return i.label == "listed"; });
  ASSERT_NE(it, tokens.end());
  EXPECT_TRUE(it->present);
  EXPECT_TRUE(it->initialized);
  EXPECT_TRUE(it->user_pin_initialized);
  EXPECT_FALSE(it->user_pin_locked);
  EXPECT_EQ(it->manufacturer, "SoftHSM project");
  EXPECT_FALSE(it->serial.empty());
  EXPECT_EQ(it->slot_id, t.info().slot_id);
  // SoftHSM2 always offers one more, uninitialised token; it is listed too.
  EXPECT_TRUE(std::any_of(tokens.begin(), tokens.end(), [](const hsm::TokenInfo& i) { return !i.initialized; }));
  // The URI a listing shows opens that very token.
  auto uri = hsm::Pkcs11Uri::parse(it->uri());
  EXPECT_EQ(uri.token, "listed");
  EXPECT_EQ(uri.serial, it->serial);
  EXPECT_EQ(softhsm()->open(uri).info().slot_id, it->slot_id);
}

TEST(Token, UriNamingNoTokenIsNotPresent) {
  new_token("present", "so-pin-1234", "user-1234");
  hsm::Pkcs11Uri uri;
  uri.token = "absent-token";
  auto e = expect_throw<HsmError>([&] { softhsm()->open(uri); });
  EXPECT_EQ(e.kind(), ErrorKind::not_found);
  EXPECT_EQ(e.rv(), kTokenNotPresent);
  EXPECT_NE(std::string(e.what()).find("token not present"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("absent-token"), std::string::npos) << e.what();
  // A serial that no token has is not present either, even with a matching label.
  uri.token = "present";
  uri.serial = "0000000000000000";
  EXPECT_EQ(expect_throw<HsmError>([&] { softhsm()->open(uri); }).kind(), ErrorKind::not_found);
}

TEST(Token, InitialiseWipesEveryObjectAndResetsLabelAndBothPins) {
  auto t = new_token("before-init", "so-pin-1234", "user-1234");
  t.login("user-1234");
  auto key = t.generate_key(KeyAlgorithm::p256, "old-key", {0x01});
  auto cert = make_cert(key.pkey(), "old", key.pkey(), "old", false);
  t.store_certificate(cert.get(), "old-cert", {0x01});
  ASSERT_EQ(t.certificates().size(), 1u);

  t.initialize("so-pin-1234", "after-init", "new-user-5678");

  auto info = t.info();
  EXPECT_EQ(info.label, "after-init");
  EXPECT_TRUE(info.initialized);
  EXPECT_TRUE(info.user_pin_initialized);
  hsm::Pkcs11Uri old_uri;
  old_uri.token = "before-init";
  EXPECT_EQ(expect_throw<HsmError>([&] { softhsm()->open(old_uri); }).kind(), ErrorKind::not_found);

  // Both PINs were reset: the old user PIN no longer works, the new one does.
  auto e = expect_throw<HsmError>([&] { t.login("user-1234"); });
  EXPECT_EQ(e.rv(), kPinIncorrect);
  t.login("new-user-5678");
  EXPECT_TRUE(t.objects().empty());
  EXPECT_TRUE(t.certificates().empty());
  EXPECT_EQ(expect_throw([&] { t.find_key(std::nullopt, Bytes{0x01}); }).kind(), ErrorKind::not_found);
  // An independent tool agrees that nothing is left.
  auto listing = pkcs11_tool("after-init", "new-user-5678", "--list-objects");
  EXPECT_EQ(listing.status, 0) << listing.output;
  EXPECT_EQ(listing.output.find("Object;"), std::string::npos) << listing.output;
  // The SO PIN was set anew by the initialisation (here to the same value): it still unblocks.
  t.unblock_user_pin("so-pin-1234", "third-user-9");
  EXPECT_TRUE(can_login(t, "third-user-9"));
}

TEST(Token, InitialiseSetsANewSoPin) {
  auto t = new_token("so-reset", "so-pin-1234", "user-1234");
  t.initialize("so-pin-1234", "so-reset", "user-1234");
  // C_InitToken on an initialised token checks the current SO PIN and keeps it; a fresh one
  // comes from change_so_pin.
  t.change_so_pin("so-pin-1234", "so-pin-new-1");
  t.initialize("so-pin-new-1", "so-reset-2", "user-5678");
  EXPECT_EQ(t.info().label, "so-reset-2");
  EXPECT_EQ(expect_throw<HsmError>([&] { t.initialize("so-pin-1234", "x", "user-5678"); }).kind(),
            ErrorKind::unauthenticated);
}

TEST(Token, InitialisingAnInitialisedTokenNeedsTheCurrentSoPin) {
  auto t = new_token("guarded", "so-pin-1234", "user-1234");
  t.login("user-1234");
  t.generate_key(KeyAlgorithm::p256, "keep-me", {0x07});
  t.logout();
  auto e = expect_throw<HsmError>([&] { t.initialize("wrong-so-pin", "hijacked", "user-0000"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  // Unchanged: label, user PIN, objects.
  EXPECT_EQ(t.info().label, "guarded");
  t.login("user-1234");
  EXPECT_EQ(t.find_key(std::nullopt, Bytes{0x07}).label(), "keep-me");
}

struct BadPin {
  const char* name;
  std::string pin;
  const char* message;
};

void PrintTo(const BadPin& p, std::ostream* os) { *os << p.name; }

class PinPolicy : public ::testing::TestWithParam<BadPin> {};

TEST_P(PinPolicy, RefusedWithAClearErrorAndTheTokenUnchanged) {
  const auto& bad = GetParam();
  auto t = new_token("policy", "so-pin-1234", "user-1234");
  auto check = [&](const std::function<void()>& f) {
    auto e = expect_throw([&] { f(); });
    EXPECT_EQ(e.kind(), ErrorKind::invalid_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad.message), std::string::npos) << e.what();
  };
  check([&] { hsm::check_pin_policy(bad.pin, "user PIN"); });
  check([&] { t.initialize("so-pin-1234", "policy-2", bad.pin); });
  check([&] { t.initialize(bad.pin, "policy-2", "user-5678"); });
  check([&] { t.change_user_pin("user-1234", bad.pin); });
  check([&] { t.change_so_pin("so-pin-1234", bad.pin); });
  check([&] { t.unblock_user_pin("so-pin-1234", bad.pin); });
  EXPECT_EQ(t.info().label, "policy");
  EXPECT_TRUE(can_login(t, "user-1234"));
  t.change_so_pin("so-pin-1234", "so-pin-5678");   // the SO PIN was unchanged too
}

INSTANTIATE_TEST_SUITE_P(
    Token, PinPolicy,
    ::testing::Values(BadPin{"empty", "", "at least 4 characters"}, BadPin{"three", "123", "at least 4 characters"},
                      BadPin{"fullwidth_digits", "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xEF\xBC\x94", "half-width"},
                      BadPin{"kana", "abcd\xE3\x81\x82", "half-width"}, BadPin{"tab", "abc\tdef", "half-width"},
                      BadPin{"newline", "abcd\n", "half-width"}, BadPin{"nul", std::string("ab\0cd", 5), "half-width"},
                      BadPin{"too_long", std::string(65, 'a'), "at most 64"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Token, PinPolicyAcceptsPrintableAscii) {
  EXPECT_NO_THROW(hsm::check_pin_policy("1234", "PIN"));
  EXPECT_NO_THROW(hsm::check_pin_policy("pass word ~!@#$%^&*()", "PIN"));
  EXPECT_NO_THROW(hsm::check_pin_policy(std::string(64, 'x'), "PIN"));
}

TEST(Token, WrongUserPinSaysWhatTheTokenReportsAboutRemainingTries) {
  auto t = new_token("wrong-pin", "so-pin-1234", "user-1234");
  auto e = expect_throw<HsmError>([&] { t.login("not-the-pin"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  std::string msg = e.what();
  EXPECT_NE(msg.find("CKR_PIN_INCORRECT"), std::string::npos) << msg;
  EXPECT_NE(msg.find("wrong-pin"), std::string::npos) << msg;
  // SoftHSM2 raises CKF_USER_PIN_COUNT_LOW after a failure; the message passes that on.
  auto info = t.info();
  EXPECT_TRUE(info.user_pin_count_low);
  EXPECT_NE(msg.find("few tries left"), std::string::npos) << msg;
  EXPECT_FALSE(info.user_pin_locked);
  // The right PIN still works afterwards.
  t.login("user-1234");
}

TEST(Token, WrongPinIsReportedEvenWhenAlreadyLoggedIn) {
  // libp11 caches the login state and would report success without asking the token.
  auto t = new_token("relogin", "so-pin-1234", "user-1234");
  t.login("user-1234");
  t.login("user-1234");   // a second login with the right PIN is fine
  auto e = expect_throw<HsmError>([&] { t.login("not-the-pin"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  // Another copy of the Token (same slot) sees the same rule.
  Token copy = t;
  copy.login("user-1234");
  EXPECT_EQ(expect_throw<HsmError>([&] { copy.login("again-wrong"); }).rv(), kPinIncorrect);
}

TEST(Token, WrongSoPinIsReportedEvenWhenTheUserIsLoggedIn) {
  auto t = new_token("so-relogin", "so-pin-1234", "user-1234");
  t.login("user-1234");
  auto e = expect_throw<HsmError>([&] { t.login_so("wrong-so-pin"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  EXPECT_NE(std::string(e.what()).find("admin (SO)"), std::string::npos) << e.what();
  EXPECT_TRUE(t.info().so_pin_count_low);
  // And the right SO PIN after a user login really logs the SO in: it can set the user PIN.
  t.login("user-1234");
  t.login_so("so-pin-1234");
  t.logout();
  t.login("user-1234");
  t.unblock_user_pin("so-pin-1234", "user-after-so");
  EXPECT_TRUE(can_login(t, "user-after-so"));
}

TEST(Token, ChangeUserPin) {
  auto t = new_token("change-user", "so-pin-1234", "user-1234");
  t.change_user_pin("user-1234", "user-5678");
  EXPECT_FALSE(can_login(t, "user-1234"));
  EXPECT_TRUE(can_login(t, "user-5678"));
  // A wrong old PIN is refused as a wrong PIN, even right after a successful login.
  t.login("user-5678");
  auto e = expect_throw<HsmError>([&] { t.change_user_pin("user-0000", "user-9999"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  EXPECT_TRUE(can_login(t, "user-5678"));
  EXPECT_FALSE(can_login(t, "user-9999"));
}

TEST(Token, ChangeSoPin) {
  auto t = new_token("change-so", "so-pin-1234", "user-1234");
  t.change_so_pin("so-pin-1234", "so-pin-5678");
  EXPECT_EQ(expect_throw<HsmError>([&] { t.login_so("so-pin-1234"); }).rv(), kPinIncorrect);
  t.login_so("so-pin-5678");
  t.logout();
  auto e = expect_throw<HsmError>([&] { t.change_so_pin("so-pin-1234", "so-pin-9999"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  t.login_so("so-pin-5678");
  t.logout();
  // The user PIN is untouched by SO PIN changes.
  EXPECT_TRUE(can_login(t, "user-1234"));
}

TEST(Token, UnblockResetsTheUserPinWithTheSoPin) {
  auto t = new_token("unblock", "so-pin-1234", "user-1234");
  // A few wrong tries: the token reports the count low.
  for (int i = 0; i < 3; ++i) expect_throw<HsmError>([&] { t.login("wrong-" + std::to_string(i)); });
  EXPECT_TRUE(t.info().user_pin_count_low);
  t.unblock_user_pin("so-pin-1234", "user-reset-1");
  EXPECT_FALSE(t.info().user_pin_count_low);   // the failure count is reset
  EXPECT_TRUE(can_login(t, "user-reset-1"));
  EXPECT_FALSE(can_login(t, "user-1234"));
  // A wrong SO PIN unblocks nothing.
  auto e = expect_throw<HsmError>([&] { t.unblock_user_pin("wrong-so-pin", "user-reset-2"); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  EXPECT_EQ(e.rv(), kPinIncorrect);
  EXPECT_TRUE(can_login(t, "user-reset-1"));
  EXPECT_FALSE(can_login(t, "user-reset-2"));
}

TEST(Token, UnblockKeepsTheObjects) {
  auto t = new_token("unblock-keep", "so-pin-1234", "user-1234");
  t.login("user-1234");
  t.generate_key(KeyAlgorithm::p256, "kept", {0x42});
  t.unblock_user_pin("so-pin-1234", "user-5678");
  t.login("user-5678");
  EXPECT_EQ(t.find_key(std::string("kept"), std::nullopt).id(), (Bytes{0x42}));
}

TEST(Token, PrivateObjectsNeedALogin) {
  auto t = new_token("private", "so-pin-1234", "user-1234");
  t.login("user-1234");
  t.generate_key(KeyAlgorithm::p256, "secret", {0x01});
  t.logout();
  // Without a login the private key is invisible and cannot be used.
  EXPECT_EQ(expect_throw([&] { t.find_key(std::string("secret"), std::nullopt); }).kind(), ErrorKind::not_found);
  for (const auto& o : t.objects()) EXPECT_NE(o.kind, "private key");
  auto e = expect_throw<HsmError>([&] { t.generate_key(KeyAlgorithm::p256, "no-login", {0x02}); });
  EXPECT_EQ(e.kind(), ErrorKind::unauthenticated);
  t.login("user-1234");
  EXPECT_NO_THROW(t.find_key(std::string("secret"), std::nullopt));
}

}  // namespace
}  // namespace jitsuin::test
