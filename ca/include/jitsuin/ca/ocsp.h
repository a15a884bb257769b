#pragma once
// The RFC 6960 OCSP responder core: OCSP request DER in, OCSP response DER out, for the
// certificates of the issuing CA, signed by a delegated OCSP-signing certificate.
//
// The signer. A certificate of profile ocsp-signing (extendedKeyUsage OCSPSigning,
// id-pkix-ocsp-nocheck) issued by the issuing CA to a key generated on the token through the key
// store, recorded like every certificate (certificates row, one transaction, one audit entry
// "ocsp.signer.issue" with the row's digest) plus a row of ocsp_signers holding the key's
// reference. Made on first use; renewed (a new key and certificate) once less than
// kRenewBeforeDays remain of it, or when it is revoked (a running responder reads its signer's row
// again at most once a second). The newest usable row signs.
//
// Statuses come from the certificates table at the moment of the request: good, revoked (with the
// revocation's effective time and reason; a revocation recorded for later is good until then),
// unknown (a serial the issuing CA never issued, a CertID naming another issuer by
// issuerNameHash/issuerKeyHash in SHA-1 or SHA-256, or another hash algorithm).
//
// The cache. A response to a request with one CertID and no nonce is kept in memory per (serial,
// CertID hash algorithm) with the row's revocation columns it was made from. Every request reads
// the row again (one index probe); the cached response is served only while those columns are
// unchanged, a revocation recorded for later has not reached its effective time, half of its
// validity (ca.ocsp_validity_hours) has not passed, and its signer is still the one signing. So
// an unchanged status costs no token signature and a status change is answered at once. A nonce
// makes the response unique: it is signed for the request.
//
// Threads. One responder serves every thread of a process at once (jitsuind's pool): each thread
// reads the database on a connection of its own, opened on its first request from the file of
// `db`; the cache and the signer sit behind a shared_mutex that a cache hit takes shared only;
// signatures are made outside every lock. The signer is issued or renewed by one thread while the
// others wait for it (one key on the token, one certificate), on `db` and `ca`, which nothing
// else of the responder touches.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "jitsuin/ca/authority.h"
#include "jitsuin/config/config.h"
#include "jitsuin/core/util.h"
#include "jitsuin/db/database.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::ca {

/// The delegated signer renews once fewer days than this remain of its certificate.
inline constexpr int kOcspRenewBeforeDays = 30;
/// At most this many CertIDs in one request; more are answered malformedRequest.
inline constexpr int kOcspMaxCertIds = 20;

/// What respond() answered, for the caller's output, logs and metrics.
struct OcspAnswer {
  Bytes der;                      ///< the OCSPResponse
  std::string response_status;    ///< "successful", "malformedRequest", "internalError"
  struct Single {
    std::string serial_hex;
    std::string status;           ///< "good", "revoked", "unknown"
    std::optional<UnixTime> revocation_time;
    std::optional<RevocationReason> reason;
  };
  std::vector<Single> statuses;   ///< one per CertID, in request order
  bool nonce = false;             ///< the request's nonce was echoed
  bool cached = false;            ///< served from the cache, no signature made
  UnixTime this_update = 0, next_update = 0;   ///< of a successful response (0 otherwise)
  std::string problem;            ///< why malformedRequest / internalError (never sent to the client)
};

/// What a responder answered since it was made, for /metrics. Each counter only grows.
struct OcspCounters {
  std::atomic<std::uint64_t> successful{0};          ///< responses with status successful
  std::atomic<std::uint64_t> good{0}, revoked{0}, unknown{0};   ///< their SingleResponses, by status
  std::atomic<std::uint64_t> malformed_request{0};   ///< responses malformedRequest
  std::atomic<std::uint64_t> internal_error{0};      ///< responses internalError
  std::atomic<std::uint64_t> signatures{0};          ///< successful responses signed on the token
  std::atomic<std::uint64_t> cache_hits{0};          ///< successful responses served pre-signed
};

class OcspResponder {
 public:
  /// `ca`, `db` and `keys` must outlive the responder. `actor` is who the signer's issuance is
  /// recorded as in the audit log. `db` and `ca` are used by whichever thread makes the signer,
  /// one at a time: a caller whose other threads use them too must give the responder its own.
  OcspResponder(const config::Config& config, db::Database& db, hsm::KeyStore& keys, Clock clock,
                CertificateAuthority& ca, Actor actor = {"ocsp-responder"});
  ~OcspResponder();

  /// Answers one OCSP request (DER). Never throws: a request that does not decode, is not DER (BER
  /// lengths or encodings), has trailing data, no CertID, more than kOcspMaxCertIds, more than one
  /// nonce or a nonce that is not an OCTET STRING of 1 to 32 octets (RFC 8954) is answered
  /// malformedRequest; a failure of the
  /// token or database (a revoked issuing CA, which issues no new signer) internalError. Safe to
  /// call from any number of threads at once (see the file comment).
  OcspAnswer respond(std::span<const std::uint8_t> request_der);

  /// The malformedRequest answer for a request its transport could not decode (an HTTP GET path
  /// that is not base64), counted like the ones respond() makes. `problem` is for the caller's log.
  OcspAnswer malformed(std::string problem);

  /// The signing certificate in use, issued or renewed first when needed (see the file comment).
  CertificateRecord signer();

  /// Responses signed on the token since construction (cache hits sign nothing).
  std::uint64_t signatures() const;
  /// Responses served from the cache since construction.
  std::uint64_t cache_hits() const;
  /// Every counter, read while the responder serves.
  const OcspCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jitsuin::ca
