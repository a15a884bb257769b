#pragma once
// RA-5 approval notice (承認通知書): the printable A4 letter, sent by restricted delivery
// (本人限定受取郵便) to the applicant's home, that carries the application PIN (申請PIN) and the
// steps to obtain the certificate onto the eToken. Rendered as PDF with cairo and pango.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/core/util.h"
#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

/// What the approval notice shows.
struct ApprovalLetter {
  std::string applicant_name;                  ///< as on the resident record, in kanji
  std::string postal_code;                     ///< e.g. "105-0004" (optional)
  std::vector<std::string> address_lines;      ///< home address, one line each
  std::string application_number;              ///< 申請番号
  std::string application_pin;                 ///< 申請PIN, printed once, never stored in clear
  UnixTime pin_expires_at = 0;                 ///< when the application PIN stops working
  UnixTime issued_at = 0;                      ///< date printed on the letter
  std::string enrollment_url;                  ///< page where the PIN is entered
  std::string issuer_name = "jitsuin 認証局";   ///< who sends the letter
  std::string help_desk;                       ///< contact line, e.g. "help@example.jp / 03-0000-0000"
};

struct Application;
struct IssuedPin;

/// The approval notice of an application whose PIN was just issued (pin.h, issue_pin's
/// before_commit): the applicant's name, postcode and home address split into the envelope
/// window's lines, the application number, the PIN and its expiry, today's date (ctx.clock()) and
/// the enrollment page — config.ra.enrollment_url, unless `enrollment_url` overrides it.
ApprovalLetter compose_approval_letter(RaContext& ctx, const Application& app, const IssuedPin& pin,
                                       const std::optional<std::string>& enrollment_url = std::nullopt);

/// A home address as the letter's window shows it: one line unless longer than 60 bytes, then cut
/// at spaces, at most 4 lines.
std::vector<std::string> address_lines(const std::string& address);

/// Renders the letter as a one-page A4 PDF. language: "ja" (the 承認通知書) or "en" (an English
/// version with the same content). Throws invalid_input for a missing field or unknown language.
Bytes render_approval_letter(const ApprovalLetter& data, const std::string& language);

/// Renders and writes the PDF atomically with mode 0600 (it holds a PIN).
void write_approval_letter(const std::filesystem::path& path, const ApprovalLetter& data,
                           const std::string& language);

/// The PIN as printed: groups of four characters separated by spaces (for reading only; a PIN
/// that already contains spaces or hyphens is printed unchanged).
std::string format_pin_for_print(const std::string& pin);

}  // namespace jitsuin::ra
