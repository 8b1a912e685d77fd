// rtnetlink requests are built without a socket; these tests check their bytes.
#include "net/netlink_message.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <map>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

using namespace minikd::net;

namespace {

const nlmsghdr* header(const NlRequest& r) { return reinterpret_cast<const nlmsghdr*>(r.bytes.data()); }

using Attrs = std::map<int, const nlattr*>;

int collect(const nlattr* attr, void* data) {
  (*static_cast<Attrs*>(data))[mnl_attr_get_type(attr)] = attr;
  return MNL_CB_OK;
}

Attrs attrs(const NlRequest& r, std::size_t extra_header) {
  Attrs out;
  REQUIRE(mnl_attr_parse(header(r), extra_header, collect, &out) == MNL_CB_OK);
  return out;
}

Attrs nested(const nlattr* nest) {
  Attrs out;
  REQUIRE(nest != nullptr);
  REQUIRE(mnl_attr_parse_nested(nest, collect, &out) == MNL_CB_OK);
  return out;
}

std::string str(const Attrs& a, int type) {
  auto it = a.find(type);
  return it == a.end() ? "<missing>" : std::string(mnl_attr_get_str(it->second));
}

const ifinfomsg* linkHeader(const NlRequest& r) {
  return static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(header(r)));
}

void checkWellFormed(const NlRequest& r) {
  REQUIRE(r.bytes.size() >= sizeof(nlmsghdr));
  CHECK(header(r)->nlmsg_len == r.bytes.size());
  CHECK(header(r)->nlmsg_seq == 0u);
  CHECK((header(r)->nlmsg_flags & NLM_F_REQUEST) != 0);
}

}  // namespace

TEST_CASE("set link up: exact bytes", "[net][netlink]") {
  NlRequest r = planSetLinkUp("lo");
  // nlmsghdr, ifinfomsg{flags=IFF_UP, change=IFF_UP}, IFLA_IFNAME "lo\0" padded to 4.
  const std::vector<std::uint8_t> expected = {
      40, 0, 0, 0,  RTM_SETLINK, 0, NLM_F_REQUEST | NLM_F_ACK, 0,  0, 0, 0, 0,  0, 0, 0, 0,
      0, 0, 0, 0,  0, 0, 0, 0,  1, 0, 0, 0,  1, 0, 0, 0,
      7, 0, IFLA_IFNAME, 0,  'l', 'o', 0, 0,
  };
  CHECK(r.bytes == expected);
  CHECK(r.what == "set link \"lo\" up");
}

TEST_CASE("create bridge", "[net][netlink]") {
  NlRequest r = planCreateBridge("minikd0");
  checkWellFormed(r);
  CHECK(header(r)->nlmsg_type == RTM_NEWLINK);
  CHECK(header(r)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
  CHECK(linkHeader(r)->ifi_flags == IFF_UP);
  auto a = attrs(r, sizeof(ifinfomsg));
  CHECK(str(a, IFLA_IFNAME) == "minikd0");
  CHECK(str(nested(a[IFLA_LINKINFO]), IFLA_INFO_KIND) == "bridge");
  CHECK(r.what == "create bridge \"minikd0\"");
}

TEST_CASE("create veth: peer born in the pod netns as eth0, host end on the bridge and up", "[net][netlink]") {
  NlRequest r = planCreateVeth(VethSpec{"mk0123abcd", "eth0", 42, 7, true, "minikd-web-1"});
  checkWellFormed(r);
  CHECK(header(r)->nlmsg_type == RTM_NEWLINK);
  CHECK(header(r)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
  CHECK(linkHeader(r)->ifi_flags == IFF_UP);
  CHECK(linkHeader(r)->ifi_change == IFF_UP);
  auto a = attrs(r, sizeof(ifinfomsg));
  CHECK(str(a, IFLA_IFNAME) == "mk0123abcd");
  REQUIRE(a.count(IFLA_MASTER));
  CHECK(mnl_attr_get_u32(a[IFLA_MASTER]) == 7u);
  CHECK_FALSE(a.count(IFLA_NET_NS_FD));  // the host end stays in the host netns

  auto info = nested(a[IFLA_LINKINFO]);
  CHECK(str(info, IFLA_INFO_KIND) == "veth");
  auto data = nested(info[IFLA_INFO_DATA]);
  REQUIRE(data.count(VETH_INFO_PEER));
  // VETH_INFO_PEER = struct ifinfomsg, then the peer's attributes.
  const nlattr* peer = data[VETH_INFO_PEER];
  REQUIRE(mnl_attr_get_payload_len(peer) > sizeof(ifinfomsg));
  const auto* peer_ifm = static_cast<const ifinfomsg*>(mnl_attr_get_payload(peer));
  CHECK(peer_ifm->ifi_index == 0);
  Attrs peer_attrs;
  const auto* first = reinterpret_cast<const nlattr*>(static_cast<const char*>(mnl_attr_get_payload(peer)) +
                                                      MNL_ALIGN(sizeof(ifinfomsg)));
  int left = static_cast<int>(mnl_attr_get_payload_len(peer) - MNL_ALIGN(sizeof(ifinfomsg)));
  for (auto* at = first; mnl_attr_ok(at, left); at = mnl_attr_next(at)) {
    left -= static_cast<int>(MNL_ALIGN(at->nla_len));
    peer_attrs[mnl_attr_get_type(at)] = at;
  }
  CHECK(str(peer_attrs, IFLA_IFNAME) == "eth0");
  REQUIRE(peer_attrs.count(IFLA_NET_NS_FD));
  CHECK(mnl_attr_get_u32(peer_attrs[IFLA_NET_NS_FD]) == 42u);
  CHECK(r.what == "create veth \"mk0123abcd\" with peer \"eth0\" in netns \"minikd-web-1\"");
}

TEST_CASE("hairpin on a bridge port", "[net][netlink]") {
  NlRequest r = planSetHairpin("mk0123abcd");
  checkWellFormed(r);
  CHECK(header(r)->nlmsg_type == RTM_NEWLINK);
  CHECK((header(r)->nlmsg_flags & NLM_F_CREATE) == 0);
  auto a = attrs(r, sizeof(ifinfomsg));
  CHECK(str(a, IFLA_IFNAME) == "mk0123abcd");
  auto info = nested(a[IFLA_LINKINFO]);
  CHECK(str(info, IFLA_INFO_SLAVE_KIND) == "bridge");
  auto port = nested(info[IFLA_INFO_SLAVE_DATA]);
  REQUIRE(port.count(IFLA_BRPORT_MODE));
  CHECK(mnl_attr_get_u8(port[IFLA_BRPORT_MODE]) == 1);
  CHECK(mnl_attr_get_u8(nested(nested(attrs(planSetHairpin("x", false), sizeof(ifinfomsg))[IFLA_LINKINFO])
                                   [IFLA_INFO_SLAVE_DATA])[IFLA_BRPORT_MODE]) == 0);
}

TEST_CASE("address and default route", "[net][netlink]") {
  NlRequest addr = planAddAddress(3, "eth0", *parseIpv4("10.244.0.5"), 16);
  checkWellFormed(addr);
  CHECK(header(addr)->nlmsg_type == RTM_NEWADDR);
  CHECK(header(addr)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL));
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(header(addr)));
  CHECK(ifa->ifa_family == AF_INET);
  CHECK(ifa->ifa_prefixlen == 16);
  CHECK(ifa->ifa_index == 3u);
  auto a = attrs(addr, sizeof(ifaddrmsg));
  CHECK(ntohl(mnl_attr_get_u32(a[IFA_LOCAL])) == 0x0af40005u);
  CHECK(ntohl(mnl_attr_get_u32(a[IFA_ADDRESS])) == 0x0af40005u);
  CHECK(addr.what == "add address 10.244.0.5/16 to \"eth0\"");

  NlRequest route = planReplaceDefaultRoute(3, "eth0", *parseIpv4("10.244.0.1"));
  checkWellFormed(route);
  CHECK(header(route)->nlmsg_type == RTM_NEWROUTE);
  CHECK(header(route)->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE));
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(header(route)));
  CHECK(rtm->rtm_family == AF_INET);
  CHECK(rtm->rtm_dst_len == 0);
  CHECK(rtm->rtm_table == RT_TABLE_MAIN);
  CHECK(rtm->rtm_type == RTN_UNICAST);
  auto r = attrs(route, sizeof(rtmsg));
  CHECK(ntohl(mnl_attr_get_u32(r[RTA_GATEWAY])) == 0x0af40001u);
  CHECK(mnl_attr_get_u32(r[RTA_OIF]) == 3u);
  CHECK_FALSE(r.count(RTA_DST));
}

TEST_CASE("delete, get, dump, set master", "[net][netlink]") {
  NlRequest del = planDeleteLink("mk0123abcd");
  CHECK(header(del)->nlmsg_type == RTM_DELLINK);
  CHECK(str(attrs(del, sizeof(ifinfomsg)), IFLA_IFNAME) == "mk0123abcd");
  CHECK(del.tolerating({ENODEV}).tolerates(ENODEV));
  CHECK_FALSE(planDeleteLink("x").tolerates(ENODEV));

  NlRequest get = planGetLink("minikd0");
  CHECK(header(get)->nlmsg_type == RTM_GETLINK);
  CHECK((header(get)->nlmsg_flags & NLM_F_ACK) == 0);
  CHECK(str(attrs(get, sizeof(ifinfomsg)), IFLA_IFNAME) == "minikd0");
  CHECK((header(planDumpLinks())->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP);

  NlRequest master = planSetMaster("mk0123abcd", 9, "minikd0");
  CHECK(header(master)->nlmsg_type == RTM_SETLINK);
  CHECK(mnl_attr_get_u32(attrs(master, sizeof(ifinfomsg))[IFLA_MASTER]) == 9u);
  CHECK(master.what == "attach \"mk0123abcd\" to bridge \"minikd0\"");
}

TEST_CASE("parse an RTM_NEWLINK reply", "[net][netlink]") {
  std::vector<std::uint8_t> buf(512, 0);
  auto* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = RTM_NEWLINK;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_index = 12;
  ifm->ifi_flags = IFF_UP | IFF_BROADCAST;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, "mk0123abcd");
  mnl_attr_put_u32(nlh, IFLA_MASTER, 4);
  auto* li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
  mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
  mnl_attr_nest_end(nlh, li);
  auto link = parseLink(buf.data(), nlh->nlmsg_len);
  REQUIRE(link);
  CHECK(link->index == 12);
  CHECK(link->name == "mk0123abcd");
  CHECK(link->master == 4);
  CHECK(link->kind == "veth");
  CHECK((link->flags & IFF_UP) != 0);

  nlh->nlmsg_type = RTM_NEWADDR;
  CHECK_FALSE(parseLink(buf.data(), nlh->nlmsg_len));
  CHECK_FALSE(parseLink(buf.data(), 8));  // truncated
}
