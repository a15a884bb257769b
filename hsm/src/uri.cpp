#include "jitsuin/hsm/uri.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "jitsuin/core/error.h"

namespace jitsuin::hsm {

namespace {

std::string percent_decode(std::string_view s, std::string_view whole) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      // Exactly two hex digits (from_hex would also take ':' separators and "0x").
      int hi = i + 2 < s.size() ? hex(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        throw Error(ErrorKind::invalid_input, "bad percent-escape in PKCS#11 URI '" + std::string(whole) + "'");
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// RFC 7512 pk11-pchar (path) and pk11-qchar (query): unreserved plus a few sub-delimiters; the
// path may hold '&' but not '/' or '?', the query '/' and '?' but not '&'. Everything else is escaped.
std::string percent_encode(std::string_view s, bool query = false) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("-._~:[]@!$'()*+,=").find(static_cast<char>(c)) != std::string_view::npos;
    if (query ? (c == '/' || c == '?' || c == '|') : c == '&') plain = true;
    if (plain) {
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
  std::set<std::string, std::less<>> seen;
  auto each = [&](std::string_view part, char sep, auto&& fn) {
    while (!part.empty()) {
      auto end = part.find(sep);
      std::string_view attr = part.substr(0, end);
      part = end == std::string_view::npos ? std::string_view() : part.substr(end + 1);
      if (attr.empty()) continue;
      auto eq = attr.find('=');
      if (eq == std::string_view::npos) throw bad("attribute '" + std::string(attr) + "' has no value");
      std::string_view key = attr.substr(0, eq);
      // RFC 7512: an attribute must not appear more than once.
      if (!seen.emplace(std::string(1, sep) + std::string(key)).second)
        throw bad("attribute '" + std::string(key) + "' appears more than once");
      fn(key, percent_decode(attr.substr(eq + 1), uri));
    }
  };
  // Refused before anything else, and without repeating the URI, so that no error shows the PIN.
  for (std::string_view q = query; !q.empty();) {
    auto end = q.find('&');
    if (q.substr(0, end).starts_with("pin-value="))
      throw Error(ErrorKind::invalid_input,
                  "invalid PKCS#11 URI: pin-value is refused: PINs never go into URIs or config; use pin-source or "
                  "a PIN file");
    q = end == std::string_view::npos ? std::string_view() : q.substr(end + 1);
  }
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
      // Digits only: strtoul alone would take " 5", "+5" and "-1" (as ULONG_MAX).
      bool digits = !v.empty() && v.size() <= 19 &&
                    std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) throw bad("slot-id must be a number");
      u.slot_id = std::strtoul(v.c_str(), nullptr, 10);
    } else if (k == "library-manufacturer" || k == "library-description" || k == "library-version" ||
               k == "slot-manufacturer" || k == "slot-description") {
      // Accepted and ignored: they describe the module, which the configuration names directly.
    } else {
      throw bad("unknown attribute '" + std::string(k) + "'");
    }
  });
  each(query, '&', [&](std::string_view k, std::string v) {
    if (k == "module-path") u.module_path = v;
    else if (k == "pin-source") {
      // file:/path, file:///path (empty authority) or a plain path.
      if (v.starts_with("file:///")) u.pin_source = v.substr(7);
      else if (v.starts_with("file:")) u.pin_source = v.substr(5);
      else u.pin_source = v;
    }
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
  char sep = '?';
  auto add_query = [&](const char* k, const std::string& v) {
    out += sep;
    sep = '&';
    out += k;
    out += '=';
    out += percent_encode(v, true);
  };
  if (module_path) add_query("module-path", *module_path);
  // A path that itself starts with "file:" keeps it behind an explicit scheme.
  if (pin_source) add_query("pin-source", pin_source->starts_with("file:") ? "file:" + *pin_source : *pin_source);
  return out;
}

}  // namespace jitsuin::hsm
