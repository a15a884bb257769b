#pragma once
// Decoding a request body: JSON in, typed values out. Every field read is remembered, and done()
// refuses the fields nobody read, so a misspelt key is an error rather than silently ignored.
// Errors are invalid_input and name the field.
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "jitsuin/ra/paging.h"

namespace jitsuin::api {

class Fields {
 public:
  /// `j` must be a JSON object (null counts as the empty object); `where` names it in messages
  /// ("request", "contacts[1]").
  explicit Fields(const nlohmann::json& j, std::string where = "request");

  /// A required string / an optional one.
  std::string text(const std::string& name);
  std::optional<std::string> opt_text(const std::string& name);
  /// A required non-negative integer / an optional one.
  std::int64_t whole(const std::string& name);
  std::optional<std::int64_t> opt_whole(const std::string& name);
  /// An integer (any sign), optional.
  std::optional<std::int64_t> opt_integer(const std::string& name);
  /// A boolean, optional.
  std::optional<bool> opt_boolean(const std::string& name);
  bool flag(const std::string& name) { return opt_boolean(name).value_or(false); }
  /// A nested value of any type, or nullptr when absent (or null).
  const nlohmann::json* value(const std::string& name);
  /// An optional object / array (wrong type refused).
  const nlohmann::json* object(const std::string& name);
  const nlohmann::json* array(const std::string& name);

  bool has(const std::string& name) const;
  /// The name as messages use it: "field 'x'" (in the request itself) or "contacts[1] field 'x'".
  std::string field(const std::string& name) const;
  /// Throws invalid_input naming the first field that was not read.
  void done() const;

 private:
  const nlohmann::json* find(const std::string& name);
  const nlohmann::json& j_;
  std::string where_;
  std::set<std::string> read_;
};

/// A page of a long list (ra/paging.h): "limit" (default 100) and the cursor field `cursor` (the
/// "next" of the page before); checked by ra::check_page where the list is read.
ra::PageRequest page_of(Fields& f, const std::string& cursor);

/// A page's answer: {"entries": entries, "next": the cursor of the next page, or null}.
nlohmann::json paged(nlohmann::json entries, const std::optional<std::int64_t>& next);

}  // namespace jitsuin::api
