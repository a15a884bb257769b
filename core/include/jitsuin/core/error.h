#pragma once
// The one exception root of jitsuin. Each module translates the errors of the library it wraps
// (SQLite, PKCS#11, OpenSSL) into a subclass that keeps the native code.
#include <stdexcept>
#include <string>
#include <utility>

namespace jitsuin {

/// What went wrong, coarse enough to map onto a process exit status or an HTTP status.
enum class ErrorKind {
  invalid_input,    ///< the caller's input is malformed or violates a rule (HTTP 400)
  not_found,        ///< the named object does not exist (404)
  conflict,         ///< the request clashes with current state (409)
  forbidden,        ///< authenticated but not allowed (403)
  unauthenticated,  ///< wrong or missing credentials (401)
  config,           ///< the configuration is invalid (start-up error)
  hsm,              ///< the PKCS#11 module or token failed
  database,         ///< the database failed
  crypto,           ///< OpenSSL failed
  io,               ///< a file or socket operation failed
  internal,         ///< a bug
  rate_limited,     ///< too many authentication attempts from an address or for an account (429)
};

/// Short stable name of a kind, used in JSON error bodies and CLI messages.
const char* error_kind_name(ErrorKind kind);

/// Root of all jitsuin exceptions: a kind, a message for a person and the native error code.
class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what, long native_code = 0)
      : std::runtime_error(what), kind_(kind), native_code_(native_code) {}
  ErrorKind kind() const noexcept { return kind_; }
  /// The code of the library the error came from (CK_RV, SQLite rc, OpenSSL error), or 0.
  long native_code() const noexcept { return native_code_; }

 private:
  ErrorKind kind_;
  long native_code_;
};

/// An authentication refused before it was tried because its source address or account is over
/// its rate limit (ErrorKind::rate_limited); retry_after() is how many seconds until the window
/// that counts it ends (HTTP Retry-After).
class RateLimitedError : public Error {
 public:
  RateLimitedError(const std::string& what, long retry_after_seconds)
      : Error(ErrorKind::rate_limited, what), retry_after_(retry_after_seconds) {}
  long retry_after() const noexcept { return retry_after_; }

 private:
  long retry_after_;
};

/// An error of the applicant's enrollment steps (issue 10, ra/enrollment.h) with what the agent and
/// the pages need besides the message: a stable reason ("application_pin_wrong", ...), the same
/// message in Japanese and, for a wrong PIN, the attempts left (-1: not applicable).
class ReasonedError : public Error {
 public:
  ReasonedError(ErrorKind kind, std::string reason, const std::string& what, std::string what_ja, int remaining = -1)
      : Error(kind, what), reason_(std::move(reason)), message_ja_(std::move(what_ja)), remaining_(remaining) {}
  const std::string& reason() const noexcept { return reason_; }
  const std::string& message_ja() const noexcept { return message_ja_; }
  int remaining() const noexcept { return remaining_; }

 private:
  std::string reason_, message_ja_;
  int remaining_;
};

/// Throws Error(invalid_input, msg) unless expr holds. For checks on caller-supplied values.
#define JITSUIN_ARG_CHECK(expr, msg)                               \
  do {                                                             \
    if (!(expr)) throw ::jitsuin::Error(::jitsuin::ErrorKind::invalid_input, (msg)); \
  } while (0)

}  // namespace jitsuin
