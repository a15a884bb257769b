#pragma once
// Decoders of the RA's forms: JSON in, the typed inputs of ra/ out. Unknown fields are refused and
// wrong types are invalid_input naming the field. The rules on the values themselves (romaji,
// lengths, dates in the past ...) stay in ra/, which checks whatever its caller hands it.
#include <nlohmann/json.hpp>

#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"

namespace jitsuin::api {

/// A Form 5 (see `jitsuin ra bundle-create --help` for the keys).
ra::ApplicantInput decode_applicant(const nlohmann::json& j);
/// Changes to a Form 5: the same keys, each optional.
ra::ApplicantChanges decode_applicant_changes(const nlohmann::json& j);
/// A whole bundle: company or company_id, Form 1-4 fields, applicants (Form 5), users (Form 6).
ra::BundleInput decode_bundle(const nlohmann::json& j);
/// Changes to the bundle-level fields (received_on, seal_form, seal_description, applicant_list,
/// token_quantity, note, applied_by, contract_kind, contacts).
ra::BundleChanges decode_bundle_changes(const nlohmann::json& j);

}  // namespace jitsuin::api
