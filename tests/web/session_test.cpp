#include "web/session.h"

#include <catch2/catch.hpp>

using namespace minikd::web;

TEST_CASE("OriginPolicy accepts only the dashboard's own authority", "[web]") {
  OriginPolicy p("127.0.0.1", 8001);
  CHECK(p.hostAllowed("127.0.0.1:8001"));
  CHECK(p.hostAllowed("localhost:8001"));
  CHECK_FALSE(p.hostAllowed("127.0.0.1:8002"));
  CHECK_FALSE(p.hostAllowed("evil.example:8001"));  // DNS rebinding: a foreign name resolving to us
  CHECK_FALSE(p.hostAllowed(""));
  CHECK(p.originAllowed("http://127.0.0.1:8001"));
  CHECK(p.originAllowed("http://localhost:8001"));
  CHECK_FALSE(p.originAllowed("https://127.0.0.1:8001"));
  CHECK_FALSE(p.originAllowed("http://evil.example"));
  CHECK_FALSE(p.originAllowed("null"));
}

TEST_CASE("OriginPolicy verdicts for reads and writes", "[web]") {
  OriginPolicy p("127.0.0.1", 8001);
  RequestFacts r{"GET", "127.0.0.1:8001", "", "", false};
  CHECK(p.check(r) == Verdict::Allow);
  r.host = "attacker.test:8001";
  CHECK(p.check(r) == Verdict::ForeignHost);
  r.host = "127.0.0.1:8001";
  r.origin = "http://attacker.test";
  CHECK(p.check(r) == Verdict::ForeignOrigin);  // even a GET
  r = {"PATCH", "127.0.0.1:8001", "", "", false};
  CHECK(p.check(r) == Verdict::MissingOrigin);
  r.dashboard_header = true;
  CHECK(p.check(r) == Verdict::Allow);
  r = {"DELETE", "localhost:8001", "http://localhost:8001", "", false};
  CHECK(p.check(r) == Verdict::Allow);
  r.origin = "http://localhost:9999";
  r.dashboard_header = true;
  CHECK(p.check(r) == Verdict::ForeignOrigin);  // the header does not excuse a foreign Origin
}

TEST_CASE("cookieValue parses a Cookie header", "[web]") {
  CHECK(cookieValue("a=1; minikd_session_8001=abc; b=2", "minikd_session_8001") == "abc");
  CHECK(cookieValue("minikd_session_8001=xyz", "minikd_session_8001") == "xyz");
  CHECK_FALSE(cookieValue("minikd_session_80011=xyz", "minikd_session_8001"));
  CHECK_FALSE(cookieValue("", "x"));
}

TEST_CASE("login tokens are one-time and sessions expire", "[web]") {
  SessionStore s("minikd_session_1", std::chrono::seconds(60));
  auto now = SessionStore::Clock::now();
  std::string t = s.newLoginToken();
  CHECK(t.size() == 64);
  CHECK_FALSE(s.redeem("not-a-token", now));
  auto id = s.redeem(t, now);
  REQUIRE(id);
  CHECK_FALSE(s.redeem(t, now));  // used
  std::string cookie = "other=1; minikd_session_1=" + *id;
  CHECK(s.valid(cookie, now));
  CHECK_FALSE(s.valid("minikd_session_1=" + std::string(64, 'a'), now));
  CHECK_FALSE(s.valid("minikd_session_2=" + *id, now));
  CHECK_FALSE(s.valid(cookie, now + std::chrono::seconds(61)));
  CHECK_FALSE(s.valid(cookie, now));  // expired sessions are forgotten
  std::string set = s.setCookie(*id);
  CHECK(set.find("HttpOnly") != std::string::npos);
  CHECK(set.find("SameSite=Strict") != std::string::npos);
  CHECK(set.find("Path=/") != std::string::npos);
}

TEST_CASE("two login links are independent", "[web]") {
  SessionStore s("c");
  std::string a = s.newLoginToken(), b = s.newLoginToken();
  CHECK(a != b);
  CHECK(s.redeem(b));
  CHECK(s.redeem(a));
}
