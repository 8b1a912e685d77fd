#include "net/nft.h"

#include <cstdio>
#include <sstream>

namespace minikd::net {

std::optional<Ipv4Prefix> parseIpv4Prefix(const std::string& text) {
  unsigned a, b, c, d;
  int len = 32;
  char tail = 0;
  int n;
  if (text.find('/') != std::string::npos)
    n = std::sscanf(text.c_str(), "%u.%u.%u.%u/%d%c", &a, &b, &c, &d, &len, &tail);
  else
    n = std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail);
  bool has_len = text.find('/') != std::string::npos;
  if (n != (has_len ? 5 : 4)) return std::nullopt;
  if (a > 255 || b > 255 || c > 255 || d > 255 || len < 0 || len > 32) return std::nullopt;
  uint32_t addr = (a << 24) | (b << 16) | (c << 8) | d;
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  if (addr & ~mask) return std::nullopt;
  return Ipv4Prefix{addr, len};
}

std::string formatIpv4Addr(uint32_t addr) {
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 255) + "." +
         std::to_string((addr >> 8) & 255) + "." + std::to_string(addr & 255);
}

std::string formatIpv4Prefix(const Ipv4Prefix& p) {
  return p.len == 32 ? formatIpv4Addr(p.addr) : formatIpv4Addr(p.addr) + "/" + std::to_string(p.len);
}

std::string l4protoName(L4Proto p) {
  switch (p) {
    case L4Proto::Tcp: return "tcp";
    case L4Proto::Udp: return "udp";
    case L4Proto::Sctp: return "sctp";
  }
  return std::to_string(static_cast<int>(p));
}

static std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string formatVerdict(const Verdict& v) {
  switch (v.kind) {
    case VerdictKind::Accept: return "accept";
    case VerdictKind::Drop: return "drop";
    case VerdictKind::Return: return "return";
    case VerdictKind::Jump: return "jump " + v.chain;
    case VerdictKind::Goto: return "goto " + v.chain;
  }
  return "?";
}

namespace {

struct StatementText {
  std::string operator()(const Verdict& v) const { return formatVerdict(v); }
  std::string operator()(const MatchAddr& m) const {
    return std::string("ip ") + (m.source ? "saddr " : "daddr ") + (m.negate ? "!= " : "") + formatIpv4Prefix(m.prefix);
  }
  std::string operator()(const MatchL4Proto& m) const { return "meta l4proto " + l4protoName(m.proto); }
  std::string operator()(const MatchFibLocal& m) const {
    return std::string("fib ") + (m.source ? "saddr" : "daddr") + " type local";
  }
  std::string operator()(const MatchMarkClear& m) const { return "meta mark & " + hex(m.bits) + " == 0x00000000"; }
  std::string operator()(const MatchSaddrInSet& m) const { return "ip saddr @" + m.set; }
  std::string operator()(const UpdateSaddrSet& m) const { return "update @" + m.set + " { ip saddr }"; }
  std::string operator()(const SetMark& m) const {
    return std::string("meta mark set meta mark ") + (m.toggle ? "^ " : "| ") + hex(m.bits);
  }
  std::string operator()(const VmapLookup& m) const {
    switch (m.key) {
      case VmapKey::DaddrProtoPort: return "ip daddr . meta l4proto . th dport vmap @" + m.map;
      case VmapKey::ProtoPort: return "meta l4proto . th dport vmap @" + m.map;
      case VmapKey::Numgen:
        return "numgen random mod " + std::to_string(m.mod) + " offset " + std::to_string(m.offset) + " vmap @" + m.map;
    }
    return "?";
  }
  std::string operator()(const MatchRandomZero& m) const {
    return "numgen random mod " + std::to_string(m.mod) + " == 0";
  }
  std::string operator()(const Dnat& d) const {
    return "dnat to " + formatIpv4Addr(d.addr) + ":" + std::to_string(d.port);
  }
  std::string operator()(const Masquerade&) const { return "masquerade fully-random"; }
  std::string operator()(const Reject& r) const { return r.tcp_reset ? "reject with tcp reset" : "reject"; }
  std::string operator()(const Counter&) const { return "counter"; }
};

std::string keyPartText(const NftKeyPart& p) {
  switch (p.type) {
    case NftKeyType::Ipv4Addr: return formatIpv4Addr(p.value);
    case NftKeyType::InetProto: return l4protoName(static_cast<L4Proto>(p.value));
    case NftKeyType::InetService: return std::to_string(p.value);
    case NftKeyType::Mark: return hex(p.value);
  }
  return "?";
}

std::string keyTypeText(NftKeyType t) {
  switch (t) {
    case NftKeyType::Ipv4Addr: return "ipv4_addr";
    case NftKeyType::InetProto: return "inet_proto";
    case NftKeyType::InetService: return "inet_service";
    case NftKeyType::Mark: return "mark";
  }
  return "?";
}

std::string joinKeys(const std::vector<NftKey>& keys) {
  std::string out;
  for (auto& k : keys) out += (out.empty() ? "" : ", ") + formatKey(k);
  return out;
}

}  // namespace

std::string formatStatement(const NftStatement& s) { return std::visit(StatementText{}, s); }

std::string formatRule(const NftRule& r) {
  std::string out;
  for (auto& s : r.stmts) out += (out.empty() ? "" : " ") + formatStatement(s);
  return out;
}

std::string formatKey(const NftKey& k) {
  std::string out;
  for (auto& p : k) out += (out.empty() ? "" : " . ") + keyPartText(p);
  return out;
}

std::string formatElement(const NftElement& e) {
  return e.verdict ? formatKey(e.key) + " : " + formatVerdict(*e.verdict) : formatKey(e.key);
}

std::string formatKeyType(const std::vector<NftKeyType>& key) {
  std::string out;
  for (auto t : key) out += (out.empty() ? "" : " . ") + keyTypeText(t);
  return out;
}

std::string formatHook(NftHook h) {
  switch (h) {
    case NftHook::Prerouting: return "prerouting";
    case NftHook::Input: return "input";
    case NftHook::Forward: return "forward";
    case NftHook::Output: return "output";
    case NftHook::Postrouting: return "postrouting";
  }
  return "?";
}

namespace {

std::string setSpecText(const NftSet& s) {
  std::string out = "{ type " + formatKeyType(s.key) + (s.verdict_map ? " : verdict;" : ";");
  if (s.timeout_seconds) out += " flags dynamic,timeout; timeout " + std::to_string(s.timeout_seconds) + "s;";
  return out + " }";
}

struct OpText {
  const std::string& t;  // "ip <table>"
  std::string operator()(const AddTable&) const { return "add table " + t; }
  std::string operator()(const DeleteTable&) const { return "delete table " + t; }
  std::string operator()(const AddChain& c) const {
    std::string out = "add chain " + t + " " + c.name;
    if (c.base)
      out += " { type " + c.base->type + " hook " + formatHook(c.base->hook) + " priority " +
             std::to_string(c.base->priority) + "; }";
    return out;
  }
  std::string operator()(const FlushChain& c) const { return "flush chain " + t + " " + c.name; }
  std::string operator()(const DeleteChain& c) const { return "delete chain " + t + " " + c.name; }
  std::string operator()(const AddRule& r) const { return "add rule " + t + " " + r.chain + " " + formatRule(r.rule); }
  std::string operator()(const AddSet& s) const {
    return std::string(s.set.verdict_map ? "add map " : "add set ") + t + " " + s.set.name + " " + setSpecText(s.set);
  }
  std::string operator()(const DeleteSet& s) const { return "delete set " + t + " " + s.name; }
  std::string operator()(const AddElements& e) const {
    std::string out;
    for (auto& el : e.elements) out += (out.empty() ? "" : ", ") + formatElement(el);
    return "add element " + t + " " + e.set + " { " + out + " }";
  }
  std::string operator()(const DeleteElements& e) const {
    return "delete element " + t + " " + e.set + " { " + joinKeys(e.keys) + " }";
  }
};

}  // namespace

std::string formatTransaction(const NftTransaction& tx) {
  std::string table = "ip " + tx.table;
  std::ostringstream out;
  for (auto& op : tx.ops) out << std::visit(OpText{table}, op) << "\n";
  return out.str();
}

}  // namespace minikd::net
