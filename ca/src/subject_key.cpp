// Uses OpenSSL's deprecated low-level RSA and EC_KEY API on purpose (see subject_key.h); the file
// is compiled with -Wno-deprecated-declarations for that reason.
#include "subject_key.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>

#include "jitsuin/core/error.h"

namespace jitsuin::ca::detail {

namespace {

struct RsaFree {
  void operator()(RSA* r) const noexcept { RSA_free(r); }
};
struct EcKeyFree {
  void operator()(EC_KEY* k) const noexcept { EC_KEY_free(k); }
};

[[noreturn]] void refuse(const std::string& why) {
  ERR_clear_error();
  throw Error(ErrorKind::invalid_input, why);
}

constexpr const char* kAllowed = "key type is not allowed: use RSA (2048+ bits) or EC P-256/P-384";

// The allowed curves, each built once (thread-safe static initialisation) and only read afterwards.
const EC_GROUP* allowed_group(int nid) {
  static const EC_GROUP* p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  static const EC_GROUP* p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
  if (nid == NID_X9_62_prime256v1) return p256;
  if (nid == NID_secp384r1) return p384;
  return nullptr;
}

}  // namespace

struct SubjectKey::Impl {
  std::unique_ptr<RSA, RsaFree> rsa;
  std::unique_ptr<EC_KEY, EcKeyFree> ec;
  std::string description;
};

SubjectKey::SubjectKey(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SubjectKey::SubjectKey(SubjectKey&&) noexcept = default;
SubjectKey& SubjectKey::operator=(SubjectKey&&) noexcept = default;
SubjectKey::~SubjectKey() = default;

bool SubjectKey::is_rsa() const { return impl_->rsa != nullptr; }
const std::string& SubjectKey::description() const { return impl_->description; }

SubjectKey SubjectKey::decode(const X509_ALGOR* algorithm, std::span<const std::uint8_t> key_bits) {
  const ASN1_OBJECT* oid = nullptr;
  int ptype = V_ASN1_UNDEF;
  const void* pval = nullptr;
  X509_ALGOR_get0(&oid, &ptype, &pval, algorithm);
  auto impl = std::make_unique<Impl>();
  const unsigned char* p = key_bits.data();
  const long len = static_cast<long>(key_bits.size());

  switch (OBJ_obj2nid(oid)) {
    case NID_rsaEncryption: {
      // RFC 3279: the parameters are NULL (some encoders omit them).
      if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) refuse("the RSA key's algorithm parameters must be NULL");
      impl->rsa.reset(d2i_RSAPublicKey(nullptr, &p, len));
      if (!impl->rsa || p != key_bits.data() + key_bits.size())
        refuse("the CSR's RSA public key is malformed (not a DER RSAPublicKey)");
      const BIGNUM* e = RSA_get0_e(impl->rsa.get());
      int bits = RSA_bits(impl->rsa.get());
      impl->description = "RSA-" + std::to_string(bits);
      if (bits < 2048) refuse("key " + impl->description + " is too weak: RSA keys must have at least 2048 bits");
      if (bits > 8192) refuse("key " + impl->description + " is too large: RSA keys may have at most 8192 bits");
      if (!BN_is_odd(e) || BN_is_one(e))
        refuse("key " + impl->description + " has an invalid public exponent: it must be odd and at least 3");
      break;
    }
    case NID_X9_62_id_ecPublicKey: {
      if (ptype != V_ASN1_OBJECT)
        refuse("the EC key must name its curve (P-256 or P-384); explicit curve parameters are not allowed");
      int curve = OBJ_obj2nid(static_cast<const ASN1_OBJECT*>(pval));
      const EC_GROUP* group = allowed_group(curve);
      if (!group) {
        const char* name = curve == NID_undef ? nullptr : OBJ_nid2sn(curve);
        refuse("key EC " + std::string(name ? name : "(unknown curve)") +
               " is not allowed: EC keys must be on P-256 or P-384");
      }
      impl->description = curve == NID_X9_62_prime256v1 ? "EC P-256" : "EC P-384";
      // One encoding per key: the certificate copies the request's SubjectPublicKeyInfo, and the
      // key-reuse check fingerprints those bytes, so a compressed form of a key must not slip past it.
      if (key_bits.empty() || key_bits[0] != 0x04)
        refuse("the CSR's EC public key is not in uncompressed form (04 || x || y), which is required");
      impl->ec.reset(EC_KEY_new());
      if (!impl->ec || EC_KEY_set_group(impl->ec.get(), group) != 1) throw Error(ErrorKind::crypto, "EC_KEY_new failed");
      // o2i_ECPublicKey refuses a point of the wrong length or not on the curve.
      EC_KEY* k = impl->ec.get();
      if (!o2i_ECPublicKey(&k, &p, len) || p != key_bits.data() + key_bits.size())
        refuse("the CSR's EC public key is not a valid point on " + impl->description.substr(3));
      break;
    }
    default:
      refuse(kAllowed);
  }
  return SubjectKey(std::move(impl));
}

bool SubjectKey::verify(int md_nid, std::span<const std::uint8_t> data, std::span<const std::uint8_t> sig) const {
  if (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512) return false;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &dlen, EVP_get_digestbynid(md_nid), nullptr) != 1)
    throw Error(ErrorKind::crypto, "cannot hash the signed data");
  // Both verifiers re-encode what they decode and compare, so a non-DER signature is refused.
  int ok = impl_->rsa ? RSA_verify(md_nid, digest, dlen, sig.data(), static_cast<unsigned int>(sig.size()),
                                   impl_->rsa.get())
                      : ECDSA_verify(0, digest, static_cast<int>(dlen), sig.data(), static_cast<int>(sig.size()),
                                     impl_->ec.get());
  ERR_clear_error();
  return ok == 1;
}

}  // namespace jitsuin::ca::detail
