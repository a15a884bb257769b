#pragma once
// The one parser of JSON from outside (files people name, forms, subjects, bundles, the config,
// profiles): strict where nlohmann::json::parse is lenient.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jitsuin/core/error.h"

namespace jitsuin {

/// Parses JSON text. Refused, as Error(kind) whose message starts with `what`: text that is not
/// JSON, a number too large for a double (1e400: nlohmann throws out_of_range, not parse_error), and
/// an object holding the same key twice (nlohmann keeps the last one, so
/// {"common_name": "Taro", "common_name": "Evil"} would silently mean "Evil"); the message names
/// the key and where the object is (as a JSON pointer).
nlohmann::json parse_json(std::string_view text, std::string_view what, ErrorKind kind = ErrorKind::invalid_input);

}  // namespace jitsuin
