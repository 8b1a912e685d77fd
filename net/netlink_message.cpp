#include "net/netlink_message.h"

#include <algorithm>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

namespace minikd::net {

namespace {

constexpr std::size_t kMaxRequest = 1024;  // every request here is far smaller

/// A buffer with one netlink message header in it; finish() trims it to nlmsg_len.
class MessageBuilder {
 public:
  MessageBuilder(std::uint16_t type, std::uint16_t flags) : buf_(kMaxRequest, 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = type;
    nlh_->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh_->nlmsg_seq = 0;
  }
  nlmsghdr* nlh() { return nlh_; }
  template <typename T>
  T* extraHeader() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(T)));
  }
  NlRequest finish(std::string what) {
    buf_.resize(nlh_->nlmsg_len);
    return NlRequest{std::move(buf_), std::move(what), {}};
  }

 private:
  std::vector<std::uint8_t> buf_;
  nlmsghdr* nlh_;
};

std::string inQuotes(const std::string& s) { return "\"" + s + "\""; }

ifinfomsg* putLinkHeader(MessageBuilder& b, unsigned flags = 0, unsigned change = 0) {
  auto* ifm = b.extraHeader<ifinfomsg>();
  ifm->ifi_family = AF_UNSPEC;
  ifm->ifi_flags = flags;
  ifm->ifi_change = change;
  return ifm;
}

}  // namespace

NlRequest& NlRequest::tolerating(std::vector<int> errs) {
  tolerated.insert(tolerated.end(), errs.begin(), errs.end());
  return *this;
}

bool NlRequest::tolerates(int err) const {
  return std::find(tolerated.begin(), tolerated.end(), err) != tolerated.end();
}

NlRequest planCreateBridge(const std::string& name) {
  MessageBuilder b(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  putLinkHeader(b, IFF_UP, IFF_UP);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  auto* linkinfo = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_KIND, "bridge");
  mnl_attr_nest_end(b.nlh(), linkinfo);
  return b.finish("create bridge " + inQuotes(name));
}

NlRequest planCreateVeth(const VethSpec& spec) {
  MessageBuilder b(RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  putLinkHeader(b, spec.up ? IFF_UP : 0, IFF_UP);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, spec.name.c_str());
  if (spec.master_ifindex > 0) mnl_attr_put_u32(b.nlh(), IFLA_MASTER, spec.master_ifindex);
  auto* linkinfo = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_KIND, "veth");
  auto* data = mnl_attr_nest_start(b.nlh(), IFLA_INFO_DATA);
  auto* peer = mnl_attr_nest_start(b.nlh(), VETH_INFO_PEER);
  // VETH_INFO_PEER carries a struct ifinfomsg, then the peer's own link attributes.
  auto* peer_ifm = static_cast<ifinfomsg*>(mnl_nlmsg_get_payload_tail(b.nlh()));
  b.nlh()->nlmsg_len += MNL_ALIGN(sizeof(ifinfomsg));
  *peer_ifm = ifinfomsg{};
  peer_ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, spec.peer_name.c_str());
  if (spec.peer_netns_fd >= 0) mnl_attr_put_u32(b.nlh(), IFLA_NET_NS_FD, spec.peer_netns_fd);
  mnl_attr_nest_end(b.nlh(), peer);
  mnl_attr_nest_end(b.nlh(), data);
  mnl_attr_nest_end(b.nlh(), linkinfo);
  std::string what = "create veth " + inQuotes(spec.name) + " with peer " + inQuotes(spec.peer_name);
  if (!spec.peer_netns_name.empty()) what += " in netns " + inQuotes(spec.peer_netns_name);
  return b.finish(std::move(what));
}

NlRequest planSetLinkUp(const std::string& name, bool up) {
  MessageBuilder b(RTM_SETLINK, NLM_F_ACK);
  putLinkHeader(b, up ? IFF_UP : 0, IFF_UP);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  return b.finish(std::string(up ? "set link " : "set down link ") + inQuotes(name) + (up ? " up" : ""));
}

NlRequest planSetHairpin(const std::string& name, bool on) {
  MessageBuilder b(RTM_NEWLINK, NLM_F_ACK);
  putLinkHeader(b);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  auto* linkinfo = mnl_attr_nest_start(b.nlh(), IFLA_LINKINFO);
  mnl_attr_put_strz(b.nlh(), IFLA_INFO_SLAVE_KIND, "bridge");
  auto* data = mnl_attr_nest_start(b.nlh(), IFLA_INFO_SLAVE_DATA);
  mnl_attr_put_u8(b.nlh(), IFLA_BRPORT_MODE, on ? 1 : 0);
  mnl_attr_nest_end(b.nlh(), data);
  mnl_attr_nest_end(b.nlh(), linkinfo);
  return b.finish(std::string("set hairpin ") + (on ? "on" : "off") + " on bridge port " + inQuotes(name));
}

NlRequest planSetMaster(const std::string& name, int master_ifindex, const std::string& master_name) {
  MessageBuilder b(RTM_SETLINK, NLM_F_ACK);
  putLinkHeader(b);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  mnl_attr_put_u32(b.nlh(), IFLA_MASTER, static_cast<std::uint32_t>(master_ifindex));
  return b.finish("attach " + inQuotes(name) + " to bridge " + inQuotes(master_name));
}

NlRequest planDeleteLink(const std::string& name) {
  MessageBuilder b(RTM_DELLINK, NLM_F_ACK);
  putLinkHeader(b);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  return b.finish("delete link " + inQuotes(name));
}

NlRequest planGetLink(const std::string& name) {
  MessageBuilder b(RTM_GETLINK, 0);
  putLinkHeader(b);
  mnl_attr_put_u32(b.nlh(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  mnl_attr_put_strz(b.nlh(), IFLA_IFNAME, name.c_str());
  return b.finish("get link " + inQuotes(name));
}

NlRequest planDumpLinks() {
  MessageBuilder b(RTM_GETLINK, NLM_F_DUMP);
  putLinkHeader(b);
  mnl_attr_put_u32(b.nlh(), IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return b.finish("list links");
}

NlRequest planAddAddress(int ifindex, const std::string& link, Ipv4 ip, int prefix_len) {
  MessageBuilder b(RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  auto* ifa = b.extraHeader<ifaddrmsg>();
  ifa->ifa_family = AF_INET;
  ifa->ifa_prefixlen = static_cast<unsigned char>(prefix_len);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<unsigned>(ifindex);
  const std::uint32_t be = htonl(ip);
  mnl_attr_put_u32(b.nlh(), IFA_LOCAL, be);
  mnl_attr_put_u32(b.nlh(), IFA_ADDRESS, be);
  return b.finish("add address " + formatIpv4(ip) + "/" + std::to_string(prefix_len) + " to " + inQuotes(link));
}

NlRequest planReplaceDefaultRoute(int ifindex, const std::string& link, Ipv4 gateway) {
  MessageBuilder b(RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  auto* rtm = b.extraHeader<rtmsg>();
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = 0;
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(b.nlh(), RTA_GATEWAY, htonl(gateway));
  mnl_attr_put_u32(b.nlh(), RTA_OIF, static_cast<std::uint32_t>(ifindex));
  return b.finish("add default route via " + formatIpv4(gateway) + " dev " + inQuotes(link));
}

namespace {

int collectLinkAttr(const nlattr* attr, void* data) {
  auto* tb = static_cast<const nlattr**>(data);
  int type = mnl_attr_get_type(attr);
  if (mnl_attr_type_valid(attr, IFLA_MAX) < 0) return MNL_CB_OK;
  tb[type] = attr;
  return MNL_CB_OK;
}

int findKind(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == IFLA_INFO_KIND && mnl_attr_validate(attr, MNL_TYPE_STRING) >= 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

std::string linkKind(const nlattr* linkinfo) {
  std::string kind;
  mnl_attr_parse_nested(linkinfo, findKind, &kind);
  return kind;
}

}  // namespace

std::optional<LinkInfo> parseLink(const std::uint8_t* bytes, std::size_t len) {
  auto* nlh = reinterpret_cast<const nlmsghdr*>(bytes);
  if (!mnl_nlmsg_ok(nlh, static_cast<int>(len)) || nlh->nlmsg_type != RTM_NEWLINK) return std::nullopt;
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return std::nullopt;
  auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  const nlattr* tb[IFLA_MAX + 1] = {};
  if (mnl_attr_parse(nlh, sizeof(ifinfomsg), collectLinkAttr, tb) < 0) return std::nullopt;
  LinkInfo info;
  info.index = ifm->ifi_index;
  info.flags = ifm->ifi_flags;
  if (tb[IFLA_IFNAME] && mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_STRING) >= 0) {
    info.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  }
  if (tb[IFLA_MASTER] && mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) >= 0) {
    info.master = static_cast<int>(mnl_attr_get_u32(tb[IFLA_MASTER]));
  }
  if (tb[IFLA_LINKINFO] && mnl_attr_validate(tb[IFLA_LINKINFO], MNL_TYPE_NESTED) >= 0) {
    info.kind = linkKind(tb[IFLA_LINKINFO]);
  }
  return info;
}

}  // namespace minikd::net
