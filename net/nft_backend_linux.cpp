#include "net/nft_backend_linux.h"

#include "net/os_error.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/if.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <memory>
#include <vector>

namespace minikd::net {

namespace {

// Registers: 16-byte NFT_REG_1/2 for single values, 4-byte NFT_REG32_xx for concatenated keys.
constexpr uint32_t kReg1 = NFT_REG_1;
constexpr uint32_t kReg2 = NFT_REG_2;
constexpr uint32_t kRegConcat = NFT_REG32_00;
constexpr uint32_t kBatchPage = 256 * 1024;
constexpr uint32_t kBatchOverrun = 128 * 1024;
constexpr size_t kElementsPerMessage = 256;  // keeps the nested element list well under 64 KiB

template <typename T, auto Free>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table, nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain, nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule, nftnl_rule_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set, nftnl_set_free>>;
using BatchPtr = std::unique_ptr<nftnl_batch, Deleter<nftnl_batch, nftnl_batch_free>>;

// ---- Expressions -----------------------------------------------------------------------------------

nftnl_expr* newExpr(const char* name) {
  nftnl_expr* e = nftnl_expr_alloc(name);
  if (!e) throw OsError(ENOMEM, std::string("allocate nftables expression ") + name);
  return e;
}

void payload(nftnl_rule* r, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
  nftnl_expr* e = newExpr("payload");
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
  nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
  nftnl_rule_add_expr(r, e);
}

void metaLoad(nftnl_rule* r, uint32_t key, uint32_t dreg) {
  nftnl_expr* e = newExpr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
  nftnl_rule_add_expr(r, e);
}

void metaStore(nftnl_rule* r, uint32_t key, uint32_t sreg) {
  nftnl_expr* e = newExpr("meta");
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
  nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, sreg);
  nftnl_rule_add_expr(r, e);
}

void cmp(nftnl_rule* r, uint32_t sreg, uint32_t op, const void* data, uint32_t len) {
  nftnl_expr* e = newExpr("cmp");
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, sreg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
  nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
  nftnl_rule_add_expr(r, e);
}

/// reg = (reg & mask) ^ xor, on 4 bytes.
void bitwise(nftnl_rule* r, uint32_t reg, uint32_t mask, uint32_t x) {
  nftnl_expr* e = newExpr("bitwise");
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
  nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, 4);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, 4);
  nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &x, 4);
  nftnl_rule_add_expr(r, e);
}

void immediateData(nftnl_rule* r, uint32_t dreg, const void* data, uint32_t len) {
  nftnl_expr* e = newExpr("immediate");
  nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, dreg);
  nftnl_expr_set(e, NFTNL_EXPR_IMM_DATA, data, len);
  nftnl_rule_add_expr(r, e);
}

int verdictCode(VerdictKind k) {
  switch (k) {
    case VerdictKind::Accept: return NF_ACCEPT;
    case VerdictKind::Drop: return NF_DROP;
    case VerdictKind::Return: return NFT_RETURN;
    case VerdictKind::Jump: return NFT_JUMP;
    case VerdictKind::Goto: return NFT_GOTO;
  }
  return NF_ACCEPT;
}

void lookup(nftnl_rule* r, uint32_t sreg, const std::string& set, std::optional<uint32_t> dreg) {
  nftnl_expr* e = newExpr("lookup");
  nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, sreg);
  if (dreg) nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, *dreg);
  nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set.c_str());
  nftnl_rule_add_expr(r, e);
}

void loadAddr(nftnl_rule* r, bool source, uint32_t dreg) {
  payload(r, NFT_PAYLOAD_NETWORK_HEADER, source ? 12 : 16, 4, dreg);
}

struct ExprBuilder {
  nftnl_rule* r;

  void operator()(const Verdict& v) const {
    nftnl_expr* e = newExpr("immediate");
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, static_cast<uint32_t>(verdictCode(v.kind)));
    if (!v.chain.empty()) nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, v.chain.c_str());
    nftnl_rule_add_expr(r, e);
  }
  void operator()(const MatchAddr& m) const {
    loadAddr(r, m.source, kReg1);
    uint32_t mask = m.prefix.len == 0 ? 0 : ~uint32_t{0} << (32 - m.prefix.len);
    if (m.prefix.len < 32) bitwise(r, kReg1, htonl(mask), 0);
    uint32_t want = htonl(m.prefix.addr);
    cmp(r, kReg1, m.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, &want, 4);
  }
  void operator()(const MatchL4Proto& m) const {
    metaLoad(r, NFT_META_L4PROTO, kReg1);
    uint8_t p = static_cast<uint8_t>(m.proto);
    cmp(r, kReg1, NFT_CMP_EQ, &p, 1);
  }
  void operator()(const MatchFibLocal& m) const {
    nftnl_expr* e = newExpr("fib");
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS, m.source ? NFTA_FIB_F_SADDR : NFTA_FIB_F_DADDR);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, kReg1);
    nftnl_rule_add_expr(r, e);
    uint32_t local = RTN_LOCAL;
    cmp(r, kReg1, NFT_CMP_EQ, &local, 4);
  }
  void operator()(const MatchMarkClear& m) const {
    metaLoad(r, NFT_META_MARK, kReg1);
    bitwise(r, kReg1, m.bits, 0);
    uint32_t zero = 0;
    cmp(r, kReg1, NFT_CMP_EQ, &zero, 4);
  }
  void operator()(const MatchSaddrInSet& m) const {
    loadAddr(r, true, kReg1);
    lookup(r, kReg1, m.set, std::nullopt);
  }
  void operator()(const UpdateSaddrSet& m) const {
    loadAddr(r, true, kReg1);
    nftnl_expr* e = newExpr("dynset");
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
    nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, m.set.c_str());
    nftnl_rule_add_expr(r, e);
  }
  void operator()(const SetMark& m) const {
    metaLoad(r, NFT_META_MARK, kReg1);
    if (m.toggle)
      bitwise(r, kReg1, ~uint32_t{0}, m.bits);
    else
      bitwise(r, kReg1, ~m.bits, m.bits);
    metaStore(r, NFT_META_MARK, kReg1);
  }
  void operator()(const VmapLookup& m) const {
    switch (m.key) {
      case VmapKey::DaddrProtoPort:
        loadAddr(r, false, kRegConcat);
        metaLoad(r, NFT_META_L4PROTO, kRegConcat + 1);
        payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kRegConcat + 2);
        lookup(r, kRegConcat, m.map, NFT_REG_VERDICT);
        return;
      case VmapKey::ProtoPort:
        metaLoad(r, NFT_META_L4PROTO, kRegConcat);
        payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, kRegConcat + 1);
        lookup(r, kRegConcat, m.map, NFT_REG_VERDICT);
        return;
      case VmapKey::Numgen: {
        nftnl_expr* e = newExpr("numgen");
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, kReg1);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, m.mod);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
        nftnl_expr_set_u32(e, NFTNL_EXPR_NG_OFFSET, m.offset);
        nftnl_rule_add_expr(r, e);
        lookup(r, kReg1, m.map, NFT_REG_VERDICT);
        return;
      }
    }
  }
  void operator()(const MatchRandomZero& m) const {
    nftnl_expr* e = newExpr("numgen");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_DREG, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_MODULUS, m.mod);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
    nftnl_rule_add_expr(r, e);
    uint32_t zero = 0;
    cmp(r, kReg1, NFT_CMP_EQ, &zero, 4);
  }
  void operator()(const Dnat& d) const {
    uint32_t addr = htonl(d.addr);
    uint16_t port = htons(d.port);
    immediateData(r, kReg1, &addr, 4);
    immediateData(r, kReg2, &port, 2);
    nftnl_expr* e = newExpr("nat");
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, NFPROTO_IPV4);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, kReg1);
    nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN, kReg2);
    nftnl_rule_add_expr(r, e);
  }
  void operator()(const Masquerade&) const {
    nftnl_expr* e = newExpr("masq");
    nftnl_expr_set_u32(e, NFTNL_EXPR_MASQ_FLAGS, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    nftnl_rule_add_expr(r, e);
  }
  void operator()(const Reject& j) const {
    nftnl_expr* e = newExpr("reject");
    nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, j.tcp_reset ? NFT_REJECT_TCP_RST : NFT_REJECT_ICMP_UNREACH);
    nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, j.tcp_reset ? 0 : 3 /* ICMP_PORT_UNREACH */);
    nftnl_rule_add_expr(r, e);
  }
  void operator()(const Counter&) const { nftnl_rule_add_expr(r, newExpr("counter")); }
};

// ---- Keys and sets ---------------------------------------------------------------------------------

/// nft's datatype ids (src/datatype.h), for `nft list` to print keys as addresses and ports.
uint32_t datatypeId(NftKeyType t) {
  switch (t) {
    case NftKeyType::Ipv4Addr: return 7;
    case NftKeyType::InetProto: return 12;
    case NftKeyType::InetService: return 13;
    case NftKeyType::Mark: return 19;
  }
  return 0;
}

/// A key in register layout: each component in its own 4-byte register, network order where nft uses it.
std::vector<uint8_t> encodeKey(const NftKey& key) {
  std::vector<uint8_t> out(key.size() * 4, 0);
  for (size_t i = 0; i < key.size(); ++i) {
    uint8_t* p = out.data() + i * 4;
    uint32_t v = key[i].value;
    switch (key[i].type) {
      case NftKeyType::Ipv4Addr: {
        uint32_t n = htonl(v);
        std::memcpy(p, &n, 4);
        break;
      }
      case NftKeyType::InetProto: p[0] = static_cast<uint8_t>(v); break;
      case NftKeyType::InetService: {
        uint16_t n = htons(static_cast<uint16_t>(v));
        std::memcpy(p, &n, 2);
        break;
      }
      case NftKeyType::Mark: std::memcpy(p, &v, 4); break;
    }
  }
  // A single-component key is as long as its type (1 byte for a protocol, 2 for a port).
  if (key.size() == 1 && key[0].type == NftKeyType::InetProto) out.resize(1);
  if (key.size() == 1 && key[0].type == NftKeyType::InetService) out.resize(2);
  return out;
}

uint32_t keyLength(const std::vector<NftKeyType>& key) {
  if (key.size() == 1 && key[0] == NftKeyType::InetProto) return 1;
  if (key.size() == 1 && key[0] == NftKeyType::InetService) return 2;
  return static_cast<uint32_t>(key.size() * 4);
}

uint32_t keyTypeId(const std::vector<NftKeyType>& key) {
  uint32_t id = 0;
  for (auto t : key) id = (id << 6) | datatypeId(t);  // nft's TYPE_BITS concatenation
  return id;
}

uint32_t hookNumber(NftHook h) {
  switch (h) {
    case NftHook::Prerouting: return NF_INET_PRE_ROUTING;
    case NftHook::Input: return NF_INET_LOCAL_IN;
    case NftHook::Forward: return NF_INET_FORWARD;
    case NftHook::Output: return NF_INET_LOCAL_OUT;
    case NftHook::Postrouting: return NF_INET_POST_ROUTING;
  }
  return NF_INET_PRE_ROUTING;
}

// ---- Batch building --------------------------------------------------------------------------------

/// Builds one nfnetlink batch, remembering which operation each sequence number belongs to.
class BatchBuilder {
 public:
  BatchBuilder(const std::string& table, uint32_t& seq, uint32_t& set_id)
      : table_(table), seq_(seq), set_id_(set_id), batch_(nftnl_batch_alloc(kBatchPage, kBatchOverrun)) {
    if (!batch_) throw OsError(ENOMEM, "allocate nftables batch for table ip " + table);
    nftnl_batch_begin(static_cast<char*>(nftnl_batch_buffer(batch_.get())), seq_++);
    next();
  }

  void add(const NftOp& op, size_t index) {
    current_ = index;
    std::visit([&](const auto& o) { build(o); }, op);
  }

  void finish() {
    nftnl_batch_end(static_cast<char*>(nftnl_batch_buffer(batch_.get())), seq_++);
    next();
  }

  nftnl_batch* batch() { return batch_.get(); }
  /// The operation index of a sequence number (or -1 for batch begin/end).
  long opOf(uint32_t seq) const {
    auto it = seq_ops_.find(seq);
    return it == seq_ops_.end() ? -1 : static_cast<long>(it->second);
  }

 private:
  nlmsghdr* header(uint16_t type, uint16_t flags) {
    seq_ops_[seq_] = current_;
    return nftnl_nlmsg_build_hdr(static_cast<char*>(nftnl_batch_buffer(batch_.get())), type, NFPROTO_IPV4, flags,
                                 seq_++);
  }
  void next() {
    if (nftnl_batch_update(batch_.get()) < 0) throw OsError(errno, "grow nftables batch for table ip " + table_);
  }

  void build(const AddTable&) { table(NFT_MSG_NEWTABLE, NLM_F_CREATE); }
  void build(const DeleteTable&) { table(NFT_MSG_DELTABLE, 0); }
  void table(uint16_t type, uint16_t flags) {
    TablePtr t(nftnl_table_alloc());
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, NFPROTO_IPV4);
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, table_.c_str());
    nftnl_table_nlmsg_build_payload(header(type, flags), t.get());
    next();
  }

  ChainPtr chain(const std::string& name) {
    ChainPtr c(nftnl_chain_alloc());
    nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_FAMILY, NFPROTO_IPV4);
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TABLE, table_.c_str());
    nftnl_chain_set_str(c.get(), NFTNL_CHAIN_NAME, name.c_str());
    return c;
  }
  void build(const AddChain& op) {
    ChainPtr c = chain(op.name);
    if (op.base) {
      nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_HOOKNUM, hookNumber(op.base->hook));
      nftnl_chain_set_s32(c.get(), NFTNL_CHAIN_PRIO, op.base->priority);
      nftnl_chain_set_str(c.get(), NFTNL_CHAIN_TYPE, op.base->type.c_str());
      nftnl_chain_set_u32(c.get(), NFTNL_CHAIN_POLICY, NF_ACCEPT);
    }
    nftnl_chain_nlmsg_build_payload(header(NFT_MSG_NEWCHAIN, NLM_F_CREATE), c.get());
    next();
  }
  void build(const DeleteChain& op) {
    nftnl_chain_nlmsg_build_payload(header(NFT_MSG_DELCHAIN, 0), chain(op.name).get());
    next();
  }
  RulePtr rule(const std::string& chain_name) {
    RulePtr r(nftnl_rule_alloc());
    nftnl_rule_set_u32(r.get(), NFTNL_RULE_FAMILY, NFPROTO_IPV4);
    nftnl_rule_set_str(r.get(), NFTNL_RULE_TABLE, table_.c_str());
    nftnl_rule_set_str(r.get(), NFTNL_RULE_CHAIN, chain_name.c_str());
    return r;
  }
  void build(const FlushChain& op) {
    nftnl_rule_nlmsg_build_payload(header(NFT_MSG_DELRULE, 0), rule(op.name).get());
    next();
  }
  void build(const AddRule& op) {
    RulePtr r = rule(op.chain);
    ExprBuilder eb{r.get()};
    for (const auto& s : op.rule.stmts) std::visit(eb, s);
    nftnl_rule_nlmsg_build_payload(header(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), r.get());
    next();
  }
  SetPtr set(const std::string& name) {
    SetPtr s(nftnl_set_alloc());
    nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, NFPROTO_IPV4);
    nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, table_.c_str());
    nftnl_set_set_str(s.get(), NFTNL_SET_NAME, name.c_str());
    return s;
  }
  void build(const AddSet& op) {
    SetPtr s = set(op.set.name);
    uint32_t flags = 0;
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_TYPE, keyTypeId(op.set.key));
    nftnl_set_set_u32(s.get(), NFTNL_SET_KEY_LEN, keyLength(op.set.key));
    nftnl_set_set_u32(s.get(), NFTNL_SET_ID, set_id_++);
    if (op.set.verdict_map) {
      flags |= NFT_SET_MAP;
      nftnl_set_set_u32(s.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    }
    if (op.set.timeout_seconds) {
      flags |= NFT_SET_TIMEOUT | NFT_SET_EVAL;
      nftnl_set_set_u64(s.get(), NFTNL_SET_TIMEOUT, uint64_t{op.set.timeout_seconds} * 1000);
    }
    nftnl_set_set_u32(s.get(), NFTNL_SET_FLAGS, flags);
    nftnl_set_nlmsg_build_payload(header(NFT_MSG_NEWSET, NLM_F_CREATE), s.get());
    next();
  }
  void build(const DeleteSet& op) {
    nftnl_set_nlmsg_build_payload(header(NFT_MSG_DELSET, 0), set(op.name).get());
    next();
  }
  void build(const AddElements& op) {
    for (size_t i = 0; i < op.elements.size(); i += kElementsPerMessage) {
      SetPtr s = set(op.set);
      for (size_t j = i; j < std::min(op.elements.size(), i + kElementsPerMessage); ++j)
        nftnl_set_elem_add(s.get(), element(op.elements[j].key, op.elements[j].verdict));
      nftnl_set_elems_nlmsg_build_payload(header(NFT_MSG_NEWSETELEM, NLM_F_CREATE), s.get());
      next();
    }
  }
  void build(const DeleteElements& op) {
    for (size_t i = 0; i < op.keys.size(); i += kElementsPerMessage) {
      SetPtr s = set(op.set);
      for (size_t j = i; j < std::min(op.keys.size(), i + kElementsPerMessage); ++j)
        nftnl_set_elem_add(s.get(), element(op.keys[j], std::nullopt));
      nftnl_set_elems_nlmsg_build_payload(header(NFT_MSG_DELSETELEM, 0), s.get());
      next();
    }
  }
  nftnl_set_elem* element(const NftKey& key, const std::optional<Verdict>& verdict) {
    nftnl_set_elem* e = nftnl_set_elem_alloc();
    if (!e) throw OsError(ENOMEM, "allocate nftables set element");
    auto bytes = encodeKey(key);
    nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, bytes.data(), static_cast<uint32_t>(bytes.size()));
    if (verdict) {
      nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, static_cast<uint32_t>(verdictCode(verdict->kind)));
      if (!verdict->chain.empty()) nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, verdict->chain.c_str());
    }
    return e;
  }

  const std::string& table_;
  uint32_t& seq_;
  uint32_t& set_id_;
  BatchPtr batch_;
  size_t current_ = 0;
  std::map<uint32_t, size_t> seq_ops_;
};

/// Describes an operation for an error message: "add rule ip minikd svc-…" (first 200 characters).
std::string describe(const NftTransaction& tx, long index) {
  if (index < 0) return "nftables batch for table ip " + tx.table;
  NftTransaction one{tx.table, {tx.ops[static_cast<size_t>(index)]}};
  std::string text = formatTransaction(one);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.size() > 200) text = text.substr(0, 200) + "…";
  return text;
}

mnl_socket* openSocket(int bus, const char* what) {
  mnl_socket* s = mnl_socket_open(bus);
  if (!s) throwErrno(std::string("open ") + what + " netlink socket");
  if (mnl_socket_bind(s, 0, MNL_SOCKET_AUTOPID) < 0) {
    int err = errno;
    mnl_socket_close(s);
    throw OsError(err, std::string("bind ") + what + " netlink socket");
  }
  int one = 1;
  // Errors carry only the header of the refused message, plus the kernel's explanation.
  mnl_socket_setsockopt(s, NETLINK_CAP_ACK, &one, sizeof one);
  mnl_socket_setsockopt(s, NETLINK_EXT_ACK, &one, sizeof one);
  return s;
}

void writeSysctl(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) throwErrno("open " + path);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(value.size())) throw OsError(err, "write " + value + " to " + path);
}

/// The kernel's explanation (extended ack message) of an NLMSG_ERROR, if any.
std::string extackMessage(const nlmsghdr* nlh) {
  if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  size_t off = sizeof(nlmsgerr);  // NETLINK_CAP_ACK: only the header of the original message
  const char* base = static_cast<const char*>(mnl_nlmsg_get_payload(nlh));
  size_t len = mnl_nlmsg_get_payload_len(nlh);
  (void)err;
  while (off + sizeof(nlattr) <= len) {
    auto* a = reinterpret_cast<const nlattr*>(base + off);
    if (a->nla_len < sizeof(nlattr) || off + a->nla_len > len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
      return std::string(reinterpret_cast<const char*>(a) + NLA_HDRLEN, a->nla_len - NLA_HDRLEN);
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

}  // namespace

NftBackendLinux::NftBackendLinux(Options options) : options_(std::move(options)) {
  if (options_.route_localnet) writeSysctl("/proc/sys/net/ipv4/conf/all/route_localnet", "1");
  nft_ = openSocket(NETLINK_NETFILTER, "nftables");
  try {
    rt_ = openSocket(NETLINK_ROUTE, "route");
  } catch (...) {
    mnl_socket_close(nft_);
    throw;
  }
}

NftBackendLinux::~NftBackendLinux() {
  if (nft_) mnl_socket_close(nft_);
  if (rt_) mnl_socket_close(rt_);
}

void NftBackendLinux::apply(const NftTransaction& tx) {
  std::lock_guard lk(mu_);
  bool full = !tx.ops.empty() && std::holds_alternative<AddTable>(tx.ops.front());
  if (full) ensureRoute(true);
  if (tx.ops.empty()) return;
  sendBatch(tx);
}

void NftBackendLinux::sendBatch(const NftTransaction& tx) {
  BatchBuilder b(tx.table, seq_, set_id_);
  for (size_t i = 0; i < tx.ops.size(); ++i) b.add(tx.ops[i], i);
  b.finish();

  // One sendmsg for the whole batch: the kernel applies it atomically in one go.
  int iovlen = nftnl_batch_iovec_len(b.batch());
  std::vector<iovec> iov(static_cast<size_t>(iovlen));
  nftnl_batch_iovec(b.batch(), iov.data(), static_cast<uint32_t>(iovlen));
  size_t total = 0;
  for (auto& v : iov) total += v.iov_len;
  int fd = mnl_socket_get_fd(nft_);
  int sndbuf = static_cast<int>(total + 65536);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &kernel;
  msg.msg_namelen = sizeof kernel;
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  if (sendmsg(fd, &msg, 0) < 0) throwErrno("send " + describe(tx, -1));

  // The kernel answers only refused messages; a GETGEN request after the batch marks the end.
  char req[MNL_SOCKET_BUFFER_SIZE];
  uint32_t gen_seq = seq_++;
  nftnl_nlmsg_build_hdr(req, NFT_MSG_GETGEN, AF_UNSPEC, 0, gen_seq);
  auto* gen = reinterpret_cast<nlmsghdr*>(req);
  if (mnl_socket_sendto(nft_, gen, gen->nlmsg_len) < 0) throwErrno("send nftables GETGEN");

  int first_err = 0;
  long first_op = -1;
  std::string first_msg;
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = mnl_socket_recvfrom(nft_, buf.data(), buf.size());
    if (n < 0) throwErrno("receive the kernel's answer to " + describe(tx, -1));
    bool done = false;
    int left = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, left);
         nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_seq == gen_seq) done = true;
      if (nlh->nlmsg_type != NLMSG_ERROR) continue;
      auto* err = static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
      if (err->error == 0 || nlh->nlmsg_seq == gen_seq) continue;
      if (!first_err) {
        first_err = -err->error;
        first_op = b.opOf(nlh->nlmsg_seq);
        first_msg = extackMessage(nlh);
      }
    }
    if (done) break;
  }
  if (first_err) {
    std::string what = describe(tx, first_op);
    if (!first_msg.empty()) what += " (" + first_msg + ")";
    throw OsError(first_err, what);
  }
}

void NftBackendLinux::removeTable(const std::string& table) {
  std::lock_guard lk(mu_);
  NftTransaction tx{table, {AddTable{}, DeleteTable{}}};  // add first: deleting a missing table fails
  sendBatch(tx);
  ensureRoute(false);
}

namespace {

/// The ifindex of `name` in the route socket's namespace; 0 when there is no such link.
int linkIndex(mnl_socket* rt, const std::string& name, uint32_t seq) {
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = RTM_GETLINK;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = seq;
  auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifm->ifi_family = AF_UNSPEC;
  mnl_attr_put_strz(nlh, IFLA_IFNAME, name.c_str());
  if (mnl_socket_sendto(rt, nlh, nlh->nlmsg_len) < 0) throwErrno("get link \"" + name + "\"");
  ssize_t n = mnl_socket_recvfrom(rt, buf, sizeof buf);
  if (n < 0) throwErrno("get link \"" + name + "\"");
  auto* reply = reinterpret_cast<nlmsghdr*>(buf);
  if (reply->nlmsg_type == NLMSG_ERROR) {
    int err = -static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(reply))->error;
    if (err == ENODEV) return 0;
    throw OsError(err, "get link \"" + name + "\"");
  }
  return static_cast<ifinfomsg*>(mnl_nlmsg_get_payload(reply))->ifi_index;
}

}  // namespace

void NftBackendLinux::ensureRoute(bool present) {
  if (options_.service_cidr.empty() || options_.route_dev.empty()) return;
  auto cidr = parseIpv4Prefix(options_.service_cidr);
  if (!cidr) throw OsError(EINVAL, "service CIDR \"" + options_.service_cidr + "\"");
  std::string what = std::string(present ? "add" : "delete") + " route " + options_.service_cidr + " dev " +
                     options_.route_dev;
  int ifindex = linkIndex(rt_, options_.route_dev, seq_++);
  if (!ifindex) {
    if (!present) return;  // the link is gone, and its routes with it
    throw OsError(ENODEV, what);
  }
  char buf[MNL_SOCKET_BUFFER_SIZE];
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = present ? RTM_NEWROUTE : RTM_DELROUTE;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (present ? NLM_F_CREATE | NLM_F_REPLACE : 0);
  nlh->nlmsg_seq = seq_++;
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET;
  rtm->rtm_dst_len = static_cast<unsigned char>(cidr->len);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_STATIC;
  rtm->rtm_scope = RT_SCOPE_LINK;
  rtm->rtm_type = RTN_UNICAST;
  mnl_attr_put_u32(nlh, RTA_DST, htonl(cidr->addr));
  mnl_attr_put_u32(nlh, RTA_OIF, static_cast<uint32_t>(ifindex));
  if (mnl_socket_sendto(rt_, nlh, nlh->nlmsg_len) < 0) throwErrno(what);
  ssize_t n = mnl_socket_recvfrom(rt_, buf, sizeof buf);
  if (n < 0) throwErrno(what);
  auto* reply = reinterpret_cast<nlmsghdr*>(buf);
  if (reply->nlmsg_type != NLMSG_ERROR) return;
  int err = -static_cast<nlmsgerr*>(mnl_nlmsg_get_payload(reply))->error;
  if (err == 0 || (!present && (err == ESRCH || err == ENOENT))) return;
  throw OsError(err, what);
}

}  // namespace minikd::net
