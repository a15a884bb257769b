#pragma once
// RA-2 supporting public documents and the completeness check of a bundle.
//
// Rules (from the application guide and FAQ):
//  - a commercial registration certificate (登記事項証明書): 現在事項全部証明書, 履歴事項全部証明書
//    or 代表者事項全部証明書 — the last is not accepted when a manager (支配人) applies;
//  - one representative's seal certificate (法人代表者印に係る印鑑証明書) per bundle;
//  - one residence record (住民票) and one seal-registration certificate (印鑑登録証明書) per
//    Form-5 applicant;
//  - originals only (コピー不可);
//  - each issued within 3 months of receipt: a document issued on I is accepted when received on
//    or before add_months(I, 3) (see date.h: same day three months later, clamped to month end),
//    so one issued 2026-01-10 is fresh on 2026-04-10 and stale on 2026-04-11.
//  - the forms themselves: Form 1 always, Form 4 with a contact and a billing person, and when
//    certificates are applied for, Form 2 and Form 3.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "jitsuin/ra/context.h"
#include "jitsuin/ra/date.h"
#include "jitsuin/ra/operators.h"

namespace jitsuin::ra {

enum class DocumentKind {
  registration_current,         ///< 現在事項全部証明書
  registration_history,         ///< 履歴事項全部証明書
  registration_representative,  ///< 代表者事項全部証明書
  representative_seal,          ///< 法人代表者印に係る印鑑証明書 (per bundle)
  residence_record,             ///< 住民票 (per applicant)
  personal_seal,                ///< 印鑑登録証明書 (per applicant)
};

std::string document_kind_name(DocumentKind k);   ///< the enum name, e.g. "residence_record"
std::string document_kind_japanese(DocumentKind k);
/// Throws invalid_input listing the known kinds.
DocumentKind parse_document_kind(const std::string& name);
/// True for the kinds recorded once per Form-5 applicant.
bool is_personal_document(DocumentKind k);

/// The latest date on which a document issued on `issued` is still accepted (issued + 3 months).
Date document_accepted_until(const Date& issued);

struct DocumentInput {
  DocumentKind kind = DocumentKind::registration_current;
  std::optional<std::int64_t> application_id;   ///< required for personal documents, else empty
  Date issued_on;
  Date received_on;
  bool original = true;
  std::string note;
};

struct Document {
  std::int64_t id = 0;
  std::int64_t bundle_id = 0;
  std::optional<std::int64_t> application_id;
  DocumentKind kind = DocumentKind::registration_current;
  Date issued_on, received_on;
  bool original = true;
  std::string note;
  std::string recorded_by;
  UnixTime recorded_at = 0;
};

/// Records a document received for a bundle. Refused: dates in the future or issue after receipt,
/// a personal document without (or with a foreign) application, a bundle document with one,
/// a bundle whose applications are all past the check.
std::int64_t add_document(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const DocumentInput& doc);

/// Removes a document recorded by mistake (while the bundle is being checked); audited.
void remove_document(RaContext& ctx, const Principal& by, std::int64_t document_id, const std::string& why);

std::vector<Document> list_documents(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

/// One reason a bundle is incomplete, printable for the letter sent back with it.
struct Deficiency {
  std::string code;                          ///< stable: missing_document, stale_document, copy_not_accepted, ...
  std::optional<std::int64_t> application_id;   ///< the applicant concerned, if any
  std::string message;                       ///< English
  std::string message_ja;                    ///< 日本語 (for the company)
};

/// What the check needs to know about a bundle (a plain value, so the rules are testable alone).
struct BundleFacts {
  bool manager_applies = false;
  bool form1 = true;
  bool seal_form = false;
  bool applicant_list = false;
  bool contact = false, billing = false;
  struct Applicant {
    std::int64_t id = 0;
    std::string name;                  ///< for messages
    std::string organization_romaji;   ///< Form 5: the organisation (O=) of the certificate
    bool renewal = false;              ///< a renewal (RA-7): may keep its eToken (seed 000: re-initialised)
  };
  std::vector<Applicant> applicants;   ///< Form-5 applicants still in the application
  std::vector<Document> documents;
  /// Form 1: the company's romaji name. When set, every Form 5's organisation must be exactly it
  /// (deficiency organization_mismatch): the certificate's O= is the contracting company's.
  std::optional<std::string> company_romaji;
  /// Form 3: eTokens ordered. When set, it must equal the number of Form-5 applicants
  /// (deficiency token_quantity_mismatch): one eToken per new certificate; a renewal keeps its
  /// eToken or orders a new one, so renewals may or may not be counted.
  std::optional<int> token_quantity;
};

/// The RA-2 rules; an empty result means complete.
std::vector<Deficiency> evaluate_documents(const BundleFacts& facts);

struct CheckResult {
  bool complete = false;
  std::vector<Deficiency> reasons;
  std::vector<std::int64_t> moved;   ///< applications whose state changed
  std::string new_state;             ///< "checked" or "incomplete"
};

/// Runs the check on a bundle whose applications are received or resubmitted and moves them to
/// checked (complete) or incomplete (reasons recorded in ra_bundle_checks), in one transaction.
CheckResult check_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

/// incomplete → resubmitted for every incomplete application of the bundle (the company sent the
/// missing papers; record them with add_document, then check again).
std::vector<std::int64_t> resubmit_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id,
                                          const std::string& note);

/// The reasons found by the latest check of a bundle (empty when none has run or it was complete).
std::vector<Deficiency> last_check_reasons(RaContext& ctx, const Principal& by, std::int64_t bundle_id);

}  // namespace jitsuin::ra
