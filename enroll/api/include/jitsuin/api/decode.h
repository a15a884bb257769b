#pragma once
// Decoders of the RA's forms: JSON in, the typed inputs of ra/ out. Unknown fields are refused and
// wrong types are invalid_input naming the field. The rules on the values themselves (romaji,
// lengths, dates in the past ...) stay in ra/, which checks whatever its caller hands it.
#include <nlohmann/json.hpp>

#include "jitsuin/ra/application.h"
#include "jitsuin/ra/bundle.h"
#include "jitsuin/ra/cert_request.h"

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

/// enroll: a company admin's additional certificate request (RA-8, seed 003): the user ID, the
/// Form-5 data, and optionally pin_recipient {name, email} and contact {name, department, phone, email}.
ra::CertificateRequestInput decode_cert_request(const std::string& user, const nlohmann::json* form,
                                                const nlohmann::json* pin_recipient, const nlohmann::json* contact);

}  // namespace jitsuin::api
