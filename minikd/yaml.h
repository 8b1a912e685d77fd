#pragma once
// YAML <-> JSON for the CLI: manifests are parsed with yaml-cpp into nlohmann::json, and objects are
// printed the way `kubectl -o yaml` prints them.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace minikd {

using Json = nlohmann::json;

/// A document that is not valid YAML/JSON. The message names the line and column.
class YamlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses a stream of YAML documents (separated by `---`) or of JSON values into JSON. Plain scalars
/// follow the YAML 1.2 core schema (null, true/false, ints incl. 0x/0o, floats); quoted scalars are
/// always strings. Empty documents are skipped. Throws YamlError.
std::vector<Json> parseYamlDocuments(std::string_view text);

/// Parses exactly one document. Throws YamlError when there are none or several.
Json parseYaml(std::string_view text);

/// Prints `value` like `kubectl -o yaml`: block style, keys in the object's order, sequences inside
/// maps not indented, strings quoted only when a plain scalar would read back as something else,
/// multi-line strings as literal blocks. Ends with a newline.
std::string toYaml(const Json& value);

/// True when `s`, written as a plain YAML scalar, would read back as exactly this string (under the
/// YAML 1.2 core schema and, to be safe with other tools, YAML 1.1's yes/no/on/off and dates).
bool isPlainSafe(std::string_view s);

}  // namespace minikd
