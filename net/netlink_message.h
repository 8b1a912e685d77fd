#pragma once
// rtnetlink request building, separate from sending: each plan* function returns the bytes of one
// netlink message (sequence number 0; the sender stamps it) and a description naming the objects,
// used in error messages. Pure: no sockets, no root; tests compare the bytes.
#include "net/cidr.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace minikd::net {

/// One netlink request: its bytes, what it does (for errors), and which errno values count as
/// success (e.g. EEXIST for an idempotent create).
struct NlRequest {
  std::vector<std::uint8_t> bytes;
  std::string what;
  std::vector<int> tolerated;

  /// Adds errno values that count as success; returns *this for chaining.
  NlRequest& tolerating(std::vector<int> errs);
  bool tolerates(int err) const;
};

/// What a veth pair should look like when created.
struct VethSpec {
  std::string name;           // host end, in the netns of the socket
  std::string peer_name;      // pod end, created directly in the peer netns
  int peer_netns_fd = -1;     // fd of the peer's netns (IFLA_NET_NS_FD); -1: same netns
  int master_ifindex = 0;     // bridge to attach the host end to (IFLA_MASTER); 0: none
  bool up = true;             // host end up at creation
  std::string peer_netns_name;  // for error messages only
};

/// RTM_NEWLINK (create, exclusive) of a bridge named `name`, brought up.
NlRequest planCreateBridge(const std::string& name);
/// RTM_NEWLINK (create, exclusive) of a veth pair per `spec`; the peer is born in its netns.
NlRequest planCreateVeth(const VethSpec& spec);
/// RTM_SETLINK by name: IFF_UP set (or cleared).
NlRequest planSetLinkUp(const std::string& name, bool up = true);
/// RTM_NEWLINK by name of a bridge port: IFLA_INFO_SLAVE_DATA { IFLA_BRPORT_MODE = hairpin }, as
/// `ip link set dev <name> type bridge_slave hairpin on`.
NlRequest planSetHairpin(const std::string& name, bool on = true);
/// RTM_SETLINK by name: IFLA_MASTER = `master_ifindex` (attach to a bridge).
NlRequest planSetMaster(const std::string& name, int master_ifindex, const std::string& master_name);
/// RTM_DELLINK by name.
NlRequest planDeleteLink(const std::string& name);
/// RTM_GETLINK by name (the reply is one RTM_NEWLINK message).
NlRequest planGetLink(const std::string& name);
/// RTM_GETLINK dump of every link.
NlRequest planDumpLinks();
/// RTM_NEWADDR (create, exclusive) of ip/prefix_len on the link `ifindex` (`link` names it for errors).
NlRequest planAddAddress(int ifindex, const std::string& link, Ipv4 ip, int prefix_len);
/// RTM_NEWROUTE (create or replace) of the IPv4 default route via `gateway` out of `ifindex`.
NlRequest planReplaceDefaultRoute(int ifindex, const std::string& link, Ipv4 gateway);

/// The fields of an RTM_NEWLINK message that the pod network reads.
struct LinkInfo {
  int index = 0;
  std::string name;
  unsigned flags = 0;  // IFF_*
  int master = 0;      // IFLA_MASTER, 0 if none
  std::string kind;    // IFLA_INFO_KIND, e.g. "veth", "bridge"
};

/// Parses an RTM_NEWLINK message (a GETLINK reply or one dump entry). std::nullopt if `bytes` is
/// not a well-formed RTM_NEWLINK message.
std::optional<LinkInfo> parseLink(const std::uint8_t* bytes, std::size_t len);

}  // namespace minikd::net
