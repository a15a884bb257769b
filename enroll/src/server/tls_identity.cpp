#include "server/tls_identity.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "jitsuin/core/error.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/core/util.h"

namespace jitsuin::server {

namespace {

std::string key_pem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    throw Error(ErrorKind::crypto, "cannot encode the server key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string csr_pem(EVP_PKEY* key) {
  ossl::Req req(X509_REQ_new());
  if (!req || !X509_REQ_set_pubkey(req.get(), key) || !X509_REQ_sign(req.get(), key, EVP_sha256()))
    throw Error(ErrorKind::crypto, "cannot build the server's certificate request");
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509_REQ(bio.get(), req.get())) throw Error(ErrorKind::crypto, "cannot encode the CSR");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// True when the certificate in chain_file still serves: it parses, names exactly the configured
// server names, and has more than a third of its validity left.
bool still_good(const std::filesystem::path& chain_file, const std::vector<std::string>& names, UnixTime now) {
  std::error_code ec;
  if (!std::filesystem::exists(chain_file, ec)) return false;
  try {
    auto cert = ossl::cert_from_pem(read_file(chain_file, kMaxFileBytes, "server certificate"));
    int day = 0, sec = 0;
    const ASN1_TIME* nb = X509_get0_notBefore(cert.get());
    const ASN1_TIME* na = X509_get0_notAfter(cert.get());
    if (!ASN1_TIME_diff(&day, &sec, nb, na)) return false;
    std::int64_t total = std::int64_t(day) * 86400 + sec;
    ossl::Time at_now(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
    if (!at_now || !ASN1_TIME_diff(&day, &sec, at_now.get(), na)) return false;
    std::int64_t left = std::int64_t(day) * 86400 + sec;
    if (left <= total / 3) return false;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
    std::size_t count = sans ? static_cast<std::size_t>(sk_GENERAL_NAME_num(sans)) : 0;
    GENERAL_NAMES_free(sans);
    for (const auto& n : names)
      if (X509_check_host(cert.get(), n.c_str(), n.size(), 0, nullptr) != 1 &&
          X509_check_ip_asc(cert.get(), n.c_str(), 0) != 1)
        return false;
    return count == names.size();
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

TlsIdentity ensure_tls_identity(api::Services& services) {
  const auto& config = services.config();
  auto dir = config.home / "server";
  TlsIdentity id{dir / "tls.key", dir / "tls-chain.pem", dir / "root.pem", false};
  auto& ca = services.ca();   // not_found without a CA
  create_private_directories(dir);
  write_file_atomic(id.root_file, ossl::cert_pem(ca.root_certificate()), 0644);
  std::error_code ec;
  if (std::filesystem::exists(id.key_file, ec) && still_good(id.chain_file, config.server.server_names, services.clock()()))
    return id;
  ossl::PKey key(EVP_EC_gen("P-256"));
  if (!key) throw Error(ErrorKind::crypto, "cannot generate the server key");
  ca::IssueRequest req;
  req.profile = "tls-server";
  req.csr = csr_pem(key.get());
  auto org = config.ca.issuing.subject.find("organization");
  req.subject = {{"organization", org != config.ca.issuing.subject.end() ? org->second : "Jitsuin"},
                 {"common_name", config.server.server_names.front()}};
  req.days = config.server.tls_days;
  req.server_names = config.server.server_names;
  auto issued = ca.issue(req, ca::Actor{"jitsuind"});
  std::string chain = ossl::cert_pem(issued.certificate.get());
  if (!issued.chain.empty()) chain += ossl::cert_pem(issued.chain.front().get());
  // The key first: a chain file never names a key that is not there.
  write_file_atomic(id.key_file, key_pem(key.get()), 0600);
  write_file_atomic(id.chain_file, chain, 0644);
  id.issued_now = true;
  return id;
}

}  // namespace jitsuin::server
