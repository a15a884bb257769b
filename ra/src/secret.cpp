#include "jitsuin/ra/secret.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <vector>

#include "jitsuin/core/error.h"
#include "jitsuin/core/util.h"

namespace jitsuin::ra {

namespace {

// scrypt cost: N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s): the interactive-login parameters of
// RFC 7914 §2. Stored with each hash, so they can be raised for new hashes later.
constexpr std::uint64_t kN = 1u << 15;
constexpr std::uint64_t kR = 8, kP = 1;
constexpr std::size_t kSaltLen = 16, kHashLen = 32;
constexpr std::uint64_t kMaxMem = 64ull * 1024 * 1024;

Bytes derive(std::string_view secret, const Bytes& salt, std::uint64_t n, std::uint64_t r, std::uint64_t p,
             std::size_t len) {
  Bytes out(len);
  if (EVP_PBE_scrypt(secret.data(), secret.size(), salt.data(), salt.size(), n, r, p, kMaxMem, out.data(), len) != 1)
    throw Error(ErrorKind::crypto, "scrypt failed");
  return out;
}

std::function<void()>& observer() {
  static std::function<void()> f;
  return f;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 12) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

}  // namespace

void set_secret_observer(std::function<void()> f) { observer() = std::move(f); }

std::string hash_secret(std::string_view secret) {
  if (observer()) observer()();
  Bytes salt = random_bytes(kSaltLen);
  Bytes h = derive(secret, salt, kN, kR, kP, kHashLen);
  return "scrypt$" + std::to_string(kN) + "$" + std::to_string(kR) + "$" + std::to_string(kP) + "$" + to_hex(salt) +
         "$" + to_hex(h);
}

bool verify_secret(std::string_view secret, std::string_view encoded) {
  if (observer()) observer()();
  auto parts = split(encoded, '$');
  if (parts.size() != 6 || parts[0] != "scrypt") return false;
  std::uint64_t n = 0, r = 0, p = 0;
  if (!parse_u64(parts[1], n) || !parse_u64(parts[2], r) || !parse_u64(parts[3], p)) return false;
  // Refuse parameters outside sane bounds rather than let a bad row cost gigabytes.
  if (n < 2 || (n & (n - 1)) || n > (1u << 20) || r < 1 || r > 32 || p < 1 || p > 16) return false;
  Bytes salt, expected;
  try {
    salt = from_hex(parts[4]);
    expected = from_hex(parts[5]);
  } catch (const Error&) {
    return false;
  }
  if (salt.empty() || expected.size() < 16 || expected.size() > 64) return false;
  Bytes got = derive(secret, salt, n, r, p, expected.size());   // a failure here is an error, not a mismatch
  return CRYPTO_memcmp(got.data(), expected.data(), expected.size()) == 0;
}

bool verify_secret_or_dummy(std::string_view secret, const std::optional<std::string>& encoded) {
  // scrypt("jitsuin-no-such-secret") with the parameters of hash_secret (kN, kR, kP): fixed, so
  // the first use costs no more than the others.
  static constexpr std::string_view dummy =
      "scrypt$32768$8$1$6a69747375696e2d64756d6d792d2d31$ae5bc795891bb36c79ffc7a83fc4681a9261b6b86e5c71ff7fe55bfe5653d868";
  if (encoded) return verify_secret(secret, *encoded);
  verify_secret(secret, dummy);
  return false;
}

}  // namespace jitsuin::ra
