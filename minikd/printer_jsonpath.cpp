#include "minikd/printer_jsonpath.h"

#include <cctype>
#include <memory>
#include <vector>

namespace minikd {
namespace {

using Json = nlohmann::json;
using Nodes = std::vector<Json>;

/// One template piece: literal text, an expression, or a range over an expression with a body.
struct Piece {
  enum class Kind { Text, Expr, Range } kind = Kind::Text;
  std::string text;  // Text: the text; Expr/Range: the expression
  std::vector<Piece> body;
};

std::string unescapeLiteral(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
  }
  return out;
}

/// Splits a template into top-level `{…}` actions and text, honouring quotes inside actions.
std::vector<std::pair<bool, std::string>> lexTemplate(const std::string& t) {
  std::vector<std::pair<bool, std::string>> out;
  std::string text;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '{') {
      text += t[i];
      continue;
    }
    if (!text.empty()) out.push_back({false, text}), text.clear();
    size_t j = i + 1;
    char quote = 0;
    int depth = 1;
    for (; j < t.size(); ++j) {
      char c = t[j];
      if (quote) {
        if (c == '\\') ++j;
        else if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        break;
      }
    }
    if (j >= t.size()) throw JsonPathError("error parsing jsonpath " + t + ", unclosed action");
    out.push_back({true, t.substr(i + 1, j - i - 1)});
    i = j;
  }
  if (!text.empty()) out.push_back({false, text});
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

std::vector<Piece> buildPieces(const std::vector<std::pair<bool, std::string>>& lexed, size_t& i, bool in_range) {
  std::vector<Piece> out;
  for (; i < lexed.size(); ++i) {
    const auto& [action, raw] = lexed[i];
    if (!action) {
      out.push_back({Piece::Kind::Text, raw, {}});
      continue;
    }
    std::string a = trim(raw);
    if (a == "end") {
      if (!in_range) throw JsonPathError("error parsing jsonpath: {end} without {range}");
      return out;
    }
    if (a.rfind("range ", 0) == 0) {
      Piece p{Piece::Kind::Range, trim(a.substr(6)), {}};
      ++i;
      p.body = buildPieces(lexed, i, true);
      if (i >= lexed.size()) throw JsonPathError("error parsing jsonpath: {range} without {end}");
      out.push_back(std::move(p));
      continue;
    }
    if (a.size() >= 2 && (a[0] == '"' || a[0] == '\'') && a.back() == a[0]) {
      out.push_back({Piece::Kind::Text, unescapeLiteral(a.substr(1, a.size() - 2)), {}});
      continue;
    }
    out.push_back({Piece::Kind::Expr, a, {}});
  }
  if (in_range) throw JsonPathError("error parsing jsonpath: {range} without {end}");
  return out;
}

void collectRecursive(const Json& node, const std::string& key, Nodes& out) {
  if (node.is_object()) {
    if (key == "*") {
      for (const auto& v : node) out.push_back(v);
    } else if (node.contains(key)) {
      out.push_back(node[key]);
    }
    for (const auto& v : node) collectRecursive(v, key, out);
  } else if (node.is_array()) {
    for (const auto& v : node) collectRecursive(v, key, out);
  }
}

Nodes evalPath(const std::string& expr, const Json& root, const Json& current);

/// A literal or a path on the right of a filter comparison.
Json filterOperand(const std::string& s, const Json& root, const Json& item) {
  std::string t = trim(s);
  if (t.size() >= 2 && (t[0] == '"' || t[0] == '\'') && t.back() == t[0]) return unescapeLiteral(t.substr(1, t.size() - 2));
  if (!t.empty() && (t[0] == '@' || t[0] == '$' || t[0] == '.')) {
    Nodes r = evalPath(t, root, item);
    return r.empty() ? Json() : r.front();
  }
  if (t == "true") return true;
  if (t == "false") return false;
  if (t == "null") return nullptr;
  Json n = Json::parse(t, nullptr, false);
  if (n.is_discarded()) throw JsonPathError("error parsing jsonpath: bad operand " + t);
  return n;
}

bool compare(const Json& a, const std::string& op, const Json& b) {
  if (op == "==") return a == b || (a.is_number() && b.is_number() && a.get<double>() == b.get<double>());
  if (op == "!=") return !compare(a, "==", b);
  if (a.is_number() && b.is_number()) {
    double x = a.get<double>(), y = b.get<double>();
    if (op == "<") return x < y;
    if (op == ">") return x > y;
    if (op == "<=") return x <= y;
    if (op == ">=") return x >= y;
  }
  if (a.is_string() && b.is_string()) {
    const auto &x = a.get_ref<const std::string&>(), &y = b.get_ref<const std::string&>();
    if (op == "<") return x < y;
    if (op == ">") return x > y;
    if (op == "<=") return x <= y;
    if (op == ">=") return x >= y;
  }
  return false;
}

bool filterMatches(const std::string& cond, const Json& root, const Json& item) {
  static const char* kOps[] = {"==", "!=", "<=", ">=", "<", ">"};
  char quote = 0;
  for (size_t i = 0; i < cond.size(); ++i) {
    char c = cond[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      continue;
    }
    for (const char* op : kOps) {
      std::string o(op);
      if (cond.compare(i, o.size(), o) == 0) {
        Json lhs = filterOperand(cond.substr(0, i), root, item);
        Json rhs = filterOperand(cond.substr(i + o.size()), root, item);
        return compare(lhs, o, rhs);
      }
    }
  }
  return !evalPath(trim(cond), root, item).empty();  // existence
}

/// Applies one bracket selector (`*`, `n`, `a:b`, `'key'`, `?(…)`) to every node.
Nodes applyBracket(const std::string& sel, const Nodes& in, const Json& root) {
  Nodes out;
  std::string s = trim(sel);
  if (s.size() >= 2 && (s[0] == '\'' || s[0] == '"') && s.back() == s[0]) {
    std::string key = s.substr(1, s.size() - 2);
    for (const auto& n : in)
      if (n.is_object() && n.contains(key)) out.push_back(n[key]);
    return out;
  }
  if (s == "*") {
    for (const auto& n : in)
      if (n.is_array() || n.is_object())
        for (const auto& v : n) out.push_back(v);
    return out;
  }
  if (s.rfind("?(", 0) == 0 && s.back() == ')') {
    std::string cond = s.substr(2, s.size() - 3);
    for (const auto& n : in) {
      if (!n.is_array()) continue;
      for (const auto& v : n)
        if (filterMatches(cond, root, v)) out.push_back(v);
    }
    return out;
  }
  size_t colon = s.find(':');
  try {
    for (const auto& n : in) {
      if (!n.is_array()) continue;
      long size = static_cast<long>(n.size());
      if (colon == std::string::npos) {
        long idx = std::stol(s);
        if (idx < 0) idx += size;
        if (idx >= 0 && idx < size) out.push_back(n[static_cast<size_t>(idx)]);
        continue;
      }
      std::string a = trim(s.substr(0, colon)), b = trim(s.substr(colon + 1));
      long from = a.empty() ? 0 : std::stol(a), to = b.empty() ? size : std::stol(b);
      if (from < 0) from += size;
      if (to < 0) to += size;
      for (long k = std::max(0L, from); k < std::min(size, to); ++k) out.push_back(n[static_cast<size_t>(k)]);
    }
  } catch (const std::logic_error&) {
    throw JsonPathError("error parsing jsonpath: bad index [" + s + "]");
  }
  return out;
}

Nodes evalPath(const std::string& expr, const Json& root, const Json& current) {
  Nodes nodes = {current};
  size_t i = 0;
  if (!expr.empty() && expr[0] == '$') nodes = {root}, i = 1;
  else if (!expr.empty() && expr[0] == '@') i = 1;
  while (i < expr.size()) {
    char c = expr[i];
    if (c == '.' && i + 1 < expr.size() && expr[i + 1] == '.') {
      // Recursive descent: ..name
      i += 2;
      std::string key;
      while (i < expr.size() && expr[i] != '.' && expr[i] != '[') key += expr[i++];
      Nodes out;
      for (const auto& n : nodes) collectRecursive(n, key, out);
      nodes = std::move(out);
    } else if (c == '.') {
      ++i;
      std::string key;
      while (i < expr.size() && expr[i] != '.' && expr[i] != '[') {
        if (expr[i] == '\\' && i + 1 < expr.size()) ++i;  // a\.b is one key
        key += expr[i++];
      }
      if (key.empty()) continue;
      Nodes out;
      for (const auto& n : nodes) {
        if (key == "*") {
          if (n.is_object() || n.is_array())
            for (const auto& v : n) out.push_back(v);
        } else if (n.is_object() && n.contains(key)) {
          out.push_back(n[key]);
        }
      }
      nodes = std::move(out);
    } else if (c == '[') {
      size_t j = i + 1;
      char quote = 0;
      int depth = 1;
      for (; j < expr.size(); ++j) {
        if (quote) {
          if (expr[j] == quote) quote = 0;
        } else if (expr[j] == '"' || expr[j] == '\'') {
          quote = expr[j];
        } else if (expr[j] == '[') {
          ++depth;
        } else if (expr[j] == ']' && --depth == 0) {
          break;
        }
      }
      if (j >= expr.size()) throw JsonPathError("error parsing jsonpath " + expr + ", unterminated [");
      nodes = applyBracket(expr.substr(i + 1, j - i - 1), nodes, root);
      i = j + 1;
    } else {
      // A bare first key ("metadata.name"), as kubectl's relaxed form allows.
      std::string key;
      while (i < expr.size() && expr[i] != '.' && expr[i] != '[') key += expr[i++];
      Nodes out;
      for (const auto& n : nodes)
        if (n.is_object() && n.contains(key)) out.push_back(n[key]);
      nodes = std::move(out);
    }
  }
  return nodes;
}

std::string textOf(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void render(const std::vector<Piece>& pieces, const Json& root, const Json& current, std::string& out) {
  for (const auto& p : pieces) {
    if (p.kind == Piece::Kind::Text) {
      out += p.text;
    } else if (p.kind == Piece::Kind::Expr) {
      Nodes r = evalPath(p.text, root, current);
      for (size_t i = 0; i < r.size(); ++i) out += (i ? " " : "") + textOf(r[i]);
    } else {
      for (const auto& item : evalPath(p.text, root, current)) render(p.body, root, item, out);
    }
  }
}

}  // namespace

std::string renderJsonPath(const std::string& tmpl, const Json& data) {
  auto lexed = lexTemplate(tmpl);
  size_t i = 0;
  auto pieces = buildPieces(lexed, i, false);
  std::string out;
  render(pieces, data, data, out);
  return out;
}

}  // namespace minikd
