#include "jitsuin/ca/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "jitsuin/db/audit.h"
#include "records.h"
#include "x509util.h"

namespace jitsuin::ca {

namespace {

using nlohmann::json;
constexpr int kDay = 86400;

using ossl::OcspBasic;
using ossl::OcspRequest;
using ossl::OcspResponse;

Bytes response_der(OCSP_RESPONSE* resp) {
  unsigned char* out = nullptr;
  int len = i2d_OCSP_RESPONSE(resp, &out);
  if (len <= 0) ossl::throw_openssl("cannot encode the OCSP response");
  Bytes der(out, out + len);
  OPENSSL_free(out);
  return der;
}

// An unsigned response with an error status (RFC 6960 4.2.1: no responseBytes).
Bytes status_only(int status) {
  auto resp = ossl::check<OcspResponse>(OCSP_response_create(status, nullptr), "OCSP_response_create");
  return response_der(resp.get());
}

// Why a decoded request is not one we answer, or nullopt. OpenSSL's decoder takes BER (indefinite
// lengths, lengths in more octets than needed, constructed strings, an explicit DEFAULT): RFC 6960
// 4.1.1 says DER, so the request must be exactly what OpenSSL encodes again from what it decoded.
// The nonce (RFC 8954 2.1): at most one, its extnValue the DER of an OCTET STRING of 1 to 32 octets.
std::optional<std::string> request_problem(OCSP_REQUEST* req, std::span<const std::uint8_t> in, bool& nonce) {
  unsigned char* again = nullptr;
  int len = i2d_OCSP_REQUEST(req, &again);
  if (len <= 0) ossl::throw_openssl("cannot encode the OCSP request again");
  bool der = static_cast<std::size_t>(len) == in.size() && std::equal(in.begin(), in.end(), again);
  OPENSSL_free(again);
  if (!der) return "not DER (BER lengths or encodings: RFC 6960 asks for DER)";
  int at = OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, -1);
  nonce = at >= 0;
  if (!nonce) return std::nullopt;
  if (OCSP_REQUEST_get_ext_by_NID(req, NID_id_pkix_OCSP_Nonce, at) >= 0) return "more than one nonce extension";
  const ASN1_OCTET_STRING* value = X509_EXTENSION_get_data(OCSP_REQUEST_get_ext(req, at));
  const unsigned char* p = value->data;
  ASN1_OCTET_STRING* inner = d2i_ASN1_OCTET_STRING(nullptr, &p, value->length);
  ERR_clear_error();
  if (!inner) return "the nonce is not an OCTET STRING";
  int octets = ASN1_STRING_length(inner);
  unsigned char* inner_der = nullptr;
  int inner_len = i2d_ASN1_OCTET_STRING(inner, &inner_der);
  bool inner_ok = p == value->data + value->length && inner_len == value->length &&
                  std::equal(value->data, value->data + value->length, inner_der);
  OPENSSL_free(inner_der);
  ASN1_OCTET_STRING_free(inner);
  if (!inner_ok) return "the nonce is not one DER OCTET STRING";
  if (octets < 1 || octets > 32) return "a nonce of " + std::to_string(octets) + " octets (RFC 8954: 1 to 32)";
  return std::nullopt;
}

Bytes digest(const EVP_MD* md, const unsigned char* data, std::size_t len) {
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int n = 0;
  if (EVP_Digest(data, len, out.data(), &n, md, nullptr) != 1) ossl::throw_openssl("cannot hash");
  return out;
}

bool equals(const ASN1_OCTET_STRING* s, const Bytes& b) {
  return s && static_cast<std::size_t>(s->length) == b.size() && std::equal(b.begin(), b.end(), s->data);
}

// issuerNameHash and issuerKeyHash of the issuing CA for one hash algorithm.
struct IssuerHashes {
  int nid = NID_undef;
  Bytes name, key;
};

// The row's revocation columns, as a response was made from them.
struct RowState {
  bool found = false;
  std::optional<UnixTime> revoked_at, effective;
  int reason = 0;
  bool operator==(const RowState&) const = default;
};

struct Cached {
  RowState row;
  std::int64_t signer_id = 0;
  UnixTime reuse_until = 0;   // exclusive
  UnixTime this_update = 0, next_update = 0;
  Bytes der;
  OcspAnswer::Single single;
};

}  // namespace

struct OcspResponder::Impl {
  const config::Config& config;
  db::Database& db;   // the signer's issuance only, under signer_mutex
  hsm::KeyStore& keys;
  Clock clock;
  CertificateAuthority& ca;
  Actor actor;
  std::int64_t issuing_id = 0;
  std::vector<IssuerHashes> issuer_hashes;
  OcspCounters counters;

  struct Signer {
    std::int64_t id = 0;   // ocsp_signers row
    CertificateRecord record;
    ossl::Cert cert;
    std::shared_ptr<hsm::Signer> key;
  };
  std::mutex signer_mutex;                // held while the signer is loaded or made (rare)
  std::shared_mutex state_mutex;          // the signer pointer and the cache; hits take it shared
  std::shared_ptr<const Signer> signer;
  std::map<std::pair<Bytes, int>, Cached> cache;
  std::atomic<UnixTime> signer_checked{0};   // when the signer's row was last read for a revocation

  // One read connection per thread, opened from db's file on the thread's first request; a
  // connection is used only by the thread it belongs to. A server's pool has a fixed number of
  // threads; an id reused by a new thread takes over the connection of the ended one.
  std::shared_mutex readers_mutex;
  std::unordered_map<std::thread::id, std::unique_ptr<db::Database>> readers;

  Impl(const config::Config& c, db::Database& d, hsm::KeyStore& k, Clock clk, CertificateAuthority& a, Actor act)
      : config(c), db(d), keys(k), clock(std::move(clk)), ca(a), actor(std::move(act)) {
    db::Statement st(db, "SELECT id FROM authorities WHERE role = 'issuing'");
    if (!st.step()) throw Error(ErrorKind::not_found, "no issuing CA in the database");
    issuing_id = st.int64(0);
    const X509* issuing = ca.issuing_certificate();
    unsigned char* name_der = nullptr;
    int name_len = i2d_X509_NAME(X509_get_subject_name(issuing), &name_der);
    if (name_len <= 0) ossl::throw_openssl("cannot encode the issuing CA's name");
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(issuing);
    for (int nid : {NID_sha1, NID_sha256}) {
      const EVP_MD* md = EVP_get_digestbynid(nid);
      issuer_hashes.push_back({nid, digest(md, name_der, static_cast<std::size_t>(name_len)),
                               digest(md, key->data, static_cast<std::size_t>(key->length))});
    }
    OPENSSL_free(name_der);
  }

  db::Database& reader() {
    auto id = std::this_thread::get_id();
    {
      std::shared_lock lock(readers_mutex);
      auto it = readers.find(id);
      if (it != readers.end()) return *it->second;
    }
    // Opened outside the lock (a file open and three pragmas); migrations are the owner's.
    auto conn = db::Database::open(db.path(), {.synchronous_full = config.database.synchronous == "full", .migrate = false});
    std::unique_lock lock(readers_mutex);
    return *(readers[id] = std::move(conn));
  }

  UnixTime renew_at(const CertificateRecord& r) const {
    return r.not_after - static_cast<UnixTime>(kOcspRenewBeforeDays) * kDay;
  }

  // The newest signer row still usable at `now` (not revoked in effect, not due for renewal).
  std::optional<std::pair<std::int64_t, std::string>> usable_row(UnixTime now) {
    db::Statement st(db,
                     "SELECT s.id, s.key_uri FROM ocsp_signers s JOIN certificates c ON c.id = s.certificate_id "
                     "WHERE c.not_after - ?2 > ?1 AND c.not_before <= ?1 "
                     "AND (c.revocation_effective IS NULL OR c.revocation_effective > ?1) ORDER BY s.id DESC LIMIT 1");
    st.bind(1, now).bind(2, static_cast<std::int64_t>(kOcspRenewBeforeDays) * kDay);
    if (!st.step()) return std::nullopt;
    return std::make_pair(st.int64(0), st.text(1));
  }

  std::shared_ptr<const Signer> load(std::int64_t id, const std::string& key_uri) {
    auto s = std::make_shared<Signer>();
    s->id = id;
    db::Statement st(db, std::string(detail::kRecordSelect) +
                             "WHERE c.id = (SELECT certificate_id FROM ocsp_signers WHERE id = ?)");
    st.bind(1, id);
    if (!st.step()) throw Error(ErrorKind::internal, "OCSP signer row without its certificate");
    s->record = detail::read_record(st);
    s->cert = ossl::cert_from_der(s->record.der);
    s->key = keys.find(key_uri);
    return s;
  }

  // A new key on the token, a CSR it signs, the certificate from the issuing CA; then one
  // transaction records it (unless another process made a usable signer meanwhile).
  std::shared_ptr<const Signer> issue(UnixTime now) {
    std::shared_ptr<hsm::Signer> key = keys.generate("jitsuin-ocsp-signer", hsm::KeyAlgorithm::p256);
    auto req = ossl::check<ossl::Req>(X509_REQ_new(), "X509_REQ_new");
    if (X509_REQ_set_pubkey(req.get(), key->pkey()) != 1) ossl::throw_openssl("cannot build the OCSP signer's CSR");
    {
      auto hold = key->hold();   // the embedded token's lock, for this one signature
      if (X509_REQ_sign(req.get(), key->pkey(), EVP_sha256()) <= 0)
        ossl::throw_openssl("cannot sign the OCSP signer's CSR");
    }
    unsigned char* der = nullptr;
    int len = i2d_X509_REQ(req.get(), &der);
    if (len <= 0) ossl::throw_openssl("cannot encode the OCSP signer's CSR");
    IssueRequest ir;
    ir.profile = "ocsp-signing";
    ir.csr.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    const auto& issuing_subject = config.ca.issuing.subject;
    auto org = issuing_subject.find("organization");
    auto cn = issuing_subject.find("common_name");
    ir.subject["organization"] = org != issuing_subject.end() ? org->second : "Jitsuin";
    ir.subject["common_name"] = (cn != issuing_subject.end() ? cn->second : std::string("Jitsuin Issuing CA")) + " OCSP";
    PreparedCertificate prepared = ca.sign_certificate(ir);

    db::Transaction tx(db);
    if (auto row = usable_row(now)) return load(row->first, row->second);   // ours is not needed
    json details;
    CertificateRecord record = ca.record_certificate(prepared, details);
    db::Statement ins(db, "INSERT INTO ocsp_signers (certificate_id, key_uri, key_algorithm, created_at) VALUES (?, ?, ?, ?)");
    ins.bind(1, record.id).bind(2, key->reference()).bind(3, hsm::key_algorithm_name(hsm::KeyAlgorithm::p256)).bind(4, now);
    ins.exec();
    std::int64_t id = db.last_insert_rowid();
    details["key_uri"] = key->reference();
    details["renew_after"] = format_rfc3339(renew_at(record));
    db::append_audit(db, {actor.name, "ocsp.signer.issue", record.serial_hex, details.dump()}, now);
    tx.commit();
    auto s = std::make_shared<Signer>();
    s->id = id;
    s->record = std::move(record);
    // Parsed again from its DER: the prepared certificate's key was set as raw bits (from the
    // CSR) and has no decoded public key, which OCSP_basic_sign checks the signing key against.
    s->cert = ossl::cert_from_der(prepared.der);
    s->key = std::move(key);
    return s;
  }

  bool usable(const Signer& s, UnixTime now) const {
    return now < renew_at(s.record) && now >= s.record.not_before &&
           !(s.record.revocation_effective && *s.record.revocation_effective <= now);
  }

  // Whether the signer's row says it is revoked at `now` (read on `conn`).
  static bool revoked_in_row(db::Database& conn, std::int64_t certificate_id, UnixTime now) {
    auto st = conn.cached("SELECT revocation_effective FROM certificates WHERE id = ?");
    st->bind(1, certificate_id);
    return !st->step() || (!st->is_null(0) && st->int64(0) <= now);
  }

  std::shared_ptr<const Signer> current_signer(UnixTime now) {
    {
      std::shared_lock lock(state_mutex);
      if (signer && usable(*signer, now)) {
        // A revocation of the signer recorded since it was loaded: its row is read again at most
        // once a second (by whichever thread comes first in that second).
        UnixTime checked = signer_checked.load();
        if (checked == now || !signer_checked.compare_exchange_strong(checked, now)) return signer;
        if (!revoked_in_row(reader(), signer->record.id, now)) return signer;
      }
    }
    // One thread loads or makes the signer; the others wait here and then take the one it made.
    std::lock_guard make(signer_mutex);
    {
      std::shared_lock lock(state_mutex);
      if (signer && usable(*signer, now) && !revoked_in_row(db, signer->record.id, now)) return signer;
    }
    auto row = usable_row(now);
    std::shared_ptr<const Signer> s = row ? load(row->first, row->second) : issue(now);
    std::unique_lock lock(state_mutex);
    signer = s;
    return s;
  }

  RowState read_row(db::Database& conn, const Bytes& serial) {
    auto st = conn.cached(
        "SELECT revoked_at, revocation_effective, revocation_reason FROM certificates WHERE serial = ? AND issuer_id = ?");
    st->bind_blob(1, serial).bind(2, issuing_id);
    RowState r;
    if (!st->step()) return r;
    r.found = true;
    if (!st->is_null(0)) r.revoked_at = st->int64(0);
    if (!st->is_null(1)) r.effective = st->int64(1);
    if (!st->is_null(2)) r.reason = static_cast<int>(st->int64(2));
    return r;
  }

  OcspAnswer malformed(std::string why) {
    OcspAnswer out;
    out.der = status_only(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST);
    out.response_status = "malformedRequest";
    out.problem = std::move(why);
    ++counters.malformed_request;
    return out;
  }

  OcspAnswer successful(OcspAnswer out) {
    out.response_status = "successful";
    ++counters.successful;
    for (const auto& s : out.statuses) ++(s.status == "good" ? counters.good : s.status == "revoked" ? counters.revoked : counters.unknown);
    ++(out.cached ? counters.cache_hits : counters.signatures);
    return out;
  }

  OcspAnswer answer(std::span<const std::uint8_t> in) {
    const unsigned char* p = in.data();
    OcspRequest req(in.empty() ? nullptr : d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(in.size())));
    ERR_clear_error();
    if (!req) return malformed("not a DER OCSPRequest");
    if (p != in.data() + in.size()) return malformed("trailing data after the OCSPRequest");
    OcspAnswer out;
    if (auto problem = request_problem(req.get(), in, out.nonce)) return malformed(*problem);
    int n = OCSP_request_onereq_count(req.get());
    if (n < 1) return malformed("no CertID in the request");
    if (n > kOcspMaxCertIds)
      return malformed(std::to_string(n) + " CertIDs in one request (at most " + std::to_string(kOcspMaxCertIds) + ")");

    UnixTime now = clock();
    auto signer = current_signer(now);
    const UnixTime validity = static_cast<UnixTime>(config.ca.ocsp_validity_hours) * 3600;
    UnixTime next_update = std::min(now + validity, signer->record.not_after);

    struct One {
      OCSP_CERTID* id;
      std::pair<Bytes, int> key;   // serial, hash nid; nid NID_undef when not ours
      RowState row;
      OcspAnswer::Single single;
      UnixTime reuse_until;
    };
    std::vector<One> ones;
    db::Database& conn = reader();
    for (int i = 0; i < n; ++i) {
      OCSP_CERTID* id = OCSP_onereq_get0_id(OCSP_request_onereq_get0(req.get(), i));
      ASN1_OCTET_STRING *name_hash = nullptr, *key_hash = nullptr;
      ASN1_OBJECT* md = nullptr;
      ASN1_INTEGER* serial = nullptr;
      if (OCSP_id_get0_info(&name_hash, &md, &key_hash, &serial, id) != 1 || !serial)
        return malformed("a CertID does not decode");
      One one{id, {}, {}, {}, now + validity / 2};
      Bytes serial_bytes;
      if (serial->type == V_ASN1_INTEGER) serial_bytes.assign(serial->data, serial->data + serial->length);
      one.single.serial_hex = serial->type == V_ASN1_INTEGER ? to_hex(serial_bytes) : "-" + to_hex(Bytes(serial->data, serial->data + serial->length));
      int nid = OBJ_obj2nid(md);
      bool ours = false;
      for (const auto& h : issuer_hashes)
        ours = ours || (h.nid == nid && equals(name_hash, h.name) && equals(key_hash, h.key));
      if (ours && !serial_bytes.empty()) {
        one.key = {serial_bytes, nid};
        one.row = read_row(conn, serial_bytes);
      } else {
        one.key = {serial_bytes, NID_undef};
      }
      const RowState& r = one.row;
      if (!r.found) {
        one.single.status = "unknown";
      } else if (r.effective && *r.effective <= now) {
        one.single.status = "revoked";
        one.single.revocation_time = *r.effective;
        one.single.reason = static_cast<RevocationReason>(r.reason);
      } else {
        one.single.status = "good";
        if (r.effective) one.reuse_until = std::min(one.reuse_until, *r.effective);   // scheduled revocation
      }
      ones.push_back(std::move(one));
    }
    const bool cacheable = n == 1 && !out.nonce && ones[0].key.second != NID_undef && ones[0].row.found;
    if (cacheable) {
      std::shared_lock lock(state_mutex);
      auto it = cache.find(ones[0].key);
      if (it != cache.end() && it->second.row == ones[0].row && it->second.signer_id == signer->id &&
          now < it->second.reuse_until) {
        out.der = it->second.der;
        out.statuses.push_back(it->second.single);
        out.this_update = it->second.this_update;
        out.next_update = it->second.next_update;
        out.cached = true;
        lock.unlock();
        return successful(std::move(out));
      }
    }

    auto bs = ossl::check<OcspBasic>(OCSP_BASICRESP_new(), "OCSP_BASICRESP_new");
    auto this_time = ossl::check<ossl::Time>(ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(now)), "time");
    auto next_time = ossl::check<ossl::Time>(ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(next_update)), "time");
    for (auto& one : ones) {
      int status = V_OCSP_CERTSTATUS_UNKNOWN, reason = OCSP_REVOKED_STATUS_NOSTATUS;
      ossl::Time revoked;
      if (one.single.status == "good") status = V_OCSP_CERTSTATUS_GOOD;
      if (one.single.status == "revoked") {
        status = V_OCSP_CERTSTATUS_REVOKED;
        reason = one.row.reason;   // RFC 5280 CRLReason; unspecified (0) is sent as such
        revoked = ossl::check<ossl::Time>(
            ASN1_GENERALIZEDTIME_set(nullptr, static_cast<time_t>(*one.single.revocation_time)), "time");
      }
      if (!OCSP_basic_add1_status(bs.get(), one.id, status, reason, revoked.get(), this_time.get(), next_time.get()))
        ossl::throw_openssl("cannot add a status to the OCSP response");
      out.statuses.push_back(one.single);
    }
    if (out.nonce && OCSP_copy_nonce(bs.get(), req.get()) <= 0) ossl::throw_openssl("cannot copy the nonce");
    // responderID byKey; the signer's certificate included (no chain: the client has the issuer).
    {
      auto hold = signer->key->hold();   // the embedded token's lock, for this one signature
      if (OCSP_basic_sign(bs.get(), signer->cert.get(), signer->key->pkey(), detail::digest_for(signer->key->pkey()),
                          nullptr, OCSP_RESPID_KEY) != 1)
        ossl::throw_openssl("cannot sign the OCSP response");
    }
    auto resp = ossl::check<OcspResponse>(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs.get()),
                                          "OCSP_response_create");
    out.der = response_der(resp.get());
    out.this_update = now;
    out.next_update = next_update;
    // Only statuses of certificates we issued are kept: a serial we never issued costs a signature
    // each time but no memory, so random serials cannot grow the cache without bound.
    if (cacheable) {
      Cached entry{ones[0].row, signer->id, ones[0].reuse_until, now, next_update, out.der, out.statuses[0]};
      std::unique_lock lock(state_mutex);
      cache.insert_or_assign(ones[0].key, std::move(entry));
    }
    return successful(std::move(out));
  }
};

OcspResponder::OcspResponder(const config::Config& config, db::Database& db, hsm::KeyStore& keys, Clock clock,
                             CertificateAuthority& ca, Actor actor)
    : impl_(std::make_unique<Impl>(config, db, keys, std::move(clock), ca, std::move(actor))) {}

OcspResponder::~OcspResponder() = default;

OcspAnswer OcspResponder::respond(std::span<const std::uint8_t> request_der) {
  try {
    return impl_->answer(request_der);
  } catch (const std::exception& e) {
    OcspAnswer out;
    try {
      out.der = status_only(OCSP_RESPONSE_STATUS_INTERNALERROR);
    } catch (...) {
      // DER of OCSPResponse { responseStatus internalError }: SEQUENCE { ENUMERATED 2 }
      out.der = {0x30, 0x03, 0x0a, 0x01, 0x02};
    }
    out.response_status = "internalError";
    out.problem = e.what();
    ++impl_->counters.internal_error;
    return out;
  }
}

OcspAnswer OcspResponder::malformed(std::string problem) { return impl_->malformed(std::move(problem)); }

CertificateRecord OcspResponder::signer() { return impl_->current_signer(impl_->clock())->record; }

std::uint64_t OcspResponder::signatures() const { return impl_->counters.signatures.load(); }
std::uint64_t OcspResponder::cache_hits() const { return impl_->counters.cache_hits.load(); }
const OcspCounters& OcspResponder::counters() const { return impl_->counters; }

}  // namespace jitsuin::ca
