#pragma once
// Reading certificate rows, shared by the store and the authority (private to ca/).
#include "jitsuin/ca/store.h"
#include "jitsuin/db/database.h"

namespace jitsuin::ca::detail {

/// SELECT of the columns read_record() reads, ending before the WHERE clause: certificates c
/// joined with their issuer, authorities a.
extern const char* const kRecordSelect;

/// A CertificateRecord from a row of kRecordSelect.
CertificateRecord read_record(db::Statement& st);

}  // namespace jitsuin::ca::detail
