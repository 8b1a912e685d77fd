#pragma once
// Helpers for the DNS tests: build query packets, decode replies into readable lines.
#include "dns/wire.h"

#include <arpa/inet.h>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace minikd::dns::testing {

inline std::vector<uint8_t> fromHex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(uint8_t(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

/// A query for `name` (text) and `type`, with an OPT record when `edns_size` is set.
inline std::vector<uint8_t> makeQuery(std::string_view name, uint16_t type, std::optional<uint16_t> edns_size = std::nullopt,
                                      uint16_t id = 0x1234, uint16_t flags = kFlagRd) {
  std::vector<uint8_t> buf(600);
  Writer w(buf.data(), buf.size());
  putHeader(w, Header{id, flags, 1, 0, 0, uint16_t(edns_size ? 1 : 0)});
  w.putNameUncompressed(*nameFromText(name));
  w.putU16(type);
  w.putU16(kClassIn);
  if (edns_size) {
    w.putU8(0);
    w.putU16(rrtype::kOpt);
    w.putU16(*edns_size);
    w.putU32(0);
    w.putU16(0);
  }
  buf.resize(w.size());
  return buf;
}

inline std::string typeName(uint16_t t) {
  switch (t) {
    case rrtype::kA: return "A";
    case rrtype::kNs: return "NS";
    case rrtype::kCname: return "CNAME";
    case rrtype::kSoa: return "SOA";
    case rrtype::kPtr: return "PTR";
    case rrtype::kTxt: return "TXT";
    case rrtype::kAaaa: return "AAAA";
    case rrtype::kSrv: return "SRV";
  }
  return "TYPE" + std::to_string(t);
}

/// "name. ttl TYPE rdata" as dig prints it (names lowercase-preserving, one space apart).
inline std::string recordText(std::span<const uint8_t> msg, const ParsedRecord& r) {
  std::string out = nameToText(r.name) + " " + std::to_string(r.ttl) + " " + typeName(r.type) + " ";
  const uint8_t* p = msg.data() + r.rdata_offset;
  size_t pos = r.rdata_offset;
  WireName n1, n2;
  char ip[64] = {};
  switch (r.type) {
    case rrtype::kA: inet_ntop(AF_INET, p, ip, sizeof ip); return out + ip;
    case rrtype::kAaaa: inet_ntop(AF_INET6, p, ip, sizeof ip); return out + ip;
    case rrtype::kCname:
    case rrtype::kPtr:
    case rrtype::kNs: readName(msg, pos, n1); return out + nameToText(n1);
    case rrtype::kSrv:
      pos += 6;
      readName(msg, pos, n1);
      return out + std::to_string(readU16(p)) + " " + std::to_string(readU16(p + 2)) + " " + std::to_string(readU16(p + 4)) +
             " " + nameToText(n1);
    case rrtype::kTxt: return out + "\"" + std::string(reinterpret_cast<const char*>(p + 1), p[0]) + "\"";
    case rrtype::kSoa: {
      readName(msg, pos, n1);
      readName(msg, pos, n2);
      const uint8_t* s = msg.data() + pos;
      return out + nameToText(n1) + " " + nameToText(n2) + " " + std::to_string(readU32(s)) + " " +
             std::to_string(readU32(s + 4)) + " " + std::to_string(readU32(s + 8)) + " " +
             std::to_string(readU32(s + 12)) + " " + std::to_string(readU32(s + 16));
    }
  }
  return out + "?";
}

struct Decoded {
  Message m;
  uint16_t rcode = 0;
  bool aa = false, tc = false;
  std::vector<std::string> answer, authority, additional;
  std::string question;  // as received (case kept)
};

/// Parses a reply strictly (fails the test through an empty `question` when it does not parse).
inline Decoded decode(std::span<const uint8_t> msg) {
  Decoded d;
  if (parseMessage(msg, d.m) != ParseError::kNone) return d;
  d.rcode = uint16_t(rcodeOf(d.m.header.flags));
  d.aa = d.m.header.flags & kFlagAa;
  d.tc = d.m.header.flags & kFlagTc;
  if (!d.m.questions.empty()) d.question = nameToText(d.m.questions[0].name);
  for (const auto& r : d.m.answers) d.answer.push_back(recordText(msg, r));
  for (const auto& r : d.m.authority) d.authority.push_back(recordText(msg, r));
  for (const auto& r : d.m.additional) d.additional.push_back(recordText(msg, r));
  return d;
}

}  // namespace minikd::dns::testing
