#pragma once
// An in-memory nf_tables: applies NftTransactions with the kernel's rules (atomic; a chain is deleted
// only when empty and unreferenced; an element key is added once; deleting a missing object fails)
// and dumps a table as nft-style text for golden tests.
#include "net/nft_backend.h"

#include <map>
#include <mutex>
#include <string>

namespace minikd::net {

class FakeNftBackend : public NftBackend {
 public:
  struct Table {
    std::map<std::string, NftChain> chains;
    std::map<std::string, NftSet> sets;
    std::map<std::string, std::map<NftKey, std::optional<Verdict>>> elements;
  };

  void apply(const NftTransaction& tx) override;
  void removeTable(const std::string& table) override;

  /// `nft list table ip <table>`-style text (sets, then chains, sorted by name); "" when absent.
  std::string dump(const std::string& table) const;
  bool hasTable(const std::string& table) const;
  /// A copy of the table (throws std::out_of_range when absent).
  Table table(const std::string& table) const;
  /// Transactions applied successfully / refused so far, and the operations in the last applied one.
  int applied() const;
  int refused() const;
  size_t lastOps() const;
  /// Makes the next `n` apply() calls fail with EIO (before changing anything).
  void failNext(int n);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Table> tables_;
  int applied_ = 0, refused_ = 0, fail_next_ = 0;
  size_t last_ops_ = 0;
};

}  // namespace minikd::net
