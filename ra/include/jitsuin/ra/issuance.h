#pragma once
// The last step of RA-3: an enrolled application's certificate is issued by the CA with the
// subject from the approved Form 5 (never from the CSR), and the application becomes issued.
#include <cstdint>
#include <string>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ra/context.h"

namespace jitsuin::ra {

/// Issues the certificate of an enrolled application and records it: enrolled → issued. For a
/// renewal (RA-7) the certificate it replaces is then revoked with reason superseded.
/// `actor` names the channel ("enroll:web", "ra:<operator>").
ca::IssuedCertificate issue_for_application(RaContext& ctx, ca::CertificateAuthority& ca, std::int64_t application_id,
                                            const std::string& actor);

}  // namespace jitsuin::ra
