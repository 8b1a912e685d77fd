#pragma once
// Label and field selectors: one parser and one matcher, used by the API, the controllers and the CLI.
#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace minikd::api {

/// One requirement of a label selector: `key op values`.
struct Requirement {
  enum class Op { Equals, NotEquals, In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::Exists;
  std::vector<std::string> values;
};

/// A label selector. An empty selector matches everything.
class LabelSelector {
 public:
  LabelSelector() = default;
  /// Parses the string grammar (`a=b,c!=d,e in (x,y),f notin (z),g,!h`).
  /// Throws ApiError 400 naming the problem.
  static LabelSelector parse(std::string_view text);
  /// Parses the structured form ({matchLabels, matchExpressions}). A null/absent json matches everything.
  /// Throws ApiError 400 naming the problem.
  static LabelSelector fromJson(const nlohmann::json& selector);
  /// Selects everything whose labels hold all of `labels` (a Service's spec.selector).
  static LabelSelector fromMap(const std::map<std::string, std::string>& labels);

  /// `labels` is a JSON object of string values (metadata.labels), or null.
  bool matches(const nlohmann::json& labels) const;
  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return reqs_.empty() && !match_nothing_; }
  /// The canonical string form, as accepted by parse().
  std::string toString() const;
  const std::vector<Requirement>& requirements() const { return reqs_; }
  /// A selector that matches nothing (a Service without a selector, an empty structured selector in some APIs).
  static LabelSelector nothing();

 private:
  std::vector<Requirement> reqs_;
  bool match_nothing_ = false;
};

/// A field selector: `field=value`, `field==value`, `field!=value`, joined by commas. The supported
/// fields are metadata.name, metadata.namespace, status.phase, spec.nodeName, involvedObject.*,
/// type, reason and spec.type; anything else → ApiError 400.
class FieldSelector {
 public:
  FieldSelector() = default;
  static FieldSelector parse(std::string_view text);
  bool matches(const nlohmann::json& object) const;
  bool empty() const { return terms_.empty(); }
  /// The value a term requires for `field` with `=`, if any (lets the store narrow by name/namespace).
  std::string requiredValue(const std::string& field) const;

 private:
  struct Term {
    std::string field;
    bool negate = false;
    std::string value;
  };
  std::vector<Term> terms_;
};

/// Validates a label key (optional DNS subdomain prefix + '/' + name of ≤63 chars). Empty string = valid,
/// otherwise the reason it is not.
std::string labelKeyError(std::string_view key);
/// Validates a label value (≤63 chars, alphanumerics, '-', '_', '.', starting and ending alphanumeric).
std::string labelValueError(std::string_view value);

}  // namespace minikd::api
