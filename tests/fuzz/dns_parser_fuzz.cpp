// libFuzzer target for the DNS wire parser and the query path behind it (resolver, reply writer,
// cache). Invariants: nothing crashes or reads out of bounds (ASan/UBSan), and every reply the
// server would send parses strictly.
#include "dns/cache.h"
#include "dns/resolver.h"

#include <cstdlib>
#include <vector>

using namespace minikd::dns;

namespace {

void fillIndex(ServiceIndex& idx) {
  auto ip = [](const char* s) { return *IpAddr::parse(s); };
  idx.upsertService({"default", "web", ServiceKind::kClusterIp, {ip("10.96.0.42")}, "", {{"http", "TCP", 80}}, {}});
  idx.upsertService({"default", "db", ServiceKind::kHeadless, {}, "", {{"pg", "TCP", 5432}}, {}});
  std::vector<EndpointRecord> eps;
  for (int i = 1; i <= 60; ++i) eps.push_back({IpAddr::v4(10, 244, 0, uint8_t(i)), i % 2 ? "db-" + std::to_string(i) : "", i % 5 != 0});
  idx.upsertSlice("default", "db", "db-a", {{{"pg", "TCP", 5432}}, eps});
  idx.upsertService({"default", "ext", ServiceKind::kExternalName, {}, "www.example.com", {}, {}});
  idx.upsertPod({"default", "p", {ip("10.244.0.5")}});
}

void checkReply(const std::vector<uint8_t>& out, size_t n, size_t limit) {
  if (n == 0) return;
  if (n > limit) std::abort();
  Message m;
  if (parseMessage(std::span(out.data(), n), m) != ParseError::kNone) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ServiceIndex index;
  static const bool filled = (fillIndex(index), true);
  (void)filled;
  static const Resolver resolver(ResolverConfig{"cluster.local", 5, IpAddr::parse("10.96.0.10")});
  static QueryHandler handler(resolver);
  static std::vector<uint8_t> out(65535);
  static ResponseCache cache(64, 300);
  const std::span<const uint8_t> in(data, size);

  Message m;
  (void)parseMessage(in, m);

  for (bool udp : {true, false}) {
    const auto r = handler.handle(in, udp, index, out);
    if (r.action == QueryHandler::Action::kReply) checkReply(out, r.size, udp ? kMaxUdpSize : kMaxMessage);
  }

  // The same bytes as an upstream reply to the query they contain.
  Query q;
  if (parseQuery(in, q) == ParseError::kNone && cache.store(q, in, ResponseCache::Clock::now())) {
    if (cache.lookup(q, out, ResponseCache::Clock::now()) != size) std::abort();
  }
  return 0;
}
