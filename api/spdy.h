#pragma once
// SPDY/3.1 frame codec for `kubectl port-forward` (and the SPDY side of exec): pure, no I/O.
//
// kubectl (moby/spdystream underneath) speaks SPDY/3.1 either inside the binary messages of a websocket
// (subprotocol "SPDY/3.1+portforward.k8s.io") or on the raw stream after "Upgrade: SPDY/3.1". Either way the
// bytes are one stream: Go writes a frame in several writes (one websocket message per field), so feed()
// takes any chunking and next() returns whole frames.
//
// Name/value header blocks (SYN_STREAM, SYN_REPLY, HEADERS) are zlib-compressed with the SPDY/3 dictionary
// as ONE continuous zlib stream per direction per connection: a Codec belongs to exactly one connection,
// and the frames its header encoders return must be written to the wire in the order they were encoded.

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace minikd::api::spdy {

/// The protocol version this codec speaks; control frames with another version are a ProtocolError.
constexpr uint16_t kVersion = 3;
/// FLAG_FIN on data frames and on SYN_STREAM / SYN_REPLY / HEADERS: the sender's half of the stream ends.
constexpr uint8_t kFlagFin = 0x01;
/// FLAG_UNIDIRECTIONAL on SYN_STREAM.
constexpr uint8_t kFlagUnidirectional = 0x02;
/// Default cap on one frame's payload (and on a decompressed header block). kubectl's data frames are at
/// most 32 KiB (io.Copy's buffer); the 24-bit length field would allow almost 16 MiB.
constexpr uint32_t kDefaultMaxPayload = 1u << 20;

/// RST_STREAM status codes (SPDY/3 section 2.6.3).
enum RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,  // what spdystream's Stream.Reset() sends (kubectl's Close() resets every stream)
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kFrameTooLarge = 11,
};

/// The bytes from the peer break the protocol (wrong version, oversized frame, bad header block, zlib
/// error). The connection cannot continue after this: the shared header-compression state is lost.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class FrameType { Data, SynStream, SynReply, RstStream, Settings, Ping, GoAway, Headers, WindowUpdate, Unknown };

/// Header names are lowercase on the wire. A value holding several values separated by NUL arrives as
/// several pairs with the same name; the encoders join pairs of the same name back with NUL.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One SETTINGS entry: 8-bit flags, 24-bit id, 32-bit value.
struct Setting {
  uint8_t flags = 0;
  uint32_t id = 0;
  uint32_t value = 0;
};

/// One decoded frame. Which fields are set depends on `type`:
/// Data: stream_id, flags, data. SynStream: stream_id, associated_id, priority, flags, headers.
/// SynReply/Headers: stream_id, flags, headers. RstStream: stream_id, status. Settings: flags, settings.
/// Ping: ping_id. GoAway: last_good_id, status. WindowUpdate: stream_id, delta.
/// Unknown: control_type, flags, data (the raw payload; the spec says to ignore such frames).
struct Frame {
  FrameType type = FrameType::Unknown;
  uint32_t stream_id = 0;
  uint8_t flags = 0;
  std::string data;
  HeaderList headers;
  uint32_t associated_id = 0, status = 0, ping_id = 0, delta = 0, last_good_id = 0;
  uint8_t priority = 0;
  uint16_t control_type = 0;
  std::vector<Setting> settings;

  /// FLAG_FIN is set: the peer will send nothing more on this stream.
  bool fin() const { return (flags & kFlagFin) != 0; }
  /// The value of the first header named `name` (lowercase), or nullopt.
  std::optional<std::string> header(std::string_view name) const;
};

/// The value of the first header named `name` in `headers`, or nullopt. Names compare case-insensitively.
std::optional<std::string> findHeader(const HeaderList& headers, std::string_view name);

/// SPDY/3 codec for one connection: a decoder for the peer's bytes and encoders for ours. The decoder
/// (feed/next) and the encoders use separate state, so one reading thread and one writing thread may use
/// them at the same time; the encoders themselves are not thread-safe (serialize them with the writes).
class Codec {
 public:
  /// `max_payload` caps one frame's payload and one decompressed header block; larger is a ProtocolError.
  explicit Codec(uint32_t max_payload = kDefaultMaxPayload);
  ~Codec();
  Codec(Codec&&) noexcept;
  Codec& operator=(Codec&&) noexcept;
  Codec(const Codec&) = delete;
  Codec& operator=(const Codec&) = delete;

  /// Appends bytes received from the peer, in any chunking.
  void feed(std::string_view bytes);
  /// The next complete frame, or nullopt when more bytes are needed. Throws ProtocolError on bad input.
  std::optional<Frame> next();
  /// Bytes fed but not yet returned as frames.
  size_t buffered() const;

  /// SYN_REPLY accepting the peer's stream (kubelet replies with no headers and fin = false).
  std::string synReply(uint32_t stream, const HeaderList& headers, bool fin = false);
  /// SYN_STREAM opening `stream` (priority 0, slot 0); what the client sends.
  std::string synStream(uint32_t stream, uint32_t associated, const HeaderList& headers, bool fin = false);
  /// HEADERS on an open stream.
  std::string headers(uint32_t stream, const HeaderList& headers, bool fin = false);
  /// One data frame; `bytes` must be shorter than 16 MiB (split larger writes).
  std::string data(uint32_t stream, std::string_view bytes, bool fin = false);
  /// RST_STREAM with one of RstStatus.
  std::string rstStream(uint32_t stream, uint32_t status);
  /// PING; the receiver echoes a PING whose id parity (odd = client) is not its own.
  std::string ping(uint32_t id);
  /// GOAWAY: `last_good` is the last peer stream this side accepted; status 0 = OK.
  std::string goAway(uint32_t last_good, uint32_t status = 0);
  /// WINDOW_UPDATE (spdystream neither sends nor needs these; kept for completeness).
  std::string windowUpdate(uint32_t stream, uint32_t delta);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string headerFrame(uint16_t type, uint8_t flags, std::string prefix, const HeaderList& headers);
};

/// The SPDY/3 header-compression dictionary (1423 bytes, zlib dictionary id 0xdfa251b2).
std::string_view headerDictionary();

}  // namespace minikd::api::spdy
