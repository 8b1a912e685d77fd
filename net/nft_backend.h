#pragma once
// The OS boundary of the service proxy: something that applies an NftTransaction atomically.
// The real one (net/nft_backend_linux.h) speaks nf_tables netlink through libnftnl + libmnl;
// tests/fakes/fake_nft_backend.h applies transactions to an in-memory model and dumps nft-style text.
#include "net/nft.h"

#include <string>

namespace minikd::net {

class NftBackend {
 public:
  virtual ~NftBackend() = default;
  /// Applies every operation of `tx` as one atomic batch: all or nothing. Throws OsError naming the
  /// table (and the refused operation when known) when the kernel refuses the batch; then nothing changed.
  virtual void apply(const NftTransaction& tx) = 0;
  /// Deletes the table `table` and whatever the backend set up beside it (e.g. the service-CIDR
  /// route). A missing table is success. Throws OsError on other failures.
  virtual void removeTable(const std::string& table) = 0;
};

}  // namespace minikd::net
