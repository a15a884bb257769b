// RA-5 approval notice PDF, checked with poppler's pdfinfo and pdftotext.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/letter.h"
#include "support/support.h"

namespace jitsuin::test {
namespace {

namespace fs = std::filesystem;

ra::ApprovalLetter sample() {
  ra::ApprovalLetter d;
  d.applicant_name = "山田 太郎";
  d.postal_code = "105-0004";
  d.address_lines = {"東京都港区新橋二丁目6番2号", "新橋アイマークビル7階"};
  d.application_number = "A-2026-000123";
  d.application_pin = "K7QFM2XW93HD";
  d.pin_expires_at = 1'792'000'000;   // 2026-10-15 JST
  d.issued_at = 1'790'000'000;        // 2026-09-21 JST
  d.enrollment_url = "https://ra.example.jp/enroll";
  d.issuer_name = "jitsuin 認証局";
  d.help_desk = "help@example.jp / 03-0000-0000";
  return d;
}

std::string squeeze(const std::string& s) {
  std::string out;
  for (unsigned char c : s)
    if (!std::isspace(c)) out += static_cast<char>(c);
  // pdftotext may render the ideographic space as U+3000; drop it as well.
  std::string::size_type p;
  while ((p = out.find("\u3000")) != std::string::npos) out.erase(p, 3);
  return out;
}

struct Extracted {
  std::string info;
  std::string text;
};

Extracted inspect(const fs::path& pdf) {
  auto info = run("pdfinfo " + sh_quote(pdf.string()));
  EXPECT_EQ(info.status, 0) << info.output;
  auto text = run("pdftotext -enc UTF-8 " + sh_quote(pdf.string()) + " -");
  EXPECT_EQ(text.status, 0) << text.output;
  return {info.output, text.output};
}

TEST(ApprovalLetter, JapaneseLetterIsA4AndExtractsCorrectly) {
  TempDir dir;
  auto path = dir / "notice.pdf";
  ra::write_approval_letter(path, sample(), "ja");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);   // it carries the application PIN
  auto x = inspect(path);
  EXPECT_NE(x.info.find("Pages:           1"), std::string::npos) << x.info;
  EXPECT_NE(x.info.find("(A4)"), std::string::npos) << x.info;
  EXPECT_NE(x.info.find("595.276 x 841.89 pts"), std::string::npos) << x.info;
  std::string t = squeeze(x.text);
  for (const char* want : {"山田太郎様", "東京都港区新橋二丁目6番2号", "〒105-0004", "電子証明書発行申請承認通知書",
                           "申請PIN", "K7QFM2XW93HD", "A-2026-000123", "2026年10月15日", "発行日：2026年9月21日",
                           "https://ra.example.jp/enroll", "eToken", "ダウンロードPIN", "電子証明書の取得手順",
                           "本人限定受取郵便", "jitsuin認証局"})
    EXPECT_NE(t.find(want), std::string::npos) << "missing '" << want << "' in:\n" << x.text;
  // The PIN is printed in groups of four for easy typing.
  EXPECT_NE(x.text.find("K7QF"), std::string::npos);
  EXPECT_EQ(ra::format_pin_for_print("K7QFM2XW93HD"), "K7QF M2XW 93HD");
  // The steps come in order: token, page, PIN, key on the token, download PIN mail, enter it, written.
  auto pos = [&](const char* s) { return t.find(s); };
  EXPECT_LT(pos("1.eToken"), pos("2.電子証明書の取得ページ"));
  EXPECT_LT(pos("2.電子証明書の取得ページ"), pos("3.申請番号と"));
  EXPECT_LT(pos("3.申請番号と"), pos("4.電子署名用の鍵がeTokenの中で生成"));
  EXPECT_LT(pos("4.電子署名用の鍵がeTokenの中で生成"), pos("5.申請書に記載したメールアドレスに「ダウンロードPIN」"));
  EXPECT_LT(pos("5.申請書"), pos("6.取得ページでダウンロードPINを入力"));
  EXPECT_LT(pos("6.取得ページ"), pos("7.電子証明書がeTokenに書き込まれます"));
  EXPECT_NE(pos("7.電子証明書がeTokenに書き込まれます"), std::string::npos);
}

TEST(ApprovalLetter, EnglishVariant) {
  TempDir dir;
  auto path = dir / "notice-en.pdf";
  ra::write_approval_letter(path, sample(), "en");
  auto x = inspect(path);
  EXPECT_NE(x.info.find("(A4)"), std::string::npos) << x.info;
  std::string t = squeeze(x.text);
  for (const char* want : {"ApprovalNotice", "山田太郎", "ApplicationPIN", "K7QFM2XW93HD", "A-2026-000123",
                           "15October2026", "downloadPIN", "eToken", "https://ra.example.jp/enroll"})
    EXPECT_NE(t.find(want), std::string::npos) << "missing '" << want << "' in:\n" << x.text;
  EXPECT_EQ(t.find("承認通知書"), std::string::npos);
}

TEST(ApprovalLetter, RendersInMemoryAsPdf) {
  auto pdf = ra::render_approval_letter(sample(), "ja");
  ASSERT_GT(pdf.size(), 1000u);
  EXPECT_EQ(std::string(pdf.begin(), pdf.begin() + 5), "%PDF-");
}

TEST(ApprovalLetter, RefusesIncompleteDataAndUnknownLanguage) {
  EXPECT_THROW(ra::render_approval_letter(sample(), "fr"), Error);
  auto d = sample();
  d.application_pin.clear();
  EXPECT_THROW(ra::render_approval_letter(d, "ja"), Error);
  d = sample();
  d.address_lines.clear();
  EXPECT_THROW(ra::render_approval_letter(d, "ja"), Error);
  d = sample();
  d.applicant_name.clear();
  EXPECT_THROW(ra::render_approval_letter(d, "en"), Error);
  TempDir dir;
  EXPECT_THROW(ra::write_approval_letter(dir / "x.pdf", d, "ja"), Error);
  EXPECT_FALSE(fs::exists(dir / "x.pdf"));
}

TEST(ApprovalLetter, PinIsRegroupedWithSpacesWhateverItsSeparators) {
  EXPECT_EQ(ra::format_pin_for_print("ABCD-EFGH"), "ABCD EFGH");
  EXPECT_EQ(ra::format_pin_for_print("ABCD EFGH-IJ"), "ABCD EFGH IJ");
  EXPECT_EQ(ra::format_pin_for_print("123456"), "1234 56");
}

TEST(ApprovalLetter, LongHyphenatedPinStaysOnOneLine) {
  // The RA's PINs look like XXXX-XXXX-XXXX-XXXX; printed they must neither wrap nor overlap the
  // expiry line under them (pdftotext shows a wrapped PIN as two lines).
  TempDir dir;
  auto d = sample();
  d.application_pin = "K7QM-3XPA-9TZD-W2HC";
  for (const char* lang : {"ja", "en"}) {
    auto path = dir / (std::string(lang) + ".pdf");
    ra::write_approval_letter(path, d, lang);
    auto x = inspect(path);
    EXPECT_NE(x.text.find("\nK7QM 3XPA 9TZD W2HC\n"), std::string::npos) << x.text;
  }
}

}  // namespace
}  // namespace jitsuin::test
