#pragma once
// RA-8 additional certificate request (電子証明書追加発行申請), the CECTRUST-Light flow of seed 003:
// a company admin (企業ID holder) asks for a new signing certificate for ONE enabled user ID of the
// same company, with the certificate data (Form-5 fields: name in kanji, kana and romaji,
// department and title in romaji, e-mail for the download PIN, validity 1 or 2 years).
//
// The request becomes an ordinary application in a bundle of its own (received online: no paper
// forms, so the RA-2 document check does not apply; an operator checks the request instead with
// check_certificate_request). From there it follows the RA-3 life cycle: checked → approved by a
// second operator → application PIN → approval notice by restricted delivery (本人限定受取郵便, so the
// home address is still needed: it is the only channel jitsuin has for an application PIN) →
// enrolled → issued. When its certificate is issued (issue_for_application) it is linked to the
// user ID in the same transaction, and the link_changed mails go out (see links.h), as the seed's
// "新たに電子証明書を発行し利用者IDと紐付けて署名用IDにする".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/application.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// What the company admin fills in.
struct CertificateRequestInput {
  std::string user_login_id;   ///< the user ID (ユーザID) to link the new certificate to
  ApplicantInput form;         ///< organization_romaji may be left empty: the company's romaji name is used
  // enroll (seed 003 ⑧, ⑨): the PIN recipient (PINの送付先), where the download PIN is mailed
  // (empty: the Form-5 e-mail), and the requester contact (申請担当者情報) the RA may call and who
  // gets the "request received" mail (empty fields: the company admin's own name and e-mail).
  std::string pin_recipient_name = {}, pin_recipient_email = {};
  std::string contact_name = {}, contact_department = {}, contact_phone = {}, contact_email = {};
};

/// A request as stored, with the state of its application.
struct CertificateRequest {
  std::int64_t id = 0;
  std::int64_t application_id = 0;
  std::int64_t bundle_id = 0;
  std::int64_t company_id = 0;
  std::string requested_by;    ///< company ID login, e.g. "C000001"
  std::string user_login_id;
  UnixTime requested_at = 0;
  State state = State::received;
  std::string name_kanji, name_romaji;
  std::optional<std::string> serial;   ///< once issued
  bool linked = false;                 ///< the certificate was linked to the user ID at issuance
  std::string link_note;               ///< why it was not, when it was not
  // enroll: as filed (CertificateRequestInput), with the defaults filled in.
  std::string pin_recipient_name = {}, pin_recipient_email = {};
  std::string contact_name = {}, contact_department = {}, contact_phone = {}, contact_email = {};
};

/// Files the request in one transaction (bundle, application in state received, request row,
/// one audit entry, application_received mailed to the admin). `admin` is the company admin as
/// logged in by login_account() (accounts.h). Refused, with nothing stored: a principal that is not
/// a company admin (an operator or a user ID) or whose company ID is disabled or locked by now
/// (forbidden), a user ID of another company (forbidden), a company ID as the user (invalid_input),
/// a disabled user ID (conflict), a user ID with another request still open (conflict), Form-5
/// data that breaks the RA-8 romaji or validity rules (invalid_input).
CertificateRequest request_additional_certificate(RaContext& ctx, const Principal& admin,
                                                  const CertificateRequestInput& input);

/// The same request carrying the company admin's own credentials (the CLI's and the web form's
/// case): the password is checked with login_account() and the request filed in the same
/// transaction, with one audit entry. A wrong password is counted toward the lockout and audited,
/// and throws unauthenticated; nothing else is stored.
CertificateRequest request_additional_certificate(RaContext& ctx, const std::string& admin_login_id,
                                                  const std::string& password, const CertificateRequestInput& input);

/// The operator's check of a request: received → checked (the user ID is still enabled and of the
/// company, the requester still an enabled company ID). Needs Permission::enter.
CertificateRequest check_certificate_request(RaContext& ctx, const Principal& by, std::int64_t application_id);

/// The request of an application, if it came from a company admin. `by`: an RA operator with
/// Permission::read, or the company admin of the request's company (forbidden for any other
/// company, and for an application without a request).
std::optional<CertificateRequest> find_certificate_request(RaContext& ctx, const Principal& by,
                                                           std::int64_t application_id);

/// Requests, oldest first, of one company or of all. `by`: an RA operator (any company, or all), or
/// the company admin of company_id (its own company only; forbidden otherwise).
std::vector<CertificateRequest> list_certificate_requests(RaContext& ctx, const Principal& by,
                                                          std::optional<std::int64_t> company_id);

}  // namespace jitsuin::ra
