#pragma once
// The subset of kubectl's JSONPath templates that people use with `-o jsonpath=…`: text, {.a.b},
// {.items[*].x}, [n], [-1], [a:b], ['key.with.dots'], escaped dots (a\.b), {..name}, filters
// [?(@.type=="Ready")] with == != < > <= >= and existence, {range …}{end}, "literals" ("\n", "\t"), {@}, {$}.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace minikd {

/// A template that cannot be parsed; the message says where.
class JsonPathError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Renders `tmpl` against `data` like `kubectl get -o jsonpath=tmpl`: several results of one
/// expression are joined by a space; strings print raw, other values as compact JSON; missing keys
/// print nothing. Throws JsonPathError for a malformed template.
std::string renderJsonPath(const std::string& tmpl, const nlohmann::json& data);

}  // namespace minikd
