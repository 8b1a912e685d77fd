#pragma once
// The DNS wire format (RFC 1035, RFC 6891): a strict parser and a writer with name compression.
// Pure code: no sockets, no API types, so it also builds into the libFuzzer target.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace minikd::dns {

/// Record types the server knows by name.
namespace rrtype {
constexpr uint16_t kA = 1, kNs = 2, kCname = 5, kSoa = 6, kPtr = 12, kTxt = 16, kAaaa = 28, kSrv = 33, kOpt = 41,
                   kAxfr = 252, kAny = 255;
}
/// Response codes (kBadVers is extended: its upper bits travel in the OPT record).
namespace rcode {
constexpr uint16_t kNoError = 0, kFormErr = 1, kServFail = 2, kNxDomain = 3, kNotImp = 4, kRefused = 5, kBadVers = 16;
}
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kClassAny = 255;

constexpr uint16_t kFlagQr = 0x8000, kFlagAa = 0x0400, kFlagTc = 0x0200, kFlagRd = 0x0100, kFlagRa = 0x0080,
                   kFlagCd = 0x0010;
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxLabelLength = 63;
constexpr size_t kMaxMessage = 65535;
constexpr uint16_t kMinUdpSize = 512;
/// The largest UDP answer the server ever sends, whatever the client offers (RFC 9715 advice).
constexpr uint16_t kMaxUdpSize = 4096;

inline uint16_t opcodeOf(uint16_t flags) { return (flags >> 11) & 0xF; }
inline uint16_t rcodeOf(uint16_t flags) { return flags & 0xF; }

struct Header {
  uint16_t id = 0, flags = 0, qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
};

/// A domain name in uncompressed wire form ("\3www\7example\3com\0"), case as received.
using WireName = std::string;

struct Question {
  WireName name;
  uint16_t type = 0;
  uint16_t cls = 0;
};

/// The client's OPT pseudo-record.
struct Edns {
  uint16_t udp_size = kMinUdpSize;
  uint8_t version = 0;
  bool dnssec_ok = false;
  uint8_t extended_rcode = 0;  // the upper 8 bits of a reply's rcode
};

/// Why a message was rejected.
enum class ParseError {
  kNone,
  kShortHeader,    // fewer than 12 bytes: not even an id to answer
  kTruncated,      // a field runs past the end
  kBadPointer,     // a compression pointer that does not point strictly backwards (loops, forward refs)
  kNameTooLong,    // more than 255 bytes
  kBadLabelType,   // 0x40/0x80 label types
  kBadQuestionCount,
  kBadOpt,         // a second OPT, OPT with a non-root name or outside the additional section
  kBadRdata,       // rdata of a known type does not match its length
  kTrailingData,
};
const char* parseErrorName(ParseError e);

/// A record as parsed: rdata stays in the packet (offsets), names are decompressed.
struct ParsedRecord {
  WireName name;
  uint16_t type = 0, cls = 0;
  uint32_t ttl = 0;
  uint16_t ttl_offset = 0;    // where the TTL sits in the packet (for cache aging)
  uint16_t rdata_offset = 0;
  uint16_t rdata_length = 0;
};

/// A fully parsed message.
struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<ParsedRecord> answers, authority, additional;  // additional excludes the OPT record
  std::optional<Edns> edns;
};

/// A parsed query: the header, its one question and the OPT record. Reused between queries so that
/// parsing does not allocate once the name buffer has grown.
struct Query {
  Header header;
  Question question;
  std::optional<Edns> edns;
  size_t question_end = 0;  // offset just after the question
};

/// Reads a big-endian 16-bit value.
inline uint16_t readU16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
inline uint32_t readU32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

/// Reads the header. False when fewer than 12 bytes.
bool parseHeader(std::span<const uint8_t> msg, Header& out);
/// Reads a possibly compressed name at `pos` into `out` (uncompressed wire form) and advances `pos` past
/// it. Rejects pointer loops and forward pointers, names over 255 bytes and reserved label types.
ParseError readName(std::span<const uint8_t> msg, size_t& pos, WireName& out);
/// Parses a query strictly: exactly one question, any records after it well-formed, at most one OPT
/// (in the additional section, root name), no trailing bytes. Does not look at QR or the opcode.
ParseError parseQuery(std::span<const uint8_t> msg, Query& out);
/// Parses any message strictly (every section; names inside NS/CNAME/PTR/SOA/SRV rdata validated).
ParseError parseMessage(std::span<const uint8_t> msg, Message& out);

/// Number of labels in a wire name.
size_t labelCount(std::string_view wire);
/// The labels of a wire name, first (leftmost) to last, without the root.
void splitLabels(std::string_view wire, std::vector<std::string_view>& out);
/// True when both wire names are equal ignoring ASCII case.
bool namesEqual(std::string_view a, std::string_view b);
/// "www.example.com." ⇄ wire form. fromText returns nullopt on empty labels or length limits.
std::string nameToText(std::string_view wire);
std::optional<WireName> nameFromText(std::string_view text);
/// The wire name lowercased (ASCII).
WireName lowercaseName(std::string_view wire);

/// Builds a message into a caller's buffer, compressing names against those already written.
/// Every put* is a no-op after the first overflow; check ok() at the end.
class Writer {
 public:
  Writer(uint8_t* buf, size_t capacity) : buf_(buf), cap_(capacity) {}
  void putU8(uint8_t v);
  void putU16(uint16_t v);
  void putU32(uint32_t v);
  void putBytes(const void* p, size_t n);
  /// Writes a wire name, replacing its longest already-written suffix with a pointer.
  void putName(std::string_view wire);
  /// Writes a name without compressing it (it is still remembered as a compression target).
  void putNameUncompressed(std::string_view wire);
  void setU16At(size_t offset, uint16_t v);
  size_t size() const { return size_; }
  bool ok() const { return ok_; }
  uint8_t* data() { return buf_; }

 private:
  bool fits(size_t n);
  bool matchesAt(size_t offset, std::string_view wire) const;
  void remember(size_t offset);

  uint8_t* buf_;
  size_t cap_;
  size_t size_ = 0;
  bool ok_ = true;
  std::array<uint16_t, 96> targets_{};  // offsets of names (and their suffixes) written so far
  size_t n_targets_ = 0;
};

/// Writes a 12-byte header.
void putHeader(Writer& w, const Header& h);

}  // namespace minikd::dns
