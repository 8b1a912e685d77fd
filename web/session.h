#pragma once
// The dashboard's access rules as plain logic: one-time login tokens, session cookies, and the Host /
// Origin checks that stop DNS rebinding and cross-site requests. No I/O; tested in tests/web/.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

namespace minikd::web {

/// What a request brings that matters for access: its method, Host, Origin, Cookie headers and the
/// custom header the page sends on writes.
struct RequestFacts {
  std::string method;   // "GET", "POST", …
  std::string host;     // the Host header
  std::string origin;   // the Origin header ("" when absent)
  std::string cookie;   // the Cookie header
  bool dashboard_header = false;  // X-Minikd-Dashboard present
};

/// Why a request is refused, or nothing when it may go on.
enum class Verdict { Allow, ForeignHost, ForeignOrigin, MissingOrigin };

/// Host/Origin checks for a server listening on `host`:`port`. Allowed authorities are host:port,
/// 127.0.0.1:port and localhost:port (and [::1]:port).
class OriginPolicy {
 public:
  OriginPolicy(const std::string& host, int port);
  /// Allow, or why the request must get a 403. Writes (anything but GET/HEAD/OPTIONS) need a same-origin
  /// Origin or the X-Minikd-Dashboard header; any request with a foreign Origin is refused.
  Verdict check(const RequestFacts& r) const;
  bool hostAllowed(const std::string& host_header) const;
  bool originAllowed(const std::string& origin) const;

 private:
  std::set<std::string> authorities_;
};

/// One-time login tokens and the sessions they open. Thread-safe.
class SessionStore {
 public:
  using Clock = std::chrono::steady_clock;
  /// `cookie_name` should be unique per dashboard (cookies ignore the port); `ttl` bounds a session's life.
  explicit SessionStore(std::string cookie_name, std::chrono::seconds ttl = std::chrono::hours(12));
  /// Mints a new one-time login token (kept until used).
  std::string newLoginToken();
  /// Consumes `token`: a new session id, or nullopt when the token is unknown or already used.
  std::optional<std::string> redeem(const std::string& token, Clock::time_point now = Clock::now());
  /// Whether the Cookie header carries a live session.
  bool valid(const std::string& cookie_header, Clock::time_point now = Clock::now());
  /// The Set-Cookie value for a session id: HttpOnly, SameSite=Strict, Path=/.
  std::string setCookie(const std::string& session) const;
  const std::string& cookieName() const { return cookie_name_; }

 private:
  std::string cookie_name_;
  std::chrono::seconds ttl_;
  std::mutex mu_;
  std::set<std::string> tokens_;
  std::map<std::string, Clock::time_point> sessions_;  // id → expiry
};

/// The value of cookie `name` in a Cookie header, if present.
std::optional<std::string> cookieValue(const std::string& cookie_header, const std::string& name);
/// 32 random bytes as hex (OpenSSL RAND_bytes). Throws std::runtime_error when the RNG fails.
std::string randomToken();
/// Constant-time comparison of two secrets.
bool sameSecret(const std::string& a, const std::string& b);

}  // namespace minikd::web
