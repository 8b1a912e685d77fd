#include "api/spdy.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cctype>

namespace minikd::api::spdy {
namespace {

constexpr size_t kFrameHeaderSize = 8;
constexpr uint32_t kMaxLength24 = 0xffffff;
constexpr uint32_t kStreamIdMask = 0x7fffffff;

enum ControlType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

/// The dictionary of SPDY/3 section 2.6.10.1: length-prefixed common header names and values, then a
/// run of status codes, reason phrases, dates and content types.
std::string buildDictionary() {
  static constexpr std::array<std::string_view, 65> kWords = {
      "options", "head", "post", "put", "delete", "trace", "accept", "accept-charset", "accept-encoding",
      "accept-language", "accept-ranges", "age", "allow", "authorization", "cache-control", "connection",
      "content-base", "content-encoding", "content-language", "content-length", "content-location",
      "content-md5", "content-range", "content-type", "date", "etag", "expect", "expires", "from", "host",
      "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified",
      "location", "max-forwards", "pragma", "proxy-authenticate", "proxy-authorization", "range", "referer",
      "retry-after", "server", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "vary", "via",
      "warning", "www-authenticate", "method", "get", "status", "200 OK", "version", "HTTP/1.1", "url",
      "public", "set-cookie", "keep-alive", "origin"};
  static constexpr std::string_view kTail =
      "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
      "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
      "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
      "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
      "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
      "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";
  std::string dict;
  for (std::string_view word : kWords) {
    const auto n = static_cast<uint32_t>(word.size());
    dict += static_cast<char>(n >> 24);
    dict += static_cast<char>(n >> 16);
    dict += static_cast<char>(n >> 8);
    dict += static_cast<char>(n);
    dict += word;
  }
  dict += kTail;
  return dict;
}

void put32(std::string& out, uint32_t v) {
  out += static_cast<char>(v >> 24);
  out += static_cast<char>(v >> 16);
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v);
}

uint32_t get32(std::string_view b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
}

/// The 8-byte control frame header: control bit, version, type, flags, 24-bit length.
std::string controlHeader(uint16_t type, uint8_t flags, size_t length) {
  std::string out;
  out.reserve(kFrameHeaderSize + length);
  put32(out, 0x80000000u | (uint32_t(kVersion) << 16) | type);
  put32(out, (uint32_t(flags) << 24) | static_cast<uint32_t>(length));
  return out;
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// The uncompressed name/value block: 32-bit count, then 32-bit length + name, 32-bit length + value.
/// Pairs with the same name become one entry with the values joined by NUL (names must be unique).
std::string encodeHeaderBlock(const HeaderList& headers) {
  HeaderList merged;
  for (const auto& [name, value] : headers) {
    std::string lower = lowercase(name);
    auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& p) { return p.first == lower; });
    if (it == merged.end()) {
      merged.emplace_back(std::move(lower), value);
    } else {
      it->second += '\0';
      it->second += value;
    }
  }
  std::string block;
  put32(block, static_cast<uint32_t>(merged.size()));
  for (const auto& [name, value] : merged) {
    put32(block, static_cast<uint32_t>(name.size()));
    block += name;
    put32(block, static_cast<uint32_t>(value.size()));
    block += value;
  }
  return block;
}

/// Parses an uncompressed name/value block; throws ProtocolError when it is malformed.
HeaderList parseHeaderBlock(std::string_view block) {
  auto need = [&](size_t at, size_t n) {
    if (block.size() < at || block.size() - at < n) throw ProtocolError("spdy: truncated name/value header block");
  };
  need(0, 4);
  const uint32_t count = get32(block, 0);
  if (count > (block.size() - 4) / 8) throw ProtocolError("spdy: header block claims " + std::to_string(count) + " pairs");
  HeaderList headers;
  size_t at = 4;
  for (uint32_t i = 0; i < count; ++i) {
    need(at, 4);
    const uint32_t name_len = get32(block, at);
    at += 4;
    need(at, name_len);
    if (name_len == 0) throw ProtocolError("spdy: empty header name");
    std::string name = lowercase(block.substr(at, name_len));
    at += name_len;
    need(at, 4);
    const uint32_t value_len = get32(block, at);
    at += 4;
    need(at, value_len);
    std::string_view value = block.substr(at, value_len);
    at += value_len;
    // NUL separates several values of one header.
    size_t start = 0;
    for (size_t nul = value.find('\0'); nul != std::string_view::npos; nul = value.find('\0', start)) {
      headers.emplace_back(name, std::string(value.substr(start, nul - start)));
      start = nul + 1;
    }
    headers.emplace_back(std::move(name), std::string(value.substr(start)));
  }
  if (at != block.size()) throw ProtocolError("spdy: " + std::to_string(block.size() - at) + " bytes after the header block");
  return headers;
}

const char* frameTypeName(uint16_t type) {
  switch (type) {
    case kSynStream: return "SYN_STREAM";
    case kSynReply: return "SYN_REPLY";
    case kRstStream: return "RST_STREAM";
    case kSettings: return "SETTINGS";
    case kPing: return "PING";
    case kGoAway: return "GOAWAY";
    case kHeaders: return "HEADERS";
    case kWindowUpdate: return "WINDOW_UPDATE";
    case 0: return "DATA";
    default: return "control";
  }
}

}  // namespace

std::string_view headerDictionary() {
  static const std::string dict = buildDictionary();
  return dict;
}

std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name) {
  const std::string lower = lowercase(name);
  for (const auto& [n, v] : headers) {
    if (lowercase(n) == lower) return v;
  }
  return std::nullopt;
}

std::optional<std::string> Frame::header(std::string_view name) const { return findHeader(headers, name); }

/// The two zlib streams (our deflate, the peer's inflate) and the undecoded input.
struct Codec::Impl {
  z_stream deflater{};
  z_stream inflater{};
  bool deflater_ready = false;
  bool inflater_ready = false;
  uint32_t max_payload;
  std::string in;    // bytes fed, not yet consumed
  size_t pos = 0;    // start of the unconsumed part of `in`

  explicit Impl(uint32_t max) : max_payload(std::min(max, kMaxLength24)) {
    if (deflateInit(&deflater, Z_DEFAULT_COMPRESSION) != Z_OK) throw std::runtime_error("spdy: deflateInit failed");
    deflater_ready = true;
    const std::string_view dict = headerDictionary();
    if (deflateSetDictionary(&deflater, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size())) != Z_OK) {
      throw std::runtime_error("spdy: deflateSetDictionary failed");
    }
    if (inflateInit(&inflater) != Z_OK) throw std::runtime_error("spdy: inflateInit failed");
    inflater_ready = true;
  }
  ~Impl() {
    if (deflater_ready) deflateEnd(&deflater);
    if (inflater_ready) inflateEnd(&inflater);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  /// Compresses one header block, continuing the connection's stream, ending on a sync flush.
  std::string compress(const std::string& block) {
    std::string out;
    deflater.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
    deflater.avail_in = static_cast<uInt>(block.size());
    std::array<char, 4096> buf;
    do {
      deflater.next_out = reinterpret_cast<Bytef*>(buf.data());
      deflater.avail_out = static_cast<uInt>(buf.size());
      const int rc = deflate(&deflater, Z_SYNC_FLUSH);
      if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("spdy: deflate failed: " + std::to_string(rc));
      out.append(buf.data(), buf.size() - deflater.avail_out);
    } while (deflater.avail_out == 0);
    return out;
  }

  /// Decompresses one header block, continuing the peer's stream; sets the dictionary when asked.
  std::string decompress(std::string_view compressed) {
    std::string out;
    inflater.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    inflater.avail_in = static_cast<uInt>(compressed.size());
    std::array<char, 4096> buf;
    for (;;) {
      inflater.next_out = reinterpret_cast<Bytef*>(buf.data());
      inflater.avail_out = static_cast<uInt>(buf.size());
      int rc = inflate(&inflater, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT) {
        const std::string_view dict = headerDictionary();
        if (inflateSetDictionary(&inflater, reinterpret_cast<const Bytef*>(dict.data()), static_cast<uInt>(dict.size())) != Z_OK) {
          throw ProtocolError("spdy: header block uses a dictionary other than SPDY/3's");
        }
        rc = Z_OK;
      }
      out.append(buf.data(), buf.size() - inflater.avail_out);
      if (out.size() > max_payload) throw ProtocolError("spdy: decompressed header block exceeds " + std::to_string(max_payload) + " bytes");
      if (rc == Z_STREAM_END) throw ProtocolError("spdy: peer ended its header compression stream");
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw ProtocolError(std::string("spdy: corrupt compressed header block: ") + (inflater.msg ? inflater.msg : "zlib error"));
      }
      // Done when all input is consumed and inflate had room left (nothing pending).
      if (inflater.avail_in == 0 && inflater.avail_out != 0) return out;
      if (rc == Z_BUF_ERROR && inflater.avail_out != 0) throw ProtocolError("spdy: compressed header block makes no progress");
    }
  }

  std::string_view pending() const { return std::string_view(in).substr(pos); }

  void consume(size_t n) {
    pos += n;
    // Compact once the consumed prefix dominates, so the buffer does not grow without bound.
    if (pos == in.size()) {
      in.clear();
      pos = 0;
    } else if (pos > 64 * 1024 && pos > in.size() / 2) {
      in.erase(0, pos);
      pos = 0;
    }
  }

  Frame parseControl(uint16_t type, uint8_t flags, std::string_view p);
};

namespace {

void requireLength(uint16_t type, std::string_view p, size_t exact) {
  if (p.size() != exact) {
    throw ProtocolError(std::string("spdy: ") + frameTypeName(type) + " frame of " + std::to_string(p.size()) +
                        " bytes, want " + std::to_string(exact));
  }
}

void requireMinLength(uint16_t type, std::string_view p, size_t min) {
  if (p.size() < min) {
    throw ProtocolError(std::string("spdy: ") + frameTypeName(type) + " frame of " + std::to_string(p.size()) +
                        " bytes, want at least " + std::to_string(min));
  }
}

void requireStream(uint16_t type, uint32_t stream) {
  if (stream == 0) throw ProtocolError(std::string("spdy: ") + frameTypeName(type) + " frame on stream 0");
}

}  // namespace

Frame Codec::Impl::parseControl(uint16_t type, uint8_t flags, std::string_view p) {
  Frame f;
  f.flags = flags;
  f.control_type = type;
  switch (type) {
    case kSynStream:
      requireMinLength(type, p, 10);
      f.type = FrameType::SynStream;
      f.stream_id = get32(p, 0) & kStreamIdMask;
      f.associated_id = get32(p, 4) & kStreamIdMask;
      f.priority = static_cast<uint8_t>(uint8_t(p[8]) >> 5);
      requireStream(type, f.stream_id);
      f.headers = parseHeaderBlock(decompress(p.substr(10)));
      return f;
    case kSynReply:
    case kHeaders:
      requireMinLength(type, p, 4);
      f.type = type == kSynReply ? FrameType::SynReply : FrameType::Headers;
      f.stream_id = get32(p, 0) & kStreamIdMask;
      requireStream(type, f.stream_id);
      f.headers = parseHeaderBlock(decompress(p.substr(4)));
      return f;
    case kRstStream:
      requireLength(type, p, 8);
      f.type = FrameType::RstStream;
      f.stream_id = get32(p, 0) & kStreamIdMask;
      f.status = get32(p, 4);
      requireStream(type, f.stream_id);
      return f;
    case kSettings: {
      requireMinLength(type, p, 4);
      f.type = FrameType::Settings;
      const uint32_t count = get32(p, 0);
      if ((p.size() - 4) / 8 != count || (p.size() - 4) % 8 != 0) {
        throw ProtocolError("spdy: SETTINGS frame of " + std::to_string(p.size()) + " bytes claims " + std::to_string(count) + " entries");
      }
      for (uint32_t i = 0; i < count; ++i) {
        const uint32_t flags_id = get32(p, 4 + 8 * i);
        f.settings.push_back({static_cast<uint8_t>(flags_id >> 24), flags_id & 0xffffff, get32(p, 8 + 8 * i)});
      }
      return f;
    }
    case kPing:
      requireLength(type, p, 4);
      f.type = FrameType::Ping;
      f.ping_id = get32(p, 0);
      return f;
    case kGoAway:
      requireLength(type, p, 8);
      f.type = FrameType::GoAway;
      f.last_good_id = get32(p, 0) & kStreamIdMask;
      f.status = get32(p, 4);
      return f;
    case kWindowUpdate:
      requireLength(type, p, 8);
      f.type = FrameType::WindowUpdate;
      f.stream_id = get32(p, 0) & kStreamIdMask;
      f.delta = get32(p, 4) & kStreamIdMask;
      return f;
    default:
      // Unknown control frames (CREDENTIAL, future types) are to be ignored, not fatal.
      f.type = FrameType::Unknown;
      f.data.assign(p);
      return f;
  }
}

Codec::Codec(uint32_t max_payload) : impl_(std::make_unique<Impl>(max_payload)) {}
Codec::~Codec() = default;
Codec::Codec(Codec&&) noexcept = default;
Codec& Codec::operator=(Codec&&) noexcept = default;

void Codec::feed(std::string_view bytes) { impl_->in.append(bytes); }

size_t Codec::buffered() const { return impl_->pending().size(); }

std::optional<Frame> Codec::next() {
  const std::string_view b = impl_->pending();
  if (b.size() < kFrameHeaderSize) return std::nullopt;
  const uint32_t w0 = get32(b, 0);
  const uint32_t w1 = get32(b, 4);
  const uint8_t flags = static_cast<uint8_t>(w1 >> 24);
  const uint32_t length = w1 & kMaxLength24;
  const bool control = (w0 & 0x80000000u) != 0;
  if (control) {
    const auto version = static_cast<uint16_t>((w0 >> 16) & 0x7fff);
    if (version != kVersion) throw ProtocolError("spdy: control frame of version " + std::to_string(version) + ", want 3");
  }
  if (length > impl_->max_payload) {
    throw ProtocolError("spdy: frame of " + std::to_string(length) + " bytes exceeds the limit of " +
                        std::to_string(impl_->max_payload));
  }
  if (b.size() - kFrameHeaderSize < length) return std::nullopt;
  const std::string_view payload = b.substr(kFrameHeaderSize, length);
  Frame f;
  if (control) {
    f = impl_->parseControl(static_cast<uint16_t>(w0 & 0xffff), flags, payload);
  } else {
    f.type = FrameType::Data;
    f.stream_id = w0 & kStreamIdMask;
    f.flags = flags;
    requireStream(0, f.stream_id);
    f.data.assign(payload);
  }
  impl_->consume(kFrameHeaderSize + length);
  return f;
}

std::string Codec::headerFrame(uint16_t type, uint8_t flags, std::string prefix, const HeaderList& headers) {
  const std::string compressed = impl_->compress(encodeHeaderBlock(headers));
  const size_t length = prefix.size() + compressed.size();
  if (length > kMaxLength24) throw std::length_error("spdy: header block too large for one frame");
  std::string out = controlHeader(type, flags, length);
  out += prefix;
  out += compressed;
  return out;
}

std::string Codec::synReply(uint32_t stream, const HeaderList& headers, bool fin) {
  std::string prefix;
  put32(prefix, stream & kStreamIdMask);
  return headerFrame(kSynReply, fin ? kFlagFin : 0, std::move(prefix), headers);
}

std::string Codec::synStream(uint32_t stream, uint32_t associated, const HeaderList& headers, bool fin) {
  std::string prefix;
  put32(prefix, stream & kStreamIdMask);
  put32(prefix, associated & kStreamIdMask);
  prefix += '\0';  // priority 0 (3 bits) + 5 unused bits
  prefix += '\0';  // slot
  return headerFrame(kSynStream, fin ? kFlagFin : 0, std::move(prefix), headers);
}

std::string Codec::headers(uint32_t stream, const HeaderList& headers, bool fin) {
  std::string prefix;
  put32(prefix, stream & kStreamIdMask);
  return headerFrame(kHeaders, fin ? kFlagFin : 0, std::move(prefix), headers);
}

std::string Codec::data(uint32_t stream, std::string_view bytes, bool fin) {
  if (bytes.size() > kMaxLength24) throw std::length_error("spdy: data frame payload over 16 MiB");
  std::string out;
  out.reserve(kFrameHeaderSize + bytes.size());
  put32(out, stream & kStreamIdMask);
  put32(out, (uint32_t(fin ? kFlagFin : 0) << 24) | static_cast<uint32_t>(bytes.size()));
  out += bytes;
  return out;
}

namespace {

/// A control frame whose payload is two 32-bit words (RST_STREAM, GOAWAY, WINDOW_UPDATE).
std::string twoWordFrame(uint16_t type, uint32_t first, uint32_t second) {
  std::string out = controlHeader(type, 0, 8);
  put32(out, first);
  put32(out, second);
  return out;
}

}  // namespace

std::string Codec::rstStream(uint32_t stream, uint32_t status) {
  return twoWordFrame(kRstStream, stream & kStreamIdMask, status);
}

std::string Codec::ping(uint32_t id) {
  std::string out = controlHeader(kPing, 0, 4);
  put32(out, id);
  return out;
}

std::string Codec::goAway(uint32_t last_good, uint32_t status) {
  return twoWordFrame(kGoAway, last_good & kStreamIdMask, status);
}

std::string Codec::windowUpdate(uint32_t stream, uint32_t delta) {
  return twoWordFrame(kWindowUpdate, stream & kStreamIdMask, delta & kStreamIdMask);
}

}  // namespace minikd::api::spdy
