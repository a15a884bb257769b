#pragma once
// What a later revision changed compared with the signed one, and whether each change is one
// that may follow a signature (ISO 32000 12.8.2, PAdES): new signatures and signature fields
// (with, in a tagged PDF, their struct elements),
// document security store (DSS/VRI) data, form filling and harmless comments where DocMDP and
// FieldMDP permit. Everything else — page content, resources, the page tree, annotations that can
// cover what is shown, the catalog's actions and names, and any earlier object redefined without
// being one of the allowed changes (the "shadow" attacks: hide, replace, hide-and-replace) — is a
// change that breaks the signature.
#include <qpdf/QPDF.hh>

#include <set>
#include <string>
#include <vector>

namespace jitsuin::contract {

/// Permissions in force for the changes after one signature.
struct ChangePolicy {
  int docmdp = 0;                      ///< DocMDP /P of a certification signature (1, 2, 3); 0: none
  bool all_fields_locked = false;      ///< a FieldMDP /Action /All
  std::set<std::string> locked_fields; ///< fields a FieldMDP locks (fully qualified names)
};

struct Change {
  bool allowed = false;
  std::string what;   ///< for a person: "page 1 content changed", "signature field Sig2 added"
};

/// Compares `after` (the whole file) with `before` (the file truncated at the end of a signature's
/// byte range). qpdf's page cache is pushed to page level on both (inherited attributes).
std::vector<Change> compare_revisions(QPDF& before, QPDF& after, const ChangePolicy& policy);

/// The DocMDP and FieldMDP permissions that a revision declares (certification signature in the
/// catalog's /Perms, /Lock dictionaries and FieldMDP references of its signed signature fields).
ChangePolicy change_policy(QPDF& signed_revision);

}  // namespace jitsuin::contract
