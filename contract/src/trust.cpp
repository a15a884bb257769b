// The trust list: partner_cas rows, their certificates and CRLs under HOME/trust.
#include "jitsuin/contract/trust.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <nlohmann/json.hpp>

#include "jitsuin/core/error.h"
#include "jitsuin/db/audit.h"
#include "pdf_file.h"

namespace jitsuin::contract {

namespace {

using nlohmann::json;

constexpr const char* kColumns = "name, fingerprint, subject, not_after, crl_urls, added_at, added_by";

PartnerCa from_row(const db::Statement& st) {
  PartnerCa p;
  p.name = st.text(0);
  p.fingerprint = st.text(1);
  p.subject = st.text(2);
  p.not_after = st.int64(3);
  p.crl_urls = json::parse(st.text(4)).get<std::vector<std::string>>();
  p.added_at = st.int64(5);
  p.added_by = st.text(6);
  return p;
}

std::string common_name(const X509* cert) {
  const X509_NAME* n = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(n, NID_commonName, -1);
  if (i < 0) return "";
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
  if (len < 0) return "";
  std::string s(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return s;
}

void check_name(const std::string& name) {
  if (name.empty() || name.size() > 128)
    throw Error(ErrorKind::invalid_input, "a partner CA's name must have 1 to 128 characters");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) throw Error(ErrorKind::invalid_input, "a partner CA's name may not hold control characters");
}

void check_url(const std::string& url) {
  bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
  bool clean = url.size() <= 2048 && url.find_first_of(" \t\r\n") == std::string::npos;
  if (!scheme || !clean || url.size() <= 8)
    throw Error(ErrorKind::invalid_input, "CRL URL '" + url + "' is not an http:// or https:// URL");
}

std::optional<PartnerCa> find(db::Database& db, const char* column, const std::string& value) {
  db::Statement st(db, std::string("SELECT ") + kColumns + " FROM partner_cas WHERE " + column + " = ?");
  st.bind(1, value);
  if (!st.step()) return std::nullopt;
  return from_row(st);
}

}  // namespace

CrlOnFile describe_crl(ossl::Crl crl) {
  CrlOnFile out;
  out.this_update = unix_time(X509_CRL_get0_lastUpdate(crl.get()));
  if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get())) out.next_update = unix_time(next);
  if (auto* n = static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, nullptr, nullptr))) {
    std::int64_t v = 0;
    if (ASN1_INTEGER_get_int64(&v, n) == 1) out.number = v;
    ASN1_INTEGER_free(n);
  }
  out.crl = std::move(crl);
  return out;
}

PartnerCa TrustList::add(const X509* certificate, const std::vector<std::string>& crl_urls, std::string name,
                         const std::string& actor, UnixTime now) {
  X509* cert = const_cast<X509*>(certificate);
  if (X509_check_ca(cert) != 1 || !(X509_get_extension_flags(cert) & EXFLAG_BCONS))
    throw Error(ErrorKind::invalid_input, "the certificate of " + ossl::name_to_string(X509_get_subject_name(cert)) +
                                              " is not a CA certificate (no basicConstraints CA:TRUE)");
  PartnerCa p;
  p.subject = ossl::name_to_string(X509_get_subject_name(cert));
  p.not_after = unix_time(X509_get0_notAfter(cert));
  if (p.not_after <= now || unix_time(X509_get0_notBefore(cert)) > now)
    throw Error(ErrorKind::invalid_input, "the certificate of " + p.subject + " is not valid now (until " +
                                              format_rfc3339(p.not_after) + ")");
  p.fingerprint = to_hex(sha256(ossl::cert_der(cert)));
  p.name = name.empty() ? common_name(cert) : std::move(name);
  if (p.name.empty()) p.name = p.fingerprint.substr(0, 16);
  check_name(p.name);
  for (auto& u : crl_urls) check_url(u);
  p.crl_urls = crl_urls;
  p.added_at = now;
  p.added_by = actor;
  // The certificate file first (named by its fingerprint: a file left by a failed commit is
  // harmless and the next add rewrites it), then the row and its audit entry together.
  std::filesystem::create_directories(dir_);
  if (find(db_, "fingerprint", p.fingerprint))
    throw Error(ErrorKind::conflict, p.subject + " is already a partner CA (fingerprint " + p.fingerprint + ")");
  write_file_atomic(certificate_path(p), ossl::cert_pem(cert), 0644);
  db::Transaction tx(db_);
  if (find(db_, "fingerprint", p.fingerprint))
    throw Error(ErrorKind::conflict, p.subject + " is already a partner CA (fingerprint " + p.fingerprint + ")");
  if (find(db_, "name", p.name)) throw Error(ErrorKind::conflict, "a partner CA is already called '" + p.name + "'");
  db::Statement ins(db_, std::string("INSERT INTO partner_cas (") + kColumns + ") VALUES (?, ?, ?, ?, ?, ?, ?)");
  ins.bind(1, p.name).bind(2, p.fingerprint).bind(3, p.subject).bind(4, p.not_after);
  ins.bind(5, json(p.crl_urls).dump()).bind(6, p.added_at).bind(7, p.added_by);
  ins.exec();
  json details = {{"name", p.name}, {"subject", p.subject}, {"crl_urls", p.crl_urls}};
  db::append_audit(db_, {actor, "trust.add", p.fingerprint, details.dump()}, now);
  tx.commit();
  return p;
}

std::vector<PartnerCa> TrustList::list() {
  db::Statement st(db_, std::string("SELECT ") + kColumns + " FROM partner_cas ORDER BY name");
  std::vector<PartnerCa> out;
  while (st.step()) out.push_back(from_row(st));
  return out;
}

PartnerCa TrustList::remove(const std::string& key, bool by_fingerprint, const std::string& actor, UnixTime now) {
  PartnerCa p;
  {
    db::Transaction tx(db_);
    auto found = find(db_, by_fingerprint ? "fingerprint" : "name", key);
    if (!found)
      throw Error(ErrorKind::not_found, std::string("no partner CA with ") + (by_fingerprint ? "fingerprint " : "name '") +
                                            key + (by_fingerprint ? "" : "'"));
    p = std::move(*found);
    db::Statement del(db_, "DELETE FROM partner_cas WHERE fingerprint = ?");
    del.bind(1, p.fingerprint);
    del.exec();
    json details = {{"name", p.name}, {"subject", p.subject}};
    db::append_audit(db_, {actor, "trust.remove", p.fingerprint, details.dump()}, now);
    tx.commit();
  }
  std::error_code ec;
  std::filesystem::remove(certificate_path(p), ec);
  std::filesystem::remove(crl_path(p), ec);
  return p;
}

ossl::Cert TrustList::certificate(const PartnerCa& partner) const {
  return ossl::cert_from_pem(read_file(certificate_path(partner), kMaxFileBytes, "partner CA certificate"));
}

std::optional<CrlOnFile> TrustList::crl(const PartnerCa& partner) const {
  std::error_code ec;
  if (!std::filesystem::exists(crl_path(partner), ec)) return std::nullopt;
  std::string der = read_file(crl_path(partner), kMaxFileBytes, "partner CRL");
  const unsigned char* q = reinterpret_cast<const unsigned char*>(der.data());
  ossl::Crl crl(d2i_X509_CRL(nullptr, &q, static_cast<long>(der.size())));
  if (!crl) ossl::throw_openssl("the CRL on file " + crl_path(partner).string() + " does not parse");
  return describe_crl(std::move(crl));
}

void TrustList::store_crl(const PartnerCa& partner, const X509_CRL* crl) const {
  unsigned char* der = nullptr;
  int len = i2d_X509_CRL(const_cast<X509_CRL*>(crl), &der);
  if (len <= 0) ossl::throw_openssl("encoding a CRL");
  std::string data(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  write_file_atomic(crl_path(partner), data, 0644);
}

}  // namespace jitsuin::contract
