#include "jitsuin/ca/authority.h"

#include <openssl/objects.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "crl_builder.h"
#include "jitsuin/ca/csr.h"
#include "jitsuin/db/audit.h"
#include "records.h"
#include "x509util.h"

namespace jitsuin::ca {

namespace {

using nlohmann::json;
constexpr int kDay = 86400;

UnixTime asn1_to_unix(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) ossl::throw_openssl("bad time in certificate");
  return timegm(&tm);
}

Bytes serial_bytes(const X509* cert) {
  const ASN1_INTEGER* s = X509_get0_serialNumber(cert);
  return Bytes(s->data, s->data + s->length);
}

std::int64_t insert_certificate(db::Database& db, std::int64_t issuer_id, const std::string& profile, X509* cert,
                                const Bytes& spki_hash, UnixTime now, const Bytes& der, const std::string& subject) {
  auto ins = db.cached(
      "INSERT INTO certificates (serial, issuer_id, profile, subject, spki_sha256, not_before, not_after, "
      "issued_at, der) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins->bind_blob(1, serial_bytes(cert)).bind(2, issuer_id).bind(3, profile);
  ins->bind(4, subject).bind_blob(5, spki_hash);
  ins->bind(6, asn1_to_unix(X509_get0_notBefore(cert))).bind(7, asn1_to_unix(X509_get0_notAfter(cert)));
  ins->bind(8, now).bind_blob(9, der);
  ins->exec();
  return db.last_insert_rowid();
}

std::int64_t insert_certificate(db::Database& db, std::int64_t issuer_id, const std::string& profile, X509* cert,
                                const Bytes& spki_hash, UnixTime now) {
  return insert_certificate(db, issuer_id, profile, cert, spki_hash, now, ossl::cert_der(cert),
                            ossl::name_to_string(X509_get_subject_name(cert)));
}

// RFC 5280 key identifier (SHA-1 of the subjectPublicKey bits) of a certificate's own public key.
// Reads the bits X509_set_pubkey already encoded: ossl::key_identifier(EVP_PKEY*) would encode the
// key again, which costs more than a P-256 signature with OpenSSL 3.0's encoders and decoders.
Bytes subject_key_identifier(const X509* cert) {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
  if (!bits) ossl::throw_openssl("certificate has no public key");
  Bytes out(20);
  unsigned int len = 0;
  if (EVP_Digest(bits->data, static_cast<std::size_t>(bits->length), out.data(), &len, EVP_sha1(), nullptr) != 1)
    ossl::throw_openssl("cannot hash public key");
  return out;
}

// Another reference to a CA certificate (X509_dup would re-encode and re-decode its public key).
ossl::Cert share(X509* cert) {
  X509_up_ref(cert);
  return ossl::Cert(cert);
}

// A certificate skeleton without its key: version 3, serial, names, validity.
ossl::Cert certificate_frame(const Bytes& serial, const X509_NAME* subject, const X509_NAME* issuer,
                             UnixTime not_before, UnixTime not_after) {
  auto cert = ossl::check<ossl::Cert>(X509_new(), "X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  auto sn = detail::serial_integer(serial);
  X509_set_serialNumber(cert.get(), sn.get());
  X509_set_subject_name(cert.get(), subject);
  X509_set_issuer_name(cert.get(), issuer);
  ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(not_after));
  return cert;
}

// A certificate skeleton: version 3, serial, names, validity, public key.
ossl::Cert new_certificate(const Bytes& serial, const X509_NAME* subject, const X509_NAME* issuer, UnixTime not_before,
                           UnixTime not_after, EVP_PKEY* public_key) {
  auto cert = certificate_frame(serial, subject, issuer, not_before, not_after);
  if (X509_set_pubkey(cert.get(), public_key) != 1) ossl::throw_openssl("cannot set the public key");
  return cert;
}

// The same with the subject's key given as the parts of its encoded SubjectPublicKeyInfo (from the
// CSR), copied as they are. X509_set_pubkey would encode the key again, which with OpenSSL 3.0 costs
// several times a P-256 signature on the token.
ossl::Cert new_certificate(const Bytes& serial, const X509_NAME* subject, const X509_NAME* issuer, UnixTime not_before,
                           UnixTime not_after, const X509_ALGOR* key_algorithm, const Bytes& key_bits) {
  auto cert = certificate_frame(serial, subject, issuer, not_before, not_after);
  const ASN1_OBJECT* alg_oid = nullptr;
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(&alg_oid, &ptype, &pval, key_algorithm);
  void* params = nullptr;
  if (ptype == V_ASN1_OBJECT) params = OBJ_dup(static_cast<const ASN1_OBJECT*>(pval));
  else if (ptype == V_ASN1_SEQUENCE) params = ASN1_STRING_dup(static_cast<const ASN1_STRING*>(pval));
  else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF)
    throw Error(ErrorKind::invalid_input, "unsupported public key parameters");
  auto* bits = static_cast<unsigned char*>(OPENSSL_memdup(key_bits.data(), key_bits.size()));
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert.get()), OBJ_dup(alg_oid), ptype, params, bits,
                             static_cast<int>(key_bits.size())) != 1)
    ossl::throw_openssl("cannot set the public key");
  return cert;
}

// Every certificate of a key has the same subject (this check keeps it so), so one row tells:
// the lookup stays a single index probe however often a key was certified.
void refuse_if_key_taken(db::Database& db, const Bytes& spki_sha256, const std::string& subject) {
  auto st = db.cached("SELECT subject FROM certificates WHERE spki_sha256 = ? LIMIT 1");
  st->bind_blob(1, spki_sha256);
  if (st->step() && st->text(0) != subject)
    throw Error(ErrorKind::conflict, "this public key is already certified to a different subject (" + st->text(0) +
                                         "); a new key is required");
}

// A CSR with a key reported compromised (a certificate of it revoked for keyCompromise or
// cACompromise) is refused, whatever the subject: the key's holder is no longer the only one.
void refuse_if_key_compromised(CertificateStore& store, const Bytes& spki_sha256) {
  if (auto serial = store.compromised_key_serial(spki_sha256))
    throw Error(ErrorKind::invalid_input, "this public key was reported compromised (certificate " + *serial +
                                              " was revoked for it) and is never certified again; a new key is required");
}

// Once the issuing CA's certificate is revoked (jitsuin ca revoke-ca) its key signs nothing more.
std::string issuing_revoked_message(const CertificateRecord& rec) {
  return "the issuing CA's certificate (serial " + rec.serial_hex + ") is revoked (" +
         revocation_reason_name(*rec.reason) + ", effective " + format_rfc3339(*rec.revocation_effective) +
         "): its key signs no certificate and no CRL any more; a new issuing CA is needed";
}

void refuse_if_issuing_revoked(CertificateStore& store) {
  if (auto rec = store.issuing_ca_revocation()) throw Error(ErrorKind::conflict, issuing_revoked_message(*rec));
}

// Files a publication stages next to the CRLs (StagedFile: ".NAME.XXXXXX") that a killed run left
// behind. Only those older than kStaleStaged are removed: a concurrent publication's staged files
// live for the moment between its commit and its renames, never minutes.
void remove_stale_staged_files(const std::filesystem::path& dir) {
  constexpr auto kStaleStaged = std::chrono::minutes(10);
  static const char* const kPublished[] = {"issuing.crl", "issuing.crl.pem", "issuing.crt",
                                           "root.crl",    "root.crl.pem",    "root.crt"};
  std::error_code ec;
  const auto cutoff = std::filesystem::file_time_type::clock::now() - kStaleStaged;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    // ".<published name>.XXXXXX"
    bool staged = name.size() > 8 && name[0] == '.' && name[name.size() - 7] == '.' &&
                  std::all_of(name.end() - 6, name.end(), [](unsigned char c) { return std::isalnum(c) != 0; });
    if (staged) {
      std::string published = name.substr(1, name.size() - 8);
      std::string_view crl = published;
      if (crl.ends_with(".pem")) crl.remove_suffix(4);
      staged = parse_crl_partition_file(crl).has_value() ||
               std::any_of(std::begin(kPublished), std::end(kPublished), [&](const char* p) { return published == p; });
    }
    if (!staged || !entry.is_regular_file(ec)) continue;
    auto modified = entry.last_write_time(ec);
    if (!ec && modified < cutoff) std::filesystem::remove(entry.path(), ec);
  }
}

// The CA certificates (DER) as crl publish writes them, root.crt and issuing.crt, staged in the
// publication folder (made readable by all when it is new: its files are public).
std::vector<StagedFile> stage_ca_certificates(const std::filesystem::path& dir, X509* root, X509* issuing) {
  if (std::error_code ec; !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all | std::filesystem::perms::group_read |
                                          std::filesystem::perms::group_exec | std::filesystem::perms::others_read |
                                          std::filesystem::perms::others_exec,
                                 std::filesystem::perm_options::replace);
  }
  std::vector<StagedFile> out;
  for (auto [name, cert] : {std::pair<const char*, X509*>{"root.crt", root}, {"issuing.crt", issuing}}) {
    Bytes der = ossl::cert_der(cert);
    out.emplace_back(dir / name, std::string_view(reinterpret_cast<const char*>(der.data()), der.size()), 0644);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- state

struct CertificateAuthority::Impl {
  const config::Config& config;
  db::Database& db;
  hsm::KeyStore& keys;
  Clock clock;
  // A CA key, asked of the key store the first time it signs.
  class LazySigner {
   public:
    LazySigner() = default;
    LazySigner(hsm::KeyStore* store, std::string reference) : store_(store), reference_(std::move(reference)) {}
    EVP_PKEY* pkey() const { return signer().pkey(); }
    /// Kept alive across each signature made with pkey() (hsm::Signer::hold()).
    std::unique_ptr<hsm::KeyHold> hold() const { return signer().hold(); }
    const hsm::Signer& signer() const {
      std::call_once(*once_, [&] { signer_ = store_->find(reference_); });
      return *signer_;
    }

   private:
    hsm::KeyStore* store_ = nullptr;
    std::string reference_;
    std::unique_ptr<std::once_flag> once_ = std::make_unique<std::once_flag>();
    mutable std::shared_ptr<hsm::Signer> signer_;
  };
  struct Ca {
    std::int64_t id = 0;
    std::string role;
    std::int64_t certificate_id = 0;
    LazySigner key;
    ossl::Cert cert;
    Bytes key_id;   // subjectKeyIdentifier
  };
  Ca root, issuing;
  // Extensions every end-entity certificate carries, built once; with CRL partitions the
  // certificate's own cRLDistributionPoints goes in at cdp_position.
  std::vector<ossl::Ext> common_exts;
  std::size_t cdp_position = 0;
  ProfileSet profiles;   // loaded with the CA: a broken profile fails start-up, not the first issuance
  std::map<std::string, std::vector<ossl::Ext>> profile_exts;
  // keyUsage of each profile for RSA and for EC subject keys, built once.
  std::map<std::string, std::pair<ossl::Ext, ossl::Ext>> key_usage_exts;
  // The certificate records on this CA's database and clock, made on first use.
  std::optional<CertificateStore> records;

  CertificateStore& store() {
    if (!records) records.emplace(db, clock);
    return *records;
  }

  // New certificates go into CRL partitions: a partition size and a distribution point to name.
  bool partitioned() const { return config.ca.crl.partition_size > 0 && !config.ca.crl.distribution_point.empty(); }

  // The partition the next certificate goes into: the certificates so far over the partition size.
  // Read without a lock: concurrent issuers may both take a partition that then fills up, so a
  // partition holds partition_size certificates plus at most one per issuer signing at that moment.
  std::uint32_t next_partition() {
    auto st = db.cached("SELECT coalesce(max(id), 0) FROM certificates");
    st->step();
    return static_cast<std::uint32_t>((st->int64(0) + 1) / config.ca.crl.partition_size);
  }

  Impl(const config::Config& c, db::Database& d, hsm::KeyStore& k, Clock clk, ProfileSet p)
      : config(c), db(d), keys(k), clock(std::move(clk)), profiles(std::move(p)) {}

  Ca load(const std::string& role) {
    db::Statement st(db,
                     "SELECT a.id, a.key_uri, c.der, c.id FROM authorities a JOIN certificates c ON c.id = a.certificate_id "
                     "WHERE a.role = ?");
    st.bind(1, role);
    if (!st.step())
      throw Error(ErrorKind::not_found, "no CA in the database " + db.path().string() + " (run: jitsuin ca init)");
    Ca ca;
    ca.id = st.int64(0);
    ca.role = role;
    ca.key = LazySigner(&keys, st.text(1));
    ca.cert = ossl::cert_from_der(st.blob_view(2));
    ca.certificate_id = st.int64(3);
    ca.key_id = ossl::key_identifier(X509_get0_pubkey(ca.cert.get()));
    return ca;
  }

  const Profile& profile(const std::string& name) {
    const Profile& p = profiles.get(name);
    if (profile_exts.count(name)) return p;
    std::vector<ossl::Ext> exts;
    exts.push_back(detail::make_basic_constraints_ext(false));
    if (!p.extended_key_usage.empty())
      exts.push_back(detail::make_extended_key_usage_ext(p.extended_key_usage, p.extended_key_usage_critical));
    if (p.ocsp_no_check) exts.push_back(detail::make_ocsp_no_check_ext());
    profile_exts[name] = std::move(exts);
    auto key_usage = [&](const std::vector<std::string>& extra) {
      std::vector<std::string> ku = p.key_usage;
      ku.insert(ku.end(), extra.begin(), extra.end());
      return detail::make_key_usage_ext(ku);
    };
    key_usage_exts[name] = {key_usage(p.key_usage_rsa), key_usage(p.key_usage_ec)};
    return p;
  }
};

bool CertificateAuthority::initialized(db::Database& db) {
  db::Statement st(db, "SELECT count(*) FROM authorities");
  st.step();
  return st.int64(0) > 0;
}

void CertificateAuthority::init(const config::Config& config, db::Database& db, hsm::KeyStore& keys,
                                const Actor& actor, const Clock& clock, hsm::KeyAlgorithm root_alg,
                                hsm::KeyAlgorithm issuing_alg) {
  if (initialized(db))
    throw Error(ErrorKind::conflict, "a CA already exists in " + db.path().string() + "; refusing to create another");
  UnixTime now = clock();
  // The key store gives each new key a fresh identity: an interrupted earlier attempt leaves keys
  // that can never be confused with these.
  std::shared_ptr<hsm::Signer> root_key = keys.generate("jitsuin-root-ca", root_alg);
  std::shared_ptr<hsm::Signer> issuing_key = keys.generate("jitsuin-issuing-ca", issuing_alg);
  const auto& rc = config.ca.root;
  const auto& ic = config.ca.issuing;

  auto root_name = detail::make_name(rc.subject, "");
  Bytes root_kid = ossl::key_identifier(root_key->pkey());
  auto root = new_certificate(detail::random_serial(), root_name.get(), root_name.get(), now,
                              now + static_cast<UnixTime>(rc.validity_days) * kDay, root_key->pkey());
  detail::add_ext(root.get(), detail::make_basic_constraints_ext(true).get());
  detail::add_ext(root.get(), detail::make_key_usage_ext({"keyCertSign", "cRLSign"}).get());
  detail::add_ext(root.get(), detail::make_key_id_ext(NID_subject_key_identifier, root_kid).get());
  // The root names the root CRL too: each CRL carries an issuingDistributionPoint, and OpenSSL
  // (-crl_check_all) checks the root against that CRL, which only covers certificates naming it.
  if (!config.ca.crl.root_distribution_point.empty())
    detail::add_ext(root.get(), detail::make_crl_distribution_point_ext(config.ca.crl.root_distribution_point).get());
  {
    auto hold = root_key->hold();
    detail::sign(root.get(), root_key->pkey());
  }

  auto issuing_name = detail::make_name(ic.subject, "");
  UnixTime issuing_end = std::min(now + static_cast<UnixTime>(ic.validity_days) * kDay,
                                  now + static_cast<UnixTime>(rc.validity_days) * kDay);
  auto issuing = new_certificate(detail::random_serial(), issuing_name.get(), root_name.get(), now, issuing_end,
                                 issuing_key->pkey());
  detail::add_ext(issuing.get(), detail::make_basic_constraints_ext(true, 0).get());
  detail::add_ext(issuing.get(), detail::make_key_usage_ext({"keyCertSign", "cRLSign"}).get());
  detail::add_ext(issuing.get(),
                  detail::make_key_id_ext(NID_subject_key_identifier, ossl::key_identifier(issuing_key->pkey())).get());
  detail::add_ext(issuing.get(), detail::make_key_id_ext(NID_authority_key_identifier, root_kid).get());
  if (!config.ca.crl.root_distribution_point.empty())
    detail::add_ext(issuing.get(),
                    detail::make_crl_distribution_point_ext(config.ca.crl.root_distribution_point).get());
  if (!config.ca.root_aia_ca_issuers.empty())
    detail::add_ext(issuing.get(), detail::make_ca_issuers_ext(config.ca.root_aia_ca_issuers).get());
  if (!config.ca.policies.empty())
    detail::add_ext(issuing.get(), detail::make_policies_ext(config.ca.policies).get());
  {
    auto hold = root_key->hold();
    detail::sign(issuing.get(), root_key->pkey());
  }

  db::Transaction tx(db);
  json rows;   // per role, the rows written, as audit verify checks them
  auto add_authority = [&](const char* role, const hsm::Signer& key, hsm::KeyAlgorithm alg, X509* cert,
                           std::optional<std::int64_t> issuer) {
    db::Statement st(db,
                     "INSERT INTO authorities (role, key_uri, key_algorithm, subject, created_at) VALUES (?, ?, ?, ?, ?)");
    st.bind(1, role).bind(2, key.reference()).bind(3, hsm::key_algorithm_name(alg));
    st.bind(4, ossl::name_to_string(X509_get_subject_name(cert))).bind(5, now);
    st.exec();
    std::int64_t id = db.last_insert_rowid();
    std::int64_t cert_id =
        insert_certificate(db, issuer.value_or(id), std::string(role) + "-ca", cert, ossl::public_key_fingerprint(key.pkey()), now);
    db::Statement up(db, "UPDATE authorities SET certificate_id = ? WHERE id = ?");
    up.bind(1, cert_id).bind(2, id).exec();
    // The rows as written, for audit verify.
    rows[role] = {{"certificate_row", detail::certificate_row(db, cert_id)}, {"authority_row", detail::authority_row(db, id)}};
    return id;
  };
  std::int64_t root_db_id = add_authority("root", *root_key, root_alg, root.get(), std::nullopt);
  add_authority("issuing", *issuing_key, issuing_alg, issuing.get(), root_db_id);
  json details = {{"root_subject", ossl::name_to_string(root_name.get())},
                  {"root_key", hsm::key_algorithm_name(root_alg)},
                  {"root_serial", to_hex(serial_bytes(root.get()))},
                  {"issuing_subject", ossl::name_to_string(issuing_name.get())},
                  {"issuing_key", hsm::key_algorithm_name(issuing_alg)},
                  {"issuing_serial", to_hex(serial_bytes(issuing.get()))},
                  {"rows", rows}};
  db::append_audit(db, {actor.name, "ca.init", ossl::name_to_string(root_name.get()), details.dump()}, now);
  // Staged before the commit, in place after it: the CA certificates every certificate's AIA
  // names are served from the moment the CA exists, not from the first crl publish.
  std::vector<StagedFile> staged = stage_ca_certificates(config.ca.crl.publish_dir, root.get(), issuing.get());
  tx.commit();
  for (auto& f : staged) f.commit();
}

CertificateAuthority::CertificateAuthority(const config::Config& config, db::Database& db, hsm::KeyStore& keys,
                                           Clock clock)
    : CertificateAuthority(config, db, keys, std::move(clock), load_profiles(config.ca.profiles_dir)) {}

CertificateAuthority::CertificateAuthority(const config::Config& config, db::Database& db, hsm::KeyStore& keys,
                                           Clock clock, ProfileSet profiles)
    : impl_(std::make_unique<Impl>(config, db, keys, std::move(clock), std::move(profiles))) {
  impl_->root = impl_->load("root");
  impl_->issuing = impl_->load("issuing");
  auto& ext = impl_->common_exts;
  ext.push_back(detail::make_key_id_ext(NID_authority_key_identifier, impl_->issuing.key_id));
  impl_->cdp_position = ext.size();
  if (!config.ca.crl.distribution_point.empty() && !impl_->partitioned())
    ext.push_back(detail::make_crl_distribution_point_ext(config.ca.crl.distribution_point));
  if (!config.ca.aia_ca_issuers.empty() || !config.ca.ocsp_url.empty())
    ext.push_back(detail::make_aia_ext(config.ca.aia_ca_issuers, config.ca.ocsp_url));
  if (!config.ca.policies.empty()) ext.push_back(detail::make_policies_ext(config.ca.policies));
}

CertificateAuthority::~CertificateAuthority() = default;

const X509* CertificateAuthority::root_certificate() const { return impl_->root.cert.get(); }
const X509* CertificateAuthority::issuing_certificate() const { return impl_->issuing.cert.get(); }

namespace {

// What makes two issuance requests the same: every field, canonically (sorted keys).
Bytes issue_request_digest(const IssueRequest& r) {
  json j = {{"profile", r.profile}, {"csr", r.csr}, {"subject", r.subject}, {"server_names", r.server_names},
            {"days", r.days ? json(*r.days) : json()}};
  return sha256(j.dump());
}

void check_idempotency_key(const std::string& key) {
  if (key.empty() || key.size() > 255 ||
      !std::all_of(key.begin(), key.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; }))
    throw Error(ErrorKind::invalid_input, "the idempotency key must be 1 to 255 printable ASCII characters without spaces");
}

// The certificate an earlier request with this actor's key issued (within the retention), or
// nullopt; a key used for another request is refused.
std::optional<std::int64_t> idempotent_certificate(db::Database& db, const std::string& actor, const std::string& key,
                                                   const Bytes& digest, UnixTime now) {
  auto st = db.cached(
      "SELECT request_sha256, certificate_id FROM ca_idempotency_keys WHERE actor = ? AND idempotency_key = ? "
      "AND created_at > ?");
  st->bind(1, actor).bind(2, key).bind(3, now - kIdempotencyRetention);
  if (!st->step()) return std::nullopt;
  auto stored = st->blob_view(0);
  if (!std::equal(stored.begin(), stored.end(), digest.begin(), digest.end()))
    throw Error(ErrorKind::conflict, "the idempotency key '" + key +
                                         "' was used for a different request (profile, CSR, subject, days or server "
                                         "names differ); send a new key with a new request");
  return st->int64(1);
}

}  // namespace

IssuedCertificate CertificateAuthority::issue(const IssueRequest& request, const Actor& actor,
                                              const std::optional<std::string>& idempotency_key) {
  auto& m = *impl_;
  Bytes digest;
  auto replay = [&](std::int64_t certificate_id) {
    db::Statement st(m.db, std::string(detail::kRecordSelect) + "WHERE c.id = ?");
    st.bind(1, certificate_id);
    if (!st.step()) throw Error(ErrorKind::internal, "the certificate of an idempotency key is gone");
    return with_chain(detail::read_record(st));
  };
  if (idempotency_key) {
    check_idempotency_key(*idempotency_key);
    digest = issue_request_digest(request);
    if (auto id = idempotent_certificate(m.db, actor.name, *idempotency_key, digest, m.clock()))
      return replay(*id);
  }
  PreparedCertificate prepared = sign_certificate(request);
  db::Transaction tx(m.db);
  if (idempotency_key)   // again under the lock: a concurrent retry may have issued meanwhile
    if (auto id = idempotent_certificate(m.db, actor.name, *idempotency_key, digest, prepared.not_before))
      return replay(*id);   // this certificate is never recorded nor handed out
  json details;
  CertificateRecord record = record_certificate(prepared, details);
  if (idempotency_key) {
    db::Statement old(m.db, "DELETE FROM ca_idempotency_keys WHERE created_at <= ?");
    old.bind(1, record.issued_at - kIdempotencyRetention).exec();
    db::Statement key(m.db,
                      "INSERT OR REPLACE INTO ca_idempotency_keys (actor, idempotency_key, request_sha256, certificate_id, "
                      "created_at) VALUES (?, ?, ?, ?, ?)");
    key.bind(1, actor.name).bind(2, *idempotency_key).bind_blob(3, digest).bind(4, record.id);
    key.bind(5, record.issued_at).exec();
    details["idempotency_key"] = *idempotency_key;
  }
  db::append_audit(m.db, {actor.name, "cert.issue", record.serial_hex, details.dump()}, record.issued_at);
  tx.commit();
  return with_chain(std::move(record), std::move(prepared.certificate));
}

PreparedCertificate CertificateAuthority::sign_certificate(const IssueRequest& request) {
  auto& m = *impl_;
  const Profile& profile = m.profile(request.profile);
  profile.validate_subject(request.subject);
  if (!profile.server_names_in_san && !request.server_names.empty())
    throw Error(ErrorKind::invalid_input, "profile '" + profile.name + "' takes no server names");
  int days = profile.validity_days(request.days);
  CheckedCsr csr = check_csr(request.csr);

  UnixTime now = m.clock();
  UnixTime not_after = now + static_cast<UnixTime>(days) * kDay;
  UnixTime ca_end = asn1_to_unix(X509_get0_notAfter(m.issuing.cert.get()));
  if (not_after > ca_end)
    throw Error(ErrorKind::invalid_input, "the requested validity ends after the issuing CA certificate (" +
                                              format_rfc3339(ca_end) + ")");
  auto subject = detail::make_name(request.subject, profile.country);
  std::string subject_text = ossl::name_to_string(subject.get());
  // Reads without the write lock; record_certificate() checks again under it.
  refuse_if_issuing_revoked(m.store());
  refuse_if_key_compromised(m.store(), csr.fingerprint);
  refuse_if_key_taken(m.db, csr.fingerprint, subject_text);

  std::optional<std::uint32_t> partition;
  if (m.partitioned()) partition = m.next_partition();
  Bytes serial = partition ? detail::partitioned_serial(*partition) : detail::random_serial();
  auto cert = new_certificate(serial, subject.get(), X509_get_subject_name(m.issuing.cert.get()), now, not_after,
                              csr.key_algorithm.get(), csr.key_bits);
  const auto& key_usage = m.key_usage_exts[profile.name];
  detail::add_ext(cert.get(), (csr.key_type == EVP_PKEY_RSA ? key_usage.first : key_usage.second).get());
  for (const auto& e : m.profile_exts[profile.name]) detail::add_ext(cert.get(), e.get());
  detail::add_ext(cert.get(),
                  detail::make_key_id_ext(NID_subject_key_identifier, subject_key_identifier(cert.get())).get());
  if (profile.email_in_san)
    detail::add_ext(cert.get(), detail::make_email_san_ext(request.subject.at("email")).get());
  if (profile.server_names_in_san)
    detail::add_ext(cert.get(), detail::make_server_san_ext(request.server_names).get());
  for (std::size_t i = 0; i <= m.common_exts.size(); ++i) {
    if (i == m.cdp_position && partition)
      detail::add_ext(cert.get(),
                      detail::make_crl_distribution_point_ext(crl_partition_url(m.config.ca.crl, *partition)).get());
    if (i < m.common_exts.size()) detail::add_ext(cert.get(), m.common_exts[i].get());
  }
  // The token signs outside the database lock, so issuers in other threads and processes sign in parallel.
  {
    auto hold = m.issuing.key.hold();   // the token, for this one signature
    detail::sign(cert.get(), m.issuing.key.pkey());
  }

  PreparedCertificate out;
  out.der = ossl::cert_der(cert.get());
  out.certificate = std::move(cert);
  out.serial_hex = to_hex(serial);
  out.profile = profile.name;
  out.subject = std::move(subject_text);
  out.spki_sha256 = csr.fingerprint;
  out.key_description = csr.key_description;
  out.not_before = now;
  out.not_after = not_after;
  return out;
}

CertificateRecord CertificateAuthority::record_certificate(const PreparedCertificate& p, json& audit_details) {
  auto& m = *impl_;
  if (!m.db.in_transaction())
    throw Error(ErrorKind::internal, "a certificate is recorded inside the caller's transaction");
  // Again, under the write lock: a revocation of the issuing CA or of another certificate of this
  // key for keyCompromise may have been recorded since sign_certificate().
  refuse_if_issuing_revoked(m.store());
  refuse_if_key_compromised(m.store(), p.spki_sha256);
  refuse_if_key_taken(m.db, p.spki_sha256, p.subject);
  Bytes serial = from_hex(p.serial_hex);
  {
    // A 126-bit random serial repeats with negligible probability; refused rather than overwritten.
    auto st = m.db.cached("SELECT 1 FROM certificates WHERE serial = ?");
    st->bind_blob(1, serial);
    if (st->step()) throw Error(ErrorKind::conflict, "serial " + p.serial_hex + " is already recorded; sign again");
  }
  // Recorded at the signing time: the certificate's notBefore is its issuance.
  std::int64_t id = insert_certificate(m.db, m.issuing.id, p.profile, p.certificate.get(), p.spki_sha256,
                                       p.not_before, p.der, p.subject);
  audit_details["profile"] = p.profile;
  audit_details["subject"] = p.subject;
  audit_details["key"] = p.key_description;
  audit_details["not_after"] = format_rfc3339(p.not_after);
  audit_details["certificate_id"] = id;
  audit_details["certificate_row"] = detail::certificate_row(m.db, id);
  return CertificateRecord{id,           p.serial_hex, "issuing",    p.profile,    p.subject,
                           p.not_before, p.not_after,  p.not_before, p.der,        std::nullopt,
                           std::nullopt, std::nullopt};
}

IssuedCertificate CertificateAuthority::with_chain(CertificateRecord record, ossl::Cert certificate) const {
  auto& m = *impl_;
  IssuedCertificate out;
  if (!certificate) certificate = ossl::cert_from_der(record.der);
  out.record = std::move(record);
  out.certificate = std::move(certificate);
  out.chain.push_back(share(m.issuing.cert.get()));
  out.chain.push_back(share(m.root.cert.get()));
  return out;
}

std::optional<CertificateRecord> CertificateAuthority::find(const std::string& serial_hex) {
  return impl_->store().find(serial_hex);
}

CertificateStore& CertificateAuthority::store() { return impl_->store(); }

CertificateRecord CertificateAuthority::revoke(const std::string& serial_hex, RevocationReason reason,
                                               std::optional<UnixTime> effective, const Actor& actor) {
  auto& m = *impl_;
  std::string serial = normalize_serial(serial_hex);
  db::Transaction tx(m.db);
  json details;
  auto rec = m.store().record_revocation({serial, reason, effective}, details);
  db::append_audit(m.db, {actor.name, "cert.revoke", serial, details.dump()}, *rec.revoked_at);
  tx.commit();
  return rec;
}

CertificateRecord CertificateAuthority::revoke_issuing_ca(RevocationReason reason, const Actor& actor) {
  auto& m = *impl_;
  db::Transaction tx(m.db);
  json details;
  auto rec = m.store().record_issuing_ca_revocation(reason, details);
  db::append_audit(m.db, {actor.name, "ca.revoke_issuing", rec.serial_hex, details.dump()}, *rec.revoked_at);
  tx.commit();
  return rec;
}

std::optional<std::string> CertificateAuthority::issuing_ca_revoked() {
  if (auto rec = impl_->store().issuing_ca_revocation()) return issuing_revoked_message(*rec);
  return std::nullopt;
}

std::vector<AuthorityInfo> CertificateAuthority::authorities() {
  std::vector<AuthorityInfo> out;
  db::Statement st(impl_->db, "SELECT role, key_uri, key_algorithm, subject, crl_number, certificate_id FROM authorities "
                              "ORDER BY id");
  while (st.step()) {
    AuthorityInfo a{st.text(0), st.text(1), st.text(2), st.text(3), st.int64(4), {}};
    db::Statement c(impl_->db, std::string(detail::kRecordSelect) + "WHERE c.id = ?");
    c.bind(1, st.int64(5));
    if (c.step()) a.certificate = detail::read_record(c);
    out.push_back(std::move(a));
  }
  return out;
}

CertificateAuthority::Counts CertificateAuthority::counts() {
  UnixTime now = impl_->clock();
  db::Statement st(impl_->db,
                   "SELECT count(*), count(revocation_effective <= ?1 OR NULL), count(revocation_effective > ?1 OR NULL) "
                   "FROM certificates WHERE issuer_id = ?2");
  st.bind(1, now).bind(2, impl_->issuing.id);
  st.step();
  return {st.int64(0), st.int64(1), st.int64(2)};
}

// Partition 0 is the full CRL, issuing.crl: its certificates name the unsuffixed distribution point,
// the one certificates issued before partitions name too (docs/crl_partitions.md).
std::string crl_partition_file(std::uint32_t partition) {
  return partition == 0 ? "issuing.crl" : "issuing-" + std::to_string(partition) + ".crl";
}

std::optional<std::uint32_t> parse_crl_partition_file(std::string_view name) {
  constexpr std::string_view prefix = "issuing-", suffix = ".crl";
  if (!name.starts_with(prefix) || !name.ends_with(suffix)) return std::nullopt;
  std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  // No "issuing-0.crl": partition 0 is issuing.crl.
  if (digits.empty() || digits.size() > 10 || digits[0] == '0') return std::nullopt;
  std::uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (n > 0xffffffffu) return std::nullopt;
  return static_cast<std::uint32_t>(n);
}

std::string crl_partition_url(const config::CrlConfig& crl, std::uint32_t partition) {
  const std::string& dp = crl.distribution_point;
  if (dp.size() < 4 || !dp.ends_with(".crl")) return "";
  if (partition == 0) return dp;
  return dp.substr(0, dp.size() - 4) + "-" + std::to_string(partition) + ".crl";
}

std::vector<CrlPublication> CertificateAuthority::publish_crls(const std::optional<std::filesystem::path>& out_dir,
                                                               const Actor& actor) {
  auto& m = *impl_;
  auto dir = out_dir.value_or(m.config.ca.crl.publish_dir);
  std::filesystem::create_directories(dir);
  remove_stale_staged_files(dir);
  // Both CAs' CRLs (issuing with its partitions, and root) are one publication: one write
  // transaction and one audit entry. Read the CRL numbers and the entries from one snapshot and
  // sign without the write lock (a large CRL takes long to read and encode); each CRL is staged
  // (written next to its file) as soon as it is signed, so only one is in memory at a time. The
  // write transaction then takes the numbers only if nothing moved meanwhile: each number is
  // unchanged (no concurrent publication) and so is each count of revocations in effect
  // (revocations are final, so a changed set changes the count). Otherwise sign again from a
  // fresh snapshot; after kOptimistic attempts overtaken that way, read and sign inside the write
  // transaction, which always finishes.
  struct OneCrl {
    std::optional<std::uint32_t> partition;   // none: the CA's full CRL (issuing.crl, root.crl)
    std::int64_t entries = 0;
    Bytes sha256;
    std::filesystem::path der_path;
  };
  struct Signed {
    Impl::Ca* ca;
    std::int64_t previous = 0, crl_number = 0, entries = 0;
    std::int64_t urgent = 0;   // entries for keyCompromise or cACompromise
    UnixTime this_update = 0, next_update = 0;
    std::vector<OneCrl> crls;
    std::vector<StagedFile> staged;
  };
  constexpr int kOptimistic = 3;
  const auto& crl_config = m.config.ca.crl;
  for (int attempt = 0;; ++attempt) {
    const bool locked = attempt >= kOptimistic;
    std::optional<db::Transaction> tx;
    if (locked) tx.emplace(m.db);
    UnixTime now = m.clock();
    std::vector<Signed> cas_signed;
    std::optional<std::string> issuing_revoked;
    {
      std::optional<db::Transaction> snapshot;   // read-only: ending it without commit changes nothing
      if (!locked) snapshot.emplace(m.db, db::TxMode::deferred);
      // A revoked issuing CA signs no CRL; its revocation is on the root's. (A revocation of it
      // after this read changes the root's count below, and the CRLs are signed again.)
      if (auto rec = m.store().issuing_ca_revocation()) issuing_revoked = issuing_revoked_message(*rec);
      std::vector<Impl::Ca*> cas;
      if (!issuing_revoked) cas.push_back(&m.issuing);
      cas.push_back(&m.root);
      for (auto* ca : cas) {
        Signed one{ca, 0, 0, 0, 0, now, now + static_cast<UnixTime>(crl_config.validity_hours) * 3600, {}, {}};
        db::Statement num(m.db, "SELECT crl_number FROM authorities WHERE id = ?");
        num.bind(1, ca->id);
        num.step();
        one.previous = num.int64(0);
        one.crl_number = one.previous + 1;
        cas_signed.push_back(std::move(one));
      }
      for (auto& one : cas_signed) {
        const bool issuing = one.ca == &m.issuing;
        // The partitions to publish: every one a certificate names, the one the next certificate
        // goes into and the one after it, so that certificates issued into a new partition before
        // the next publication find their CRL.
        std::int64_t last_partition = -1;
        if (issuing) {
          // ">= x'00000000'" (not "IS NOT NULL"): a range on the index, so no scan over the
          // NULLs of unpartitioned certificates.
          auto st = m.db.cached(std::string("SELECT serial FROM certificates WHERE ") + detail::kCrlPartitionKey +
                                " >= x'00000000' ORDER BY " + detail::kCrlPartitionKey + " DESC LIMIT 1");
          if (st->step()) last_partition = *detail::serial_partition(st->blob_view(0));
          if (m.partitioned()) last_partition = std::max<std::int64_t>(last_partition, m.next_partition()) + 1;
        }
        detail::CrlInput in;
        in.issuer = one.ca->cert.get();
        in.authority_key_id = one.ca->key_id;
        in.crl_number = one.crl_number;
        in.this_update = one.this_update;
        in.next_update = one.next_update;
        in.key = one.ca->key.pkey();
        in.hold = [ca = one.ca] { return ca->key.hold(); };
        // Signs the CRL being built and stages its files, DER and PEM.
        std::optional<detail::CrlBuilder> builder;
        OneCrl current;
        auto start = [&](std::optional<std::uint32_t> partition) {
          current = OneCrl{partition, 0, {}, {}};
          in.distribution_point = !issuing ? crl_config.root_distribution_point
                                  : partition ? crl_partition_url(crl_config, *partition)
                                              : crl_config.distribution_point;
          builder.emplace(in);
        };
        auto finish = [&] {
          current.entries = builder->entries();
          detail::CrlFiles files = builder->finish();   // signs on the token
          builder.reset();
          current.sha256 = files.sha256;
          current.der_path = dir / (current.partition ? crl_partition_file(*current.partition) : one.ca->role + ".crl");
          one.staged.emplace_back(current.der_path, files.der.view(), 0644);
          detail::der_to_pem(files.der, "X509 CRL");   // in the same buffer: the DER is written
          one.staged.emplace_back(current.der_path.string() + ".pem", files.der.view(), 0644);
          one.entries += current.entries;
          one.crls.push_back(std::move(current));
        };
        // One pass over the covering index certificates_crl, in partition order: the full CRL's
        // entries (partition NULL: issued before partitions, then partition 0, which is the full
        // CRL, issuing.crl, whose IDP the certificates of both name) first.
        db::Statement rows(m.db, std::string("SELECT serial, revocation_effective, revocation_reason FROM certificates "
                                             "WHERE issuer_id = ? AND revocation_effective IS NOT NULL AND "
                                             "revocation_effective <= ? ORDER BY ") +
                                     detail::kCrlPartitionKey);
        rows.bind(1, one.ca->id).bind(2, now);
        start(std::nullopt);
        std::int64_t at = 0;   // the partition being built; 0: the full CRL
        while (rows.step()) {
          auto serial = rows.blob_view(0);
          std::int64_t partition = 0;
          if (issuing)
            if (auto p = detail::serial_partition(serial)) partition = *p;
          while (at < partition) {
            finish();
            start(static_cast<std::uint32_t>(++at));
          }
          int reason = static_cast<int>(rows.int64(2));
          if (is_urgent_reason(static_cast<RevocationReason>(reason))) ++one.urgent;
          builder->add(serial, rows.int64(1), reason);
        }
        finish();
        while (at < last_partition) {
          start(static_cast<std::uint32_t>(++at));
          finish();
        }
        Bytes ca_der = ossl::cert_der(one.ca->cert.get());
        one.staged.emplace_back(dir / (one.ca->role + ".crt"),
                                std::string_view(reinterpret_cast<const char*>(ca_der.data()), ca_der.size()), 0644);
      }
    }
    if (!locked) {
      tx.emplace(m.db);
      bool moved = false;
      for (const auto& one : cas_signed) {
        // Both counts only grow: revocations are final, and a reason changes only to keyCompromise
        // or cACompromise (record_revocation), so any change since the snapshot changes one.
        // certificates_crl covers the reason: certificates_revoked, which SQLite would pick,
        // reads each row from the table.
        db::Statement st(m.db,
                         "SELECT crl_number <> ?1 OR (SELECT count(*) <> ?4 OR count(revocation_reason IN (1, 2) OR NULL) "
                         "<> ?5 FROM certificates INDEXED BY certificates_crl WHERE issuer_id = ?2 "
                         "AND revocation_effective IS NOT NULL AND revocation_effective <= ?3) "
                         "FROM authorities WHERE id = ?2");
        st.bind(1, one.previous).bind(2, one.ca->id).bind(3, now).bind(4, one.entries).bind(5, one.urgent);
        st.step();
        moved = moved || st.int64(0) != 0;
      }
      if (moved) continue;   // the transaction rolls back, the staged files are removed
    }
    std::vector<CrlPublication> out;
    json published = json::array();
    for (const auto& one : cas_signed) {
      const OneCrl& full = one.crls.front();
      db::Statement num(m.db, "UPDATE authorities SET crl_number = ? WHERE id = ?");
      num.bind(1, one.crl_number).bind(2, one.ca->id).exec();
      db::Statement rec(m.db,
                        "INSERT INTO crl_publications (authority_id, crl_number, this_update, next_update, entries, "
                        "sha256) VALUES (?, ?, ?, ?, ?, ?)");
      rec.bind(1, one.ca->id).bind(2, one.crl_number).bind(3, one.this_update).bind(4, one.next_update);
      rec.bind(5, one.entries).bind_blob(6, full.sha256);
      rec.exec();
      CrlPublication pub;
      pub.role = one.ca->role;
      pub.crl_number = one.crl_number;
      pub.this_update = one.this_update;
      pub.next_update = one.next_update;
      pub.entries = one.entries;
      pub.full_entries = full.entries;
      pub.der_path = full.der_path;
      pub.pem_path = dir / (pub.role + ".crl.pem");
      json partitions = json::array();
      for (std::size_t i = 1; i < one.crls.size(); ++i) {
        const OneCrl& c = one.crls[i];
        pub.partitions.push_back({*c.partition, c.entries, c.der_path});
        partitions.push_back({{"partition", *c.partition}, {"entries", c.entries}, {"sha256", to_hex(c.sha256)}});
      }
      json p = {{"role", pub.role}, {"crl_number", pub.crl_number}, {"entries", pub.entries},
                {"this_update", format_rfc3339(pub.this_update)},
                {"next_update", format_rfc3339(pub.next_update)}, {"sha256", to_hex(full.sha256)},
                {"path", pub.der_path.string()}, {"authority_row", detail::authority_row(m.db, one.ca->id)}};
      if (!partitions.empty()) p["partitions"] = partitions;
      published.push_back(std::move(p));
      out.push_back(std::move(pub));
    }
    json details{{"crls", published}};
    if (issuing_revoked) details["not_published"] = {{{"role", "issuing"}, {"reason", *issuing_revoked}}};
    db::append_audit(m.db, {actor.name, "crl.publish", issuing_revoked ? "root" : "issuing,root", details.dump()}, now);
    tx->commit();
    // Stage, commit, then rename into place: a CRL number is never published without its record,
    // and a failure before the commit leaves the old files untouched.
    for (auto& one : cas_signed)
      for (auto& f : one.staged) f.commit();
    return out;
  }
}

}  // namespace jitsuin::ca
