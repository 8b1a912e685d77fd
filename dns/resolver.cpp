#include "dns/resolver.h"

#include <algorithm>
#include <charconv>

namespace minikd::dns {
namespace {

constexpr uint32_t kSoaSerial = 2026112700;

bool wantsAddress(uint16_t qtype, uint8_t family) {
  if (qtype == rrtype::kAny) return true;
  return (qtype == rrtype::kA && family == 4) || (qtype == rrtype::kAaaa && family == 6);
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x + 32);
    if (y >= 'A' && y <= 'Z') y = char(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<uint8_t> parseByte(std::string_view s, int base) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || v > 255) return std::nullopt;
  if (base == 10 && s.size() > 1 && s[0] == '0') return std::nullopt;  // "010" is not an octet
  return uint8_t(v);
}

// "10-244-0-5" → 10.244.0.5; IPv6 with '-' for ':'.
std::optional<IpAddr> parseDashed(std::string_view label) {
  std::string s(label);
  const bool v6 = std::count(s.begin(), s.end(), '-') != 3;
  for (auto& c : s)
    if (c == '-') c = v6 ? ':' : '.';
  return IpAddr::parse(s);
}

// The address a reverse name (labels, lowercase) stands for.
std::optional<IpAddr> parseReverse(const std::vector<std::string_view>& l) {
  const size_t n = l.size();
  if (n == 6 && l[4] == "in-addr" && l[5] == "arpa") {
    IpAddr ip;
    ip.family = 4;
    for (size_t i = 0; i < 4; ++i) {
      auto b = parseByte(l[3 - i], 10);
      if (!b) return std::nullopt;
      ip.bytes[i] = *b;
    }
    return ip;
  }
  if (n == 34 && l[32] == "ip6" && l[33] == "arpa") {
    IpAddr ip;
    ip.family = 6;
    for (size_t i = 0; i < 32; ++i) {
      if (l[i].size() != 1) return std::nullopt;
      auto nib = parseByte(l[i], 16);
      if (!nib) return std::nullopt;
      const size_t pos = 31 - i;  // nibble index from the most significant
      ip.bytes[pos / 2] |= uint8_t(pos % 2 ? *nib : *nib << 4);
    }
    return ip;
  }
  return std::nullopt;
}

void writeRecord(Writer& w, const Record& r) {
  w.putName(r.name);
  w.putU16(r.type);
  w.putU16(kClassIn);
  w.putU32(r.ttl);
  const size_t len_at = w.size();
  w.putU16(0);
  const size_t start = w.size();
  switch (r.type) {
    case rrtype::kA: w.putBytes(r.ip.bytes.data(), 4); break;
    case rrtype::kAaaa: w.putBytes(r.ip.bytes.data(), 16); break;
    case rrtype::kCname:
    case rrtype::kPtr:
    case rrtype::kNs: w.putName(r.target); break;
    case rrtype::kSrv:
      w.putU16(r.priority);
      w.putU16(r.weight);
      w.putU16(r.port);
      w.putNameUncompressed(r.target);  // RFC 2782: no compression in SRV targets
      break;
    case rrtype::kSoa:
      w.putName(r.target);
      w.putName(r.target2);
      for (uint32_t v : r.soa) w.putU32(v);
      break;
    case rrtype::kTxt:
      w.putU8(uint8_t(r.text.size()));
      w.putBytes(r.text.data(), r.text.size());
      break;
  }
  w.setU16At(len_at, uint16_t(w.size() - start));
}

void writeOpt(Writer& w, uint16_t rc) {
  w.putU8(0);
  w.putU16(rrtype::kOpt);
  w.putU16(kMaxUdpSize);
  w.putU32(uint32_t(rc >> 4) << 24);  // extended rcode, version 0, no flags
  w.putU16(0);
}

uint16_t replyFlags(const Query& q, uint16_t rc, bool aa) {
  uint16_t f = kFlagQr | (q.header.flags & (0x7800 | kFlagRd | kFlagCd)) | kFlagRa | (rc & 0xF);
  if (aa) f |= kFlagAa;
  return f;
}

// Header + question (+ OPT) only.
size_t writeBare(const Query& q, bool has_question, uint16_t rc, bool aa, uint16_t extra_flags, std::span<uint8_t> buf) {
  Writer w(buf.data(), buf.size());
  const bool opt = q.edns.has_value();
  putHeader(w, Header{q.header.id, uint16_t(replyFlags(q, rc, aa) | extra_flags), uint16_t(has_question ? 1 : 0), 0, 0,
                      uint16_t(opt ? 1 : 0)});
  if (has_question) {
    w.putNameUncompressed(q.question.name);
    w.putU16(q.question.type);
    w.putU16(q.question.cls);
  }
  if (opt) writeOpt(w, rc);
  return w.ok() ? w.size() : 0;
}

}  // namespace

void Answer::clear() {
  rcode = rcode::kNoError;
  authoritative = false;
  answer.clear();
  authority.clear();
  additional.clear();
}

struct Resolver::Ctx {
  const Question& q;
  const ClusterIndex& index;
  Answer& out;
  std::vector<std::string_view> labels;  // of the lowercased name
  WireName lname;
  WireName owner;  // the owner name of answers: the question's own bytes (its case)

  Record& add(std::vector<Record>& section, uint16_t type, uint32_t ttl) {
    section.emplace_back();
    Record& r = section.back();
    r.name = owner;
    r.type = type;
    r.ttl = ttl;
    return r;
  }
};

Resolver::Resolver(ResolverConfig config) : config_(std::move(config)) {
  auto z = nameFromText(config_.cluster_domain);
  zone_ = lowercaseName(z ? *z : WireName("\7cluster\5local", 15) + '\0');
  zone_labels_ = labelCount(zone_);
}

WireName Resolver::fqdn(std::string_view rel) const {
  if (rel.empty()) return zone_;
  auto n = nameFromText(std::string(rel) + "." + nameToText(zone_));
  return n ? lowercaseName(*n) : zone_;
}

Record Resolver::soaRecord() const {
  Record r;
  r.name = zone_;
  r.type = rrtype::kSoa;
  r.ttl = config_.ttl;
  r.target = fqdn("ns.dns");
  r.target2 = fqdn("hostmaster");
  r.soa = {kSoaSerial, 7200, 1800, 86400, config_.ttl};
  return r;
}

void Resolver::nodata(Ctx& c) const {
  c.out.rcode = rcode::kNoError;
  c.out.answer.clear();
  c.out.additional.clear();
  c.out.authority.push_back(soaRecord());
}

void Resolver::nxdomain(Ctx& c) const {
  nodata(c);
  c.out.rcode = rcode::kNxDomain;
}

Outcome Resolver::resolve(const Question& q, const ClusterIndex& index, Answer& out) const {
  out.clear();
  Ctx c{q, index, out, {}, lowercaseName(q.name), q.name};
  splitLabels(c.lname, c.labels);
  if (q.type == rrtype::kPtr || q.type == rrtype::kAny)
    if (reverse(c)) return Outcome::kAnswered;
  const size_t n = c.labels.size();
  if (n < zone_labels_ || c.lname.size() < zone_.size() ||
      c.lname.compare(c.lname.size() - zone_.size(), zone_.size(), zone_) != 0)
    return Outcome::kForward;
  // The zone must match on a label boundary: "xcluster.local" is not in "cluster.local".
  size_t off = 0;
  for (size_t i = 0; i < n - zone_labels_; ++i) off += 1 + c.labels[i].size();
  if (off + zone_.size() != c.lname.size()) return Outcome::kForward;

  out.authoritative = true;
  if (q.cls != kClassIn && q.cls != kClassAny) {
    out.rcode = rcode::kRefused;
    return Outcome::kAnswered;
  }
  if (q.type == rrtype::kAxfr) {
    out.rcode = rcode::kNotImp;
    return Outcome::kAnswered;
  }
  std::span<const std::string_view> rel(c.labels.data(), n - zone_labels_);
  if (rel.empty()) {
    apex(c);
  } else if (rel.size() == 1 && rel[0] == "dns-version") {
    if (q.type == rrtype::kTxt || q.type == rrtype::kAny) c.add(out.answer, rrtype::kTxt, config_.ttl).text = "1.1.0";
    else nodata(c);
  } else if (rel.size() == 1 && (rel[0] == "dns" || rel[0] == "svc" || rel[0] == "pod")) {
    nodata(c);  // empty non-terminals
  } else if (rel.size() == 2 && rel[0] == "ns" && rel[1] == "dns") {
    if (config_.nameserver_ip && wantsAddress(q.type, config_.nameserver_ip->family))
      c.add(out.answer, config_.nameserver_ip->family == 4 ? rrtype::kA : rrtype::kAaaa, config_.ttl).ip =
          *config_.nameserver_ip;
    else nodata(c);
  } else if (rel.back() == "svc") {
    service(c, rel.first(rel.size() - 1));
  } else if (rel.back() == "pod") {
    pod(c, rel.first(rel.size() - 1));
  } else {
    nxdomain(c);
  }
  return Outcome::kAnswered;
}

void Resolver::apex(Ctx& c) const {
  const uint16_t t = c.q.type;
  if (t == rrtype::kSoa || t == rrtype::kAny) {
    Record r = soaRecord();
    r.name = c.owner;
    c.out.answer.push_back(std::move(r));
  }
  if (t == rrtype::kNs || t == rrtype::kAny) {
    c.add(c.out.answer, rrtype::kNs, config_.ttl).target = fqdn("ns.dns");
    if (config_.nameserver_ip) {
      Record a;
      a.name = fqdn("ns.dns");
      a.type = config_.nameserver_ip->family == 4 ? rrtype::kA : rrtype::kAaaa;
      a.ttl = config_.ttl;
      a.ip = *config_.nameserver_ip;
      c.out.additional.push_back(std::move(a));
    }
  }
  if (c.out.answer.empty()) nodata(c);
}

void Resolver::service(Ctx& c, std::span<const std::string_view> r) const {
  switch (r.size()) {
    case 0: return nodata(c);
    case 1: return c.index.hasNamespace(r[0]) ? nodata(c) : nxdomain(c);
    default: break;
  }
  if (r.size() > 4) return nxdomain(c);
  const auto* svc = c.index.findService(r[r.size() - 1], r[r.size() - 2]);
  if (!svc) return nxdomain(c);
  if (r.size() == 2) return serviceRecords(c, *svc);
  if (svc->kind == ServiceKind::kExternalName) return nxdomain(c);
  if (r.size() == 4) {
    if (r[0].size() < 2 || r[0][0] != '_' || r[1].size() < 2 || r[1][0] != '_') return nxdomain(c);
    return srvRecords(c, *svc, r[0].substr(1), r[1].substr(1));
  }
  // Three labels: an endpoint name, or `_<proto>` (empty non-terminal above the SRV names).
  if (r[0].size() > 1 && r[0][0] == '_') {
    for (const auto& p : svc->ports)
      if (!p.name.empty() && equalsIgnoreCase(p.protocol, r[0].substr(1))) return nodata(c);
    return nxdomain(c);
  }
  endpointRecords(c, *svc, r[0]);
}

void Resolver::serviceRecords(Ctx& c, const ServiceRecord& svc) const {
  const uint16_t t = c.q.type;
  if (svc.kind == ServiceKind::kExternalName) {
    auto target = nameFromText(svc.external_name);
    if (!target) return nodata(c);
    c.add(c.out.answer, rrtype::kCname, config_.ttl).target = lowercaseName(*target);
    return;
  }
  if (svc.kind == ServiceKind::kClusterIp) {
    for (const auto& ip : svc.cluster_ips)
      if (wantsAddress(t, ip.family)) c.add(c.out.answer, ip.family == 4 ? rrtype::kA : rrtype::kAaaa, config_.ttl).ip = ip;
  } else {
    for (const auto& [_, set] : svc.slices) {
      for (const auto& ep : set.endpoints) {
        if (!ep.ready || !wantsAddress(t, ep.ip.family)) continue;
        const bool dup = std::any_of(c.out.answer.begin(), c.out.answer.end(), [&](const Record& x) { return x.ip == ep.ip; });
        if (!dup) c.add(c.out.answer, ep.ip.family == 4 ? rrtype::kA : rrtype::kAaaa, config_.ttl).ip = ep.ip;
      }
    }
  }
  if (c.out.answer.empty()) nodata(c);
}

void Resolver::endpointRecords(Ctx& c, const ServiceRecord& svc, std::string_view host) const {
  if (svc.kind != ServiceKind::kHeadless) return nxdomain(c);
  bool exists = false;
  for (const auto& [_, set] : svc.slices) {
    for (const auto& ep : set.endpoints) {
      if (!ep.ready) continue;
      if (ep.hostname.empty() ? dashedIp(ep.ip) != host : ep.hostname != host) continue;
      exists = true;
      if (wantsAddress(c.q.type, ep.ip.family))
        c.add(c.out.answer, ep.ip.family == 4 ? rrtype::kA : rrtype::kAaaa, config_.ttl).ip = ep.ip;
    }
  }
  if (!exists) return nxdomain(c);
  if (c.out.answer.empty()) nodata(c);
}

void Resolver::srvRecords(Ctx& c, const ServiceRecord& svc, std::string_view port, std::string_view proto) const {
  const bool want = c.q.type == rrtype::kSrv || c.q.type == rrtype::kAny;
  const std::string base = svc.name + "." + svc.ns + ".svc";
  bool exists = false;
  auto matches = [&](const PortRecord& p) { return !p.name.empty() && p.name == port && equalsIgnoreCase(p.protocol, proto); };
  if (svc.kind == ServiceKind::kClusterIp) {
    for (const auto& p : svc.ports) {
      if (!matches(p)) continue;
      exists = true;
      if (!want) continue;
      Record& r = c.add(c.out.answer, rrtype::kSrv, config_.ttl);
      r.priority = 0, r.weight = 100, r.port = p.port;
      r.target = fqdn(base);
      for (const auto& ip : svc.cluster_ips) {
        Record a;
        a.name = r.target, a.type = ip.family == 4 ? rrtype::kA : rrtype::kAaaa, a.ttl = config_.ttl, a.ip = ip;
        c.out.additional.push_back(std::move(a));
      }
    }
    if (!exists) return nxdomain(c);
    if (c.out.answer.empty()) nodata(c);
    return;
  }
  for (const auto& p : svc.ports) exists = exists || matches(p);
  size_t count = 0;
  for (const auto& [_, set] : svc.slices)
    for (const auto& p : set.ports)
      if (matches(p)) {
        exists = true;
        for (const auto& ep : set.endpoints) count += ep.ready;
      }
  if (!exists) return nxdomain(c);
  if (!want || count == 0) return nodata(c);
  const uint16_t weight = uint16_t(std::max<size_t>(1, 100 / count));
  for (const auto& [_, set] : svc.slices) {
    for (const auto& p : set.ports) {
      if (!matches(p)) continue;
      for (const auto& ep : set.endpoints) {
        if (!ep.ready) continue;
        Record& r = c.add(c.out.answer, rrtype::kSrv, config_.ttl);
        r.priority = 0, r.weight = weight, r.port = p.port;
        r.target = fqdn((ep.hostname.empty() ? dashedIp(ep.ip) : ep.hostname) + "." + base);
        Record a;
        a.name = r.target, a.type = ep.ip.family == 4 ? rrtype::kA : rrtype::kAaaa, a.ttl = config_.ttl, a.ip = ep.ip;
        c.out.additional.push_back(std::move(a));
      }
    }
  }
}

void Resolver::pod(Ctx& c, std::span<const std::string_view> r) const {
  if (r.empty()) return nodata(c);
  if (r.size() == 1) return c.index.hasNamespace(r[0]) ? nodata(c) : nxdomain(c);
  if (r.size() != 2) return nxdomain(c);
  auto ip = parseDashed(r[0]);
  if (!ip || !c.index.hasPodIp(r[1], *ip)) return nxdomain(c);
  if (wantsAddress(c.q.type, ip->family)) c.add(c.out.answer, ip->family == 4 ? rrtype::kA : rrtype::kAaaa, config_.ttl).ip = *ip;
  else nodata(c);
}

// PTR for an address the cluster knows; false (forward) for any other reverse name.
bool Resolver::reverse(Ctx& c) const {
  auto ip = parseReverse(c.labels);
  if (!ip) return false;
  auto name = c.index.reverseName(*ip);
  if (!name) return false;
  c.out.authoritative = true;
  c.add(c.out.answer, rrtype::kPtr, config_.ttl).target = fqdn(*name);
  return true;
}

WireName reverseNameOf(const IpAddr& ip) {
  std::string text;
  static const char* hex = "0123456789abcdef";
  if (ip.family == 4) {
    for (int i = 3; i >= 0; --i) text += std::to_string(ip.bytes[i]) + ".";
    text += "in-addr.arpa";
  } else {
    for (int i = 15; i >= 0; --i) {
      text += hex[ip.bytes[i] & 0xF];
      text += '.';
      text += hex[ip.bytes[i] >> 4];
      text += '.';
    }
    text += "ip6.arpa";
  }
  return *nameFromText(text);
}

size_t udpLimit(const Query& q) {
  if (!q.edns) return kMinUdpSize;
  return std::clamp<size_t>(q.edns->udp_size, kMinUdpSize, kMaxUdpSize);
}

size_t writeResponse(const Query& q, const Answer& a, std::span<uint8_t> buf, size_t limit) {
  Writer w(buf.data(), std::min(buf.size(), limit));
  const bool opt = q.edns.has_value();
  putHeader(w, Header{q.header.id, replyFlags(q, a.rcode, a.authoritative), 1, uint16_t(a.answer.size()),
                      uint16_t(a.authority.size()), uint16_t(a.additional.size() + (opt ? 1 : 0))});
  w.putName(q.question.name);
  w.putU16(q.question.type);
  w.putU16(q.question.cls);
  for (const auto& r : a.answer) writeRecord(w, r);
  for (const auto& r : a.authority) writeRecord(w, r);
  for (const auto& r : a.additional) writeRecord(w, r);
  if (opt) writeOpt(w, a.rcode);
  if (w.ok()) return w.size();
  return writeBare(q, true, a.rcode, a.authoritative, kFlagTc, buf);
}

size_t writeError(const Query& q, bool has_question, uint16_t rc, std::span<uint8_t> buf) {
  return writeBare(q, has_question, rc, false, 0, buf);
}

QueryHandler::Result QueryHandler::handle(std::span<const uint8_t> packet, bool udp, const ClusterIndex& index,
                                          std::span<uint8_t> out) {
  const ParseError err = parseQuery(packet, query_);
  if (err == ParseError::kShortHeader || (query_.header.flags & kFlagQr)) return {Action::kDrop, 0};
  if (err != ParseError::kNone) {
    query_.edns.reset();  // a malformed OPT is not echoed
    return {Action::kReply, writeError(query_, false, rcode::kFormErr, out)};
  }
  if (opcodeOf(query_.header.flags) != 0) return {Action::kReply, writeError(query_, true, rcode::kNotImp, out)};
  if (query_.edns && query_.edns->version > 0)
    return {Action::kReply, writeError(query_, true, rcode::kBadVers, out)};
  if (resolver_.resolve(query_.question, index, answer_) == Outcome::kForward) return {Action::kForward, 0};
  return {Action::kReply, writeResponse(query_, answer_, out, udp ? udpLimit(query_) : kMaxMessage)};
}

}  // namespace minikd::dns
