#pragma once
// jitsuind's own TLS identity: a certificate from our CA (profile tls-server, names from
// server.server_names) for a P-256 key generated on the CA's token (server.tls_key "token", label
// "jitsuind-tls"; each of its signatures takes the token's hold, see hsm::self_holding_pkey) or
// in a file (server.tls_key "file": HOME/server/tls.key, 0600). Issued on first start, and again
// when a third of its validity is left: at start, and while running by a timer; new connections
// then get the new certificate and key, connections already open keep theirs.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

#include "jitsuin/api/services.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::server {

class TlsIdentity {
 public:
  /// Makes sure HOME/server/ holds a certificate for server.server_names with more than a third of
  /// its validity left and its key; issues one otherwise (one issuance, audited as "cert.issue" by
  /// "jitsuind"). Throws not_found when there is no CA.
  explicit TlsIdentity(api::Services& services);

  /// Sets up the listeners' context: TLS 1.2 and 1.3 only, and each new connection gets the
  /// current certificate and key (switched in at its ClientHello).
  void serve(boost::asio::ssl::context& front);
  /// From now on checks again when a third of the validity is left (and at least daily), and
  /// renews, holding services_mutex while it issues. Says so on stderr.
  void renew_while_running(boost::asio::io_context& ioc, std::mutex& services_mutex);

  /// After handshakes failed on the server's side (server.cpp: its key could not sign, e.g. the
  /// token's handle went invalid while the process was out of descriptors): finds the key on the
  /// token again, through a key store of its own, and serves it to new connections. At most every
  /// two seconds; a failure is said on stderr (the next failing handshake tries again). Thread-safe.
  void reopen_key();

  std::filesystem::path chain_file() const { return dir_ / "tls-chain.pem"; }   ///< the certificate, then the issuing CA
  std::filesystem::path root_file() const { return dir_ / "root.pem"; }         ///< the root to trust
  std::string serial() const;                                                    ///< of the certificate served now
  bool issued_now() const { return issued_now_; }                                ///< at this start

 private:
  bool ensure();   // true when it issued a new certificate
  ossl::PKey load_key();
  ossl::PKey new_key();
  bool install(EVP_PKEY* key);
  void remove_old_key(const std::string& reference);   // i9: the key a renewal replaced
  std::shared_ptr<SSL_CTX> current() const;
  void schedule(boost::asio::io_context& ioc, std::mutex& services_mutex, int seconds);
  static int on_server_name(SSL* ssl, int* alert, void* self);

  api::Services& services_;
  std::filesystem::path dir_;
  std::unique_ptr<hsm::KeyStore> keys_;   // server.tls_key "token"
  bool issued_now_ = false;
  mutable std::mutex mutex_;              // guards the three below
  std::shared_ptr<SSL_CTX> ctx_;          // what new connections get
  std::string serial_;
  UnixTime renew_at_ = 0;                 // when a third of the validity is left
  std::mutex reopen_mutex_;               // one reopen_key at a time
  std::int64_t reopened_ms_ = 0;          // when reopen_key last tried (steady clock)
};

}  // namespace jitsuin::server
