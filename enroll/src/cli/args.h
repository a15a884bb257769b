#pragma once
// Minimal command-line parsing: "--name value", "--name=value" and boolean "--flag".
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace jitsuin::cli {

/// A usage error: printed with the command's help, exit status 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  /// Parses argv[from..]: options with values in `valued`, boolean options in `flags`, options
  /// that may be given several times in `repeated` (read with all()).
  Args(const std::vector<std::string>& argv, const std::set<std::string>& valued, const std::set<std::string>& flags,
       const std::set<std::string>& repeated = {});
  std::optional<std::string> get(const std::string& name) const;
  std::string required(const std::string& name) const;
  /// A required non-negative whole number; a usage error names the option otherwise.
  std::int64_t whole_number(const std::string& name) const;
  /// The same, when given.
  std::optional<std::int64_t> opt_whole_number(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  /// Every value of a repeatable option, in order.
  std::vector<std::string> all(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::string> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
  std::map<std::string, std::vector<std::string>> repeated_;
};

}  // namespace jitsuin::cli
