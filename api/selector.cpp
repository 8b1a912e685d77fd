#include "api/selector.h"

#include "api/errors.h"

#include <algorithm>
#include <cctype>

namespace minikd::api {
namespace {

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

/// A tokenizer over the selector string grammar.
class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}
  void skipSpace() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool atEnd() {
    skipSpace();
    return pos_ >= s_.size();
  }
  char peek() {
    skipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  bool consume(std::string_view tok) {
    skipSpace();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  /// A key or value: everything up to a delimiter.
  std::string word() {
    skipSpace();
    size_t start = pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (std::isspace(static_cast<unsigned char>(c)) || c == ',' || c == '=' || c == '!' || c == '(' ||
          c == ')')
        break;
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw badRequest("unable to parse requirement: invalid label selector \"" + std::string(text) + "\": " + why);
}

void checkKey(std::string_view text, const std::string& key) {
  if (auto err = labelKeyError(key); !err.empty()) fail(text, "invalid label key \"" + key + "\": " + err);
}

void checkValue(std::string_view text, const std::string& value) {
  if (auto err = labelValueError(value); !err.empty())
    fail(text, "invalid label value: \"" + value + "\": " + err);
}

std::vector<std::string> parseValueSet(Lexer& lx, std::string_view text) {
  if (!lx.consume("(")) fail(text, "expected '(' after set operator");
  if (lx.consume(")")) fail(text, "for 'in', 'notin' operators, values set can't be empty");
  std::vector<std::string> values;
  while (true) {
    std::string v = lx.word();
    checkValue(text, v);
    values.push_back(v);
    if (lx.consume(")")) break;
    if (!lx.consume(",")) fail(text, "expected ',' or ')' in value set");
  }
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return values;
}

Requirement parseRequirement(Lexer& lx, std::string_view text) {
  Requirement r;
  if (lx.consume("!")) {
    r.key = lx.word();
    if (r.key.empty()) fail(text, "expected a key after '!'");
    checkKey(text, r.key);
    r.op = Requirement::Op::DoesNotExist;
    return r;
  }
  r.key = lx.word();
  if (r.key.empty()) fail(text, "expected a key at position " + std::to_string(lx.pos()));
  checkKey(text, r.key);
  if (lx.atEnd() || lx.peek() == ',') {
    r.op = Requirement::Op::Exists;
    return r;
  }
  if (lx.consume("==") || lx.consume("=")) {
    r.op = Requirement::Op::Equals;
  } else if (lx.consume("!=")) {
    r.op = Requirement::Op::NotEquals;
  } else {
    std::string op = lx.word();
    if (op == "in") {
      r.op = Requirement::Op::In;
    } else if (op == "notin") {
      r.op = Requirement::Op::NotIn;
    } else {
      fail(text, "found '" + op + "', expected: in, notin, =, ==, !=");
    }
    r.values = parseValueSet(lx, text);
    return r;
  }
  std::string v = lx.word();
  checkValue(text, v);
  r.values = {v};
  return r;
}

std::string labelOf(const nlohmann::json& labels, const std::string& key, bool& present) {
  present = false;
  if (!labels.is_object()) return {};
  auto it = labels.find(key);
  if (it == labels.end() || !it->is_string()) return {};
  present = true;
  return it->get<std::string>();
}

bool matchOne(const Requirement& r, bool present, const std::string& value) {
  auto in = [&] { return std::find(r.values.begin(), r.values.end(), value) != r.values.end(); };
  switch (r.op) {
    case Requirement::Op::Equals:
    case Requirement::Op::In:
      return present && in();
    case Requirement::Op::NotEquals:
    case Requirement::Op::NotIn:
      return !present || !in();
    case Requirement::Op::Exists:
      return present;
    case Requirement::Op::DoesNotExist:
      return !present;
  }
  return false;
}

bool isDnsLabel(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  if (!isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (isAlnum(c) && !std::isupper(static_cast<unsigned char>(c))) || c == '-'; });
}

bool isDnsSubdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view part = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!isDnsLabel(part, 63)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool isQualifiedName(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  if (!isAlnum(s.front()) || !isAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return isAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

}  // namespace

std::string labelKeyError(std::string_view key) {
  if (key.empty()) return "name part must be non-empty";
  auto slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!isDnsSubdomain(prefix)) return "prefix part must be a lowercase RFC 1123 subdomain";
  }
  if (name.size() > 63) return "name part must be no more than 63 characters";
  if (!isQualifiedName(name))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
           "with an alphanumeric character";
  return {};
}

std::string labelValueError(std::string_view value) {
  if (value.empty()) return {};
  if (value.size() > 63) return "must be no more than 63 characters";
  if (!isQualifiedName(value))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
           "and must start and end with an alphanumeric character";
  return {};
}

LabelSelector LabelSelector::parse(std::string_view text) {
  LabelSelector sel;
  Lexer lx(text);
  if (lx.atEnd()) return sel;
  while (true) {
    sel.reqs_.push_back(parseRequirement(lx, text));
    if (lx.atEnd()) break;
    if (!lx.consume(",")) fail(text, "expected ',' between requirements at position " + std::to_string(lx.pos()));
    if (lx.atEnd()) fail(text, "expected a requirement after ','");
  }
  return sel;
}

LabelSelector LabelSelector::fromJson(const nlohmann::json& selector) {
  LabelSelector sel;
  if (selector.is_null()) return sel;
  if (!selector.is_object()) throw badRequest("label selector must be an object");
  if (auto ml = selector.find("matchLabels"); ml != selector.end() && !ml->is_null()) {
    if (!ml->is_object()) throw badRequest("matchLabels must be an object");
    for (auto& [k, v] : ml->items()) {
      if (!v.is_string()) throw badRequest("matchLabels." + k + " must be a string");
      checkKey("", k);
      checkValue("", v.get<std::string>());
      sel.reqs_.push_back({k, Requirement::Op::Equals, {v.get<std::string>()}});
    }
  }
  if (auto me = selector.find("matchExpressions"); me != selector.end() && !me->is_null()) {
    if (!me->is_array()) throw badRequest("matchExpressions must be a list");
    for (const auto& e : *me) {
      Requirement r;
      r.key = e.value("key", "");
      checkKey("", r.key);
      std::string op = e.value("operator", "");
      if (op == "In") r.op = Requirement::Op::In;
      else if (op == "NotIn") r.op = Requirement::Op::NotIn;
      else if (op == "Exists") r.op = Requirement::Op::Exists;
      else if (op == "DoesNotExist") r.op = Requirement::Op::DoesNotExist;
      else throw badRequest("\"" + op + "\" is not a valid label selector operator");
      if (auto vs = e.find("values"); vs != e.end() && vs->is_array())
        for (const auto& v : *vs) {
          if (!v.is_string()) throw badRequest("matchExpressions values must be strings");
          r.values.push_back(v.get<std::string>());
        }
      bool set_op = r.op == Requirement::Op::In || r.op == Requirement::Op::NotIn;
      if (set_op && r.values.empty())
        throw badRequest("values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
      if (!set_op && !r.values.empty())
        throw badRequest("values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      std::sort(r.values.begin(), r.values.end());
      r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
      sel.reqs_.push_back(std::move(r));
    }
  }
  return sel;
}

LabelSelector LabelSelector::fromMap(const std::map<std::string, std::string>& labels) {
  LabelSelector sel;
  for (const auto& [k, v] : labels) sel.reqs_.push_back({k, Requirement::Op::Equals, {v}});
  return sel;
}

LabelSelector LabelSelector::nothing() {
  LabelSelector sel;
  sel.match_nothing_ = true;
  return sel;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  if (match_nothing_) return false;
  for (const auto& r : reqs_) {
    bool present = false;
    std::string value = labelOf(labels, r.key, present);
    if (!matchOne(r, present, value)) return false;
  }
  return true;
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  if (match_nothing_) return false;
  for (const auto& r : reqs_) {
    auto it = labels.find(r.key);
    if (!matchOne(r, it != labels.end(), it == labels.end() ? std::string() : it->second)) return false;
  }
  return true;
}

std::string LabelSelector::toString() const {
  std::string out;
  for (const auto& r : reqs_) {
    if (!out.empty()) out += ",";
    auto set = [&] {
      std::string s = "(";
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      return s + ")";
    };
    switch (r.op) {
      case Requirement::Op::Equals: out += r.key + "=" + r.values[0]; break;
      case Requirement::Op::NotEquals: out += r.key + "!=" + r.values[0]; break;
      case Requirement::Op::In: out += r.key + " in " + set(); break;
      case Requirement::Op::NotIn: out += r.key + " notin " + set(); break;
      case Requirement::Op::Exists: out += r.key; break;
      case Requirement::Op::DoesNotExist: out += "!" + r.key; break;
    }
  }
  return out;
}

namespace {

bool supportedField(const std::string& f) {
  static const char* fields[] = {"metadata.name", "metadata.namespace", "status.phase", "spec.nodeName",
                                 "type", "reason", "spec.type", "source", "status.podIP"};
  if (f.rfind("involvedObject.", 0) == 0) return true;
  return std::find(std::begin(fields), std::end(fields), f) != std::end(fields);
}

std::string fieldValue(const nlohmann::json& obj, const std::string& field) {
  const nlohmann::json* cur = &obj;
  size_t start = 0;
  while (true) {
    size_t dot = field.find('.', start);
    std::string part = field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return {};
    auto it = cur->find(part);
    if (it == cur->end()) return {};
    cur = &*it;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_null()) return {};
  return cur->dump();
}

}  // namespace

FieldSelector FieldSelector::parse(std::string_view text) {
  FieldSelector sel;
  std::string s(text);
  size_t start = 0;
  while (start < s.size()) {
    size_t comma = s.find(',', start);
    std::string term = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? s.size() : comma + 1;
    if (term.empty()) continue;
    Term t;
    size_t op;
    if ((op = term.find("!=")) != std::string::npos) {
      t.negate = true;
      t.field = term.substr(0, op);
      t.value = term.substr(op + 2);
    } else if ((op = term.find("==")) != std::string::npos) {
      t.field = term.substr(0, op);
      t.value = term.substr(op + 2);
    } else if ((op = term.find('=')) != std::string::npos) {
      t.field = term.substr(0, op);
      t.value = term.substr(op + 1);
    } else {
      throw badRequest("invalid field selector: \"" + term + "\": expected field=value, field==value or field!=value");
    }
    if (!supportedField(t.field))
      throw badRequest("field label not supported: " + t.field);
    sel.terms_.push_back(std::move(t));
  }
  return sel;
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  for (const auto& t : terms_) {
    bool eq = fieldValue(object, t.field) == t.value;
    if (eq == t.negate) return false;
  }
  return true;
}

std::string FieldSelector::requiredValue(const std::string& field) const {
  for (const auto& t : terms_)
    if (t.field == field && !t.negate) return t.value;
  return {};
}

}  // namespace minikd::api
