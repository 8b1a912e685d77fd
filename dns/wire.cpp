#include "dns/wire.h"

#include <cstring>

namespace minikd::dns {
namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }

// Skips a record's fixed part after its name; fills rec. `in_additional` allows OPT.
ParseError readRecordFixed(std::span<const uint8_t> msg, size_t& pos, ParsedRecord& rec) {
  if (pos + 10 > msg.size()) return ParseError::kTruncated;
  const uint8_t* p = msg.data() + pos;
  rec.type = readU16(p);
  rec.cls = readU16(p + 2);
  rec.ttl = readU32(p + 4);
  rec.ttl_offset = uint16_t(pos + 4);
  rec.rdata_length = readU16(p + 8);
  pos += 10;
  rec.rdata_offset = uint16_t(pos);
  if (pos + rec.rdata_length > msg.size()) return ParseError::kTruncated;
  pos += rec.rdata_length;
  return ParseError::kNone;
}

// Validates the rdata of types whose layout is fixed or contains names.
ParseError checkRdata(std::span<const uint8_t> msg, const ParsedRecord& rec) {
  size_t pos = rec.rdata_offset;
  const size_t end = pos + rec.rdata_length;
  WireName scratch;
  auto name = [&]() {
    auto e = readName(msg, pos, scratch);
    if (e == ParseError::kNone && pos > end) return ParseError::kBadRdata;
    return e;
  };
  switch (rec.type) {
    case rrtype::kA:
      return rec.rdata_length == 4 ? ParseError::kNone : ParseError::kBadRdata;
    case rrtype::kAaaa:
      return rec.rdata_length == 16 ? ParseError::kNone : ParseError::kBadRdata;
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kPtr:
      if (auto e = name(); e != ParseError::kNone) return e;
      break;
    case rrtype::kSrv:
      if (rec.rdata_length < 7) return ParseError::kBadRdata;
      pos += 6;
      if (auto e = name(); e != ParseError::kNone) return e;
      break;
    case rrtype::kSoa:
      if (auto e = name(); e != ParseError::kNone) return e;
      if (auto e = name(); e != ParseError::kNone) return e;
      pos += 20;
      break;
    default:
      return ParseError::kNone;
  }
  return pos == end ? ParseError::kNone : ParseError::kBadRdata;
}

// Reads the OPT record whose fixed part is in rec.
ParseError readOpt(const ParsedRecord& rec, std::optional<Edns>& edns) {
  if (edns) return ParseError::kBadOpt;
  if (rec.name.size() != 1) return ParseError::kBadOpt;
  Edns e;
  e.udp_size = rec.cls < kMinUdpSize ? kMinUdpSize : rec.cls;
  e.version = uint8_t(rec.ttl >> 16);
  e.dnssec_ok = (rec.ttl & 0x8000) != 0;
  e.extended_rcode = uint8_t(rec.ttl >> 24);
  edns = e;
  return ParseError::kNone;
}

ParseError readQuestion(std::span<const uint8_t> msg, size_t& pos, Question& q) {
  if (auto e = readName(msg, pos, q.name); e != ParseError::kNone) return e;
  if (pos + 4 > msg.size()) return ParseError::kTruncated;
  q.type = readU16(msg.data() + pos);
  q.cls = readU16(msg.data() + pos + 2);
  pos += 4;
  return ParseError::kNone;
}

// Reads `count` records; OPT goes to `edns` when allowed, others to `out` (when not null).
ParseError readSection(std::span<const uint8_t> msg, size_t& pos, uint16_t count, bool allow_opt,
                       std::vector<ParsedRecord>* out, std::optional<Edns>& edns, bool check_rdata) {
  ParsedRecord rec;
  for (uint16_t i = 0; i < count; ++i) {
    if (auto e = readName(msg, pos, rec.name); e != ParseError::kNone) return e;
    if (auto e = readRecordFixed(msg, pos, rec); e != ParseError::kNone) return e;
    if (rec.type == rrtype::kOpt) {
      if (!allow_opt) return ParseError::kBadOpt;
      if (auto e = readOpt(rec, edns); e != ParseError::kNone) return e;
      continue;
    }
    if (check_rdata)
      if (auto e = checkRdata(msg, rec); e != ParseError::kNone) return e;
    if (out) out->push_back(rec);
  }
  return ParseError::kNone;
}

}  // namespace

const char* parseErrorName(ParseError e) {
  switch (e) {
    case ParseError::kNone: return "ok";
    case ParseError::kShortHeader: return "short header";
    case ParseError::kTruncated: return "truncated";
    case ParseError::kBadPointer: return "bad compression pointer";
    case ParseError::kNameTooLong: return "name too long";
    case ParseError::kBadLabelType: return "bad label type";
    case ParseError::kBadQuestionCount: return "not exactly one question";
    case ParseError::kBadOpt: return "bad OPT record";
    case ParseError::kBadRdata: return "bad rdata";
    case ParseError::kTrailingData: return "trailing data";
  }
  return "?";
}

bool parseHeader(std::span<const uint8_t> msg, Header& h) {
  if (msg.size() < kHeaderSize) return false;
  const uint8_t* p = msg.data();
  h = Header{readU16(p), readU16(p + 2), readU16(p + 4), readU16(p + 6), readU16(p + 8), readU16(p + 10)};
  return true;
}

ParseError readName(std::span<const uint8_t> msg, size_t& pos, WireName& out) {
  out.clear();
  size_t p = pos;
  // Every pointer must point before the start of the segment it was found in: targets strictly
  // decrease, so a loop is impossible and the walk ends.
  size_t segment_start = pos;
  bool jumped = false;
  while (true) {
    if (p >= msg.size()) return ParseError::kTruncated;
    const uint8_t len = msg[p];
    if ((len & 0xC0) == 0xC0) {
      if (p + 1 >= msg.size()) return ParseError::kTruncated;
      const size_t target = size_t(len & 0x3F) << 8 | msg[p + 1];
      if (target >= segment_start) return ParseError::kBadPointer;
      if (!jumped) pos = p + 2;
      jumped = true;
      segment_start = target;
      p = target;
      continue;
    }
    if (len & 0xC0) return ParseError::kBadLabelType;
    if (out.size() + 1 + len > kMaxNameLength) return ParseError::kNameTooLong;
    if (p + 1 + len > msg.size()) return ParseError::kTruncated;
    out.append(reinterpret_cast<const char*>(msg.data() + p), 1 + len);
    p += 1 + len;
    if (len == 0) break;
  }
  if (!jumped) pos = p;
  return ParseError::kNone;
}

ParseError parseQuery(std::span<const uint8_t> msg, Query& out) {
  if (!parseHeader(msg, out.header)) return ParseError::kShortHeader;
  out.edns.reset();
  if (out.header.qdcount != 1) return ParseError::kBadQuestionCount;
  size_t pos = kHeaderSize;
  if (auto e = readQuestion(msg, pos, out.question); e != ParseError::kNone) return e;
  out.question_end = pos;
  if (auto e = readSection(msg, pos, out.header.ancount, false, nullptr, out.edns, false); e != ParseError::kNone)
    return e;
  if (auto e = readSection(msg, pos, out.header.nscount, false, nullptr, out.edns, false); e != ParseError::kNone)
    return e;
  if (auto e = readSection(msg, pos, out.header.arcount, true, nullptr, out.edns, false); e != ParseError::kNone)
    return e;
  return pos == msg.size() ? ParseError::kNone : ParseError::kTrailingData;
}

ParseError parseMessage(std::span<const uint8_t> msg, Message& out) {
  out = Message{};
  if (!parseHeader(msg, out.header)) return ParseError::kShortHeader;
  size_t pos = kHeaderSize;
  for (uint16_t i = 0; i < out.header.qdcount; ++i) {
    Question q;
    if (auto e = readQuestion(msg, pos, q); e != ParseError::kNone) return e;
    out.questions.push_back(std::move(q));
  }
  if (auto e = readSection(msg, pos, out.header.ancount, false, &out.answers, out.edns, true); e != ParseError::kNone)
    return e;
  if (auto e = readSection(msg, pos, out.header.nscount, false, &out.authority, out.edns, true);
      e != ParseError::kNone)
    return e;
  if (auto e = readSection(msg, pos, out.header.arcount, true, &out.additional, out.edns, true);
      e != ParseError::kNone)
    return e;
  return pos == msg.size() ? ParseError::kNone : ParseError::kTrailingData;
}

size_t labelCount(std::string_view wire) {
  size_t n = 0;
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1 + uint8_t(wire[i])) ++n;
  return n;
}

void splitLabels(std::string_view wire, std::vector<std::string_view>& out) {
  out.clear();
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1 + uint8_t(wire[i]))
    out.push_back(wire.substr(i + 1, uint8_t(wire[i])));
}

bool namesEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string nameToText(std::string_view wire) {
  std::string out;
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1 + uint8_t(wire[i])) {
    out.append(wire.substr(i + 1, uint8_t(wire[i])));
    out.push_back('.');
  }
  return out.empty() ? "." : out;
}

std::optional<WireName> nameFromText(std::string_view text) {
  if (!text.empty() && text.back() == '.') text.remove_suffix(1);
  WireName out;
  while (!text.empty()) {
    const size_t dot = text.find('.');
    const std::string_view label = text.substr(0, dot);
    if (label.empty() || label.size() > kMaxLabelLength) return std::nullopt;
    out.push_back(char(label.size()));
    out.append(label);
    if (dot == std::string_view::npos) break;
    text.remove_prefix(dot + 1);
    if (text.empty()) return std::nullopt;  // "a..": empty label
  }
  out.push_back('\0');
  if (out.size() > kMaxNameLength) return std::nullopt;
  return out;
}

WireName lowercaseName(std::string_view wire) {
  WireName out(wire);
  for (auto& c : out) c = lower(c);  // length bytes are < 64, never in 'A'..'Z'
  return out;
}

bool Writer::fits(size_t n) {
  if (!ok_ || size_ + n > cap_) {
    ok_ = false;
    return false;
  }
  return true;
}

void Writer::putU8(uint8_t v) {
  if (fits(1)) buf_[size_++] = v;
}

void Writer::putU16(uint16_t v) {
  if (!fits(2)) return;
  buf_[size_++] = uint8_t(v >> 8);
  buf_[size_++] = uint8_t(v);
}

void Writer::putU32(uint32_t v) {
  putU16(uint16_t(v >> 16));
  putU16(uint16_t(v));
}

void Writer::putBytes(const void* p, size_t n) {
  if (!fits(n)) return;
  std::memcpy(buf_ + size_, p, n);
  size_ += n;
}

void Writer::setU16At(size_t offset, uint16_t v) {
  if (offset + 2 > size_) return;
  buf_[offset] = uint8_t(v >> 8);
  buf_[offset + 1] = uint8_t(v);
}

// True when the (possibly compressed) name written at `offset` equals `wire` ignoring case.
bool Writer::matchesAt(size_t offset, std::string_view wire) const {
  size_t p = offset, i = 0;
  for (int hops = 0; hops < 128; ++hops) {
    if (p >= size_ || i >= wire.size()) return false;
    const uint8_t len = buf_[p];
    if ((len & 0xC0) == 0xC0) {
      p = size_t(len & 0x3F) << 8 | buf_[p + 1];
      continue;
    }
    if (uint8_t(wire[i]) != len) return false;
    if (len == 0) return true;
    for (size_t k = 1; k <= len; ++k)
      if (lower(char(buf_[p + k])) != lower(wire[i + k])) return false;
    p += 1 + len;
    i += 1 + len;
  }
  return false;
}

void Writer::remember(size_t offset) {
  if (offset < 0x4000 && n_targets_ < targets_.size()) targets_[n_targets_++] = uint16_t(offset);
}

void Writer::putName(std::string_view wire) {
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1 + uint8_t(wire[i])) {
    const std::string_view suffix = wire.substr(i);
    for (size_t t = 0; t < n_targets_; ++t) {
      if (matchesAt(targets_[t], suffix)) {
        putU16(uint16_t(0xC000 | targets_[t]));
        return;
      }
    }
    remember(size_);
    putBytes(wire.data() + i, 1 + uint8_t(wire[i]));
  }
  putU8(0);
}

void Writer::putNameUncompressed(std::string_view wire) {
  for (size_t i = 0; i < wire.size() && wire[i] != 0; i += 1 + uint8_t(wire[i])) {
    remember(size_);
    putBytes(wire.data() + i, 1 + uint8_t(wire[i]));
  }
  putU8(0);
}

void putHeader(Writer& w, const Header& h) {
  w.putU16(h.id);
  w.putU16(h.flags);
  w.putU16(h.qdcount);
  w.putU16(h.ancount);
  w.putU16(h.nscount);
  w.putU16(h.arcount);
}

}  // namespace minikd::dns
