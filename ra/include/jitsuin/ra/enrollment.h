#pragma once
// EN-2..EN-4: the applicant's own steps after the approval notice (issue 10), behind the API's
// enroll.status, enroll.start and enroll.collect:
//
//   status   application number + application PIN → where the application stands;
//   start    + a PKCS#10 CSR made by the token's key → enrolled; a download PIN (ダウンロードPIN)
//            is mailed to the Form-5 address (or, for a company admin's request, RA-8, to the PIN
//            recipient it names);
//   collect  application number + download PIN → the certificate and its chain (issued).
//
// The download PIN: 80 bits in the application PIN's format (pin.h), single use, expires after
// config.enroll.download_pin_minutes, stored as an scrypt hash, locked after
// config.ra.pin_max_attempts wrong entries (counted in the verifying transaction, so restarts and
// parallel requests win no extra guesses); a re-issue by an operator replaces the one in force.
//
// Refusals are ReasonedError (core/error.h) with a stable reason, an English and a Japanese
// message, and the attempts left for a wrong PIN. An unknown application number, or one without a
// PIN in force, answers exactly like a wrong PIN: nothing tells the applicant which part was wrong
// beyond what they need (PIN locked, PIN expired, already enrolled).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/lifecycle.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// What enroll.status shows the applicant.
struct EnrollmentStatus {
  std::int64_t application_id = 0;
  State state = State::received;
  std::string message, message_ja;               ///< what to do next
  std::vector<std::string> key_algorithms;       ///< what the profile accepts, e.g. {"p256", "rsa2048"}
  /// The certificate's keyUsage per accepted algorithm: the agent gives the token key the uses
  /// that need (decrypt and unwrap for keyEncipherment, derive for keyAgreement), and no others.
  std::map<std::string, std::vector<std::string>> key_usage;
  std::optional<UnixTime> download_pin_expires_at;
  std::optional<std::string> certificate_serial;
};

/// The Japanese name of a state, for the applicant ("承認通知書送付済み").
std::string state_name_ja(State s);

/// Checks the application PIN without spending it (a wrong one counts as an attempt) and tells
/// where the application stands. A spent PIN (after enrollment) still shows the status.
EnrollmentStatus enrollment_status(RaContext& ctx, std::int64_t application_id, const std::string& application_pin,
                                   const std::string& actor);

/// What enroll.start answers.
struct EnrollmentStarted {
  std::int64_t application_id = 0;
  UnixTime download_pin_expires_at = 0;
  std::string mailed_to;   ///< masked, "t***@example.jp"
  std::optional<UnixTime> mail_not_before;   ///< S/MIME: the PIN mail leaves then (seed 004)
};

/// notice_mailed → enrolled: checks the CSR (self-signature, key policy, the profile's key
/// algorithms, a key neither certified before nor reported compromised) and the application PIN,
/// then in one transaction stores the CSR, spends the PIN, records the download PIN, queues its
/// mail and writes one audit entry ("ra.application.enrolled"). A refused CSR changes nothing and
/// counts no attempt.
EnrollmentStarted start_enrollment(RaContext& ctx, std::int64_t application_id, const std::string& application_pin,
                                   const std::string& csr_pem, const std::string& actor);

/// enrolled → issued with the download PIN (issue_for_application). The same PIN again returns the
/// same certificate; two collects at once issue one.
ca::IssuedCertificate collect_certificate(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t application_id,
                                          const std::string& download_pin, const std::string& actor);

/// An operator (Permission::approve) re-issues the download PIN of an enrolled application (the
/// mail was lost, the PIN expired or locked): the one in force stops working, a new one is mailed.
/// One transaction, one audit entry. Returns the new expiry.
UnixTime reissue_download_pin(RaContext& ctx, const Principal& by, std::int64_t application_id);

/// The download PINs of an application for the RA's views (never the PIN), oldest first.
struct DownloadPinRecord {
  UnixTime issued_at = 0, expires_at = 0;
  std::string issued_by, mailed_to;
  int failures = 0;
  std::optional<UnixTime> locked_at, used_at, replaced_at;
  /// "in_force", "used", "expired", "locked", "replaced" at `now`.
  std::string status;
};
std::vector<DownloadPinRecord> download_pins(RaContext& ctx, const Principal& by, std::int64_t application_id);

/// "t***@example.jp": the first character of the local part and the domain.
std::string mask_address(const std::string& address);

}  // namespace jitsuin::ra
