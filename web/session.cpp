#include "web/session.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace minikd::web {

OriginPolicy::OriginPolicy(const std::string& host, int port) {
  std::string p = ":" + std::to_string(port);
  bool v6 = host.find(':') != std::string::npos;
  authorities_ = {(v6 ? "[" + host + "]" : host) + p, "127.0.0.1" + p, "localhost" + p, "[::1]" + p};
}

bool OriginPolicy::hostAllowed(const std::string& host_header) const { return authorities_.count(host_header) > 0; }

bool OriginPolicy::originAllowed(const std::string& origin) const {
  const std::string scheme = "http://";
  if (origin.rfind(scheme, 0) != 0) return false;
  return authorities_.count(origin.substr(scheme.size())) > 0;
}

Verdict OriginPolicy::check(const RequestFacts& r) const {
  if (!hostAllowed(r.host)) return Verdict::ForeignHost;
  if (!r.origin.empty() && !originAllowed(r.origin)) return Verdict::ForeignOrigin;
  bool safe = r.method == "GET" || r.method == "HEAD" || r.method == "OPTIONS";
  if (!safe && r.origin.empty() && !r.dashboard_header) return Verdict::MissingOrigin;
  return Verdict::Allow;
}

SessionStore::SessionStore(std::string cookie_name, std::chrono::seconds ttl)
    : cookie_name_(std::move(cookie_name)), ttl_(ttl) {}

std::string SessionStore::newLoginToken() {
  std::string t = randomToken();
  std::lock_guard lock(mu_);
  // Bound the number of unused links: the oldest-looking ones go first (set order is random enough).
  if (tokens_.size() >= 64) tokens_.erase(tokens_.begin());
  tokens_.insert(t);
  return t;
}

std::optional<std::string> SessionStore::redeem(const std::string& token, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = tokens_.end();
  for (auto i = tokens_.begin(); i != tokens_.end(); ++i)
    if (sameSecret(*i, token)) it = i;
  if (it == tokens_.end()) return std::nullopt;
  tokens_.erase(it);
  for (auto i = sessions_.begin(); i != sessions_.end();) i = i->second <= now ? sessions_.erase(i) : std::next(i);
  std::string id = randomToken();
  sessions_[id] = now + ttl_;
  return id;
}

bool SessionStore::valid(const std::string& cookie_header, Clock::time_point now) {
  auto id = cookieValue(cookie_header, cookie_name_);
  if (!id || id->empty()) return false;
  std::lock_guard lock(mu_);
  auto it = sessions_.find(*id);
  if (it == sessions_.end()) return false;
  if (it->second <= now) {
    sessions_.erase(it);
    return false;
  }
  return true;
}

std::string SessionStore::setCookie(const std::string& session) const {
  return cookie_name_ + "=" + session + "; Path=/; HttpOnly; SameSite=Strict";
}

std::optional<std::string> cookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string part = header.substr(pos, end - pos);
    size_t b = part.find_first_not_of(' ');
    part = b == std::string::npos ? "" : part.substr(b);
    size_t eq = part.find('=');
    if (eq != std::string::npos && part.substr(0, eq) == name) {
      std::string v = part.substr(eq + 1);
      while (!v.empty() && v.back() == ' ') v.pop_back();
      return v;
    }
    pos = end + 1;
  }
  return std::nullopt;
}

std::string randomToken() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("dashboard: RAND_bytes failed");
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 15]);
  }
  return s;
}

bool sameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace minikd::web
