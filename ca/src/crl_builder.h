#pragma once
// A streaming CRL encoder. OpenSSL's X509_CRL keeps every entry as a heap object (~600 MB and
// ~10 s for a million entries); this writes each revoked entry's DER straight into one buffer as
// rows arrive (no allocation per entry), then signs the TBSCertList with the CA key once. The
// buffer is the whole CRL: its header is written into room kept in front of the entries, the
// signature appended, and the PEM form made in the same buffer (to_pem()), so a CRL of n entries
// takes about its PEM size in memory (~47 bytes an entry), never two copies.
#include <cstdlib>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "jitsuin/core/util.h"
#include "jitsuin/core/openssl.h"
#include "jitsuin/hsm/key_store.h"

namespace jitsuin::ca::detail {

struct CrlInput {
  const X509* issuer = nullptr;   ///< the CA certificate (its subject is the CRL issuer)
  EVP_PKEY* key = nullptr;        ///< the CA key on the token
  /// Holds the key's token for the signature (hsm::Signer::hold()); none: nothing to hold.
  std::function<std::unique_ptr<hsm::KeyHold>()> hold;
  Bytes authority_key_id;
  std::int64_t crl_number = 0;
  UnixTime this_update = 0, next_update = 0;
  /// URL of the distribution point this CRL serves: an issuingDistributionPoint extension
  /// (critical) when set, so relying parties (Botan does) can match it to the certificates' CRL DP.
  std::string distribution_point;
};

/// A growable byte buffer on malloc/realloc: glibc moves a large block by remapping its pages, so
/// growing never holds the old and the new copy at once (std::string would).
class CrlBuffer {
 public:
  CrlBuffer() = default;
  CrlBuffer(const CrlBuffer&) = delete;
  CrlBuffer& operator=(const CrlBuffer&) = delete;
  CrlBuffer(CrlBuffer&& o) noexcept : data_(std::move(o.data_)), size_(o.size_), capacity_(o.capacity_) {
    o.size_ = o.capacity_ = 0;
  }
  CrlBuffer& operator=(CrlBuffer&& o) noexcept;
  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  std::size_t size() const { return size_; }
  std::string_view view() const { return {data_.get(), size_}; }
  /// Room for `more` bytes after the end; returns where they go (size() unchanged).
  char* room(std::size_t more);
  void commit(std::size_t n) { size_ += n; }
  void append(std::string_view s);
  void push_back(char c) { *room(1) = c, ++size_; }
  void resize(std::size_t n);
  void release();   ///< frees the memory

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  std::unique_ptr<char, Free> data_;
  std::size_t size_ = 0, capacity_ = 0;
};

struct CrlFiles {
  CrlBuffer der;
  Bytes sha256;   ///< of the DER
};

class CrlBuilder {
 public:
  explicit CrlBuilder(const CrlInput& in);
  /// Adds one revoked certificate: its serial's magnitude (big-endian, as stored; a leading zero
  /// is added when the top bit is set), revocation date, RFC 5280 reason code (0 = unspecified is
  /// encoded by omitting the extension, as RFC 5280 recommends).
  void add(std::span<const std::uint8_t> serial, UnixTime revocation_date, int reason);
  std::int64_t entries() const { return entries_; }
  /// Signs and returns the encoded CRL.
  CrlFiles finish();

 private:
  CrlInput in_;
  std::string head_;   // version .. nextUpdate of the TBSCertList
  std::size_t gap_ = 0;   // room kept in front of the entries for the headers
  CrlBuffer buf_;      // gap_ bytes, then the concatenated RevokedCertificate SEQUENCEs
  std::int64_t entries_ = 0;
  UnixTime last_time_ = -1;   // the last revocation date encoded, and its encoding
  char last_time_der_[20] = {};
  std::size_t last_time_len_ = 0;
};

/// Turns a buffer holding DER into its PEM form ("-----BEGIN label-----", base64 in lines of 64),
/// in place.
void der_to_pem(CrlBuffer& buf, const char* label);

/// DER encoding helpers (exposed for tests of the encoder).
void der_append_length(std::string& out, std::size_t len);
void der_append_tlv(std::string& out, std::uint8_t tag, std::string_view content);
void der_append_time(std::string& out, UnixTime t);   ///< UTCTime until 2049, GeneralizedTime after

}  // namespace jitsuin::ca::detail
