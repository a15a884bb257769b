#include "server/tls_identity.h"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include <boost/asio/steady_timer.hpp>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

namespace jitsuin::server {

namespace {

constexpr const char* kTokenLabel = "jitsuind-tls";

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string key_pem(EVP_PKEY* key) {
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr))
    throw Error(ErrorKind::crypto, "cannot encode the server key");
  return bio_text(bio.get());
}

std::string csr_pem(EVP_PKEY* key) {
  ossl::Req req(X509_REQ_new());
  if (!req || !X509_REQ_set_pubkey(req.get(), key) || !X509_REQ_sign(req.get(), key, EVP_sha256()))
    throw Error(ErrorKind::crypto, "cannot build the server's certificate request");
  ossl::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509_REQ(bio.get(), req.get())) throw Error(ErrorKind::crypto, "cannot encode the CSR");
  return bio_text(bio.get());
}

std::optional<UnixTime> unix_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || !ASN1_TIME_to_tm(t, &tm)) return std::nullopt;
  return static_cast<UnixTime>(timegm(&tm));
}

// When a third of the certificate's validity is left.
std::optional<UnixTime> renew_time(const X509* cert) {
  auto nb = unix_time(X509_get0_notBefore(cert));
  auto na = unix_time(X509_get0_notAfter(cert));
  if (!nb || !na || *na <= *nb) return std::nullopt;
  return *na - (*na - *nb) / 3;
}

std::optional<ossl::Cert> read_chain_head(const std::filesystem::path& chain_file) {
  std::error_code ec;
  if (!std::filesystem::exists(chain_file, ec)) return std::nullopt;
  try {
    return ossl::cert_from_pem(read_file(chain_file, kMaxFileBytes, "server certificate"));
  } catch (const Error&) {
    return std::nullopt;
  }
}

// True when the certificate still serves: it names exactly the configured server names and has
// more than a third of its validity left.
bool still_good(const X509* cert, const std::vector<std::string>& names, UnixTime now) {
  auto renew = renew_time(cert);
  if (!renew || now >= *renew) return false;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::size_t count = sans ? static_cast<std::size_t>(sk_GENERAL_NAME_num(sans)) : 0;
  GENERAL_NAMES_free(sans);
  for (const auto& n : names)
    if (X509_check_host(const_cast<X509*>(cert), n.c_str(), n.size(), 0, nullptr) != 1 &&
        X509_check_ip_asc(const_cast<X509*>(cert), n.c_str(), 0) != 1)
      return false;
  return count == names.size();
}

std::string serial_of(const X509* cert) {
  ossl::Bignum bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  char* hex = bn ? BN_bn2hex(bn.get()) : nullptr;
  std::string s = hex ? hex : "";
  OPENSSL_free(hex);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// TLS 1.2 suites: Mozilla's "intermediate" configuration (v5.7), ECDHE with AEAD only: no CBC (Lucky
// Thirteen, padding oracles), no static RSA key exchange (no forward secrecy), no DHE (no DH
// parameters are set). The key is P-256, so the ECDSA ones are what a handshake can choose; the RSA
// names stay so the list is Mozilla's as published. TLS 1.3 keeps OpenSSL's default suites (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// TLS 1.2 and 1.3 only, AEAD suites only, for the listeners' context and every identity's (the
// connection's suites are the front context's: SSL_set_SSL_CTX at the ClientHello keeps them).
void restrict_protocols(SSL_CTX* ctx) {
  SSL_CTX_set_options(ctx, SSL_OP_ALL | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                               SSL_OP_SINGLE_DH_USE | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    throw Error(ErrorKind::crypto, "cannot set the TLS 1.2 cipher suites");
}

bool use_identity(SSL_CTX* ctx, const std::filesystem::path& chain_file, EVP_PKEY* key) {
  return SSL_CTX_use_certificate_chain_file(ctx, chain_file.c_str()) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
         SSL_CTX_check_private_key(ctx) == 1;
}

}  // namespace

TlsIdentity::TlsIdentity(api::Services& services) : services_(services), dir_(services.config().home / "server") {
  if (services.config().server.tls_key == "token") keys_ = hsm::open_key_store(services.config());
  issued_now_ = ensure();
}

std::string TlsIdentity::serial() const {
  std::lock_guard lock(mutex_);
  return serial_;
}

std::shared_ptr<SSL_CTX> TlsIdentity::current() const {
  std::lock_guard lock(mutex_);
  return ctx_;
}

ossl::PKey TlsIdentity::load_key() {
  if (!keys_) {
    auto file = dir_ / "tls.key";
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) return nullptr;
    ossl::Bio bio(BIO_new_file(file.c_str(), "r"));
    return ossl::PKey(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  }
  auto ref = dir_ / "tls-key.uri";
  std::error_code ec;
  if (!std::filesystem::exists(ref, ec)) return nullptr;
  try {
    return hsm::self_holding_pkey(keys_->find(read_file(ref, 4096, "server key reference")));
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::not_found && e.kind() != ErrorKind::invalid_input) throw;
    return nullptr;   // the key is gone from the token: a new one is made
  }
}

// A new P-256 key, recorded before the certificate that names it: a chain file never names a key
// that is not there. The other kind's key is removed (a key file is a secret left lying around).
ossl::PKey TlsIdentity::new_key() {
  std::error_code ec;
  if (!keys_) {
    ossl::PKey key(EVP_EC_gen("P-256"));
    if (!key) throw Error(ErrorKind::crypto, "cannot generate the server key");
    write_file_atomic(dir_ / "tls.key", key_pem(key.get()), 0600);
    std::filesystem::remove(dir_ / "tls-key.uri", ec);
    return key;
  }
  auto signer = keys_->generate(kTokenLabel, hsm::KeyAlgorithm::p256);
  write_file_atomic(dir_ / "tls-key.uri", signer->reference(), 0644);
  std::filesystem::remove(dir_ / "tls.key", ec);
  return hsm::self_holding_pkey(std::move(signer));
}

// The chain file and `key` become what new connections get. False when they do not match.
bool TlsIdentity::install(EVP_PKEY* key) {
  auto cert = read_chain_head(chain_file());
  if (!cert) return false;
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (!ctx) throw Error(ErrorKind::crypto, "cannot create a TLS context");
  restrict_protocols(ctx.get());
  if (!use_identity(ctx.get(), chain_file(), key)) return false;
  std::lock_guard lock(mutex_);
  ctx_ = std::move(ctx);
  serial_ = serial_of(cert->get());
  renew_at_ = renew_time(cert->get()).value_or(0);
  return true;
}

bool TlsIdentity::ensure() {
  const auto& config = services_.config();
  auto& ca = services_.ca();   // not_found without a CA
  create_private_directories(dir_);
  write_file_atomic(root_file(), ossl::cert_pem(ca.root_certificate()), 0644);
  auto cert = read_chain_head(chain_file());
  if (cert && still_good(cert->get(), config.server.server_names, services_.clock()())) {
    if (current()) return false;
    if (auto key = load_key(); key && install(key.get())) return false;
  }
  // The key being replaced (on the token): removed once the new certificate is in place.
  std::string old_reference;
  if (keys_) {
    std::error_code ec;
    if (std::filesystem::exists(dir_ / "tls-key.uri", ec)) old_reference = read_file(dir_ / "tls-key.uri", 4096, "server key reference");
  }
  ossl::PKey key = new_key();
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
  write_file_atomic(chain_file(), chain, 0644);
  if (!install(key.get())) throw Error(ErrorKind::crypto, "the new server certificate does not match its key");
  remove_old_key(old_reference);
  return true;
}

// New connections get the new key from now on; connections open keep their session keys (a TLS
// server key signs only in the handshake). A failure leaves the old key on the token and is said.
void TlsIdentity::remove_old_key(const std::string& reference) {
  if (reference.empty() || !keys_ || reference == read_file(dir_ / "tls-key.uri", 4096, "server key reference")) return;
  try {
    int n = keys_->remove(reference);
    if (n > 0) std::cerr << "jitsuind: the replaced TLS key is removed from the token (" << n << " objects)\n";
  } catch (const std::exception& e) {
    std::cerr << "jitsuind: the replaced TLS key stays on the token: " << e.what() << "\n";
  }
}

void TlsIdentity::reopen_key() {
  std::unique_lock lock(reopen_mutex_, std::try_to_lock);
  if (!lock) return;   // one already under way
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  if (reopened_ms_ != 0 && now - reopened_ms_ < 2000) return;
  reopened_ms_ = now;
  try {
    ossl::PKey key;
    if (!keys_) {
      key = load_key();
    } else {
      auto ref = dir_ / "tls-key.uri";
      // A store of its own: keys_ may be in use by a renewal.
      auto store = hsm::open_key_store(services_.config());
      key = hsm::self_holding_pkey(store->find(read_file(ref, 4096, "server key reference")));
    }
    if (!key || !install(key.get())) throw Error(ErrorKind::crypto, "the server key does not match the certificate");
    std::cerr << "jitsuind: TLS handshakes failed on the server's side: the TLS key is opened again\n";
  } catch (const std::exception& e) {
    std::cerr << "jitsuind: TLS handshakes fail on the server's side, and the TLS key cannot be opened again: " << e.what()
              << "\n";
  }
}

int TlsIdentity::on_server_name(SSL* ssl, int*, void* self) {
  // Called for every ClientHello (with or without SNI): the connection takes the identity current now.
  if (auto ctx = static_cast<TlsIdentity*>(self)->current()) SSL_set_SSL_CTX(ssl, ctx.get());
  return SSL_TLSEXT_ERR_OK;
}

void TlsIdentity::serve(boost::asio::ssl::context& front) {
  SSL_CTX* ctx = front.native_handle();
  restrict_protocols(ctx);
  // The front context serves too (until the callback switches): the same identity.
  auto key = SSL_CTX_get0_privatekey(current().get());
  if (!use_identity(ctx, chain_file(), key)) throw Error(ErrorKind::crypto, "cannot load the server's TLS identity");
  SSL_CTX_set_tlsext_servername_callback(ctx, &TlsIdentity::on_server_name);
  SSL_CTX_set_tlsext_servername_arg(ctx, this);
}

void TlsIdentity::renew_while_running(boost::asio::io_context& ioc, std::mutex& services_mutex) {
  UnixTime renew_at;
  {
    std::lock_guard lock(mutex_);
    renew_at = renew_at_;
  }
  auto wait = std::clamp<std::int64_t>(renew_at - services_.clock()(), 0, 86400) + 1;
  schedule(ioc, services_mutex, static_cast<int>(wait));
}

void TlsIdentity::schedule(boost::asio::io_context& ioc, std::mutex& services_mutex, int seconds) {
  // The timer is owned by its pending wait: it goes with the io_context's handlers.
  auto timer = std::make_shared<boost::asio::steady_timer>(ioc, std::chrono::seconds(seconds));
  timer->async_wait([this, &ioc, &services_mutex, timer](const boost::system::error_code& ec) {
    if (ec) return;
    try {
      bool renewed;
      {
        std::lock_guard lock(services_mutex);
        renewed = ensure();
      }
      if (renewed) std::cerr << "jitsuind: TLS certificate renewed: serial " << serial() << "\n";
    } catch (const std::exception& e) {
      std::cerr << "jitsuind: TLS certificate renewal failed (trying again in a minute): " << e.what() << "\n";
      return schedule(ioc, services_mutex, 60);
    }
    renew_while_running(ioc, services_mutex);
  });
}

}  // namespace jitsuin::server
