#pragma once
// RA-8 signing IDs (署名用ID): a company admin links an issued certificate of the company to a
// user ID, or unlinks it — one user per operation, a link and an unlink together allowed. Each
// change mails the company admin (company ID holders) and, for a link, the linked user (an unlink
// is not mailed to the user, as in the seeds). The user signs only after the contract service's
// certificate validity confirmation (証明書有効性確認) with the certificate's PIN (contract/).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

struct LinkChange {
  std::string serial;
  std::optional<std::string> link;     ///< user login ID to link
  std::optional<std::string> unlink;   ///< user login ID to unlink
};

struct CertificateLink {
  std::string serial;
  std::string login_id;
  std::string linked_by;
  UnixTime linked_at = 0;
  std::optional<std::string> unlinked_by;
  std::optional<UnixTime> unlinked_at;
};

/// Applies one link change for a company in one transaction. `by` must be an RA operator with
/// Permission::enter, or the company admin (企業ID, enabled and not locked) of company_id itself
/// (RA-8); anyone else is refused (forbidden). Recorded as by.actor(). Refused as well: a
/// certificate not issued to this company or no longer valid (for a link), a user ID of another
/// company or disabled, a link that exists (or, for unlink, does not).
std::vector<CertificateLink> change_certificate_link(RaContext& ctx, const Principal& by, std::int64_t company_id,
                                                     const LinkChange& change);

/// Links of a certificate or of a user ID (current only, unless with_history). `by`: an RA
/// operator with Permission::read, or the company admin of company_id (RA-8); else forbidden.
std::vector<CertificateLink> list_links(RaContext& ctx, const Principal& by, std::int64_t company_id,
                                        bool with_history = false);

/// One certificate of a company as company_certificates() lists it.
struct CompanyCertificate {
  std::int64_t application_id = 0;
  std::string serial;
  std::string holder;          ///< the applicant's name in kanji
  std::string holder_romaji;
  UnixTime not_before = 0, not_after = 0;
  std::string status;          ///< "valid", "revocation pending", "revoked" or "expired"
  std::vector<std::string> users;   ///< user IDs linked now
};

/// The company's certificates (自社電子証明書照会): serial, holder, validity, status, linked users,
/// in application order. `by`: an RA operator with Permission::read, or the company admin of
/// company_id (RA-8); else forbidden.
std::vector<CompanyCertificate> company_certificates(RaContext& ctx, const Principal& by, std::int64_t company_id);

}  // namespace jitsuin::ra
