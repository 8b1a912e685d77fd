// SPDY/3.1 codec: frame layouts byte for byte, header compression against zlib driven directly, round
// trips in both directions, arbitrary chunking, and the inputs that must be rejected.
#include "api/spdy.h"

#include <zlib.h>

#include <catch2/catch.hpp>

using namespace minikd::api::spdy;

namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string out;
  for (int c : b) out += static_cast<char>(c);
  return out;
}

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

uint32_t be32(std::string_view s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

std::string be32s(uint32_t v) { return bytes({int(v >> 24) & 255, int(v >> 16) & 255, int(v >> 8) & 255, int(v) & 255}); }

/// An uncompressed SPDY/3 name/value block, built by hand.
std::string block(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::string out = be32s(static_cast<uint32_t>(pairs.size()));
  for (const auto& [n, v] : pairs) out += be32s(uint32_t(n.size())) + n + be32s(uint32_t(v.size())) + v;
  return out;
}

/// zlib used directly (not through Codec): one deflate or inflate stream primed with the SPDY/3 dictionary.
class Zlib {
 public:
  explicit Zlib(bool deflating) : deflating_(deflating) {
    if (deflating_) {
      REQUIRE(deflateInit(&z_, Z_BEST_COMPRESSION) == Z_OK);
      auto d = headerDictionary();
      REQUIRE(deflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()), uInt(d.size())) == Z_OK);
    } else {
      REQUIRE(inflateInit(&z_) == Z_OK);
    }
  }
  ~Zlib() { deflating_ ? deflateEnd(&z_) : inflateEnd(&z_); }

  std::string deflateSync(const std::string& in) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = uInt(in.size());
    std::string out;
    char buf[256];
    do {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      REQUIRE(deflate(&z_, Z_SYNC_FLUSH) != Z_STREAM_ERROR);
      out.append(buf, sizeof buf - z_.avail_out);
    } while (z_.avail_out == 0);
    return out;
  }

  std::string inflateAll(const std::string& in) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = uInt(in.size());
    std::string out;
    char buf[256];
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof buf;
      int rc = inflate(&z_, Z_SYNC_FLUSH);
      if (rc == Z_NEED_DICT) {
        auto d = headerDictionary();
        REQUIRE(inflateSetDictionary(&z_, reinterpret_cast<const Bytef*>(d.data()), uInt(d.size())) == Z_OK);
        continue;
      }
      REQUIRE((rc == Z_OK || rc == Z_BUF_ERROR));
      out.append(buf, sizeof buf - z_.avail_out);
      if (z_.avail_in == 0 && z_.avail_out != 0) return out;
    }
  }

 private:
  bool deflating_;
  z_stream z_{};
};

std::vector<Frame> drain(Codec& c) {
  std::vector<Frame> out;
  while (auto f = c.next()) out.push_back(std::move(*f));
  return out;
}

Frame only(Codec& c, const std::string& wire) {
  c.feed(wire);
  auto f = c.next();
  REQUIRE(f);
  REQUIRE(c.buffered() == 0);
  return *f;
}

const HeaderList kErrorHeaders = {{"streamType", "error"}, {"port", "8080"}, {"requestID", "0"}};
const HeaderList kDataHeaders = {{"streamType", "data"}, {"port", "8080"}, {"requestID", "0"}};

}  // namespace

TEST_CASE("spdy: the header dictionary is SPDY/3's (length and zlib dictionary id)", "[spdy]") {
  auto d = headerDictionary();
  CHECK(d.size() == 1423);
  CHECK(adler32(1, reinterpret_cast<const Bytef*>(d.data()), uInt(d.size())) == 0xe3c6a7c2u);
  CHECK(d.substr(0, 11) == bytes({0, 0, 0, 7}) + "options");
  CHECK(d.substr(d.size() - 7) == ",enq=0.");
}

TEST_CASE("spdy: fixed-size control frames match the spec layout byte for byte", "[spdy]") {
  Codec c;
  // control bit + version 3 | type | flags | 24-bit length | fields
  CHECK(hex(c.ping(0x01020304)) == "800300060000000401020304");
  CHECK(hex(c.rstStream(5, kCancel)) == "80030003000000080000000500000005");
  CHECK(hex(c.goAway(7)) == "80030007000000080000000700000000");
  CHECK(hex(c.goAway(0x7fffffff, 2)) == "8003000700000008" "7fffffff" "00000002");
  CHECK(hex(c.windowUpdate(1, 65536)) == "80030009000000080000000100010000");
  // Stream ids are 31 bits: the reserved top bit is never sent.
  CHECK(hex(c.rstStream(0x80000003, kRefusedStream)) == "80030003000000080000000300000003");
}

TEST_CASE("spdy: data frames carry stream id, FLAG_FIN and a 24-bit length", "[spdy]") {
  Codec c;
  CHECK(hex(c.data(3, "hi")) == "00000003000000026869");
  CHECK(hex(c.data(3, "hi", true)) == "00000003010000026869");
  CHECK(hex(c.data(5, "", true)) == "0000000501000000");  // how spdystream's Stream.Close() ends a stream
  std::string big(70000, 'x');
  auto wire = c.data(1, big);
  CHECK(hex(wire.substr(0, 8)) == "0000000100011170");
  CHECK(wire.size() == 8 + 70000);
}

TEST_CASE("spdy: SYN_REPLY has the spec header and a zlib stream primed with the SPDY/3 dictionary", "[spdy]") {
  Codec c;
  auto wire = c.synReply(1, {});
  REQUIRE(wire.size() > 18);
  CHECK(hex(wire.substr(0, 4)) == "80030002");
  CHECK(uint8_t(wire[4]) == 0);                        // flags
  CHECK(be32(wire, 4) == wire.size() - 8);             // length covers stream id + compressed block
  CHECK(be32(wire, 8) == 1);                           // stream id
  const std::string z = wire.substr(12);
  CHECK(uint8_t(z[0]) == 0x78);                        // deflate, 32 KiB window
  CHECK((uint8_t(z[1]) & 0x20) != 0);                  // FDICT
  CHECK(((uint8_t(z[0]) << 8) | uint8_t(z[1])) % 31 == 0);
  CHECK(be32(z, 2) == 0xe3c6a7c2u);                    // the dictionary id
  CHECK(hex(z.substr(z.size() - 4)) == "0000ffff");    // ends on a sync flush

  Zlib inflater(false);
  CHECK(inflater.inflateAll(z) == block({}));          // kubelet's reply: an empty header block

  // The next block continues the same zlib stream: no new zlib header, and it inflates only in sequence.
  auto second = c.synReply(3, {{"Port", "8080"}}, true);
  CHECK(uint8_t(second[4]) == kFlagFin);
  CHECK(be32(second, 8) == 3);
  const std::string z2 = second.substr(12);
  CHECK(uint8_t(z2[0]) != 0x78);
  CHECK(inflater.inflateAll(z2) == block({{"port", "8080"}}));  // names are lowercased
}

TEST_CASE("spdy: SYN_STREAM layout: stream, associated stream, priority and slot, then the block", "[spdy]") {
  Codec c;
  auto wire = c.synStream(5, 0, kErrorHeaders);
  CHECK(hex(wire.substr(0, 4)) == "80030001");
  CHECK(be32(wire, 4) == wire.size() - 8);
  CHECK(hex(wire.substr(8, 10)) == "00000005000000000000");
  Zlib inflater(false);
  CHECK(inflater.inflateAll(wire.substr(18)) ==
        block({{"streamtype", "error"}, {"port", "8080"}, {"requestid", "0"}}));
}

TEST_CASE("spdy: decodes a SYN_STREAM whose block was compressed by zlib directly", "[spdy]") {
  Zlib deflater(true);
  Codec server;
  // What kubectl's first two streams look like on the wire: same zlib stream across frames.
  for (uint32_t id : {1u, 3u}) {
    const std::string type = id == 1 ? "error" : "data";
    std::string z = deflater.deflateSync(block({{"streamtype", type}, {"port", "80"}, {"requestid", "7"}}));
    std::string frame = bytes({0x80, 0x03, 0x00, 0x01}) + be32s(uint32_t(10 + z.size())) + be32s(id) + be32s(0) +
                        bytes({0x60, 0}) + z;  // priority 3
    server.feed(frame);
    auto f = server.next();
    REQUIRE(f);
    CHECK(f->type == FrameType::SynStream);
    CHECK(f->stream_id == id);
    CHECK(f->associated_id == 0);
    CHECK(f->priority == 3);
    CHECK_FALSE(f->fin());
    CHECK(f->header("streamtype") == type);
    CHECK(f->header("Port") == "80");
    CHECK(f->header("requestid") == "7");
    CHECK_FALSE(f->header("missing"));
  }
}

TEST_CASE("spdy: client to server and back, header compression continued over many frames", "[spdy]") {
  Codec client, server;
  std::string up;
  for (int i = 0; i < 3; ++i) {
    up += client.synStream(uint32_t(1 + 4 * i), 0, kErrorHeaders, false);
    up += client.data(uint32_t(1 + 4 * i), "", true);  // kubectl closes its half of the error stream at once
    up += client.synStream(uint32_t(3 + 4 * i), 0, kDataHeaders);
    up += client.data(uint32_t(3 + 4 * i), "GET / HTTP/1.0\r\n\r\n");
  }
  up += client.ping(1);
  up += client.rstStream(3, kCancel);
  up += client.goAway(0);
  server.feed(up);
  auto frames = drain(server);
  REQUIRE(frames.size() == 15);
  CHECK(server.buffered() == 0);
  for (int i = 0; i < 3; ++i) {
    const Frame& err = frames[4 * i];
    CHECK(err.type == FrameType::SynStream);
    CHECK(err.stream_id == uint32_t(1 + 4 * i));
    CHECK(err.headers == HeaderList{{"streamtype", "error"}, {"port", "8080"}, {"requestid", "0"}});
    CHECK(frames[4 * i + 1].type == FrameType::Data);
    CHECK(frames[4 * i + 1].fin());
    CHECK(frames[4 * i + 1].data.empty());
    CHECK(frames[4 * i + 2].header("streamtype") == "data");
    CHECK(frames[4 * i + 3].data == "GET / HTTP/1.0\r\n\r\n");
    CHECK_FALSE(frames[4 * i + 3].fin());
  }
  CHECK(frames[12].type == FrameType::Ping);
  CHECK(frames[12].ping_id == 1);
  CHECK(frames[13].type == FrameType::RstStream);
  CHECK(frames[13].stream_id == 3);
  CHECK(frames[13].status == kCancel);
  CHECK(frames[14].type == FrameType::GoAway);
  CHECK(frames[14].last_good_id == 0);
  CHECK(frames[14].status == 0);

  std::string down;
  down += server.synReply(1, {});
  down += server.synReply(3, {});
  down += server.data(3, "HTTP/1.0 200 OK\r\n\r\nhello");
  down += server.headers(3, {{"x-a", "1"}, {"x-a", "2"}, {"x-b", ""}});
  down += server.data(1, "error forwarding port 8080: connection refused", true);
  down += server.data(3, "", true);
  down += server.ping(1);  // the echo
  down += server.windowUpdate(3, 1000);
  client.feed(down);
  auto back = drain(client);
  REQUIRE(back.size() == 8);
  CHECK(back[0].type == FrameType::SynReply);
  CHECK(back[0].stream_id == 1);
  CHECK(back[0].headers.empty());
  CHECK(back[1].stream_id == 3);
  CHECK(back[2].data == "HTTP/1.0 200 OK\r\n\r\nhello");
  CHECK(back[3].type == FrameType::Headers);
  // Same-name pairs travel as one NUL-joined value and come back as separate pairs.
  CHECK(back[3].headers == HeaderList{{"x-a", "1"}, {"x-a", "2"}, {"x-b", ""}});
  CHECK(back[4].data == "error forwarding port 8080: connection refused");
  CHECK(back[4].fin());
  CHECK(back[5].fin());
  CHECK(back[6].ping_id == 1);
  CHECK(back[7].type == FrameType::WindowUpdate);
  CHECK(back[7].stream_id == 3);
  CHECK(back[7].delta == 1000);
}

TEST_CASE("spdy: frames fed one byte at a time decode the same", "[spdy]") {
  Codec client, server;
  // One statement per frame: header frames must hit the wire in the order they were compressed (the
  // operands of one `+` expression may be evaluated in any order).
  std::string up = client.synStream(1, 0, kErrorHeaders);
  up += client.data(1, "", true);
  up += client.synStream(3, 0, kDataHeaders);
  up += client.data(3, std::string(5000, 'z'));
  up += client.ping(3);
  std::vector<Frame> frames;
  for (char ch : up) {
    server.feed(std::string_view(&ch, 1));
    while (auto f = server.next()) frames.push_back(std::move(*f));
  }
  REQUIRE(frames.size() == 5);
  CHECK(frames[0].header("streamtype") == "error");
  CHECK(frames[2].header("streamtype") == "data");
  CHECK(frames[2].stream_id == 3);
  CHECK(frames[3].data == std::string(5000, 'z'));
  CHECK(frames[4].ping_id == 3);
  CHECK(server.buffered() == 0);
}

TEST_CASE("spdy: SETTINGS and unknown control frames decode without failing", "[spdy]") {
  Codec c;
  // SETTINGS, flags 0, two entries: INITIAL_WINDOW_SIZE (7) = 65536 persisted (flag 2), MAX_CONCURRENT (4) = 100.
  auto s = only(c, bytes({0x80, 3, 0, 4, 0, 0, 0, 20, 0, 0, 0, 2, 2, 0, 0, 7, 0, 1, 0, 0, 0, 0, 0, 4, 0, 0, 0, 100}));
  CHECK(s.type == FrameType::Settings);
  REQUIRE(s.settings.size() == 2);
  CHECK(s.settings[0].flags == 2);
  CHECK(s.settings[0].id == 7);
  CHECK(s.settings[0].value == 65536);
  CHECK(s.settings[1].id == 4);
  CHECK(s.settings[1].value == 100);
  // CREDENTIAL (10) is not used by Go; it is returned as Unknown with its payload.
  auto u = only(c, bytes({0x80, 3, 0, 10, 0, 0, 0, 3, 'a', 'b', 'c'}));
  CHECK(u.type == FrameType::Unknown);
  CHECK(u.control_type == 10);
  CHECK(u.data == "abc");
}

TEST_CASE("spdy: bad input is a ProtocolError", "[spdy]") {
  SECTION("control frame of version 2") {
    Codec c;
    c.feed(bytes({0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1}));
    CHECK_THROWS_AS(c.next(), ProtocolError);
  }
  SECTION("oversized frame is rejected from its header alone") {
    Codec c;
    c.feed(bytes({0, 0, 0, 1, 0, 0xff, 0xff, 0xff}));
    CHECK_THROWS_AS(c.next(), ProtocolError);
    Codec small(64);
    small.feed(small.data(1, std::string(64, 'a')));
    CHECK(small.next());
    small.feed(small.data(1, std::string(65, 'a')));
    CHECK_THROWS_WITH(small.next(), Catch::Contains("exceeds"));
  }
  SECTION("plain HTTP instead of SPDY") {
    Codec c;
    c.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    CHECK_THROWS_AS(c.next(), ProtocolError);
  }
  SECTION("wrong fixed lengths and stream 0") {
    Codec c;
    c.feed(bytes({0x80, 3, 0, 6, 0, 0, 0, 5, 0, 0, 0, 1, 0}));  // PING of 5 bytes
    CHECK_THROWS_AS(c.next(), ProtocolError);
    Codec d;
    d.feed(d.data(0, "x"));
    CHECK_THROWS_AS(d.next(), ProtocolError);
    Codec r;
    r.feed(r.rstStream(0, kCancel));
    CHECK_THROWS_AS(r.next(), ProtocolError);
    Codec s;
    s.feed(bytes({0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0, 0, 2, 0, 0, 0, 7, 0, 0, 0, 1}));  // SETTINGS claims 2, has 1
    CHECK_THROWS_AS(s.next(), ProtocolError);
  }
  // Real bytes from moby/spdystream's spdy_test.go (TestReadMalformedZlibHeader): a SPDY/2 SYN_REPLY for
  // stream 2 whose zlib header byte was corrupted (0x17 instead of 0x78), re-typed as SPDY/3 (version 3,
  // no 2-byte "unused" field after the stream id, length 0x14 - 2).
  SECTION("corrupt zlib header") {
    Codec c;
    c.feed(bytes({0x80, 3, 0, 2, 0, 0, 0, 0x12, 0, 0, 0, 2, 0x17, 0xf9, 0xdf, 0xa2, 0x51, 0xb2, 0x62, 0x60, 0, 0, 0, 0, 0xff,
                  0xff}));
    CHECK_THROWS_AS(c.next(), ProtocolError);
  }
  SECTION("zlib stream primed with SPDY/2's dictionary") {  // the same fixture, header byte repaired
    Codec c;
    c.feed(bytes({0x80, 3, 0, 2, 0, 0, 0, 0x12, 0, 0, 0, 2, 0x78, 0xf9, 0xdf, 0xa2, 0x51, 0xb2, 0x62, 0x60, 0, 0, 0, 0, 0xff,
                  0xff}));
    CHECK_THROWS_WITH(c.next(), Catch::Contains("dictionary"));
  }
  SECTION("malformed name/value block") {
    for (const std::string& raw : {be32s(1000) + be32s(1) + "a" + be32s(0),
                                   block({{"", "x"}}),
                                   block({{"a", "b"}}) + "zz",
                                   std::string("\0\0", 2)}) {
      Zlib deflater(true);
      std::string z = deflater.deflateSync(raw);
      Codec c;
      c.feed(bytes({0x80, 3, 0, 2}) + be32s(uint32_t(4 + z.size())) + be32s(1) + z);
      CHECK_THROWS_AS(c.next(), ProtocolError);
    }
  }
  SECTION("compressed garbage") {
    Codec c;
    c.feed(bytes({0x80, 3, 0, 2, 0, 0, 0, 12, 0, 0, 0, 1}) + "notzlib!");
    CHECK_THROWS_AS(c.next(), ProtocolError);
  }
}

TEST_CASE("spdy: a Codec moves with its compression state", "[spdy]") {
  Codec client, server;
  server.feed(client.synStream(1, 0, kErrorHeaders));
  REQUIRE(server.next());
  Codec moved = std::move(server);
  moved.feed(client.synStream(3, 0, kDataHeaders));
  auto f = moved.next();
  REQUIRE(f);
  CHECK(f->header("streamtype") == "data");
}

TEST_CASE("spdy: a long stream of frames in uneven chunks keeps its order and buffer bounded", "[spdy]") {
  Codec client, server;
  std::string wire;
  for (uint32_t i = 0; i < 300; ++i) {
    wire += client.data(3, std::string(1000 + i, char('a' + i % 26)));
    if (i % 50 == 0) wire += client.headers(3, {{"n", std::to_string(i)}});
  }
  size_t got = 0, headers = 0, at = 0, chunk = 1;
  while (at < wire.size()) {
    const size_t n = std::min(chunk, wire.size() - at);
    server.feed(std::string_view(wire).substr(at, n));
    at += n;
    chunk = chunk * 7 % 9973 + 1;  // uneven chunk sizes, up to ~10 KB
    while (auto f = server.next()) {
      if (f->type == FrameType::Headers) {
        CHECK(f->header("n") == std::to_string(headers * 50));
        ++headers;
        continue;
      }
      REQUIRE(f->type == FrameType::Data);
      CHECK(f->data == std::string(1000 + got, char('a' + got % 26)));
      ++got;
    }
    CHECK(server.buffered() < 12000);
  }
  CHECK(got == 300);
  CHECK(headers == 6);
}
