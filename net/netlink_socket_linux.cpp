#include "net/netlink_socket.h"

#include "net/os_error.h"

#include <cstring>

#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

namespace minikd::net {

namespace {

constexpr std::size_t kRecvBuffer = 32768;

int findExtackMessage(const nlattr* attr, void* data) {
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
    *static_cast<std::string*>(data) = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

/// The kernel's explanation attached to an error ack (NETLINK_EXT_ACK), if any.
std::string extackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return {};
  std::string msg;
  // With NETLINK_CAP_ACK the ack holds only the original header, so TLVs follow struct nlmsgerr.
  mnl_attr_parse(nlh, sizeof(nlmsgerr), findExtackMessage, &msg);
  return msg;
}

int collectLink(const nlmsghdr* nlh, void* data) {
  auto* links = static_cast<std::vector<LinkInfo>*>(data);
  if (auto link = parseLink(reinterpret_cast<const std::uint8_t*>(nlh), nlh->nlmsg_len)) links->push_back(*link);
  return MNL_CB_OK;
}

}  // namespace

NetlinkSocket::NetlinkSocket(std::string netns_name) : netns_name_(std::move(netns_name)) {
  nl_ = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
  if (!nl_) throwErrno("open rtnetlink socket" + describe(NlRequest{}));
  int one = 1;
  // Best effort: error strings from the kernel, and acks without a copy of our request.
  mnl_socket_setsockopt(nl_, NETLINK_EXT_ACK, &one, sizeof one);
  mnl_socket_setsockopt(nl_, NETLINK_CAP_ACK, &one, sizeof one);
  if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(nl_);
    nl_ = nullptr;
    throw OsError(err, "bind rtnetlink socket" + describe(NlRequest{}));
  }
  portid_ = mnl_socket_get_portid(nl_);
}

NetlinkSocket::~NetlinkSocket() {
  if (nl_) mnl_socket_close(nl_);
}

NetlinkSocket::NetlinkSocket(NetlinkSocket&& other) noexcept
    : nl_(other.nl_), portid_(other.portid_), seq_(other.seq_), netns_name_(std::move(other.netns_name_)) {
  other.nl_ = nullptr;
}

NetlinkSocket& NetlinkSocket::operator=(NetlinkSocket&& other) noexcept {
  if (this != &other) {
    if (nl_) mnl_socket_close(nl_);
    nl_ = other.nl_;
    portid_ = other.portid_;
    seq_ = other.seq_;
    netns_name_ = std::move(other.netns_name_);
    other.nl_ = nullptr;
  }
  return *this;
}

std::string NetlinkSocket::describe(const NlRequest& request) const {
  std::string what = request.what;
  if (!netns_name_.empty()) what += " in netns \"" + netns_name_ + "\"";
  return what;
}

std::uint32_t NetlinkSocket::send(const std::vector<NlRequest>& requests) {
  std::vector<std::uint8_t> batch;
  const std::uint32_t first = ++seq_;
  for (const auto& request : requests) {
    std::size_t at = batch.size();
    batch.insert(batch.end(), request.bytes.begin(), request.bytes.end());
    batch.resize(at + MNL_ALIGN(request.bytes.size()), 0);
    reinterpret_cast<nlmsghdr*>(batch.data() + at)->nlmsg_seq = seq_++;
  }
  --seq_;
  if (mnl_socket_sendto(nl_, batch.data(), batch.size()) < 0) {
    throwErrno((requests.size() == 1 ? describe(requests[0]) : "send rtnetlink batch" + describe(NlRequest{})));
  }
  return first;
}

std::vector<int> NetlinkSocket::run(const std::vector<NlRequest>& requests) {
  auto errs = runAll(requests);
  checkResults(requests, errs);
  return errs;
}

void NetlinkSocket::checkResults(const std::vector<NlRequest>& requests, const std::vector<int>& errs) const {
  for (std::size_t i = 0; i < requests.size() && i < errs.size(); ++i) {
    if (errs[i] == 0 || requests[i].tolerates(errs[i])) continue;
    std::string what = describe(requests[i]);
    if (i < extacks_.size() && !extacks_[i].empty()) what += " (" + extacks_[i] + ")";
    throw OsError(errs[i], what);
  }
}

std::vector<int> NetlinkSocket::runAll(const std::vector<NlRequest>& requests) {
  if (requests.empty()) return {};
  const std::uint32_t first = send(requests);
  std::vector<int> errs(requests.size(), 0);
  std::vector<std::string> extacks(requests.size());
  std::vector<bool> acked(requests.size(), false);
  std::size_t pending = requests.size();
  std::vector<std::uint8_t> buf(kRecvBuffer);
  while (pending > 0) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) throwErrno("read rtnetlink ack for " + describe(requests[requests.size() - pending]));
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
      if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq < first) continue;
      std::size_t i = nlh->nlmsg_seq - first;
      if (i >= requests.size() || acked[i]) continue;
      auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      errs[i] = -err->error;
      extacks[i] = extackMessage(nlh);
      acked[i] = true;
      --pending;
    }
  }
  extacks_ = std::move(extacks);
  return errs;
}

int NetlinkSocket::run(const NlRequest& request) { return run(std::vector<NlRequest>{request}).front(); }

std::optional<LinkInfo> NetlinkSocket::getLink(const std::string& name) {
  NlRequest request = planGetLink(name);
  const std::uint32_t seq = send({request});
  std::vector<std::uint8_t> buf(kRecvBuffer);
  std::vector<LinkInfo> links;
  int ret = MNL_CB_OK;
  while (ret > MNL_CB_STOP && links.empty()) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) throwErrno(describe(request));
    ret = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid_, collectLink, &links);
    if (ret == MNL_CB_ERROR) {
      if (errno == ENODEV) return std::nullopt;
      throwErrno(describe(request));
    }
  }
  if (links.empty()) throw OsError(EPROTO, describe(request) + ": no reply");
  return links.front();
}

std::vector<LinkInfo> NetlinkSocket::dumpLinks() {
  NlRequest request = planDumpLinks();
  const std::uint32_t seq = send({request});
  std::vector<std::uint8_t> buf(kRecvBuffer);
  std::vector<LinkInfo> links;
  int ret = MNL_CB_OK;
  while (ret > MNL_CB_STOP) {
    ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
    if (n < 0) throwErrno(describe(request));
    ret = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid_, collectLink, &links);
    if (ret == MNL_CB_ERROR) throwErrno(describe(request));
  }
  return links;
}

}  // namespace minikd::net
