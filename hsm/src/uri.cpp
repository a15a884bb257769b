#include "jitsuin/hsm/uri.h"

#include <cstdlib>

#include "jitsuin/config/error.h"

namespace jitsuin::hsm {

namespace {

std::string percent_decode(std::string_view s, std::string_view whole) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size())
        throw Error(ErrorKind::invalid_input, "bad percent-escape in PKCS#11 URI '" + std::string(whole) + "'");
      Bytes b = from_hex(s.substr(i + 1, 2));
      out.push_back(static_cast<char>(b[0]));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 7512 pchar/unreserved plus a few safe characters; everything else is escaped.
std::string percent_encode(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '[' ||
        c == ']' || c == '@' || c == '!' || c == '$' || c == '\'' || c == '(' || c == ')' || c == '*' ||
        c == '+' || c == ',' || c == '=' || c == '&') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace

Pkcs11Uri Pkcs11Uri::parse(std::string_view uri) {
  const std::string_view scheme = "pkcs11:";
  auto bad = [&](const std::string& why) -> Error {
    return Error(ErrorKind::invalid_input, "invalid PKCS#11 URI '" + std::string(uri) + "': " + why);
  };
  if (!uri.starts_with(scheme)) throw bad("must start with 'pkcs11:'");
  std::string_view rest = uri.substr(scheme.size());
  std::string_view path = rest, query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    path = rest.substr(0, q);
    query = rest.substr(q + 1);
  }
  Pkcs11Uri u;
  auto each = [&](std::string_view part, char sep, auto&& fn) {
    while (!part.empty()) {
      auto end = part.find(sep);
      std::string_view attr = part.substr(0, end);
      part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
      if (attr.empty()) continue;
      auto eq = attr.find('=');
      if (eq == std::string_view::npos) throw bad("attribute '" + std::string(attr) + "' has no value");
      fn(attr.substr(0, eq), percent_decode(attr.substr(eq + 1), uri));
    }
  };
  each(path, ';', [&](std::string_view k, std::string v) {
    if (k == "token") u.token = v;
    else if (k == "manufacturer") u.manufacturer = v;
    else if (k == "serial") u.serial = v;
    else if (k == "model") u.model = v;
    else if (k == "object") u.object = v;
    else if (k == "type") {
      if (v != "private" && v != "public" && v != "cert" && v != "secret-key" && v != "data")
        throw bad("unknown type '" + v + "'");
      u.type = v;
    } else if (k == "id") {
      u.id = Bytes(v.begin(), v.end());
    } else if (k == "slot-id") {
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (v.empty() || *end) throw bad("slot-id must be a number");
      u.slot_id = n;
    } else if (k == "library-manufacturer" || k == "library-description" || k == "library-version" ||
               k == "slot-manufacturer" || k == "slot-description") {
      // Accepted and ignored: they describe the module, which the configuration names directly.
    } else {
      throw bad("unknown attribute '" + std::string(k) + "'");
    }
  });
  each(query, '&', [&](std::string_view k, std::string v) {
    if (k == "module-path") u.module_path = v;
    else if (k == "pin-source") u.pin_source = v.starts_with("file:") ? v.substr(5) : v;
    else if (k == "pin-value") throw bad("pin-value is refused: PINs never go into URIs or config; use pin-source or a PIN file");
    // Other query attributes (module-name) are vendor hints: ignored.
  });
  return u;
}

std::string Pkcs11Uri::to_string() const {
  std::string out = "pkcs11:";
  bool first = true;
  auto add = [&](const char* k, const std::string& v) {
    if (!first) out += ';';
    first = false;
    out += k;
    out += '=';
    out += percent_encode(v);
  };
  if (model) add("model", *model);
  if (manufacturer) add("manufacturer", *manufacturer);
  if (serial) add("serial", *serial);
  if (token) add("token", *token);
  if (slot_id) add("slot-id", std::to_string(*slot_id));
  if (object) add("object", *object);
  if (id) {
    if (!first) out += ';';
    first = false;
    out += "id=";
    for (auto b : *id) {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  if (type) add("type", *type);
  return out;
}

}  // namespace jitsuin::hsm
