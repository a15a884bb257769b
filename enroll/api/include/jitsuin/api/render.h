#pragma once
// Rendering typed results as JSON: the one place where a domain struct becomes the JSON that the
// CLI's --json and the server's responses show.
#include <nlohmann/json.hpp>

#include "jitsuin/ca/authority.h"
#include "jitsuin/ra/accounts.h"
#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"
#include "jitsuin/ra/delivery.h"
#include "jitsuin/ra/documents.h"
#include "jitsuin/ra/links.h"
#include "jitsuin/ra/revocation.h"

namespace jitsuin::api {

/// A certificate record: serial, issuer, profile, subject, validity, status at `now`, revocation.
nlohmann::json render(const ca::CertificateRecord& r, UnixTime now);
/// One CA key with its certificate.
nlohmann::json render(const ca::AuthorityInfo& a, UnixTime now);

/// A bundle with its company, Form-1..4 fields, contacts, users and applications (ids, states, names).
nlohmann::json render(const ra::Bundle& b);
/// An application: Form 5, state and who did what when; never the PIN hash.
nlohmann::json render(const ra::Application& a);
/// A public document received for a bundle, with the date until which the check accepts it.
nlohmann::json render(const ra::Document& d);
/// A restricted-delivery mailing; hold_ends while held.
nlohmann::json render(const ra::Mailing& m);
// The RA's other records. (Their JSON is still built by the structs' to_json() in ra/, in files
// other changes own — Deficiency's is also what ra/ stores for the last check; these overloads are
// the one entry point, so moving the code here later changes no caller.)
nlohmann::json render(const ra::Deficiency& d);
nlohmann::json render(const ra::RevocationRequest& r);
nlohmann::json render(const ra::Account& a);
nlohmann::json render(const ra::CertificateLink& l);
nlohmann::json render(const ra::CertificateRequest& r);

}  // namespace jitsuin::api
