#include "cli/args.h"

namespace jitsuin::cli {

Args::Args(const std::vector<std::string>& argv, const std::set<std::string>& valued,
           const std::set<std::string>& flags, const std::set<std::string>& repeated) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!a.starts_with("--")) {
      positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (flags.count(name)) {
      if (has_value) throw UsageError("--" + name + " takes no value");
      flags_.insert(name);
    } else if (repeated.count(name)) {
      if (!has_value) {
        if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      repeated_[name].push_back(value);
    } else if (valued.count(name)) {
      if (!has_value) {
        if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value");
        value = argv[++i];
      }
      if (values_.count(name)) throw UsageError("--" + name + " given twice");
      values_[name] = value;
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = repeated_.find(name);
  return it == repeated_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string Args::required(const std::string& name) const {
  auto v = get(name);
  if (!v || v->empty()) throw UsageError("--" + name + " is required");
  return *v;
}

std::int64_t Args::whole_number(const std::string& name) const {
  std::string v = required(name);
  try {
    std::size_t used = 0;
    long long n = std::stoll(v, &used);
    if (used != v.size() || n < 0) throw std::invalid_argument("not a whole number");
    return n;
  } catch (const std::exception&) {
    throw UsageError("--" + name + " must be a whole number, not '" + v + "'");
  }
}

std::optional<std::int64_t> Args::opt_whole_number(const std::string& name) const {
  if (!get(name)) return std::nullopt;
  return whole_number(name);
}

}  // namespace jitsuin::cli
