// RA-10 mail templates. Each template is a list of lines with {param} placeholders; a line whose
// placeholder has no value is left out, so optional params need no special cases.
#include "mail_templates.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "jitsuin/core/error.h"
#include "jitsuin/core/text.h"

namespace jitsuin::ra::mail {

namespace {

using nlohmann::json;

enum class Kind {
  text,     ///< a string (an integer is printed as is)
  time,     ///< a UnixTime integer rendered in Japan time, or a preformatted string
  change,   ///< "link" or "unlink", rendered as words
};

struct Param {
  const char* name;
  Kind kind;
  bool required;
  bool secret;
};

struct Text {
  const char* subject;
  const char* body;
};

struct Template {
  const char* name;
  std::vector<Param> params;
  Text ja;
  Text en;
};

constexpr const char* kFooterJa =
    "\n"
    "--\n"
    "このメールは jitsuin 認証局から送信専用のアドレスで自動送信しています。\n"
    "お心当たりのない場合は、このメールを破棄し、ヘルプデスクへご連絡ください。\n";

constexpr const char* kFooterEn =
    "\n"
    "--\n"
    "This mail was sent automatically by the jitsuin certification authority from an address that\n"
    "does not receive replies. If you did not expect it, delete it and contact the help desk.\n";

// Wording follows the service's own documents: 申請PIN (application PIN), 承認通知書 (approval
// notice), 本人限定受取郵便 (restricted delivery: handed over only to the addressee in person),
// ダウンロードPIN (download PIN).
const std::vector<Template>& templates() {
  static const std::vector<Template> all = {
      {"application_received",
       {{"name", Kind::text, true, false},
        {"application_number", Kind::text, true, false},
        {"received_at", Kind::time, false, false}},
       {"【jitsuin】電子証明書発行申請を受け付けました（申請番号 {application_number}）",
        "{name} 様\n"
        "\n"
        "電子証明書発行申請を受け付けました。\n"
        "\n"
        "申請番号: {application_number}\n"
        "受付日時: {received_at}\n"
        "\n"
        "審査のうえ承認しましたら、申請PINを記載した「承認通知書」を本人限定受取郵便で\n"
        "ご本人の住所へお送りします。\n"
        "お問い合わせの際は申請番号をお知らせください。このメールは保管してください。\n"},
       {"[jitsuin] Certificate application received (application {application_number})",
        "Dear {name},\n"
        "\n"
        "We have received your certificate application.\n"
        "\n"
        "Application number: {application_number}\n"
        "Received: {received_at}\n"
        "\n"
        "Once the application is reviewed and approved, an approval notice with your application\n"
        "PIN is sent to your home address by restricted delivery (handed over to you in person only).\n"
        "Please quote the application number in any enquiry and keep this mail.\n"}},
      {"pin_issued",
       {{"name", Kind::text, true, false},
        {"application_number", Kind::text, true, false},
        {"pin_expires_at", Kind::time, false, false}},
       {"【jitsuin】承認通知書（申請PIN）を発送しました（申請番号 {application_number}）",
        "{name} 様\n"
        "\n"
        "電子証明書発行申請を承認し、申請PINを記載した「承認通知書」を本人限定受取郵便で\n"
        "発送しました。\n"
        "\n"
        "申請番号: {application_number}\n"
        "申請PINの有効期限: {pin_expires_at}\n"
        "\n"
        "郵便局から「本人限定受取郵便到着のお知らせ」が届きましたら、本人確認書類（運転免許証など）\n"
        "をお持ちのうえ、郵便局の窓口でお受け取りください。郵便局での保管期間は1週間です。\n"
        "申請PINはこのメールには記載していません。承認通知書の手順に従って電子証明書を取得してください。\n"},
       {"[jitsuin] Approval notice with your application PIN posted (application {application_number})",
        "Dear {name},\n"
        "\n"
        "Your certificate application has been approved. The approval notice with your application\n"
        "PIN has been posted to you by restricted delivery.\n"
        "\n"
        "Application number: {application_number}\n"
        "Application PIN valid until: {pin_expires_at}\n"
        "\n"
        "When the post office tells you the letter has arrived, collect it at the counter with an\n"
        "identity document (e.g. a driving licence). The post office keeps it for one week.\n"
        "The application PIN is not in this mail. Follow the steps in the approval notice to obtain\n"
        "your certificate.\n"}},
      {"download_pin",
       {{"name", Kind::text, true, false},
        {"application_number", Kind::text, true, false},
        {"download_pin", Kind::text, true, true},
        {"expires_at", Kind::time, false, false},
        {"enrollment_url", Kind::text, false, false}},
       {"【jitsuin】ダウンロードPINのお知らせ（申請番号 {application_number}）",
        "{name} 様\n"
        "\n"
        "電子証明書のWEB申請を受け付けました。電子証明書を取得するためのダウンロードPINを\n"
        "お知らせします。\n"
        "\n"
        "申請番号: {application_number}\n"
        "ダウンロードPIN: {download_pin}\n"
        "有効期限: {expires_at}\n"
        "取得ページ: {enrollment_url}\n"
        "\n"
        "取得ページでダウンロードPINを入力すると、電子証明書がeTokenに書き込まれます。\n"
        "大変重要なメールです。内容を紛失しないよう、必ず印刷して控えてください。\n"
        "ダウンロードPINは他人に知らせないでください。\n"},
       {"[jitsuin] Your download PIN (application {application_number})",
        "Dear {name},\n"
        "\n"
        "We have received your online certificate request. Here is the download PIN you need to\n"
        "obtain the certificate.\n"
        "\n"
        "Application number: {application_number}\n"
        "Download PIN: {download_pin}\n"
        "Valid until: {expires_at}\n"
        "Enrollment page: {enrollment_url}\n"
        "\n"
        "Enter the download PIN on the enrollment page and the certificate is written to your eToken.\n"
        "This mail is important: print it and keep the copy safe. Do not tell anyone the download PIN.\n"}},
      {"user_id",
       {{"name", Kind::text, true, false},
        {"user_id", Kind::text, true, false},
        {"password", Kind::text, true, true},
        {"company_id", Kind::text, false, false},
        {"service_url", Kind::text, false, false}},
       {"【jitsuin】ユーザIDとパスワードのお知らせ",
        "{name} 様\n"
        "\n"
        "サービスをご利用いただくためのIDと初期パスワードをお知らせします。\n"
        "\n"
        "企業ID: {company_id}\n"
        "ユーザID: {user_id}\n"
        "初期パスワード: {password}\n"
        "ログインページ: {service_url}\n"
        "\n"
        "初めてログインしたときに、パスワードを変更してください。\n"
        "このIDとパスワードは重要なものです。紛失のないよう、大切に保管してください。\n"},
       {"[jitsuin] Your user ID and password",
        "Dear {name},\n"
        "\n"
        "Here are the ID and initial password for using the service.\n"
        "\n"
        "Company ID: {company_id}\n"
        "User ID: {user_id}\n"
        "Initial password: {password}\n"
        "Sign-in page: {service_url}\n"
        "\n"
        "Please change the password when you first sign in.\n"
        "This ID and password are important: keep them safe.\n"}},
      // RA-9: the Form-4 contact person receives each user ID and its initial password too
      // (seed 001: 「ユーザID」および「パスワード」 → 連絡担当者 and the Form-6 applicant).
      {"user_id_contact",
       {{"name", Kind::text, true, false},
        {"user_name", Kind::text, true, false},
        {"user_id", Kind::text, true, false},
        {"password", Kind::text, true, true},
        {"company_id", Kind::text, false, false},
        {"service_url", Kind::text, false, false}},
       {"【jitsuin】ユーザID発行のお知らせ（{user_name} 様）",
        "{name} 様\n"
        "\n"
        "ご連絡担当者として、次のユーザIDと初期パスワードをお知らせします。\n"
        "\n"
        "ご利用者: {user_name} 様\n"
        "企業ID: {company_id}\n"
        "ユーザID: {user_id}\n"
        "初期パスワード: {password}\n"
        "ログインページ: {service_url}\n"
        "\n"
        "ご利用者にも同じ内容をお送りしています。初めてログインしたときに、パスワードを変更していただくようお伝えください。\n"
        "このIDとパスワードは重要なものです。紛失のないよう、大切に保管してください。\n"},
       {"[jitsuin] User ID issued for {user_name}",
        "Dear {name},\n"
        "\n"
        "As the contact person, you receive the following user ID and its initial password.\n"
        "\n"
        "User: {user_name}\n"
        "Company ID: {company_id}\n"
        "User ID: {user_id}\n"
        "Initial password: {password}\n"
        "Sign-in page: {service_url}\n"
        "\n"
        "The user received the same mail. Please ask them to change the password when they first sign in.\n"
        "This ID and password are important: keep them safe.\n"}},
      {"expiry_notice",
       {{"name", Kind::text, true, false},
        {"serial", Kind::text, true, false},
        {"not_after", Kind::time, true, false},
        {"days_left", Kind::text, false, false},
        {"renewal_url", Kind::text, false, false}},
       {"【jitsuin】電子証明書の有効期限が近づいています（{not_after}まで）",
        "{name} 様\n"
        "\n"
        "ご利用中の電子証明書の有効期限が近づいています。\n"
        "\n"
        "シリアル番号: {serial}\n"
        "有効期限: {not_after}\n"
        "残り日数: {days_left}日\n"
        "\n"
        "引き続きご利用になる場合は、有効期限までに更新申請を行ってください。\n"
        "更新申請では、前回の申請内容を利用できます。\n"
        "更新申請ページ: {renewal_url}\n"
        "有効期間の途中で利用をやめた場合でも、残りの期間分の料金は返金されません。\n"},
       {"[jitsuin] Your certificate expires soon ({not_after})",
        "Dear {name},\n"
        "\n"
        "Your certificate is about to expire.\n"
        "\n"
        "Serial number: {serial}\n"
        "Valid until: {not_after}\n"
        "Days left: {days_left}\n"
        "\n"
        "To keep using it, apply for renewal before it expires. A renewal application re-uses the\n"
        "data of your earlier application.\n"
        "Renewal page: {renewal_url}\n"
        "Unused validity is not refunded.\n"}},
      {"certificate_issued",
       {{"name", Kind::text, true, false},
        {"serial", Kind::text, true, false},
        {"not_after", Kind::time, true, false},
        {"subject", Kind::text, false, false}},
       {"【jitsuin】電子証明書を発行しました",
        "{name} 様\n"
        "\n"
        "電子証明書を発行しました。\n"
        "\n"
        "シリアル番号: {serial}\n"
        "記載事項: {subject}\n"
        "有効期限: {not_after}\n"
        "\n"
        "電子証明書を格納したeTokenは社印と同等のものです。大切に保管してください。\n"
        "有効期限が近づきましたら、更新手続きのご案内をお送りします。\n"},
       {"[jitsuin] Your certificate has been issued",
        "Dear {name},\n"
        "\n"
        "Your certificate has been issued.\n"
        "\n"
        "Serial number: {serial}\n"
        "Subject: {subject}\n"
        "Valid until: {not_after}\n"
        "\n"
        "An eToken holding your certificate is worth as much as the company seal: keep it safe.\n"
        "We will tell you before the certificate expires how to renew it.\n"}},
      {"link_changed",
       {{"name", Kind::text, true, false},
        {"user_id", Kind::text, true, false},
        {"serial", Kind::text, true, false},
        {"change", Kind::change, true, false},
        {"changed_by", Kind::text, false, false}},
       {"【jitsuin】電子証明書とユーザIDの紐付けが変更されました",
        "{name} 様\n"
        "\n"
        "電子証明書とユーザIDの紐付けが変更されました。\n"
        "\n"
        "ユーザID: {user_id}\n"
        "電子証明書のシリアル番号: {serial}\n"
        "変更内容: {change}\n"
        "変更者: {changed_by}\n"
        "\n"
        "ユーザIDで署名できるのは、紐付けられた電子証明書だけです。\n"
        "お心当たりのない変更の場合は、直ちにヘルプデスクへご連絡ください。\n"},
       {"[jitsuin] Certificate link of your user ID changed",
        "Dear {name},\n"
        "\n"
        "The link between a certificate and a user ID has changed.\n"
        "\n"
        "User ID: {user_id}\n"
        "Certificate serial number: {serial}\n"
        "Change: {change}\n"
        "Changed by: {changed_by}\n"
        "\n"
        "A user ID can sign only with a certificate linked to it.\n"
        "If you did not expect this change, contact the help desk at once.\n"}},
      {"revocation",
       {{"name", Kind::text, true, false},
        {"serial", Kind::text, true, false},
        {"effective_at", Kind::time, true, false},
        {"reason", Kind::text, false, false}},
       {"【jitsuin】電子証明書の失効のお知らせ",
        "{name} 様\n"
        "\n"
        "下記の電子証明書を失効します。失効日時以降、この電子証明書は利用できなくなります。\n"
        "\n"
        "シリアル番号: {serial}\n"
        "失効理由: {reason}\n"
        "失効日時: {effective_at}\n"
        "\n"
        "新たに電子証明書が必要な場合は、新規に申請してください。\n"},
       {"[jitsuin] Certificate revocation",
        "Dear {name},\n"
        "\n"
        "The certificate below is being revoked. From the time given it can no longer be used.\n"
        "\n"
        "Serial number: {serial}\n"
        "Reason: {reason}\n"
        "Effective: {effective_at}\n"
        "\n"
        "If you need a certificate again, please submit a new application.\n"}},
      // issue 10 (smime), seed 004: the coupons of an order go to its delivery address (the buyer
      // need not be the holder); the holder's application PIN goes to the address applied for.
      {"smime_coupons",
       {{"name", Kind::text, true, false},
        {"order_number", Kind::text, true, false},
        {"product", Kind::text, true, false},
        {"quantity", Kind::text, true, false},
        {"coupons", Kind::text, true, true},
        {"expires_at", Kind::time, false, false},
        {"application_url", Kind::text, false, false}},
       {"【jitsuin】S/MIME証明書クーポンのお届け（注文番号 {order_number}）",
        "{name} 様\n"
        "\n"
        "ご注文いただいたS/MIME証明書（セキュアメール）のクーポンをお届けします。\n"
        "\n"
        "注文番号: {order_number}\n"
        "製品: {product}\n"
        "数量: {quantity}\n"
        "クーポン: {coupons}\n"
        "有効期限: {expires_at}\n"
        "申請ページ: {application_url}\n"
        "\n"
        "クーポン1枚でメールアドレス1つの証明書を1枚申請できます。証明書を取得する方に\n"
        "クーポンをお渡しください。申請後15分程度で、申請したメールアドレスに申請PINが届きます。\n"
        "クーポンは他人に知らせないでください。\n"},
       {"[jitsuin] Your S/MIME certificate coupons (order {order_number})",
        "Dear {name},\n"
        "\n"
        "Here are the coupons for the S/MIME (secure mail) certificates you ordered.\n"
        "\n"
        "Order number: {order_number}\n"
        "Product: {product}\n"
        "Quantity: {quantity}\n"
        "Coupons: {coupons}\n"
        "Valid until: {expires_at}\n"
        "Application page: {application_url}\n"
        "\n"
        "One coupon buys one certificate for one e-mail address. Give each coupon to the person who\n"
        "will hold the certificate; about 15 minutes after applying, they receive an application PIN\n"
        "at the address applied for. Do not tell anyone else the coupons.\n"}},
      {"smime_application_pin",
       {{"name", Kind::text, true, false},
        {"application_number", Kind::text, true, false},
        {"application_pin", Kind::text, true, true},
        {"email", Kind::text, true, false},
        {"expires_at", Kind::time, false, false},
        {"enrollment_url", Kind::text, false, false}},
       {"【jitsuin】S/MIME証明書の申請PINのお知らせ（申請番号 {application_number}）",
        "{name} 様\n"
        "\n"
        "クーポンによるS/MIME証明書の申請を受け付けました。このメールアドレスに届いたことで、\n"
        "アドレスの確認を兼ねています。\n"
        "\n"
        "申請番号: {application_number}\n"
        "申請PIN: {application_pin}\n"
        "証明書に記載するメールアドレス: {email}\n"
        "有効期限: {expires_at}\n"
        "取得ページ: {enrollment_url}\n"
        "\n"
        "申請番号と申請PINで証明書を取得してください。メールアドレスを誤った場合や取得に失敗した\n"
        "場合は、同じクーポンで再発行を申請してください（以前の証明書は無効になります）。\n"
        "申請PINは他人に知らせないでください。\n"},
       {"[jitsuin] Your S/MIME application PIN (application {application_number})",
        "Dear {name},\n"
        "\n"
        "We have received your S/MIME certificate application made with a coupon. That this mail\n"
        "reached you confirms the address.\n"
        "\n"
        "Application number: {application_number}\n"
        "Application PIN: {application_pin}\n"
        "Address in the certificate: {email}\n"
        "Valid until: {expires_at}\n"
        "Enrollment page: {enrollment_url}\n"
        "\n"
        "Obtain the certificate with the application number and PIN. If the address was wrong or the\n"
        "retrieval failed, apply for a re-issue with the same coupon (the earlier certificate is then\n"
        "invalidated). Do not tell anyone the application PIN.\n"}},
  };
  return all;
}

const Template& find(const std::string& name) {
  for (const auto& t : templates())
    if (name == t.name) return t;
  throw Error(ErrorKind::invalid_input, "unknown mail template '" + name + "'");
}


bool has_control(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

std::string two(int v) { return (v < 10 ? "0" : "") + std::to_string(v); }

// Japan has no daylight saving time: UTC+9 all year.
std::string format_japan_time(UnixTime t, const std::string& language) {
  std::time_t jst = static_cast<std::time_t>(t + kJapanUtcOffsetSeconds);
  std::tm tm{};
  gmtime_r(&jst, &tm);
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  if (language == "ja")
    return std::to_string(tm.tm_year + 1900) + "年" + std::to_string(tm.tm_mon + 1) + "月" +
           std::to_string(tm.tm_mday) + "日 " + two(tm.tm_hour) + ":" + two(tm.tm_min) + "（日本時間）";
  return std::to_string(tm.tm_mday) + " " + kMonths[tm.tm_mon] + " " + std::to_string(tm.tm_year + 1900) + ", " +
         two(tm.tm_hour) + ":" + two(tm.tm_min) + " JST";
}

std::string value_text(const Param& p, const json& v, const std::string& language) {
  if (v.is_number_integer()) {
    if (p.kind == Kind::time) return format_japan_time(v.get<std::int64_t>(), language);
    return std::to_string(v.get<std::int64_t>());
  }
  std::string s = v.get<std::string>();
  if (p.kind == Kind::change) {
    if (s == "link") return language == "ja" ? "紐付けました" : "linked";
    return language == "ja" ? "紐付けを解除しました" : "unlinked";
  }
  return s;
}

std::string fill(const Template& t, const char* text, const std::string& language, const json& params,
                 bool drop_empty_lines) {
  std::string out;
  std::string_view rest(text);
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    std::string filled;
    bool missing = false;
    std::size_t i = 0;
    while (i < line.size()) {
      auto open = line.find('{', i);
      if (open == std::string_view::npos) {
        filled.append(line.substr(i));
        break;
      }
      auto close = line.find('}', open);
      if (close == std::string_view::npos) throw Error(ErrorKind::internal, "unterminated placeholder in template");
      filled.append(line.substr(i, open - i));
      std::string key(line.substr(open + 1, close - open - 1));
      const Param* spec = nullptr;
      for (const auto& p : t.params)
        if (key == p.name) spec = &p;
      if (!spec) throw Error(ErrorKind::internal, "template " + std::string(t.name) + " uses unknown param " + key);
      auto it = params.find(key);
      std::string value = it == params.end() || it->is_null() ? "" : value_text(*spec, *it, language);
      if (value.empty()) missing = true;
      filled += value;
      i = close + 1;
    }
    if (missing && drop_empty_lines) continue;
    out += filled;
    if (nl != std::string_view::npos) out += '\n';
  }
  return out;
}

// Encoded-words within 75 characters (RFC 2047 section 2): 39 bytes of text become 52 base64
// characters plus 12 of framing, so even "Subject: " and the first word fit a 78-character line. Chunks end on UTF-8 character boundaries; words are folded.
std::string encoded_words(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::size_t end = std::min(utf8.size(), i + 39);
    while (end < utf8.size() && (static_cast<unsigned char>(utf8[end]) >> 6) == 2) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + to_base64(utf8.substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

}  // namespace

void validate(const std::string& template_name, const std::string& language, const json& params) {
  const Template& t = find(template_name);
  JITSUIN_ARG_CHECK(language == "ja" || language == "en", "mail language must be \"ja\" or \"en\", not '" + language + "'");
  JITSUIN_ARG_CHECK(params.is_null() || params.is_object(), "mail params must be a JSON object");
  if (params.is_object()) {
    for (auto it = params.begin(); it != params.end(); ++it) {
      const Param* spec = nullptr;
      for (const auto& p : t.params)
        if (it.key() == p.name) spec = &p;
      JITSUIN_ARG_CHECK(spec, "template " + template_name + " has no param '" + it.key() + "'");
      const json& v = it.value();
      if (v.is_null()) continue;
      if (v.is_number_integer()) {
        JITSUIN_ARG_CHECK(spec->kind != Kind::change, "param " + it.key() + " must be \"link\" or \"unlink\"");
        continue;
      }
      JITSUIN_ARG_CHECK(v.is_string(), "param " + it.key() + " must be a string");
      const auto& s = v.get_ref<const std::string&>();
      JITSUIN_ARG_CHECK(s.size() <= 2000, "param " + it.key() + " is too long");
      JITSUIN_ARG_CHECK(is_valid_utf8(s), "param " + it.key() + " is not valid UTF-8");
      JITSUIN_ARG_CHECK(!has_control(s), "param " + it.key() + " contains control characters");
      if (spec->kind == Kind::change)
        JITSUIN_ARG_CHECK(s == "link" || s == "unlink", "param " + it.key() + " must be \"link\" or \"unlink\"");
    }
  }
  for (const auto& p : t.params) {
    if (!p.required) continue;
    bool present = params.is_object() && params.contains(p.name) && !params[p.name].is_null() &&
                   !(params[p.name].is_string() && params[p.name].get_ref<const std::string&>().empty());
    JITSUIN_ARG_CHECK(present, "template " + template_name + " needs param '" + p.name + "'");
  }
}

bool carries_secret(const std::string& template_name) {
  for (const auto& p : find(template_name).params)
    if (p.secret) return true;
  return false;
}

json without_secrets(const std::string& template_name, const json& params) {
  json out = params;
  for (const auto& p : find(template_name).params)
    if (p.secret && out.is_object() && out.contains(p.name)) out[p.name] = "";
  return out;
}

json secrets_of(const std::string& template_name, const json& params) {
  json out = json::object();
  for (const auto& p : find(template_name).params)
    if (p.secret && params.is_object() && params.contains(p.name) && !params[p.name].is_null() &&
        !(params[p.name].is_string() && params[p.name].get_ref<const std::string&>().empty()))
      out[p.name] = params[p.name];
  return out;
}

Rendered render(const std::string& template_name, const std::string& language, const json& params) {
  const Template& t = find(template_name);
  const Text& text = language == "ja" ? t.ja : t.en;
  Rendered r;
  r.subject = fill(t, text.subject, language, params, false);
  r.body = fill(t, text.body, language, params, true) + (language == "ja" ? kFooterJa : kFooterEn);
  return r;
}

bool is_valid_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  auto at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at != a.rfind('@') || at > 64) return false;
  std::string_view local = a.substr(0, at), domain = a.substr(at + 1);
  for (char ch : local) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = c > 0x20 && c < 0x7f && std::string_view("()<>[]\\,;:\"@").find(ch) == std::string_view::npos;
    if (!ok) return false;
  }
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  if (domain.empty() || domain.size() > 253) return false;
  std::size_t start = 0;
  while (start <= domain.size()) {
    auto dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (char ch : label)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-')) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

std::string address_of(std::string_view from) {
  auto lt = from.rfind('<');
  if (lt != std::string_view::npos) {
    auto gt = from.find('>', lt);
    if (gt != std::string_view::npos) return std::string(from.substr(lt + 1, gt - lt - 1));
  }
  auto b = from.find_first_not_of(' '), e = from.find_last_not_of(' ');
  return b == std::string_view::npos ? std::string() : std::string(from.substr(b, e - b + 1));
}

std::string domain_of(std::string_view address) {
  auto at = address.rfind('@');
  return at == std::string_view::npos ? std::string("localhost") : std::string(address.substr(at + 1));
}

std::string encode_header_text(std::string_view utf8) {
  bool plain = utf8.size() <= 60;
  for (char ch : utf8) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7f) plain = false;
  }
  if (plain && utf8.find("=?") == std::string_view::npos) return std::string(utf8);
  return encoded_words(utf8);
}

std::string format_mail_date(UnixTime t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return std::string(kDays[tm.tm_wday]) + ", " + two(tm.tm_mday) + " " + kMonths[tm.tm_mon] + " " +
         std::to_string(tm.tm_year + 1900) + " " + two(tm.tm_hour) + ":" + two(tm.tm_min) + ":" + two(tm.tm_sec) +
         " +0000";
}

std::string build_message(const Envelope& env, const Rendered& content) {
  std::string from_addr = address_of(env.from);
  std::string from_header = from_addr;
  auto lt = env.from.rfind('<');
  if (lt != std::string::npos) {
    std::string name = env.from.substr(0, lt);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
    if (!name.empty()) {
      // A display name of plain words goes out as is; anything else (Japanese, specials) encoded.
      bool atext = true;
      for (char ch : name)
        atext = atext && (std::isalnum(static_cast<unsigned char>(ch)) || ch == ' ' ||
                          std::string_view("!#$%&'*+-/=?^_`{|}~").find(ch) != std::string_view::npos);
      from_header = (atext ? name : encoded_words(name)) + " <" + from_addr + ">";
    }
  }
  std::string m;
  m += "Date: " + format_mail_date(env.date) + "\r\n";
  m += "From: " + from_header + "\r\n";
  m += "To: " + env.to + "\r\n";
  m += "Subject: " + encode_header_text(content.subject) + "\r\n";
  m += "Message-ID: " + env.message_id + "\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: text/plain; charset=UTF-8\r\n";
  m += "Content-Transfer-Encoding: base64\r\n";
  m += "Auto-Submitted: auto-generated\r\n";
  m += "X-Jitsuin-Template: " + env.template_name + "\r\n";
  m += "\r\n";
  std::string body;
  for (char ch : content.body) {
    if (ch == '\n') body += "\r\n";
    else body += ch;
  }
  std::string b64 = to_base64(body);
  for (std::size_t i = 0; i < b64.size(); i += 76) m += b64.substr(i, 76) + "\r\n";
  return m;
}

}  // namespace jitsuin::ra::mail
