// Small text codecs shared by api/, runtime/ and minikd/: RFC 3339 times and base64.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace minikd::api {

/// An RFC 3339 time ("2024-05-01T10:00:00Z", "…00.123456789Z", "…+02:00") as a UTC time point, with the
/// fraction kept to nanoseconds. A numeric offset is applied; "Z", a missing zone or anything else after
/// the seconds and fraction counts as UTC. nullopt when the date and time of day cannot be read.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& s);

/// Standard base64 with padding (RFC 4648 §4).
std::string base64Encode(const std::string& in);

/// Decodes standard or URL-safe base64; whitespace is skipped and the first '=' ends the data.
/// nullopt when a character outside the alphabet appears.
std::optional<std::string> base64Decode(const std::string& in);

}  // namespace minikd::api
