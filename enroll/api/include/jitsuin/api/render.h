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
/// One reason a bundle is incomplete: code, English and Japanese message, application if any.
/// (ra/ stores the reasons of a check in its own encoding; this is only how a response shows them.)
nlohmann::json render(const ra::Deficiency& d);
/// A revocation request: reason, state, effective time, and who decided when (once decided).
nlohmann::json render(const ra::RevocationRequest& r);
/// A company or user ID; never a password hash or the failed-login counter.
nlohmann::json render(const ra::Account& a);
/// A certificate link of a user ID; unlinked_by/unlinked_at once removed.
nlohmann::json render(const ra::CertificateLink& l);
/// A certificate of a company: serial, holder, validity, status, linked user IDs.
nlohmann::json render(const ra::CompanyCertificate& c);
/// An additional certificate request with its application's state; serial and link once issued.
nlohmann::json render(const ra::CertificateRequest& r);

}  // namespace jitsuin::api
