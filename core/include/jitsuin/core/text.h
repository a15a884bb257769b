#pragma once
// Text checks every module applies to what people type: one UTF-8 validator, one e-mail validator.
#include <string>
#include <string_view>

namespace jitsuin {

/// Number of code points of valid UTF-8 text (no overlong forms, surrogates or values past
/// U+10FFFF), or -1 when it is not valid UTF-8.
long utf8_length(std::string_view s);

/// True when s is valid UTF-8.
inline bool is_valid_utf8(std::string_view s) { return utf8_length(s) >= 0; }

/// The one e-mail address check of jitsuin (certificates, forms, accounts, mail): an RFC 5321
/// Mailbox restricted to what mail to a person needs — a dot-atom local part (RFC 5322 atext, no
/// leading, trailing or double dots, at most 64 octets) and a domain of at least two LDH labels
/// (letters, digits, hyphens not at either end, 1-63 octets each); at most 128 octets in all.
/// Quoted local parts, address literals, spaces, commas and anything outside ASCII are refused.
bool is_valid_email(std::string_view address);

/// Japan has no daylight saving time: UTC+9 all year.
inline constexpr long kJapanUtcOffsetSeconds = 9 * 3600;

}  // namespace jitsuin
