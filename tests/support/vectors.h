#pragma once
// Test vectors in tests/data/*.vec (Botan's style): "[section]" headers, entries of "key = value"
// lines separated by blank lines, '#' comments. A value may be empty.
#include <fstream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace jitsuin::test {

struct Vector {
  std::string section;
  std::string where;   ///< "file.vec:line" for messages
  std::map<std::string, std::string> fields;
  std::string get(const std::string& k) const { return fields.count(k) ? fields.at(k) : std::string(); }
  std::optional<std::string> opt(const std::string& k) const {
    if (!fields.count(k)) return std::nullopt;
    return fields.at(k);
  }
};

inline std::vector<Vector> load_vectors(const std::string& file) {
  std::ifstream in(std::string(JITSUIN_TEST_DATA) + "/" + file);
  if (!in) throw std::runtime_error("cannot read test data " + file);
  std::vector<Vector> out;
  std::string section, line;
  Vector cur;
  int n = 0;
  auto flush = [&] {
    if (!cur.fields.empty()) out.push_back(cur);
    cur = Vector{};
  };
  while (std::getline(in, line)) {
    ++n;
    if (line.starts_with("#")) continue;
    if (line.empty()) {
      flush();
      continue;
    }
    if (line.starts_with("[")) {
      flush();
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find(" =");
    if (eq == std::string::npos) throw std::runtime_error(file + ":" + std::to_string(n) + ": no ' = '");
    if (cur.fields.empty()) {
      cur.section = section;
      cur.where = file + ":" + std::to_string(n);
    }
    cur.fields[line.substr(0, eq)] = eq + 3 <= line.size() ? line.substr(eq + 3) : std::string();
  }
  flush();
  return out;
}

}  // namespace jitsuin::test
