#include "jitsuin/ca/store.h"

#include <cctype>

#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "records.h"

namespace jitsuin::ca {

namespace {

using nlohmann::json;

struct ReasonName {
  RevocationReason reason;
  const char* name;
};
const ReasonName kReasons[] = {
    {RevocationReason::unspecified, "unspecified"},
    {RevocationReason::key_compromise, "keyCompromise"},
    {RevocationReason::ca_compromise, "cACompromise"},
    {RevocationReason::affiliation_changed, "affiliationChanged"},
    {RevocationReason::superseded, "superseded"},
    {RevocationReason::cessation_of_operation, "cessationOfOperation"},
    {RevocationReason::certificate_hold, "certificateHold"},
    {RevocationReason::privilege_withdrawn, "privilegeWithdrawn"},
    {RevocationReason::aa_compromise, "aACompromise"},
};

std::string squash(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c != '-' && c != '_') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return out;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

constexpr const char* kStatusSelect =
    "SELECT serial, profile, not_before, not_after, revoked_at, revocation_effective, revocation_reason "
    "FROM certificates WHERE serial = ?";

CertificateStatus read_status(db::Statement& st) {
  CertificateStatus s;
  s.serial_hex = to_hex(st.blob_view(0));
  s.profile = st.text(1);
  s.not_before = st.int64(2);
  s.not_after = st.int64(3);
  s.revoked_at = st.opt_int64(4);
  s.revocation_effective = st.opt_int64(5);
  if (auto reason = st.opt_int64(6)) s.reason = static_cast<RevocationReason>(*reason);
  return s;
}

}  // namespace

namespace detail {

const char* const kRecordSelect =
    "SELECT c.id, c.serial, a.role, c.profile, c.subject, c.not_before, c.not_after, c.issued_at, c.der, "
    "c.revoked_at, c.revocation_effective, c.revocation_reason FROM certificates c "
    "JOIN authorities a ON a.id = c.issuer_id ";

const char* const kCrlPartitionKey =
    "(CASE WHEN length(serial) = 16 AND substr(serial, 1, 1) = x'3f' THEN substr(serial, 2, 4) END)";

const char* const kCertificateRowSelect =
    "SELECT id, serial, issuer_id, profile, subject, spki_sha256, not_before, not_after, issued_at, der, "
    "revoked_at, revocation_effective, revocation_reason FROM certificates ";
const int kCertificateRowColumns = 13;
const char* const kAuthorityRowSelect =
    "SELECT id, role, key_uri, key_algorithm, subject, certificate_id, crl_number, created_at FROM authorities ";
const int kAuthorityRowColumns = 8;
const char* const kCertificateRowDomain = "jitsuin-certificate-row-v1";
const char* const kAuthorityRowDomain = "jitsuin-authority-row-v1";

json certificate_row(db::Database& db, std::int64_t id) {
  auto st = db.cached(std::string(kCertificateRowSelect) + "WHERE id = ?");
  st->bind(1, id);
  if (!st->step()) throw Error(ErrorKind::internal, "certificate row " + std::to_string(id) + " was not written");
  return {{"serial", to_hex(st->blob_view(1))},
          {"sha256", to_hex(db::row_digest(kCertificateRowDomain, *st, kCertificateRowColumns))},
          {"revoked", !st->is_null(10)}};
}

json authority_row(db::Database& db, std::int64_t id) {
  db::Statement st(db, std::string(kAuthorityRowSelect) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) throw Error(ErrorKind::internal, "authority row " + std::to_string(id) + " was not written");
  return {{"role", st.text(1)}, {"sha256", to_hex(db::row_digest(kAuthorityRowDomain, st, kAuthorityRowColumns))}};
}

CertificateRecord read_record(db::Statement& st) {
  // Column order of kRecordSelect.
  CertificateRecord r;
  r.id = st.int64(0);
  r.serial_hex = to_hex(st.blob_view(1));
  r.issuer_role = st.text(2);
  r.profile = st.text(3);
  r.subject = st.text(4);
  r.not_before = st.int64(5);
  r.not_after = st.int64(6);
  r.issued_at = st.int64(7);
  r.der = st.blob(8);
  r.revoked_at = st.opt_int64(9);
  r.revocation_effective = st.opt_int64(10);
  if (auto reason = st.opt_int64(11)) r.reason = static_cast<RevocationReason>(*reason);
  return r;
}

}  // namespace detail

RevocationReason parse_revocation_reason(const std::string& name) {
  for (const auto& r : kReasons)
    if (squash(name) == squash(r.name)) return r.reason;
  // Only the reasons a revocation accepts (certificateHold is parsed so that it is refused with
  // its own reason, but never offered).
  std::vector<std::string> names;
  for (const auto& r : kReasons)
    if (r.reason != RevocationReason::certificate_hold) names.push_back(r.name);
  throw Error(ErrorKind::invalid_input, "unknown revocation reason '" + name + "' (use one of " + join(names, ", ") + ")");
}

std::string revocation_reason_name(RevocationReason reason) {
  for (const auto& r : kReasons)
    if (r.reason == reason) return r.name;
  return "unspecified";
}

std::string CertificateRecord::status(UnixTime now) const {
  if (revocation_effective) return *revocation_effective <= now ? "revoked" : "revocation pending";
  if (not_after < now) return "expired";
  return "valid";
}

std::string normalize_serial(const std::string& serial_hex) {
  Bytes b = from_hex(serial_hex);
  std::size_t i = 0;
  while (i + 1 < b.size() && b[i] == 0 && !(b[i + 1] & 0x80)) ++i;
  return to_hex(std::span(b).subspan(i));
}

CertificateStore::CertificateStore(db::Database& db, Clock clock) : db_(db), clock_(std::move(clock)) {}

std::optional<CertificateRecord> CertificateStore::find(const std::string& serial_hex) {
  Bytes serial = from_hex(normalize_serial(serial_hex));
  db::Statement st(db_, std::string(detail::kRecordSelect) + "WHERE c.serial = ?");
  st.bind_blob(1, serial);
  if (!st.step()) return std::nullopt;
  return detail::read_record(st);
}

std::optional<CertificateStatus> CertificateStore::status(const std::string& serial_hex) {
  auto st = db_.cached(kStatusSelect);
  st->bind_blob(1, from_hex(normalize_serial(serial_hex)));
  if (!st->step()) return std::nullopt;
  return read_status(*st);
}

std::vector<CertificateStatus> CertificateStore::statuses(const std::vector<std::string>& serials) {
  std::vector<CertificateStatus> out;
  auto st = db_.cached(kStatusSelect);
  for (const auto& s : serials) {
    st->reset();
    st->bind_blob(1, from_hex(normalize_serial(s)));
    if (st->step()) out.push_back(read_status(*st));
  }
  return out;
}

std::vector<CertificateRecord> CertificateStore::certificates_for_key(const Bytes& spki_sha256) {
  db::Statement st(db_, std::string(detail::kRecordSelect) + "WHERE c.spki_sha256 = ? ORDER BY c.id");
  st.bind_blob(1, spki_sha256);
  std::vector<CertificateRecord> out;
  while (st.step()) out.push_back(detail::read_record(st));
  return out;
}

bool is_urgent_reason(RevocationReason reason) {
  return reason == RevocationReason::key_compromise || reason == RevocationReason::ca_compromise;
}

bool replaces_revocation(const CertificateStatus& current, RevocationReason reason, UnixTime effective, UnixTime now) {
  if (!current.revoked() || !is_urgent_reason(reason)) return false;
  if (*current.revocation_effective > now) return effective < *current.revocation_effective;
  return !current.reason || !is_urgent_reason(*current.reason);
}

namespace {

CertificateStatus status_of(const CertificateRecord& r) {
  CertificateStatus s;
  s.serial_hex = r.serial_hex;
  s.profile = r.profile;
  s.not_before = r.not_before;
  s.not_after = r.not_after;
  s.revoked_at = r.revoked_at;
  s.revocation_effective = r.revocation_effective;
  s.reason = r.reason;
  return s;
}

// The role of the CA whose own certificate this is ("root", "issuing"), or "" for an end entity.
std::string authority_role(db::Database& db, std::int64_t certificate_id) {
  db::Statement st(db, "SELECT role FROM authorities WHERE certificate_id = ?");
  st.bind(1, certificate_id);
  return st.step() ? st.text(0) : std::string();
}

// Writes the revocation of `rec` (a first one, or one that replaces_revocation() allows) and its
// compromised key, and fills the audit details. `when` is the requested effective time.
CertificateRecord write_revocation(db::Database& db, CertificateRecord rec, RevocationReason reason, UnixTime when,
                                   UnixTime now, json& audit_details) {
  const std::string& serial = rec.serial_hex;
  if (rec.revoked_at) {
    std::string recorded = "certificate " + serial + " is already revoked (effective " +
                           format_rfc3339(*rec.revocation_effective) + ", " + revocation_reason_name(*rec.reason) + ")";
    bool pending = *rec.revocation_effective > now;
    if (!replaces_revocation(status_of(rec), reason, when, now)) {
      if (!is_urgent_reason(reason) && pending)
        throw Error(ErrorKind::conflict, recorded + "; only keyCompromise (cACompromise for a CA certificate) "
                                                    "replaces a revocation that is not yet in effect");
      throw Error(ErrorKind::conflict, recorded);
    }
    // In effect already: the reason becomes the urgent one, the revocation date stays.
    if (!pending) when = *rec.revocation_effective;
    audit_details["replaced"] = {{"reason", revocation_reason_name(*rec.reason)},
                                 {"effective", format_rfc3339(*rec.revocation_effective)},
                                 {"recorded", format_rfc3339(*rec.revoked_at)}};
    db::Statement up(db,
                     "UPDATE certificates SET revoked_at = ?, revocation_effective = ?, revocation_reason = ? "
                     "WHERE id = ? AND revoked_at = ? AND revocation_effective = ? AND revocation_reason = ?");
    up.bind(1, now).bind(2, when).bind(3, static_cast<int>(reason)).bind(4, rec.id);
    up.bind(5, *rec.revoked_at).bind(6, *rec.revocation_effective).bind(7, static_cast<int>(*rec.reason)).exec();
    if (db.changes() != 1) throw Error(ErrorKind::conflict, "the revocation of " + serial + " changed concurrently");
  } else {
    if (when >= rec.not_after)
      throw Error(ErrorKind::invalid_input, "certificate " + serial + " expires (" + format_rfc3339(rec.not_after) +
                                                ") before the requested effective time");
    db::Statement up(db,
                     "UPDATE certificates SET revoked_at = ?, revocation_effective = ?, revocation_reason = ? "
                     "WHERE id = ? AND revoked_at IS NULL");
    up.bind(1, now).bind(2, when).bind(3, static_cast<int>(reason)).bind(4, rec.id).exec();
    if (db.changes() != 1) throw Error(ErrorKind::conflict, "certificate " + serial + " was revoked concurrently");
  }
  audit_details["reason"] = revocation_reason_name(reason);
  audit_details["effective"] = format_rfc3339(when);
  audit_details["subject"] = rec.subject;
  audit_details["certificate_row"] = detail::certificate_row(db, rec.id);
  if (is_urgent_reason(reason)) {
    // The key is compromised from the moment it is reported, whenever the revocation takes effect.
    db::Statement key(db,
                      "INSERT OR IGNORE INTO compromised_keys (spki_sha256, serial, reason, recorded_at) "
                      "SELECT spki_sha256, serial, ?, ? FROM certificates WHERE id = ?");
    key.bind(1, static_cast<int>(reason)).bind(2, now).bind(3, rec.id).exec();
    db::Statement spki(db, "SELECT spki_sha256 FROM certificates WHERE id = ?");
    spki.bind(1, rec.id);
    spki.step();
    audit_details["compromised_key"] = to_hex(spki.blob_view(0));
  }
  rec.revoked_at = now;
  rec.revocation_effective = when;
  rec.reason = reason;
  return rec;
}

}  // namespace

CertificateRecord CertificateStore::record_revocation(const RevocationInput& in, json& audit_details) {
  if (!db_.in_transaction())
    throw Error(ErrorKind::internal, "a revocation is recorded inside the caller's transaction");
  std::string serial = normalize_serial(in.serial_hex);
  if (in.reason == RevocationReason::certificate_hold)
    throw Error(ErrorKind::invalid_input,
                "certificateHold is not supported: revocation in jitsuin is final (use another reason)");
  UnixTime now = clock_();
  UnixTime when = in.effective.value_or(now);
  // A little slack for clocks and typing; revocation is never back-dated beyond that.
  if (when < now - 300)
    throw Error(ErrorKind::invalid_input, "the effective time " + format_rfc3339(when) + " is in the past");
  auto rec = find(serial);
  if (!rec) throw Error(ErrorKind::not_found, "no certificate with serial " + serial + " was issued by this CA");
  std::string role = authority_role(db_, rec->id);
  if (role == "root")
    throw Error(ErrorKind::invalid_input, "certificate " + serial +
                                              " is the root CA's own certificate: a root is never revoked (no CRL "
                                              "can revoke its own issuer); retire it instead, out of every trust store");
  if (role == "issuing")
    throw Error(ErrorKind::invalid_input,
                "certificate " + serial +
                    " is the issuing CA's own certificate: revoking it is a root-CA operation, run jitsuin ca revoke-ca "
                    "--reason cACompromise|affiliationChanged|superseded|cessationOfOperation --confirm");
  return write_revocation(db_, std::move(*rec), in.reason, when, now, audit_details);
}

CertificateRecord CertificateStore::record_issuing_ca_revocation(RevocationReason reason, json& audit_details) {
  if (!db_.in_transaction())
    throw Error(ErrorKind::internal, "a revocation is recorded inside the caller's transaction");
  if (reason != RevocationReason::ca_compromise && reason != RevocationReason::affiliation_changed &&
      reason != RevocationReason::superseded && reason != RevocationReason::cessation_of_operation)
    throw Error(ErrorKind::invalid_input, "the issuing CA's certificate is revoked for cACompromise, affiliationChanged, "
                                          "superseded or cessationOfOperation, not " +
                                              revocation_reason_name(reason));
  db::Statement st(db_, std::string(detail::kRecordSelect) +
                            "WHERE c.id = (SELECT certificate_id FROM authorities WHERE role = 'issuing')");
  if (!st.step()) throw Error(ErrorKind::not_found, "no issuing CA in the database (run: jitsuin ca init)");
  CertificateRecord rec = detail::read_record(st);
  UnixTime now = clock_();
  audit_details["role"] = "issuing";
  return write_revocation(db_, std::move(rec), reason, now, now, audit_details);
}

std::optional<CertificateRecord> CertificateStore::issuing_ca_revocation() {
  db::Statement st(db_, std::string(detail::kRecordSelect) +
                            "WHERE c.id = (SELECT certificate_id FROM authorities WHERE role = 'issuing') "
                            "AND c.revoked_at IS NOT NULL");
  if (!st.step()) return std::nullopt;
  return detail::read_record(st);
}

std::optional<std::string> CertificateStore::compromised_key_serial(const Bytes& spki_sha256) {
  auto st = db_.cached("SELECT serial FROM compromised_keys WHERE spki_sha256 = ?");
  st->bind_blob(1, spki_sha256);
  if (!st->step()) return std::nullopt;
  return to_hex(st->blob_view(0));
}

}  // namespace jitsuin::ca
