#pragma once
// Slow, salted hashes for operator passwords and application PINs: scrypt (RFC 7914) with a
// per-secret random salt, encoded with its parameters so they can be raised later without
// invalidating stored hashes. Comparison in constant time.
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace jitsuin::ra {

/// "scrypt$N$r$p$salt_hex$hash_hex" of secret, with a fresh 16-byte salt from the system CSPRNG.
std::string hash_secret(std::string_view secret);

/// True when secret matches an encoded hash made by hash_secret. A malformed encoding is never a
/// match (and never an exception: stored data from an older version must not crash a login).
/// A failure of scrypt itself (e.g. out of memory) throws ErrorKind::crypto: a system fault is not
/// a wrong password and must not count toward a lockout.
bool verify_secret(std::string_view secret, std::string_view encoded);

/// verify_secret against `encoded`, or, when there is none (an unknown name or number, a secret
/// withdrawn), against a fixed hash made with the same parameters, so that the answer costs the
/// same scrypt work either way and its timing does not tell which it was (then always false).
bool verify_secret_or_dummy(std::string_view secret, const std::optional<std::string>& encoded);

/// Test-only: `observer` runs at the start of every hash_secret and verify_secret (empty: none).
/// Lets a test prove that no caller runs scrypt while it holds a write transaction.
void set_secret_observer(std::function<void()> observer);

}  // namespace jitsuin::ra
