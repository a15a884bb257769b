#include "jitsuin/ca/row_check.h"

#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>
#include <vector>

#include "jitsuin/ca/store.h"
#include "records.h"

namespace jitsuin::ca {

namespace {

using nlohmann::json;

// What an entry without a digest (an earlier version's) said about a row: only these columns.
struct Legacy {
  std::optional<std::string> subject, profile;                 // certificates
  std::optional<std::string> key_algorithm, certificate_serial;   // authorities
  std::optional<std::int64_t> crl_number;                      // authorities
  std::optional<std::int64_t> reason;                          // certificates, when revoked
  std::optional<UnixTime> effective;
};

// The latest audited write of one row.
struct Expected {
  std::int64_t seq = 0;
  std::size_t action = 0;   // index into State::actions
  bool revoked = false;     // the certificate as that entry left it
  bool has_digest = false;
  std::array<std::uint8_t, 32> digest{};
  std::unique_ptr<Legacy> legacy;   // set when the entry carried no digest
  bool seen = false;
};

// Serials as stored and as written in entries, compared without leading zero bytes.
std::string serial_key(std::span<const std::uint8_t> serial) {
  std::size_t i = 0;
  while (i + 1 < serial.size() && serial[i] == 0) ++i;
  return to_hex(serial.subspan(i));
}

std::optional<std::string> text_field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool is_digest(const std::string& hex) {
  if (hex.size() != 64) return false;
  for (char c : hex)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

struct CertificateRowCheck::State {
  RowCheckReport report;
  std::vector<std::string> actions;
  std::unordered_map<std::string, std::size_t> action_index;
  std::unordered_map<std::string, Expected> certificates;   // by serial_key
  std::map<std::string, Expected> authorities;              // by role
  const db::AuditEntry* current = nullptr;
  std::size_t current_action = 0;

  std::string entry_name(std::int64_t seq, std::size_t action) const {
    return "entry " + std::to_string(seq) + " (" + actions[action] + ")";
  }

  void fail(const std::string& row, std::int64_t entry, std::string problem) {
    ++report.bad_rows;
    if (!report.ok) return;
    report.ok = false;
    report.row = row;
    report.entry = entry;
    report.problem = std::move(problem);
  }

  void malformed(const char* what) {
    fail("", current->seq,
         entry_name(current->seq, current_action) + " carries a malformed " + what + " (expected the row's digest)");
  }

  Expected& write(Expected& e) {
    e.seq = current->seq;
    e.action = current_action;
    return e;
  }

  // ------------------------------------------------------------ entries with digests

  void certificate_row(const json& v) {
    auto serial = v.is_object() ? text_field(v, "serial") : std::nullopt;
    auto digest = v.is_object() ? text_field(v, "sha256") : std::nullopt;
    auto revoked = v.is_object() ? v.find("revoked") : v.end();
    if (!serial || !digest || !is_digest(*digest) || revoked == v.end() || !revoked->is_boolean())
      return malformed("certificate_row");
    Bytes s, d;
    try {
      s = from_hex(*serial);
      d = from_hex(*digest);
    } catch (const Error&) {
      return malformed("certificate_row");
    }
    Expected& e = write(certificates[serial_key(s)]);
    e.revoked = revoked->get<bool>();
    e.has_digest = true;
    std::copy(d.begin(), d.end(), e.digest.begin());
    e.legacy.reset();
  }

  void authority_row(const json& v) {
    auto role = v.is_object() ? text_field(v, "role") : std::nullopt;
    auto digest = v.is_object() ? text_field(v, "sha256") : std::nullopt;
    if (!role || !digest || !is_digest(*digest)) return malformed("authority_row");
    Bytes d = from_hex(*digest);
    Expected& e = write(authorities[*role]);
    e.has_digest = true;
    std::copy(d.begin(), d.end(), e.digest.begin());
    e.legacy.reset();
  }

  // Every "certificate_row" / "authority_row" anywhere in the details; true when one was found.
  bool walk(const json& j) {
    bool found = false;
    if (j.is_object()) {
      for (auto it = j.begin(); it != j.end(); ++it) {
        if (it.key() == "certificate_row") certificate_row(it.value()), found = true;
        else if (it.key() == "authority_row") authority_row(it.value()), found = true;
        else if (it->is_structured()) found = walk(it.value()) || found;
      }
    } else if (j.is_array()) {
      for (const auto& v : j) found = walk(v) || found;
    }
    return found;
  }

  // ------------------------------------------------------------ entries of earlier versions

  Legacy& legacy_of(Expected& e) {
    if (!e.legacy) e.legacy = std::make_unique<Legacy>();   // a digest before: nothing of it is known now
    e.has_digest = false;
    return *e.legacy;
  }

  Expected* legacy_certificate(const std::optional<std::string>& serial) {
    if (!serial) return nullptr;
    try {
      return &write(certificates[serial_key(from_hex(normalize_serial(*serial)))]);
    } catch (const Error&) {
      return nullptr;
    }
  }

  void legacy_issue(const std::optional<std::string>& serial, const json& d, std::optional<std::string> profile) {
    Expected* e = legacy_certificate(serial);
    if (!e) return;
    Legacy& l = legacy_of(*e);
    l = Legacy{};   // a new row: nothing of an earlier one
    e->revoked = false;
    l.subject = text_field(d, "subject");
    l.profile = profile ? profile : text_field(d, "profile");
  }

  void legacy_revoke(const std::optional<std::string>& serial, const json& d) {
    Expected* e = legacy_certificate(serial);
    if (!e) return;
    Legacy& l = legacy_of(*e);
    e->revoked = true;
    l.reason.reset();
    l.effective.reset();
    try {
      if (auto r = text_field(d, "reason")) l.reason = static_cast<std::int64_t>(parse_revocation_reason(*r));
      if (auto t = text_field(d, "effective")) l.effective = parse_rfc3339(*t);
    } catch (const Error&) {
    }
  }

  void legacy(const db::AuditEntry& entry, const json& d) {
    const std::string_view a = entry.action;
    if (a == "ca.init") {
      for (std::string role : {"root", "issuing"}) {
        auto serial = text_field(d, (role + "_serial").c_str());
        legacy_issue(serial, json{{"subject", d.value(role + "_subject", "")}}, role + "-ca");
        Legacy& l = legacy_of(write(authorities[role]));
        l = Legacy{};
        l.subject = text_field(d, (role + "_subject").c_str());
        l.key_algorithm = text_field(d, (role + "_key").c_str());
        l.certificate_serial = serial;
        l.crl_number = 0;
      }
    } else if (a == "cert.issue") {
      legacy_issue(std::string(entry.object), d, std::nullopt);
    } else if (a == "cert.revoke") {
      legacy_revoke(std::string(entry.object), d);
    } else if (a == "ra.application.issued") {
      if (auto c = d.find("certificate"); c != d.end() && c->is_object()) legacy_issue(text_field(d, "serial"), *c, std::nullopt);
      if (auto s = d.find("superseded"); s != d.end() && s->is_object()) legacy_revoke(text_field(*s, "serial"), *s);
    } else if (a == "ra.revocation.approve" || a == "ra.revocation.revoked") {
      if (auto c = d.find("certificate"); c != d.end() && c->is_object()) legacy_revoke(text_field(d, "serial"), *c);
    } else if (a == "crl.publish") {
      auto crls = d.find("crls");
      if (crls == d.end() || !crls->is_array()) return;
      for (const auto& c : *crls) {
        auto role = c.is_object() ? text_field(c, "role") : std::nullopt;
        auto n = c.is_object() ? c.find("crl_number") : c.end();
        if (!role || n == c.end() || !n->is_number_integer()) continue;
        Expected& e = write(authorities[*role]);
        legacy_of(e).crl_number = n->get<std::int64_t>();
      }
    }
  }

  // ------------------------------------------------------------ the rows

  void check_certificates(db::Database& db) {
    db::Statement st(db, std::string(detail::kCertificateRowSelect) + "ORDER BY id");
    while (st.step()) {
      ++report.certificates;
      std::string key = serial_key(st.blob_view(1));
      std::string row = "certificate " + key;
      auto it = certificates.find(key);
      if (it == certificates.end()) {
        fail(key, 0, row + " (row id " + std::to_string(st.int64(0)) +
                         ") was written by no audit entry: inserted behind the CA's back");
        continue;
      }
      Expected& e = it->second;
      e.seen = true;
      const std::string by = entry_name(e.seq, e.action);
      const bool revoked_now = !st.is_null(10);
      if (e.has_digest) {
        Bytes d = db::row_digest(detail::kCertificateRowDomain, st, detail::kCertificateRowColumns);
        if (std::equal(d.begin(), d.end(), e.digest.begin(), e.digest.end())) continue;
        std::string what = "its row is not the one " + by + " wrote";
        if (e.revoked && !revoked_now) what += ": revoked there, it is not revoked now";
        else if (!e.revoked && revoked_now) what += ": it is revoked now, and no audited entry revoked it";
        else what += " (subject, validity, key, certificate, issuer or revocation changed)";
        fail(key, e.seq, row + ": " + what);
        continue;
      }
      ++report.legacy;
      const Legacy& l = *e.legacy;
      std::string what;
      if (l.subject && st.text(4) != *l.subject) what = "its subject is '" + st.text(4) + "', " + by + " says '" + *l.subject + "'";
      else if (l.profile && st.text(3) != *l.profile) what = "its profile is '" + st.text(3) + "', " + by + " says '" + *l.profile + "'";
      else if (e.revoked && !revoked_now) what = "revoked by " + by + ", it is not revoked now";
      else if (!e.revoked && revoked_now) what = "it is revoked now, and no audited entry revoked it (last: " + by + ")";
      else if (e.revoked && l.effective &&
               (st.type(11) != db::ValueType::integer || st.int64(11) != *l.effective))
        what = "its revocation takes effect at another time than " + by + " says";
      else if (e.revoked && l.reason && (st.type(12) != db::ValueType::integer || st.int64(12) != *l.reason))
        what = "its revocation reason is not the one " + by + " says";
      if (!what.empty()) fail(key, e.seq, row + ": " + what);
    }
    // Rows an entry wrote that are gone: the earliest such entry first.
    const std::pair<const std::string, Expected>* first = nullptr;
    std::int64_t gone = 0;
    for (const auto& kv : certificates)
      if (!kv.second.seen) {
        ++gone;
        if (!first || kv.second.seq < first->second.seq) first = &kv;
      }
    if (first) {
      fail(first->first, first->second.seq,
           "certificate " + first->first + ", written by " + entry_name(first->second.seq, first->second.action) +
               ", is gone from the certificates table (deleted)");
      report.bad_rows += gone - 1;
    }
  }

  void check_authorities(db::Database& db) {
    db::Statement st(db, std::string(detail::kAuthorityRowSelect) + "ORDER BY id");
    while (st.step()) {
      ++report.authorities;
      std::string role = st.text(1);
      std::string row = "authority " + role;
      auto it = authorities.find(role);
      if (it == authorities.end()) {
        fail(row, 0, "the " + row + " row was written by no audit entry");
        continue;
      }
      Expected& e = it->second;
      e.seen = true;
      const std::string by = entry_name(e.seq, e.action);
      if (e.has_digest) {
        Bytes d = db::row_digest(detail::kAuthorityRowDomain, st, detail::kAuthorityRowColumns);
        if (!std::equal(d.begin(), d.end(), e.digest.begin(), e.digest.end()))
          fail(row, e.seq, "the " + row + " row is not the one " + by + " wrote (key, subject, certificate or CRL number changed)");
        continue;
      }
      ++report.legacy;
      const Legacy& l = *e.legacy;
      std::string what;
      if (l.subject && st.text(4) != *l.subject) what = "its subject is not the one " + by + " says";
      else if (l.key_algorithm && st.text(3) != *l.key_algorithm) what = "its key algorithm is not the one " + by + " says";
      else if (l.crl_number && (st.type(6) != db::ValueType::integer || st.int64(6) != *l.crl_number))
        what = "its CRL number is " + st.text(6) + ", " + by + " says " + std::to_string(*l.crl_number);
      else if (l.certificate_serial) {
        db::Statement c(db, "SELECT serial FROM certificates WHERE id = ?");
        c.bind(1, st.int64(5));
        bool same = false;
        try {
          same = c.step() && serial_key(c.blob_view(0)) == serial_key(from_hex(normalize_serial(*l.certificate_serial)));
        } catch (const Error&) {
        }
        if (!same) what = "its certificate is not the one " + by + " says";
      }
      if (!what.empty()) fail(row, e.seq, "the " + row + " row: " + what);
    }
    for (const auto& [role, e] : authorities)
      if (!e.seen) fail("authority " + role, e.seq, "the authority " + role + " row, written by " + entry_name(e.seq, e.action) + ", is gone (deleted)");
  }
};

CertificateRowCheck::CertificateRowCheck() : state_(std::make_unique<State>()) {}
CertificateRowCheck::~CertificateRowCheck() = default;

void CertificateRowCheck::entry(const db::AuditEntry& entry) {
  auto& s = *state_;
  static const std::string_view kLegacyActions[] = {"ca.init",     "cert.issue",           "cert.revoke",
                                                    "crl.publish", "ra.application.issued", "ra.revocation.approve",
                                                    "ra.revocation.revoked"};
  // A key can only appear as a key: in a string value its quotes would be escaped.
  const bool rows = entry.details.find("\"certificate_row\"") != std::string_view::npos ||
                    entry.details.find("\"authority_row\"") != std::string_view::npos;
  bool legacy = false;
  for (auto a : kLegacyActions) legacy = legacy || entry.action == a;
  if (!rows && !legacy) return;
  json d = json::parse(entry.details, nullptr, /*allow_exceptions=*/false);
  if (!d.is_object()) return;   // nothing this check can read; a writer of rows always writes an object
  auto [it, added] = s.action_index.try_emplace(std::string(entry.action), s.actions.size());
  if (added) s.actions.emplace_back(entry.action);
  s.current = &entry;
  s.current_action = it->second;
  if (!(rows && s.walk(d)) && legacy) s.legacy(entry, d);
  s.current = nullptr;
}

void CertificateRowCheck::finish(db::Database& db) {
  auto& s = *state_;
  if (!s.report.ok) return;   // an entry already named
  s.check_certificates(db);
  s.check_authorities(db);
}

const RowCheckReport& CertificateRowCheck::report() const { return state_->report; }

}  // namespace jitsuin::ca
