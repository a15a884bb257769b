#pragma once
// RA-10 mail templates (Japanese and English) and the RFC 5322 / MIME pieces the outbox needs.
// Private to ra/.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "jitsuin/core/util.h"

namespace jitsuin::ra::mail {

/// Checks a template name, language and params; throws invalid_input naming the problem.
void validate(const std::string& template_name, const std::string& language, const nlohmann::json& params);

/// True when the template carries a secret (download PIN, initial password).
bool carries_secret(const std::string& template_name);

/// The params with every secret value blanked (for storage after the mail has gone).
nlohmann::json without_secrets(const std::string& template_name, const nlohmann::json& params);

/// Only the secret params that are present and not blank (an object, empty when there are none):
/// what the outbox seals instead of storing (outbox.h).
nlohmann::json secrets_of(const std::string& template_name, const nlohmann::json& params);

/// A filled-in template.
struct Rendered {
  std::string subject;   ///< UTF-8, one line
  std::string body;      ///< UTF-8, lines separated by "\n"
};

/// Fills in a template (validated params expected).
Rendered render(const std::string& template_name, const std::string& language, const nlohmann::json& params);

/// A plausible single mailbox address: local@domain, printable ASCII, no spaces, no brackets.
bool is_valid_address(std::string_view address);

/// The bare address of a From setting written "addr" or "Name <addr>".
std::string address_of(std::string_view from);

/// The domain of an address ("example.jp" for "a@example.jp").
std::string domain_of(std::string_view address);

/// RFC 2047 encoded-words (UTF-8, base64) for a header value, folded; plain when it is short ASCII.
std::string encode_header_text(std::string_view utf8);

/// RFC 5322 date-time in UTC, e.g. "Sat, 21 Nov 2026 05:24:40 +0000".
std::string format_mail_date(UnixTime t);

/// Everything that goes into one message.
struct Envelope {
  std::string from;         ///< config "from" value
  std::string to;
  std::string message_id;   ///< with angle brackets
  UnixTime date = 0;
  std::string template_name;
};

/// The whole RFC 5322 message with CRLF line ends: headers, then the body as UTF-8 in base64.
std::string build_message(const Envelope& envelope, const Rendered& content);

}  // namespace jitsuin::ra::mail
