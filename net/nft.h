#pragma once
// nftables as plain data: the statements, rules, chains, sets and elements minikd's proxy uses, and
// an NftTransaction (an ordered list of operations on one table) that a backend applies as one
// atomic batch. No I/O here; net/nft_backend.h turns a transaction into kernel messages (libnftnl) or
// into an in-memory model (tests/fakes). Only the small closed set of statements the proxy needs is
// modelled, each with its nft text form (what `nft list table` prints, near enough for golden tests).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace minikd::net {

/// An IPv4 address in host byte order, or a prefix (address + length).
struct Ipv4Prefix {
  uint32_t addr = 0;
  int len = 32;
  bool operator==(const Ipv4Prefix&) const = default;
};

/// Parses "10.96.0.1" or "10.96.0.0/16"; nullopt when malformed (or the host bits are set for a prefix).
std::optional<Ipv4Prefix> parseIpv4Prefix(const std::string& text);
/// "10.96.0.1" (len 32) or "10.96.0.0/16".
std::string formatIpv4Prefix(const Ipv4Prefix& p);
std::string formatIpv4Addr(uint32_t addr);

/// IP protocol numbers the proxy handles.
enum class L4Proto : uint8_t { Tcp = 6, Udp = 17, Sctp = 132 };
std::string l4protoName(L4Proto p);  // "tcp"

// ---- Statements (one variant alternative each) ----------------------------------------------------

enum class VerdictKind { Accept, Drop, Return, Jump, Goto };
/// accept / drop / return / jump <chain> / goto <chain>.
struct Verdict {
  VerdictKind kind = VerdictKind::Accept;
  std::string chain;  // Jump and Goto only
  bool operator==(const Verdict&) const = default;
};
/// `ip daddr [!=] <prefix>` / `ip saddr [!=] <prefix>`.
struct MatchAddr {
  bool source = false;
  Ipv4Prefix prefix;
  bool negate = false;
  bool operator==(const MatchAddr&) const = default;
};
/// `meta l4proto <proto>`.
struct MatchL4Proto {
  L4Proto proto = L4Proto::Tcp;
  bool operator==(const MatchL4Proto&) const = default;
};
/// `fib daddr type local` (or saddr).
struct MatchFibLocal {
  bool source = false;
  bool operator==(const MatchFibLocal&) const = default;
};
/// `meta mark & <bits> == 0` (the rule continues only when none of `bits` is set).
struct MatchMarkClear {
  uint32_t bits = 0;
  bool operator==(const MatchMarkClear&) const = default;
};
/// `ip saddr @<set>`.
struct MatchSaddrInSet {
  std::string set;
  bool operator==(const MatchSaddrInSet&) const = default;
};
/// `update @<set> { ip saddr }` (refreshes the entry's timeout).
struct UpdateSaddrSet {
  std::string set;
  bool operator==(const UpdateSaddrSet&) const = default;
};
/// `meta mark set meta mark | <bits>` (or `^ <bits>` when toggle).
struct SetMark {
  uint32_t bits = 0;
  bool toggle = false;
  bool operator==(const SetMark&) const = default;
};
/// The key a verdict map is looked up with.
enum class VmapKey {
  DaddrProtoPort,  // ip daddr . meta l4proto . th dport
  ProtoPort,       // meta l4proto . th dport
  Numgen,          // numgen random mod <mod> offset <offset>
};
/// `<key> vmap @<map>`.
struct VmapLookup {
  VmapKey key = VmapKey::DaddrProtoPort;
  std::string map;
  uint32_t mod = 0;     // Numgen only
  uint32_t offset = 0;  // Numgen only
  bool operator==(const VmapLookup&) const = default;
};
/// `numgen random mod <mod> == 0`: true with probability 1/mod (a fresh draw per rule).
struct MatchRandomZero {
  uint32_t mod = 1;
  bool operator==(const MatchRandomZero&) const = default;
};
/// `dnat to <addr>:<port>`.
struct Dnat {
  uint32_t addr = 0;
  uint16_t port = 0;
  bool operator==(const Dnat&) const = default;
};
/// `masquerade fully-random`.
struct Masquerade {
  bool operator==(const Masquerade&) const = default;
};
/// `reject with tcp reset` or `reject` (ICMP port unreachable).
struct Reject {
  bool tcp_reset = false;
  bool operator==(const Reject&) const = default;
};
/// `counter`.
struct Counter {
  bool operator==(const Counter&) const = default;
};

using NftStatement = std::variant<Verdict, MatchAddr, MatchL4Proto, MatchFibLocal, MatchMarkClear, MatchSaddrInSet,
                                  UpdateSaddrSet, SetMark, VmapLookup, MatchRandomZero, Dnat, Masquerade, Reject, Counter>;

/// A rule: statements evaluated left to right.
struct NftRule {
  std::vector<NftStatement> stmts;
  bool operator==(const NftRule&) const = default;
};

/// A base chain's hook.
enum class NftHook { Prerouting, Input, Forward, Output, Postrouting };
struct NftBaseChain {
  std::string type;  // "nat" or "filter"
  NftHook hook = NftHook::Prerouting;
  int priority = 0;
  bool operator==(const NftBaseChain&) const = default;
};

struct NftChain {
  std::string name;
  std::optional<NftBaseChain> base;  // unset for regular chains
  std::vector<NftRule> rules;
  bool operator==(const NftChain&) const = default;
};

/// One component of a set key.
enum class NftKeyType { Ipv4Addr, InetProto, InetService, Mark };
struct NftKeyPart {
  NftKeyType type = NftKeyType::Mark;
  uint32_t value = 0;  // host byte order
  bool operator==(const NftKeyPart&) const = default;
  auto operator<=>(const NftKeyPart&) const = default;
};
using NftKey = std::vector<NftKeyPart>;

/// A named set or verdict map.
struct NftSet {
  std::string name;
  std::vector<NftKeyType> key;
  bool verdict_map = false;
  /// A dynamic set with timeouts (for `update @set`); 0 = a plain set.
  uint32_t timeout_seconds = 0;
  bool operator==(const NftSet&) const = default;
};

struct NftElement {
  NftKey key;
  std::optional<Verdict> verdict;  // verdict maps only
  bool operator==(const NftElement&) const = default;
};

// ---- Operations -----------------------------------------------------------------------------------

struct AddTable {};
struct DeleteTable {};
/// Creates the chain if missing (a base chain gets its hook). Rules are added separately.
struct AddChain {
  std::string name;
  std::optional<NftBaseChain> base;
};
struct FlushChain {
  std::string name;
};
/// The chain must be empty and unreferenced.
struct DeleteChain {
  std::string name;
};
struct AddRule {
  std::string chain;
  NftRule rule;
};
struct AddSet {
  NftSet set;
};
/// The set must be unreferenced.
struct DeleteSet {
  std::string name;
};
/// Fails when an element with the same key exists with another verdict.
struct AddElements {
  std::string set;
  std::vector<NftElement> elements;
};
/// Fails when an element is missing.
struct DeleteElements {
  std::string set;
  std::vector<NftKey> keys;
};

using NftOp = std::variant<AddTable, DeleteTable, AddChain, FlushChain, DeleteChain, AddRule, AddSet, DeleteSet,
                           AddElements, DeleteElements>;

/// Operations on one `ip` table, applied all-or-nothing.
struct NftTransaction {
  std::string table;
  std::vector<NftOp> ops;
  bool empty() const { return ops.empty(); }
};

// ---- Text ------------------------------------------------------------------------------------------

std::string formatStatement(const NftStatement& s);
std::string formatRule(const NftRule& r);
std::string formatKey(const NftKey& k);
std::string formatVerdict(const Verdict& v);
std::string formatElement(const NftElement& e);
std::string formatKeyType(const std::vector<NftKeyType>& key);  // "ipv4_addr . inet_proto . inet_service"
std::string formatHook(NftHook h);                              // "prerouting"
/// One line per operation, in the style of `nft -f` input ("add chain ip minikd svc-…", "add rule …").
std::string formatTransaction(const NftTransaction& tx);

}  // namespace minikd::net
