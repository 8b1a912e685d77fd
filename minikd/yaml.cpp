#include "minikd/yaml.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cmath>
#include <regex>

namespace minikd {
namespace {

bool isOneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  for (auto w : words)
    if (s == w) return true;
  return false;
}

/// A plain (unquoted) scalar under the YAML 1.2 core schema.
Json resolvePlain(const std::string& s) {
  static const std::regex kInt("[-+]?[0-9]+");
  static const std::regex kOct("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  if (isOneOf(s, {"", "~", "null", "Null", "NULL"})) return nullptr;
  if (isOneOf(s, {"true", "True", "TRUE"})) return true;
  if (isOneOf(s, {"false", "False", "FALSE"})) return false;
  if (s.size() > 64) return s;
  try {
    if (std::regex_match(s, kInt)) {
      if (s[0] == '-') return std::stoll(s);
      unsigned long long v = std::stoull(s[0] == '+' ? s.substr(1) : s);
      if (v <= static_cast<unsigned long long>(INT64_MAX)) return static_cast<int64_t>(v);
      return v;
    }
    if (std::regex_match(s, kOct)) return static_cast<int64_t>(std::stoll(s.substr(2), nullptr, 8));
    if (std::regex_match(s, kHex)) return static_cast<int64_t>(std::stoll(s.substr(2), nullptr, 16));
    if (std::regex_match(s, kFloat)) return std::stod(s);
  } catch (const std::out_of_range&) {
    return std::stod(s);
  }
  return s;
}

Json resolveTagged(const YAML::Node& n) {
  const std::string& tag = n.Tag();
  const std::string& s = n.Scalar();
  if (tag == "!" || tag == "tag:yaml.org,2002:str") return s;
  if (tag == "?" || tag.empty()) return resolvePlain(s);
  if (tag == "tag:yaml.org,2002:null") return nullptr;
  Json v = resolvePlain(s);
  if (tag == "tag:yaml.org,2002:int" && v.is_number_integer()) return v;
  if (tag == "tag:yaml.org,2002:float" && v.is_number()) return v.get<double>();
  if (tag == "tag:yaml.org,2002:bool" && v.is_boolean()) return v;
  return s;  // unknown tags (e.g. !!binary): keep the text
}

Json toJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar:
      return resolveTagged(n);
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : n) arr.push_back(toJson(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) throw YamlError("error converting YAML to JSON: a map key is not a scalar");
        obj[kv.first.Scalar()] = toJson(kv.second);
      }
      return obj;
    }
  }
  return nullptr;
}

bool looksNumericOrDate(std::string_view s) {
  static const std::regex kDate("[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}.*");
  if (std::regex_match(s.begin(), s.end(), kDate)) return true;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') i = 1;
  if (i < s.size() && s[i] == '.') {
    std::string rest(s.substr(i + 1));
    for (auto& c : rest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (rest == "inf" || rest == "nan") return true;
    if (i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) i++;
    else return false;
  }
  if (i >= s.size() || !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  // YAML 1.1 numbers: 0123 (octal), 0b1010, 1_000, 190:20:30, 1e3, 0x1F.
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c)) && std::string_view("xXoObB_.:+-eE").find(c) == std::string_view::npos)
      return false;
  return true;
}

std::string spaces(int n) { return std::string(static_cast<size_t>(n), ' '); }

bool literalSafe(std::string_view s) {
  if (s.empty() || s[0] == ' ' || s[0] == '\n') return false;
  for (unsigned char c : s)
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  // A line of only spaces before content would confuse the indentation of a literal block.
  size_t pos = 0;
  while ((pos = s.find('\n', pos)) != std::string_view::npos) {
    ++pos;
    if (pos < s.size() && s[pos] == ' ') {
      size_t end = s.find_first_not_of(' ', pos);
      if (end == std::string_view::npos || s[end] == '\n') return false;
    }
  }
  return true;
}

std::string quoted(const std::string& s) { return Json(s).dump(); }

std::string scalarText(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isnan(d)) return ".nan";
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
    return v.dump();
  }
  if (v.is_number()) return v.dump();
  const auto& s = v.get_ref<const std::string&>();
  if (isPlainSafe(s)) return s;
  return quoted(s);
}

/// Writes a scalar that follows "key:" or "-" (the separator space is written here). Multi-line
/// strings become literal blocks indented by `indent`.
void emitScalar(std::string& out, const Json& v, int indent) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\n') != std::string::npos && literalSafe(s)) {
      size_t trailing = 0;
      while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
      out += trailing == 0 ? " |-\n" : trailing == 1 ? " |\n" : " |+\n";
      std::string_view body(s.data(), s.size() - trailing);
      size_t start = 0;
      while (true) {
        size_t nl = body.find('\n', start);
        std::string_view line = body.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (!line.empty()) out += spaces(indent) + std::string(line);
        out += "\n";
        if (nl == std::string_view::npos) break;
        start = nl + 1;
      }
      for (size_t i = 1; i < trailing; ++i) out += "\n";
      return;
    }
  }
  out += " " + scalarText(v) + "\n";
}

void emitMap(std::string& out, const Json& obj, int indent, bool first_inline);
void emitSeq(std::string& out, const Json& arr, int indent, bool first_inline);

/// The value after "key:" or "-" for a node at `indent` (where the key or dash is).
void emitChild(std::string& out, const Json& v, int indent, bool in_seq) {
  if (v.is_object() && !v.empty()) {
    if (in_seq) {
      out += " ";
      emitMap(out, v, indent + 2, true);
    } else {
      out += "\n";
      emitMap(out, v, indent + 2, false);
    }
  } else if (v.is_array() && !v.empty()) {
    if (in_seq) {
      out += " ";
      emitSeq(out, v, indent + 2, true);
    } else {
      out += "\n";
      emitSeq(out, v, indent, false);
    }
  } else if (v.is_object()) {
    out += " {}\n";
  } else if (v.is_array()) {
    out += " []\n";
  } else {
    emitScalar(out, v, indent + 2);
  }
}

std::string keyText(const std::string& k) { return isPlainSafe(k) ? k : quoted(k); }

void emitMap(std::string& out, const Json& obj, int indent, bool first_inline) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!(first && first_inline)) out += spaces(indent);
    first = false;
    out += keyText(it.key()) + ":";
    emitChild(out, it.value(), indent, false);
  }
}

void emitSeq(std::string& out, const Json& arr, int indent, bool first_inline) {
  bool first = true;
  for (const auto& item : arr) {
    if (!(first && first_inline)) out += spaces(indent);
    first = false;
    out += "-";
    emitChild(out, item, indent, true);
  }
}

}  // namespace

bool isPlainSafe(std::string_view s) {
  if (s.empty()) return false;
  if (!resolvePlain(std::string(s)).is_string()) return false;
  std::string lower(s);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (isOneOf(lower, {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "<<", "="})) return false;
  if (looksNumericOrDate(s)) return false;
  if (std::string_view("[]{},#&*!|>'\"%@`").find(s[0]) != std::string_view::npos) return false;
  if ((s[0] == '-' || s[0] == '?' || s[0] == ':') && (s.size() == 1 || s[1] == ' ')) return false;
  if (s.substr(0, 3) == "---" || s.substr(0, 3) == "...") return false;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return false;
  if (s.find(": ") != std::string_view::npos || s.find(" #") != std::string_view::npos) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

std::vector<Json> parseYamlDocuments(std::string_view text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  if (text[first] == '{' || text[first] == '[') {
    // JSON: one value. A `---` separated stream of JSON values is read by the YAML parser below.
    try {
      return {Json::parse(text)};
    } catch (const Json::parse_error&) {
      // Fall through: the YAML parser reads JSON too and handles a `---` separated stream.
    }
  }
  std::vector<Json> docs;
  try {
    for (const auto& node : YAML::LoadAll(std::string(text))) {
      Json doc = toJson(node);
      if (!doc.is_null()) docs.push_back(std::move(doc));
    }
  } catch (const YAML::Exception& e) {
    throw YamlError("error converting YAML to JSON: yaml: line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  return docs;
}

Json parseYaml(std::string_view text) {
  auto docs = parseYamlDocuments(text);
  if (docs.size() != 1)
    throw YamlError("expected one YAML document, found " + std::to_string(docs.size()));
  return docs.front();
}

std::string toYaml(const Json& value) {
  std::string out;
  if (value.is_object() && !value.empty()) {
    emitMap(out, value, 0, false);
  } else if (value.is_array() && !value.empty()) {
    emitSeq(out, value, 0, false);
  } else if (value.is_object()) {
    out = "{}\n";
  } else if (value.is_array()) {
    out = "[]\n";
  } else {
    emitScalar(out, value, 2);
    out.erase(0, 1);  // no separator space at the top level
  }
  return out;
}

}  // namespace minikd
