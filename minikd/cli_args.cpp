#include "minikd/cli_args.h"

#include <cctype>
#include <cstdlib>

namespace minikd {

bool ParsedArgs::flag(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return false;
  const std::string& v = it->second.back();
  return v.empty() || v == "true" || v == "1";
}

std::string ParsedArgs::get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return fallback;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::getAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::optional<long long> ParsedArgs::getInt(const std::string& name) const {
  if (!has(name)) return std::nullopt;
  std::string v = get(name);
  char* end = nullptr;
  long long n = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') throw UsageError("error: invalid argument \"" + v + "\" for \"--" + name + "\" flag");
  return n;
}

ParsedArgs parseArgs(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs) {
  auto byLong = [&](const std::string& n) -> const FlagSpec* {
    for (const auto& s : specs)
      if (s.name == n) return &s;
    return nullptr;
  };
  auto byShort = [&](char c) -> const FlagSpec* {
    for (const auto& s : specs)
      if (s.short_name == c) return &s;
    return nullptr;
  };
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      out.after_dashes.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      size_t eq = name.find('=');
      bool has_value = eq != std::string::npos;
      if (has_value) value = name.substr(eq + 1), name = name.substr(0, eq);
      const FlagSpec* spec = byLong(name);
      if (!spec) throw UsageError("error: unknown flag: --" + name);
      if (spec->takes_value && !has_value) {
        if (i + 1 >= args.size()) throw UsageError("error: flag needs an argument: --" + name);
        value = args[++i];
      }
      out.set(spec->name, value);
      continue;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      // One or more short flags: -A, -Aw, -n ns, -nns, -o=yaml.
      for (size_t k = 1; k < a.size(); ++k) {
        const FlagSpec* spec = byShort(a[k]);
        if (!spec) throw UsageError(std::string("error: unknown shorthand flag: '") + a[k] + "' in " + a);
        if (!spec->takes_value) {
          out.set(spec->name, "");
          continue;
        }
        std::string value = a.substr(k + 1);
        if (!value.empty() && value[0] == '=') value.erase(0, 1);
        if (value.empty()) {
          if (i + 1 >= args.size()) throw UsageError(std::string("error: flag needs an argument: '") + a[k] + "' in " + a);
          value = args[++i];
        }
        out.set(spec->name, value);
        break;
      }
      continue;
    }
    out.positional.push_back(a);
  }
  return out;
}

std::vector<FlagSpec> globalFlags() {
  return {
      {"kubeconfig", 0, true, "Path to the kubeconfig file"},
      {"namespace", 'n', true, "The namespace"},
      {"context", 0, true, "The kubeconfig context to use"},
      {"request-timeout", 0, true, "Ignored (accepted for kubectl compatibility)"},
      {"help", 'h', false, "Help for this command"},
  };
}

double parseDurationSeconds(const std::string& s) {
  if (s.empty()) throw UsageError("error: empty duration");
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (start == i) throw UsageError("error: invalid duration \"" + s + "\"");
    double n = std::atof(s.substr(start, i - start).c_str());
    std::string unit;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) unit += s[i++];
    if (unit.empty() || unit == "s") total += n;
    else if (unit == "ms") total += n / 1000;
    else if (unit == "m") total += n * 60;
    else if (unit == "h") total += n * 3600;
    else throw UsageError("error: invalid duration \"" + s + "\"");
    any = true;
  }
  if (!any) throw UsageError("error: invalid duration \"" + s + "\"");
  return total;
}

}  // namespace minikd
