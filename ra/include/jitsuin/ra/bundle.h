#pragma once
// RA-1 a corporate application bundle as received on paper: Form 1 (corporate contract or change,
// one per bundle), Form 2 (registered seal 届出印), Form 3 (certificate-applicant list, also the
// eToken order), Form 4 (contact and billing persons), Forms 5 (certificate applications, see
// application.h) and Forms 6 (user-ID applications).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/application.h"
#include "jitsuin/ra/context.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

/// Form 1: the company.
struct CompanyInput {
  std::string name;                  ///< 法人名 as registered
  std::string name_kana;
  std::string name_romaji;           ///< without legal form, <= 40 (RA-8)
  std::string address;               ///< head office
  std::string representative_name;
  std::string representative_title;  ///< e.g. 代表取締役
};

/// Form 4: one contact.
struct ContactInput {
  std::string role;        ///< "contact" (連絡担当者) or "billing" (請求担当者)
  std::string name;
  std::string department;
  std::string email;
  std::string phone;
  std::string address;
};

/// Form 6: one contract-service user.
struct UserInput {
  std::string name;
  std::string department;
  std::string email;
};

/// A whole bundle as entered by the operator.
struct BundleInput {
  std::optional<std::int64_t> company_id;   ///< an existing company (change application), else `company`
  CompanyInput company;
  std::string contract_kind = "new";        ///< Form 1: "new" or "change"
  std::string applied_by = "representative";  ///< "representative" (代表者) or "manager" (支配人)
  Date received_on;                         ///< date the post arrived
  bool seal_form = false;                   ///< Form 2 present
  std::string seal_description;
  bool applicant_list = false;              ///< Form 3 present
  int token_quantity = 0;                   ///< Form 3: eTokens ordered
  std::string note;
  std::vector<ContactInput> contacts;
  std::vector<ApplicantInput> applicants;
  std::vector<UserInput> users;
};

/// Changes to the bundle-level fields; each field given replaces the stored one (`contacts`
/// replaces all Form-4 contacts). Decoded from JSON by jitsuin_api.
struct BundleChanges {
  std::optional<Date> received_on;
  std::optional<bool> seal_form;
  std::optional<std::string> seal_description;
  std::optional<bool> applicant_list;
  std::optional<int> token_quantity;
  std::optional<std::string> note;
  std::optional<std::string> applied_by;
  std::optional<std::string> contract_kind;
  std::optional<std::vector<ContactInput>> contacts;

  /// The names of the fields given, in alphabetical order.
  std::vector<std::string> names() const;
  bool empty() const { return names().empty(); }
};

struct BundleCreated {
  std::int64_t bundle_id = 0;
  std::int64_t company_id = 0;
  std::vector<std::int64_t> application_ids;
};

/// Registers a bundle in one transaction: company (new or existing), Forms 1-6, every Form 5 in
/// state received. Everything is validated first; on any error nothing is stored. Mails
/// application_received to the contact person.
BundleCreated create_bundle(RaContext& ctx, const Principal& by, const BundleInput& input);

/// Changes bundle-level fields while no application of it is past the check. Refuses empty changes.
/// Audited with the names of the fields given.
void edit_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const BundleChanges& changes);

/// A bundle as stored, with its contacts, applications (ids and states) and users.
struct Bundle {
  std::int64_t id = 0;
  std::int64_t company_id = 0;
  CompanyInput company;
  std::string contract_kind, applied_by;
  Date received_on;
  bool seal_form = false;
  std::string seal_description;
  bool applicant_list = false;
  int token_quantity = 0;
  std::string note;
  std::string created_by;
  UnixTime created_at = 0;
  std::vector<ContactInput> contacts;
  std::vector<UserInput> users;
  std::vector<Application> applications;

};

Bundle get_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

/// Bundles, newest first, optionally of companies whose name (any script) contains `company`.
std::vector<Bundle> find_bundles(RaContext& ctx, const Principal& by, const std::string& company, int limit = 1000);

}  // namespace jitsuin::ra
