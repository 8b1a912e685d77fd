#pragma once
// The authoritative logic for the cluster domain (the Kubernetes DNS specification), as a pure
// function of a question and a ClusterIndex, and the query handler that turns a packet into a reply
// packet (or a decision to forward). No I/O.
#include "dns/index.h"
#include "dns/wire.h"

#include <span>
#include <string>
#include <vector>

namespace minikd::dns {

struct ResolverConfig {
  std::string cluster_domain = "cluster.local";
  /// TTL of every cluster record (and of the SOA, which bounds negative caching).
  uint32_t ttl = 5;
  /// The server's own address, the answer for `ns.dns.<domain>` (the NS of the zone).
  std::optional<IpAddr> nameserver_ip;
};

/// One answer record, typed: the writer compresses the names inside it.
struct Record {
  WireName name;
  uint16_t type = 0;
  uint32_t ttl = 0;
  IpAddr ip;                                 // A, AAAA
  WireName target;                           // CNAME, PTR, NS, SRV target, SOA mname
  WireName target2;                          // SOA rname
  uint16_t priority = 0, weight = 0, port = 0;  // SRV
  std::array<uint32_t, 5> soa{};             // serial, refresh, retry, expire, minimum
  std::string text;                          // TXT (one character-string)
};

struct Answer {
  uint16_t rcode = rcode::kNoError;
  bool authoritative = false;
  std::vector<Record> answer, authority, additional;
  void clear();
};

enum class Outcome { kAnswered, kForward };

class Resolver {
 public:
  explicit Resolver(ResolverConfig config);
  /// Answers `q` from `index` when it is in the cluster domain (or a PTR for a known address);
  /// otherwise returns kForward and leaves `out` empty.
  Outcome resolve(const Question& q, const ClusterIndex& index, Answer& out) const;
  const ResolverConfig& config() const { return config_; }
  /// "<rel>.<cluster domain>." in wire form (rel may be empty for the apex).
  WireName fqdn(std::string_view rel) const;

 private:
  struct Ctx;
  void apex(Ctx& c) const;
  void service(Ctx& c, std::span<const std::string_view> rel) const;
  void serviceRecords(Ctx& c, const ServiceRecord& svc) const;
  void endpointRecords(Ctx& c, const ServiceRecord& svc, std::string_view host) const;
  void srvRecords(Ctx& c, const ServiceRecord& svc, std::string_view port, std::string_view proto) const;
  void pod(Ctx& c, std::span<const std::string_view> rel) const;
  bool reverse(Ctx& c) const;
  void nodata(Ctx& c) const;
  void nxdomain(Ctx& c) const;
  Record soaRecord() const;

  ResolverConfig config_;
  WireName zone_;  // lowercase wire form of the cluster domain
  size_t zone_labels_ = 0;
};

/// Writes the reply to `q` with `a` into `buf`. When it exceeds `limit` (the UDP size), writes a
/// truncated reply instead (question only, TC set). Adds an OPT record when the query had one.
/// Returns the size.
size_t writeResponse(const Query& q, const Answer& a, std::span<uint8_t> buf, size_t limit);
/// An error reply (FORMERR, NOTIMP, SERVFAIL, …) echoing the question when there is one.
size_t writeError(const Query& q, bool has_question, uint16_t rcode, std::span<uint8_t> buf);
/// The largest UDP reply for this query: 512 without EDNS, else the client's size (≤ kMaxUdpSize).
size_t udpLimit(const Query& q);

/// Turns one packet into an action. Keeps its buffers between calls (no allocation per query once warm).
class QueryHandler {
 public:
  enum class Action { kReply, kForward, kDrop };
  struct Result {
    Action action = Action::kDrop;
    size_t size = 0;  // reply size when kReply
  };
  explicit QueryHandler(const Resolver& resolver) : resolver_(resolver) {}
  /// Parses `packet` and answers it into `out` (≥ 65535 bytes for TCP). Drops packets with QR set or
  /// shorter than a header; answers FORMERR / NOTIMP / REFUSED for bad or unsupported queries.
  Result handle(std::span<const uint8_t> packet, bool udp, const ClusterIndex& index, std::span<uint8_t> out);
  /// The query parsed by the last handle() (valid when it returned kForward).
  const Query& query() const { return query_; }

 private:
  const Resolver& resolver_;
  Query query_;
  Answer answer_;
};

/// The reverse-lookup name of an address ("42.0.96.10.in-addr.arpa."), wire form.
WireName reverseNameOf(const IpAddr& ip);

}  // namespace minikd::dns
