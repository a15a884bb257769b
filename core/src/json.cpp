#include "jitsuin/core/json.h"

#include <set>
#include <vector>

namespace jitsuin {

namespace {

using nlohmann::json;

// One open object or array while parsing.
struct Frame {
  bool array = false;
  std::set<std::string> keys;   // object: the keys seen so far
  std::string key;              // object: the key of the member being parsed
  std::size_t elements = 0;     // array: the elements begun so far
};

// RFC 6901 escaping of one reference token.
std::string pointer_token(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out.push_back(c);
  }
  return out;
}

// nlohmann's message without its "[json.exception.parse_error.101] " prefix and at most 200 bytes
// (it quotes the token it stopped at, which may be the client's whole number or string).
std::string detail(const json::exception& e) {
  std::string what = e.what();
  if (auto at = what.find("] "); what.starts_with("[json.exception.") && at != std::string::npos) what.erase(0, at + 2);
  if (what.size() > 200) what = what.substr(0, 200) + "...";
  return what;
}

}  // namespace

json parse_json(std::string_view text, std::string_view what, ErrorKind kind) {
  std::vector<Frame> stack;
  // The pointer of the innermost open object (the one a duplicate key belongs to).
  auto where = [&] {
    std::string p;
    for (std::size_t i = 0; i + 1 < stack.size(); ++i)
      p += "/" + (stack[i].array ? std::to_string(stack[i].elements - 1) : pointer_token(stack[i].key));
    return p.empty() ? std::string("the top-level object") : "the object at " + p;
  };
  auto element_begins = [&] {
    if (!stack.empty() && stack.back().array) ++stack.back().elements;
  };
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        element_begins();
        stack.push_back(Frame{event == json::parse_event_t::array_start, {}, {}, 0});
        break;
      case json::parse_event_t::key: {
        Frame& f = stack.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second)
          throw Error(kind, std::string(what) + ": the key '" + f.key + "' appears twice in " + where() +
                                " (each key may be given once)");
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        stack.pop_back();
        break;
      case json::parse_event_t::value:
        element_begins();
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), check);
  } catch (const json::parse_error& e) {
    throw Error(kind, std::string(what) + " is not valid JSON: " + detail(e));
  } catch (const json::out_of_range& e) {
    // A number too large for a double (1e400): valid JSON text, but no value to give.
    throw Error(kind, std::string(what) + " holds a number out of range: " + detail(e));
  }
}

}  // namespace jitsuin
