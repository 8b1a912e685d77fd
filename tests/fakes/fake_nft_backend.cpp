#include "fakes/fake_nft_backend.h"

#include "net/os_error.h"

#include <cerrno>
#include <sstream>

namespace minikd::net {

namespace {

using Table = FakeNftBackend::Table;

[[noreturn]] void fail(int err, const std::string& what) { throw OsError(err, what); }

/// Chains a statement jumps to, and sets it reads or updates.
void references(const NftStatement& s, std::vector<std::string>& chains, std::vector<std::string>& sets) {
  if (auto* v = std::get_if<Verdict>(&s); v && !v->chain.empty()) chains.push_back(v->chain);
  if (auto* m = std::get_if<VmapLookup>(&s)) sets.push_back(m->map);
  if (auto* m = std::get_if<MatchSaddrInSet>(&s)) sets.push_back(m->set);
  if (auto* m = std::get_if<UpdateSaddrSet>(&s)) sets.push_back(m->set);
}

bool chainReferenced(const Table& t, const std::string& name) {
  for (auto& [_, c] : t.chains)
    for (auto& r : c.rules)
      for (auto& s : r.stmts) {
        std::vector<std::string> chains, sets;
        references(s, chains, sets);
        for (auto& x : chains)
          if (x == name) return true;
      }
  for (auto& [_, els] : t.elements)
    for (auto& [k, v] : els)
      if (v && v->chain == name) return true;
  return false;
}

bool setReferenced(const Table& t, const std::string& name) {
  for (auto& [_, c] : t.chains)
    for (auto& r : c.rules)
      for (auto& s : r.stmts) {
        std::vector<std::string> chains, sets;
        references(s, chains, sets);
        for (auto& x : sets)
          if (x == name) return true;
      }
  return false;
}

struct Applier {
  std::map<std::string, Table>& tables;
  const std::string& name;

  Table& table() {
    auto it = tables.find(name);
    if (it == tables.end()) fail(ENOENT, "table ip " + name);
    return it->second;
  }
  NftChain& chain(const std::string& c) {
    auto& t = table();
    auto it = t.chains.find(c);
    if (it == t.chains.end()) fail(ENOENT, "chain " + c + " in table ip " + name);
    return it->second;
  }
  NftSet& set(const std::string& s) {
    auto& t = table();
    auto it = t.sets.find(s);
    if (it == t.sets.end()) fail(ENOENT, "set " + s + " in table ip " + name);
    return it->second;
  }

  void operator()(const AddTable&) { tables.try_emplace(name); }
  void operator()(const DeleteTable&) {
    if (!tables.erase(name)) fail(ENOENT, "delete table ip " + name);
  }
  void operator()(const AddChain& c) {
    auto& t = table();
    auto it = t.chains.find(c.name);
    if (it == t.chains.end())
      t.chains[c.name] = NftChain{c.name, c.base, {}};
    else if (it->second.base != c.base)
      fail(EEXIST, "add chain " + c.name + ": exists with another hook");
  }
  void operator()(const FlushChain& c) { chain(c.name).rules.clear(); }
  void operator()(const DeleteChain& c) {
    auto& ch = chain(c.name);
    if (!ch.rules.empty()) fail(EBUSY, "delete chain " + c.name + ": not empty");
    if (chainReferenced(table(), c.name)) fail(EBUSY, "delete chain " + c.name + ": still referenced");
    table().chains.erase(c.name);
  }
  void operator()(const AddRule& r) {
    auto& ch = chain(r.chain);
    for (auto& s : r.rule.stmts) {
      std::vector<std::string> chains, sets;
      references(s, chains, sets);
      for (auto& c : chains) chain(c);
      for (auto& x : sets) set(x);
    }
    ch.rules.push_back(r.rule);
  }
  void operator()(const AddSet& s) {
    auto& t = table();
    auto it = t.sets.find(s.set.name);
    if (it == t.sets.end())
      t.sets[s.set.name] = s.set;
    else if (it->second != s.set)
      fail(EEXIST, "add set " + s.set.name + ": exists with another type");
  }
  void operator()(const DeleteSet& s) {
    set(s.name);
    if (setReferenced(table(), s.name)) fail(EBUSY, "delete set " + s.name + ": still referenced");
    table().sets.erase(s.name);
    table().elements.erase(s.name);
  }
  void operator()(const AddElements& e) {
    auto& st = set(e.set);
    auto& els = table().elements[e.set];
    for (auto& el : e.elements) {
      if (el.key.size() != st.key.size()) fail(EINVAL, "element " + formatKey(el.key) + " of " + e.set + ": key type");
      if (st.verdict_map != el.verdict.has_value()) fail(EINVAL, "element " + formatKey(el.key) + " of " + e.set);
      if (el.verdict && !el.verdict->chain.empty()) chain(el.verdict->chain);
      auto it = els.find(el.key);
      if (it != els.end() && it->second != el.verdict)
        fail(EBUSY, "add element " + formatKey(el.key) + " to " + e.set + ": exists with another verdict");
      els[el.key] = el.verdict;
    }
  }
  void operator()(const DeleteElements& e) {
    set(e.set);
    auto& els = table().elements[e.set];
    for (auto& k : e.keys)
      if (!els.erase(k)) fail(ENOENT, "delete element " + formatKey(k) + " from " + e.set);
  }
};

}  // namespace

void FakeNftBackend::apply(const NftTransaction& tx) {
  std::lock_guard lk(mu_);
  if (fail_next_ > 0) {
    --fail_next_;
    ++refused_;
    fail(EIO, "apply transaction to table ip " + tx.table + " (injected)");
  }
  auto copy = tables_;
  try {
    Applier a{copy, tx.table};
    for (auto& op : tx.ops) std::visit(a, op);
  } catch (...) {
    ++refused_;
    throw;
  }
  tables_ = std::move(copy);
  ++applied_;
  last_ops_ = tx.ops.size();
}

void FakeNftBackend::removeTable(const std::string& table) {
  std::lock_guard lk(mu_);
  tables_.erase(table);
}

bool FakeNftBackend::hasTable(const std::string& table) const {
  std::lock_guard lk(mu_);
  return tables_.count(table) > 0;
}

FakeNftBackend::Table FakeNftBackend::table(const std::string& table) const {
  std::lock_guard lk(mu_);
  return tables_.at(table);
}

int FakeNftBackend::applied() const {
  std::lock_guard lk(mu_);
  return applied_;
}

int FakeNftBackend::refused() const {
  std::lock_guard lk(mu_);
  return refused_;
}

size_t FakeNftBackend::lastOps() const {
  std::lock_guard lk(mu_);
  return last_ops_;
}

void FakeNftBackend::failNext(int n) {
  std::lock_guard lk(mu_);
  fail_next_ = n;
}

std::string FakeNftBackend::dump(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = tables_.find(name);
  if (it == tables_.end()) return "";
  const Table& t = it->second;
  std::ostringstream out;
  out << "table ip " << name << " {\n";
  for (auto& [sname, s] : t.sets) {
    out << "\t" << (s.verdict_map ? "map " : "set ") << sname << " {\n";
    out << "\t\ttype " << formatKeyType(s.key) << (s.verdict_map ? " : verdict" : "") << "\n";
    if (s.timeout_seconds) out << "\t\tflags dynamic,timeout\n\t\ttimeout " << s.timeout_seconds << "s\n";
    auto els = t.elements.find(sname);
    if (els != t.elements.end() && !els->second.empty()) {
      out << "\t\telements = {";
      bool first = true;
      for (auto& [k, v] : els->second) {
        out << (first ? " " : ",\n\t\t\t     ") << formatElement({k, v});
        first = false;
      }
      out << " }\n";
    }
    out << "\t}\n\n";
  }
  bool first_chain = true;
  for (auto& [cname, c] : t.chains) {
    out << (first_chain ? "" : "\n") << "\tchain " << cname << " {\n";
    first_chain = false;
    if (c.base)
      out << "\t\ttype " << c.base->type << " hook " << formatHook(c.base->hook) << " priority " << c.base->priority
          << "; policy accept;\n";
    for (auto& r : c.rules) out << "\t\t" << formatRule(r) << "\n";
    out << "\t}\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace minikd::net
