#pragma once
// Reading certificate rows, shared by the store and the authority (private to ca/), and the
// digests of written rows that audit entries carry (see jitsuin/ca/row_check.h).
#include <nlohmann/json.hpp>

#include "jitsuin/ca/store.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ca::detail {

/// SELECT of the columns read_record() reads, ending before the WHERE clause: certificates c
/// joined with their issuer, authorities a.
extern const char* const kRecordSelect;

/// The CRL partition of a certificates row, as SQL over its serial: the 4 partition bytes of a
/// partitioned_serial() (x509util.h), NULL for any other serial (a certificate whose CRL
/// distribution point is the full CRL's). The index certificates_crl (migration 16) is on exactly
/// this expression: a query must use this text for SQLite to use it. Derived from the serial, so
/// the row digest audit verify checks covers it.
extern const char* const kCrlPartitionKey;

/// A CertificateRecord from a row of kRecordSelect.
CertificateRecord read_record(db::Statement& st);

/// Every column of a certificates / authorities row, in the order of their digest (version 1):
/// SELECTs ending before the WHERE clause. A new column means a new encoding version.
extern const char* const kCertificateRowSelect;
extern const int kCertificateRowColumns;
extern const char* const kAuthorityRowSelect;
extern const int kAuthorityRowColumns;
extern const char* const kCertificateRowDomain;   ///< "jitsuin-certificate-row-v1"
extern const char* const kAuthorityRowDomain;     ///< "jitsuin-authority-row-v1"

/// What an audit entry says about a certificates row it wrote, read back as stored inside the
/// writer's transaction: {"serial": hex, "sha256": digest hex, "revoked": bool}. Every writer of
/// the row puts it into its audit details, under the key "certificate_row":
///   audit_details["certificate_row"] = detail::certificate_row(db, id);
nlohmann::json certificate_row(db::Database& db, std::int64_t id);

/// The same for an authorities row, under the key "authority_row": {"role", "sha256"}.
nlohmann::json authority_row(db::Database& db, std::int64_t id);

}  // namespace jitsuin::ca::detail
