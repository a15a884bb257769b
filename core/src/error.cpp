#include "jitsuin/core/error.h"

namespace jitsuin {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::invalid_input: return "invalid_input";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::conflict: return "conflict";
    case ErrorKind::forbidden: return "forbidden";
    case ErrorKind::unauthenticated: return "unauthenticated";
    case ErrorKind::config: return "config";
    case ErrorKind::hsm: return "hsm";
    case ErrorKind::database: return "database";
    case ErrorKind::crypto: return "crypto";
    case ErrorKind::io: return "io";
    case ErrorKind::internal: return "internal";
    case ErrorKind::rate_limited: return "rate_limited";
  }
  return "internal";
}

}  // namespace jitsuin
