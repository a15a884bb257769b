#pragma once
// jitsuind's own TLS certificate: issued by our CA (profile tls-server) on first start and renewed
// before it expires. The key is a P-256 key in a file (0600) under HOME/server/: the token is not
// used for it yet (see README "jitsuind").
#include <filesystem>
#include <string>

#include "jitsuin/api/services.h"

namespace jitsuin::server {

struct TlsIdentity {
  std::filesystem::path key_file;     ///< PEM private key, mode 0600
  std::filesystem::path chain_file;   ///< PEM: the server certificate, then the issuing CA
  std::filesystem::path root_file;    ///< PEM: the root to trust
  bool issued_now = false;            ///< a new certificate was issued at this start
};

/// Makes sure HOME/server/ holds a certificate for config.server.server_names that is valid for
/// at least another third of its validity; issues a new one from the CA otherwise (one issuance,
/// audited as "cert.issue" by "jitsuind"). Throws not_found when there is no CA.
TlsIdentity ensure_tls_identity(api::Services& services);

}  // namespace jitsuin::server
