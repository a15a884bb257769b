// The one UTF-8 check and the one e-mail check every module uses.
#include <gtest/gtest.h>

#include "jitsuin/core/text.h"

namespace jitsuin {
namespace {

TEST(Text, Utf8LengthCountsCodePointsAndRefusesMalformedText) {
  EXPECT_EQ(utf8_length("abc"), 3);
  EXPECT_EQ(utf8_length("山田太郎"), 4);
  EXPECT_EQ(utf8_length(""), 0);
  EXPECT_EQ(utf8_length("\xc0\xaf"), -1);           // overlong '/'
  EXPECT_EQ(utf8_length("\xed\xa0\x80"), -1);       // surrogate
  EXPECT_EQ(utf8_length("\xf4\x90\x80\x80"), -1);   // past U+10FFFF
  EXPECT_EQ(utf8_length("\xe5\xb1"), -1);           // truncated
  EXPECT_TRUE(is_valid_utf8("ｶﾅ"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Text, EmailAcceptsOrdinaryMailboxes) {
  for (const char* ok : {"taro@example.jp", "t.yamada+contracts@mail.sakura-kensetsu.co.jp", "a@b.jp",
                         "o'brien@example.com", "x_y-z@sub-1.example.org"})
    EXPECT_TRUE(is_valid_email(ok)) << ok;
}

TEST(Text, EmailRefusesInjectionAndMalformedAddresses) {
  for (const char* bad : {"taro@example.jp,DNS:www.bank.example", "taro@example.jp, IP:10.0.0.1", "a@b..ex",
                          "a@-b.ex", "a@b-.ex", "\"quoted\"@example.jp", "a@[10.0.0.1]", "a b@example.jp",
                          ".a@example.jp", "a.@example.jp", "a..b@example.jp", "@example.jp", "a@", "a@localhost",
                          "a@@example.jp", "a@b@example.jp", "taro@example.jp.", "山田@example.jp", "a<b>@example.jp",
                          "a@exa_mple.jp", ""})
    EXPECT_FALSE(is_valid_email(bad)) << bad;
  EXPECT_FALSE(is_valid_email(std::string(65, 'a') + "@example.jp"));
  EXPECT_FALSE(is_valid_email("a@" + std::string(64, 'b') + ".jp"));
  EXPECT_FALSE(is_valid_email(std::string(60, 'a') + "@" + std::string(60, 'b') + ".example.jp"));
}

}  // namespace
}  // namespace jitsuin
