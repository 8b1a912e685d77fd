#include "api/text.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>

namespace minikd::api {
namespace {

using Clock = std::chrono::system_clock;

/// Nanoseconds of the fraction digits starting at s[pos] (just after the '.'); pos ends after them.
int64_t parseFraction(const std::string& s, size_t& pos) {
  int64_t nanos = 0;
  int64_t scale = 100000000;
  for (; pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos])); ++pos, scale /= 10)
    nanos += (s[pos] - '0') * scale;
  return nanos;
}

/// Seconds to subtract for a "+hh:mm" / "-hh:mm" zone at s[pos]; 0 for "Z", none or an unreadable offset.
int64_t zoneOffset(const std::string& s, size_t pos) {
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return 0;
  int hh = 0, mm = 0;
  if (std::sscanf(s.c_str() + pos + 1, "%2d:%2d", &hh, &mm) != 2) return 0;
  return (s[pos] == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
}

int base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

}  // namespace

std::optional<Clock::time_point> parseRfc3339(const std::string& s) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t secs = timegm(&tm);
  size_t pos = static_cast<size_t>(consumed);
  int64_t nanos = 0;
  if (pos < s.size() && s[pos] == '.') nanos = parseFraction(s, ++pos);
  secs -= zoneOffset(s, pos);
  auto t = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(secs)));
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(nanos));
}

std::string base64Encode(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](size_t i) -> uint32_t { return i < in.size() ? static_cast<unsigned char>(in[i]) : 0; };
  std::string out;
  out.reserve(4 * ((in.size() + 2) / 3));
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    size_t chars = in.size() - i >= 3 ? 4 : in.size() - i + 1;  // 1 byte → 2 chars, 2 → 3, 3 → 4
    for (size_t k = 0; k < 4; ++k) out += k < chars ? kAlphabet[(n >> (18 - 6 * k)) & 63] : '=';
  }
  return out;
}

std::optional<std::string> base64Decode(const std::string& in) {
  std::string out;
  int acc = 0, bits = 0;
  for (unsigned char c : in) {
    if (std::isspace(c)) continue;
    if (c == '=') break;
    int v = base64Value(c);
    if (v < 0) return std::nullopt;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace minikd::api
