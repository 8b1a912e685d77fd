#pragma once
// Command-line parsing for the CLI verbs, kubectl style: `--flag value`, `--flag=value`, `-n ns`,
// `-nns`, `-oyaml`, bool flags (`-A`, `--all`, `--all=false`), `--` ending flags, flags anywhere.
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace minikd {

/// A command line the verb cannot run; what() is kubectl's wording (`error: unknown flag: --x`).
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// One flag a verb accepts.
struct FlagSpec {
  std::string name;       // long name without dashes: "namespace"
  char short_name = 0;    // 'n', or 0
  bool takes_value = false;
  std::string help;
};

/// The parsed command line: positional arguments (after the verb), flag values by long name (the last
/// value wins for get(); all values are kept for getAll()).
class ParsedArgs {
 public:
  std::vector<std::string> positional;
  /// Arguments after `--` (exec-style commands).
  std::vector<std::string> after_dashes;

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  /// A bool flag: present without value, or with =true.
  bool flag(const std::string& name) const;
  std::string get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> getAll(const std::string& name) const;
  std::optional<long long> getInt(const std::string& name) const;
  void set(const std::string& name, const std::string& value) { values_[name].push_back(value); }

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

/// Parses `args` (not including the verb) against `specs`. Throws UsageError for an unknown flag or
/// a missing value.
ParsedArgs parseArgs(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs);

/// The flags every verb that talks to the API accepts: --kubeconfig, -n/--namespace, --context, -h/--help,
/// --request-timeout.
std::vector<FlagSpec> globalFlags();

/// Parses a duration like kubectl: "30s", "5m", "1h", "500ms", a bare number = seconds. Throws UsageError.
double parseDurationSeconds(const std::string& s);

}  // namespace minikd
