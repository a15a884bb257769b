#pragma once
// PKCS#11 URIs (RFC 7512): how keys and tokens are named in configuration and on the command line.
#include <optional>
#include <string>
#include <string_view>

#include "jitsuin/core/util.h"

namespace jitsuin::hsm {

/// The parts of a PKCS#11 URI that select a token and an object.
struct Pkcs11Uri {
  // token selection
  std::optional<std::string> token;          ///< CKA token label
  std::optional<std::string> manufacturer;
  std::optional<std::string> serial;
  std::optional<std::string> model;
  std::optional<unsigned long> slot_id;
  // object selection
  std::optional<std::string> object;         ///< CKA_LABEL
  std::optional<Bytes> id;                   ///< CKA_ID
  std::optional<std::string> type;           ///< private, public, cert, ...
  // query
  std::optional<std::string> module_path;
  std::optional<std::string> pin_source;     ///< file path (file: URI or plain path)

  /// Parses; throws Error(invalid_input) naming what is wrong.
  static Pkcs11Uri parse(std::string_view uri);
  /// Canonical text form (percent-encoding where needed).
  std::string to_string() const;
};

}  // namespace jitsuin::hsm
