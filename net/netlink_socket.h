#pragma once
// NetlinkSocket: a NETLINK_ROUTE socket (libmnl) that sends NlRequests and reads their acks.
// A netlink socket acts in the network namespace it was opened in, whatever thread uses it later,
// so the pod network keeps one socket per namespace instead of switching threads around.
#include "net/netlink_message.h"

#include <optional>
#include <string>
#include <vector>

struct mnl_socket;

namespace minikd::net {

class NetlinkSocket {
 public:
  /// Opens and binds a NETLINK_ROUTE socket in the calling thread's current netns. `netns_name`
  /// only names that netns in error messages ("" for the host). Throws OsError.
  explicit NetlinkSocket(std::string netns_name = "");
  ~NetlinkSocket();
  NetlinkSocket(NetlinkSocket&& other) noexcept;
  NetlinkSocket& operator=(NetlinkSocket&& other) noexcept;
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  /// Sends every request in one datagram (the kernel runs them in order) and waits for each ack.
  /// Returns the errno of each request (0 or a tolerated one). Throws OsError naming the first
  /// request that failed with an errno it does not tolerate (kernel extack message included).
  std::vector<int> run(const std::vector<NlRequest>& requests);
  /// Like run(), but returns every request's errno instead of throwing for them (I/O errors on the
  /// socket still throw). checkResults() turns the result into run()'s exception.
  std::vector<int> runAll(const std::vector<NlRequest>& requests);
  /// Throws OsError for the first request whose errno in `errs` it does not tolerate.
  void checkResults(const std::vector<NlRequest>& requests, const std::vector<int>& errs) const;
  /// run() for one request; returns its errno (0 or tolerated).
  int run(const NlRequest& request);
  /// The link called `name`; std::nullopt if there is none (ENODEV). Throws OsError otherwise.
  std::optional<LinkInfo> getLink(const std::string& name);
  /// Every link of this netns. Throws OsError.
  std::vector<LinkInfo> dumpLinks();

  const std::string& netnsName() const { return netns_name_; }

 private:
  std::uint32_t send(const std::vector<NlRequest>& requests);
  std::string describe(const NlRequest& request) const;

  std::vector<std::string> extacks_;  // kernel messages of the last runAll, per request

  mnl_socket* nl_ = nullptr;
  std::uint32_t portid_ = 0;
  std::uint32_t seq_ = 0;
  std::string netns_name_;
};

}  // namespace minikd::net
