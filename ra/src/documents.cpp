#include "jitsuin/ra/documents.h"

#include <algorithm>
#include <functional>

#include "jitsuin/core/error.h"
#include "jitsuin/ra/bundle.h"
#include "ra_core.h"

namespace jitsuin::ra {

using nlohmann::json;

namespace {

// RA-2: public documents must have been issued within this many months of receipt.
constexpr int kDocumentMaxAgeMonths = 3;

struct KindInfo {
  DocumentKind kind;
  const char* name;
  const char* ja;
};

const KindInfo kKinds[] = {
    {DocumentKind::registration_current, "registration_current", "現在事項全部証明書"},
    {DocumentKind::registration_history, "registration_history", "履歴事項全部証明書"},
    {DocumentKind::registration_representative, "registration_representative", "代表者事項全部証明書"},
    {DocumentKind::representative_seal, "representative_seal", "法人代表者印に係る印鑑証明書"},
    {DocumentKind::residence_record, "residence_record", "住民票"},
    {DocumentKind::personal_seal, "personal_seal", "印鑑登録証明書"},
};

std::string english(DocumentKind k) {
  switch (k) {
    case DocumentKind::registration_current: return "certificate of current registered matters";
    case DocumentKind::registration_history: return "certificate of registered matters with history";
    case DocumentKind::registration_representative: return "certificate of registered matters on the representative";
    case DocumentKind::representative_seal: return "seal certificate of the company representative";
    case DocumentKind::residence_record: return "residence record";
    case DocumentKind::personal_seal: return "seal-registration certificate";
  }
  return "?";
}

bool is_registration(DocumentKind k) {
  return k == DocumentKind::registration_current || k == DocumentKind::registration_history ||
         k == DocumentKind::registration_representative;
}

// Checks one requirement: at least one acceptable document among the candidates. When none is,
// every candidate's fault is reported, or the document is reported missing.
void require(std::vector<Deficiency>& out, const std::vector<Document>& docs,
             const std::function<bool(const Document&)>& candidate,
             const std::function<std::optional<Deficiency>(const Document&)>& kind_refusal,
             std::optional<std::int64_t> application, const std::string& who_en, const std::string& who_ja,
             const std::string& what_en, const std::string& what_ja) {
  std::vector<Deficiency> faults;
  bool found = false;
  for (const auto& d : docs) {
    if (!candidate(d)) continue;
    std::vector<Deficiency> mine;
    if (auto refusal = kind_refusal(d)) mine.push_back(*refusal);
    std::string label_en = english(d.kind) + who_en, label_ja = who_ja + document_kind_japanese(d.kind);
    if (!d.original)
      mine.push_back({"copy_not_accepted", application,
                      "Copy not accepted: " + label_en + " (document " + std::to_string(d.id) +
                          "); please send the original",
                      "コピーは受け付けできません: " + label_ja + "（原本をご提出ください）"});
    Date until = document_accepted_until(d.issued_on);
    if (d.received_on > until)
      mine.push_back({"stale_document", application,
                      "Issued more than 3 months before receipt: " + label_en + " issued " + d.issued_on.str() +
                          ", received " + d.received_on.str() + " (accepted only until " + until.str() +
                          "); please send one issued within 3 months",
                      "発行日から3ヶ月を超えています: " + label_ja + "（発行日 " + d.issued_on.str() + "、受付日 " +
                          d.received_on.str() + "、" + until.str() + " までの受付が必要）。発行日より3ヶ月以内のものをご提出ください"});
    if (mine.empty()) found = true;
    faults.insert(faults.end(), mine.begin(), mine.end());
  }
  if (found) return;
  if (faults.empty())
    out.push_back({"missing_document", application, "Missing: " + what_en + who_en, "不足書類: " + who_ja + what_ja});
  else
    out.insert(out.end(), faults.begin(), faults.end());
}

Document read_doc(db::Statement& st) {
  Document d;
  d.id = st.int64(0);
  d.bundle_id = st.int64(1);
  d.application_id = st.opt_int64(2);
  d.kind = parse_document_kind(st.text(3));
  d.issued_on = Date::parse(st.text(4), "stored issued_on");
  d.received_on = Date::parse(st.text(5), "stored received_on");
  d.original = st.int64(6) != 0;
  d.note = st.text(7);
  d.recorded_by = st.text(8);
  d.recorded_at = st.int64(9);
  return d;
}

bool waiting_for_check(State s) { return s == State::received || s == State::resubmitted; }
bool open_for_documents(State s) { return s == State::received || s == State::incomplete || s == State::resubmitted; }

// Refuses document changes once every application of the bundle is past the check.
void require_open_bundle(const Bundle& b) {
  if (b.applications.empty()) return;
  for (const auto& a : b.applications)
    if (open_for_documents(a.state)) return;
  throw Error(ErrorKind::conflict, "bundle " + std::to_string(b.id) +
                                       " is no longer being checked (no application is received, incomplete or "
                                       "resubmitted)");
}

// The reasons of a check as ra_bundle_checks.reasons stores them: ra/'s own storage encoding,
// read back by last_check_reasons(); independent of how api/ renders a Deficiency, so changing a
// response never changes what is on disk (the keys are those of rows already written).
std::string encode_reasons(const std::vector<Deficiency>& reasons) {
  json out = json::array();
  for (const auto& d : reasons) {
    json j = {{"code", d.code}, {"message", d.message}, {"message_ja", d.message_ja}};
    if (d.application_id) j["application"] = *d.application_id;
    out.push_back(std::move(j));
  }
  return out.dump();
}

std::vector<Deficiency> decode_reasons(const std::string& stored) {
  std::vector<Deficiency> out;
  for (const auto& j : json::parse(stored)) {
    Deficiency d{j.at("code"), std::nullopt, j.at("message"), j.at("message_ja")};
    if (j.contains("application")) d.application_id = j["application"].get<std::int64_t>();
    out.push_back(d);
  }
  return out;
}

}  // namespace

std::string document_kind_name(DocumentKind k) {
  for (const auto& i : kKinds)
    if (i.kind == k) return i.name;
  return "?";
}

std::string document_kind_japanese(DocumentKind k) {
  for (const auto& i : kKinds)
    if (i.kind == k) return i.ja;
  return "?";
}

DocumentKind parse_document_kind(const std::string& name) {
  std::string known;
  for (const auto& i : kKinds) {
    if (name == i.name) return i.kind;
    known += (known.empty() ? "" : ", ") + std::string(i.name);
  }
  throw Error(ErrorKind::invalid_input, "unknown document kind '" + name + "' (known: " + known + ")");
}

bool is_personal_document(DocumentKind k) {
  return k == DocumentKind::residence_record || k == DocumentKind::personal_seal;
}

Date document_accepted_until(const Date& issued) { return add_months(issued, kDocumentMaxAgeMonths); }

std::vector<Deficiency> evaluate_documents(const BundleFacts& f) {
  std::vector<Deficiency> out;
  auto form = [&](bool present, const char* code, const std::string& en, const std::string& ja) {
    if (!present) out.push_back({code, std::nullopt, "Missing: " + en, "不足書類: " + ja});
  };
  form(f.form1, "missing_form", "Form 1, corporate contract / change application", "様式1 法人利用契約書・変更申請書");
  if (!f.applicants.empty()) {
    form(f.seal_form, "missing_form", "Form 2, registered seal application", "様式2 届出印申請書");
    form(f.applicant_list, "missing_form", "Form 3, certificate applicant list", "様式3 電子証明書発行者申請者リスト");
  }
  form(f.contact, "missing_form", "Form 4, contact person", "様式4 担当者申請書（連絡担当者）");
  // The certificate's identity is bound to the paperwork (issue 8): the organisation of each
  // Form 5 is the Form-1 company, and Form 3 orders one eToken per Form 5.
  if (f.company_romaji)
    for (const auto& a : f.applicants)
      if (a.organization_romaji != *f.company_romaji)
        out.push_back({"organization_mismatch", a.id,
                       "Form 5 of " + a.name + " (application " + std::to_string(a.id) + ") names the organisation '" +
                           a.organization_romaji + "', not the Form 1 company '" + *f.company_romaji +
                           "'; the certificate can only name the contracting company",
                       "様式5（" + a.name + " 様）の組織名（ローマ字）「" + a.organization_romaji +
                           "」が様式1の法人名（ローマ字）「" + *f.company_romaji + "」と一致しません"});
  const int all = static_cast<int>(f.applicants.size());
  const int renewals = static_cast<int>(
      std::count_if(f.applicants.begin(), f.applicants.end(), [](const BundleFacts::Applicant& a) { return a.renewal; }));
  if (f.token_quantity && all > 0 && (*f.token_quantity < all - renewals || *f.token_quantity > all))
    out.push_back({"token_quantity_mismatch", std::nullopt,
                   "Form 3 orders " + std::to_string(*f.token_quantity) + " eToken(s) for " + std::to_string(all) +
                       " Form 5 applicant(s)" +
                       (renewals ? " (" + std::to_string(renewals) + " renewal(s), which may keep their eToken)" : "") +
                       "; one eToken per applicant",
                   "様式3のイートークン数量（" + std::to_string(*f.token_quantity) + "）が様式5の申請者数（" +
                       std::to_string(f.applicants.size()) + "名）と一致しません"});
  form(f.billing, "missing_form", "Form 4, billing person", "様式4 担当者申請書（請求担当者）");

  auto no_refusal = [](const Document&) -> std::optional<Deficiency> { return std::nullopt; };
  auto manager_refusal = [&](const Document& d) -> std::optional<Deficiency> {
    if (f.manager_applies && d.kind == DocumentKind::registration_representative)
      return Deficiency{"registration_kind_not_accepted", std::nullopt,
                        "A certificate of registered matters on the representative (代表者事項全部証明書, document " +
                            std::to_string(d.id) + ") is not accepted when a manager (支配人) applies; please send "
                            "a certificate of current registered matters or one with history",
                        "支配人による申請の場合、代表者事項全部証明書は受け付けできません。現在事項全部証明書または"
                        "履歴事項全部証明書をご提出ください"};
    return std::nullopt;
  };
  auto bundle_doc = [](const Document& d) { return !d.application_id.has_value(); };
  require(out, f.documents, [&](const Document& d) { return bundle_doc(d) && is_registration(d.kind); },
          manager_refusal, std::nullopt, "", "",
          "commercial registration certificate (現在事項全部証明書, 履歴事項全部証明書 or 代表者事項全部証明書)",
          "登記事項証明書（現在事項全部証明書・履歴事項全部証明書・代表者事項全部証明書のいずれか）");
  require(out, f.documents,
          [&](const Document& d) { return bundle_doc(d) && d.kind == DocumentKind::representative_seal; },
          no_refusal, std::nullopt, "", "", english(DocumentKind::representative_seal),
          document_kind_japanese(DocumentKind::representative_seal));
  for (const auto& a : f.applicants) {
    for (DocumentKind k : {DocumentKind::residence_record, DocumentKind::personal_seal}) {
      require(out, f.documents,
              [&](const Document& d) { return d.application_id && *d.application_id == a.id && d.kind == k; },
              no_refusal, a.id, " of " + a.name + " (application " + std::to_string(a.id) + ")", a.name + " 様の",
              english(k), document_kind_japanese(k));
    }
  }
  return out;
}

std::int64_t add_document(RaContext& ctx, const Principal& by, std::int64_t bundle_id, const DocumentInput& doc) {
  by.require(Permission::enter, "record documents");
  std::string note = detail::text_field(doc.note, "note", 500, false);
  Date today = date_in_japan(ctx.clock());
  JITSUIN_ARG_CHECK(doc.received_on <= today,
                    "received_on " + doc.received_on.str() + " is in the future (today is " + today.str() + ")");
  JITSUIN_ARG_CHECK(doc.issued_on <= doc.received_on, "issued_on " + doc.issued_on.str() +
                                                          " is after received_on " + doc.received_on.str());
  db::Transaction tx(ctx.db);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  JITSUIN_ARG_CHECK(doc.received_on >= b.received_on, "received_on " + doc.received_on.str() +
                                                          " is before the bundle arrived (" + b.received_on.str() + ")");
  if (is_personal_document(doc.kind)) {
    JITSUIN_ARG_CHECK(doc.application_id.has_value(),
                      "a " + document_kind_name(doc.kind) + " belongs to one applicant: give the application");
    bool ours = std::any_of(b.applications.begin(), b.applications.end(),
                            [&](const Application& a) { return a.id == *doc.application_id; });
    JITSUIN_ARG_CHECK(ours, "application " + std::to_string(*doc.application_id) + " is not in bundle " +
                                std::to_string(bundle_id));
  } else {
    JITSUIN_ARG_CHECK(!doc.application_id.has_value(),
                      "a " + document_kind_name(doc.kind) + " belongs to the bundle, not to one applicant");
  }
  require_open_bundle(b);
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_documents (bundle_id, application_id, kind, issued_on, received_on, original, note, "
                    "recorded_by, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, bundle_id).bind(2, doc.application_id).bind(3, document_kind_name(doc.kind)).bind(4, doc.issued_on.str());
  ins.bind(5, doc.received_on.str()).bind(6, doc.original ? 1 : 0).bind(7, note).bind(8, by.actor());
  ins.bind(9, ctx.clock()).exec();
  std::int64_t id = ctx.db.last_insert_rowid();
  json details = {{"bundle", bundle_id},          {"kind", document_kind_name(doc.kind)},
                  {"issued_on", doc.issued_on.str()}, {"received_on", doc.received_on.str()},
                  {"original", doc.original}};
  if (doc.application_id) details["application"] = *doc.application_id;
  detail::audit(ctx, by.actor(), "ra.document.add", "document:" + std::to_string(id), details);
  tx.commit();
  return id;
}

void remove_document(RaContext& ctx, const Principal& by, std::int64_t document_id, const std::string& why) {
  by.require(Permission::enter, "remove documents");
  std::string reason = detail::text_field(why, "the reason", 500, true);
  db::Transaction tx(ctx.db);
  db::Statement st(ctx.db, "SELECT bundle_id, kind FROM ra_documents WHERE id = ?");
  st.bind(1, document_id);
  if (!st.step()) throw Error(ErrorKind::not_found, "no document " + std::to_string(document_id));
  std::int64_t bundle_id = st.int64(0);
  std::string kind = st.text(1);
  require_open_bundle(detail::get_bundle(ctx, bundle_id));
  db::Statement del(ctx.db, "DELETE FROM ra_documents WHERE id = ?");
  del.bind(1, document_id).exec();
  detail::audit(ctx, by.actor(), "ra.document.remove", "document:" + std::to_string(document_id),
                {{"bundle", bundle_id}, {"kind", kind}, {"reason", reason}});
  tx.commit();
}

std::vector<Document> detail::list_documents(RaContext& ctx, std::int64_t bundle_id) {
  db::Statement st(ctx.db,
                   "SELECT id, bundle_id, application_id, kind, issued_on, received_on, original, note, recorded_by, "
                   "recorded_at FROM ra_documents WHERE bundle_id = ? ORDER BY id");
  st.bind(1, bundle_id);
  std::vector<Document> out;
  while (st.step()) out.push_back(read_doc(st));
  return out;
}

CheckResult check_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  by.require(Permission::enter, "check bundles");
  db::Transaction tx(ctx.db);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  detail::require_paper_bundle(ctx, bundle_id, "check its documents (use jitsuin ra cert-request-check)");
  BundleFacts f;
  f.manager_applies = b.applied_by == "manager";
  f.seal_form = b.seal_form;
  f.applicant_list = b.applicant_list;
  f.company_romaji = b.company.name_romaji;
  f.token_quantity = b.token_quantity;
  for (const auto& c : b.contacts) {
    if (c.role == "contact") f.contact = true;
    if (c.role == "billing") f.billing = true;
  }
  std::vector<std::int64_t> waiting;
  for (const auto& a : b.applications) {
    if (a.state == State::rejected || a.state == State::withdrawn) continue;
    f.applicants.push_back({a.id, a.form.name_kanji, a.form.organization_romaji, a.renewal_of.has_value()});
    if (waiting_for_check(a.state)) waiting.push_back(a.id);
  }
  if (!b.applications.empty() && waiting.empty()) {
    std::string states;
    for (const auto& a : b.applications)
      states += (states.empty() ? "" : ", ") + std::to_string(a.id) + " " + state_name(a.state);
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) +
                                         " has no application waiting for a check (received or resubmitted): " + states);
  }
  f.documents = detail::list_documents(ctx, bundle_id);
  CheckResult r;
  r.reasons = evaluate_documents(f);
  r.complete = r.reasons.empty();
  r.new_state = r.complete ? "checked" : "incomplete";
  for (std::int64_t id : waiting) {
    detail::transition(ctx, id, r.complete ? State::checked : State::incomplete, by.actor(),
                       r.complete ? "documents complete" : std::to_string(r.reasons.size()) + " reason(s)",
                       {{"bundle", bundle_id}}, detail::TransitionAudit::caller);
    if (r.complete) {
      db::Statement up(ctx.db, "UPDATE ra_applications SET checked_by = ? WHERE id = ?");
      up.bind(1, by.actor()).bind(2, id).exec();
    }
    r.moved.push_back(id);
  }
  db::Statement ins(ctx.db,
                    "INSERT INTO ra_bundle_checks (bundle_id, at, actor, complete, reasons) VALUES (?, ?, ?, ?, ?)");
  ins.bind(1, bundle_id).bind(2, ctx.clock()).bind(3, by.actor()).bind(4, r.complete ? 1 : 0);
  ins.bind(5, encode_reasons(r.reasons));
  ins.exec();
  json codes = json::array();
  for (const auto& d : r.reasons) codes.push_back(d.code);
  detail::audit(ctx, by.actor(), "ra.bundle.check", "bundle:" + std::to_string(bundle_id),
                {{"complete", r.complete}, {"reasons", codes}, {"applications", r.moved}, {"state", r.new_state}});
  tx.commit();
  return r;
}

std::vector<std::int64_t> resubmit_bundle(RaContext& ctx, const Principal& by, std::int64_t bundle_id,
                                          const std::string& note) {
  by.require(Permission::enter, "record resubmissions");
  std::string n = detail::text_field(note, "note", 500, false);
  db::Transaction tx(ctx.db);
  Bundle b = detail::get_bundle(ctx, bundle_id);
  std::vector<std::int64_t> moved;
  for (const auto& a : b.applications)
    if (a.state == State::incomplete) {
      detail::transition(ctx, a.id, State::resubmitted, by.actor(), n, {{"bundle", bundle_id}},
                         detail::TransitionAudit::caller);
      moved.push_back(a.id);
    }
  if (moved.empty())
    throw Error(ErrorKind::conflict, "bundle " + std::to_string(bundle_id) + " has no incomplete application");
  // One entry for the bundle's resubmission, naming every application it moved.
  detail::audit(ctx, by.actor(), "ra.bundle.resubmit", "bundle:" + std::to_string(bundle_id),
                {{"applications", moved}, {"state", "resubmitted"}, {"note", n}});
  tx.commit();
  return moved;
}

std::vector<Deficiency> detail::last_check_reasons(RaContext& ctx, std::int64_t bundle_id) {
  db::Statement st(ctx.db, "SELECT reasons FROM ra_bundle_checks WHERE bundle_id = ? ORDER BY id DESC LIMIT 1");
  st.bind(1, bundle_id);
  if (!st.step()) return {};
  return decode_reasons(st.text(0));
}

std::vector<Document> list_documents(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  detail::require_read(by, "list documents");
  return detail::list_documents(ctx, bundle_id);
}

std::vector<Deficiency> last_check_reasons(RaContext& ctx, const Principal& by, std::int64_t bundle_id) {
  detail::require_read(by, "show the check of a bundle");
  return detail::last_check_reasons(ctx, bundle_id);
}

}  // namespace jitsuin::ra
