#include "jitsuin/api/request.h"

#include "jitsuin/core/error.h"

namespace jitsuin::api {

using nlohmann::json;

namespace {
const json& empty_object() {
  static const json e = json::object();
  return e;
}
}  // namespace

Fields::Fields(const json& j, std::string where) : j_(j.is_null() ? empty_object() : j), where_(std::move(where)) {
  if (!j_.is_object()) throw Error(ErrorKind::invalid_input, where_ + " must be a JSON object");
}

std::string Fields::field(const std::string& name) const {
  return (where_ == "request" ? "" : where_ + " ") + "field '" + name + "'";
}

bool Fields::has(const std::string& name) const { return j_.contains(name) && !j_[name].is_null(); }

const json* Fields::find(const std::string& name) {
  read_.insert(name);
  auto it = j_.find(name);
  if (it == j_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> Fields::opt_text(const std::string& name) {
  const json* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw Error(ErrorKind::invalid_input, field(name) + " must be a string");
  return v->get<std::string>();
}

std::string Fields::text(const std::string& name) {
  auto v = opt_text(name);
  if (!v) throw Error(ErrorKind::invalid_input, field(name) + " is required");
  return *v;
}

std::optional<std::int64_t> Fields::opt_integer(const std::string& name) {
  const json* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) throw Error(ErrorKind::invalid_input, field(name) + " must be a whole number");
  // Above 2^63 - 1 nlohmann keeps it unsigned: as int64 it would wrap to a negative number.
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    throw Error(ErrorKind::invalid_input, field(name) + " is out of range");
  return v->get<std::int64_t>();
}

std::optional<std::int64_t> Fields::opt_whole(const std::string& name) {
  auto v = opt_integer(name);
  if (v && *v < 0) throw Error(ErrorKind::invalid_input, field(name) + " must not be negative");
  return v;
}

std::int64_t Fields::whole(const std::string& name) {
  auto v = opt_whole(name);
  if (!v) throw Error(ErrorKind::invalid_input, field(name) + " is required");
  return *v;
}

std::optional<bool> Fields::opt_boolean(const std::string& name) {
  const json* v = find(name);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw Error(ErrorKind::invalid_input, field(name) + " must be true or false");
  return v->get<bool>();
}

const json* Fields::value(const std::string& name) { return find(name); }

const json* Fields::object(const std::string& name) {
  const json* v = find(name);
  if (v && !v->is_object()) throw Error(ErrorKind::invalid_input, field(name) + " must be an object");
  return v;
}

const json* Fields::array(const std::string& name) {
  const json* v = find(name);
  if (v && !v->is_array()) throw Error(ErrorKind::invalid_input, field(name) + " must be an array");
  return v;
}

void Fields::done() const {
  for (auto it = j_.begin(); it != j_.end(); ++it)
    if (!read_.count(it.key())) throw Error(ErrorKind::invalid_input, "unknown field '" + it.key() + "' in " + where_);
}

ra::PageRequest page_of(Fields& f, const std::string& cursor) {
  ra::PageRequest page;
  page.limit = f.opt_whole("limit").value_or(ra::kDefaultPageLimit);
  page.before = f.opt_whole(cursor);
  return page;
}

json paged(json entries, const std::optional<std::int64_t>& next) {
  return {{"entries", std::move(entries)}, {"next", next ? json(*next) : json(nullptr)}};
}

}  // namespace jitsuin::api
