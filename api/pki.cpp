#include "api/pki.h"

#include "api/text.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace minikd::api {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("pki: " + what); }

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

void ensureDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) fail("mkdir " + dir + ": " + std::strerror(errno));
  chmod(dir.c_str(), 0700);
}

PKey newKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  if (!k) fail("cannot generate an EC key");
  return PKey(k);
}

std::string pemKey(EVP_PKEY* k) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

std::string pemCert(X509* c) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), c);
  char* data;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

PKey loadKey(const std::string& pem) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (!k) fail("cannot read private key");
  return PKey(k);
}

Cert loadCert(const std::string& pem) {
  std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (!c) fail("cannot read certificate");
  return Cert(c);
}

void addExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail("bad extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert makeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
              const std::string& sans) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* iss = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(iss));
  if (ca) {
    addExt(cert.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    addExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    addExt(cert.get(), iss, NID_subject_key_identifier, "hash");
  } else {
    addExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    addExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    addExt(cert.get(), iss, NID_ext_key_usage, "serverAuth");
    addExt(cert.get(), iss, NID_subject_alt_name, sans);
  }
  if (!X509_sign(cert.get(), issuer_key, EVP_sha256())) fail("cannot sign certificate " + cn);
  return cert;
}

std::string sanList(const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"127.0.0.1", "localhost", "10.96.0.1", "kubernetes", "kubernetes.default",
                                    "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"};
  names.insert(names.end(), extra.begin(), extra.end());
  std::string out;
  for (const auto& n : names) {
    in_addr a{};
    bool ip = inet_pton(AF_INET, n.c_str(), &a) == 1;
    out += (out.empty() ? "" : ",") + std::string(ip ? "IP:" : "DNS:") + n;
  }
  return out;
}

std::string randomToken() {
  unsigned char b[32];
  if (RAND_bytes(b, sizeof b) != 1) fail("RAND_bytes failed");
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += hex[c >> 4];
    s += hex[c & 15];
  }
  return s;
}

}  // namespace

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("read " + path + ": " + std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFileAtomic(const std::string& path, const std::string& content, unsigned mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("write " + tmp + ": " + std::strerror(errno));
  fchmod(fd, mode);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      throw std::runtime_error("write " + tmp + ": " + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  fsync(fd);
  ::close(fd);
  if (rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("rename " + path + ": " + std::strerror(errno));
}

Pki ensurePki(const std::string& dir, const std::vector<std::string>& extra_sans) {
  ensureDir(dir);
  std::string pki = dir + "/pki";
  ensureDir(pki);
  Pki out{pki + "/ca.crt", pki + "/server.crt", pki + "/server.key", dir + "/token", "", ""};
  std::string ca_key_file = pki + "/ca.key";
  if (!exists(out.ca_cert_file) || !exists(ca_key_file)) {
    PKey key = newKey();
    Cert ca = makeCert(key.get(), "minikd-ca", nullptr, key.get(), true, "");
    writeFileAtomic(ca_key_file, pemKey(key.get()), 0600);
    writeFileAtomic(out.ca_cert_file, pemCert(ca.get()), 0644);
    unlink(out.server_cert_file.c_str());
  }
  out.ca_pem = readFile(out.ca_cert_file);
  if (!exists(out.server_cert_file) || !exists(out.server_key_file)) {
    PKey ca_key = loadKey(readFile(ca_key_file));
    Cert ca = loadCert(out.ca_pem);
    PKey key = newKey();
    Cert cert = makeCert(key.get(), "minikd-apiserver", ca.get(), ca_key.get(), false, sanList(extra_sans));
    writeFileAtomic(out.server_key_file, pemKey(key.get()), 0600);
    writeFileAtomic(out.server_cert_file, pemCert(cert.get()), 0644);
  }
  if (!exists(out.token_file)) writeFileAtomic(out.token_file, randomToken() + "\n", 0600);
  out.token = readFile(out.token_file);
  while (!out.token.empty() && (out.token.back() == '\n' || out.token.back() == ' ')) out.token.pop_back();
  return out;
}

std::string makeKubeconfig(const std::string& server, const std::string& ca_pem, const std::string& token) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: minikd\n  cluster:\n    server: " + server +
         "\n    certificate-authority-data: " + base64Encode(ca_pem) +
         "\nusers:\n- name: minikd\n  user:\n    token: " + token +
         "\ncontexts:\n- name: minikd\n  context:\n    cluster: minikd\n    user: minikd\n    namespace: default\n"
         "current-context: minikd\npreferences: {}\n";
}

}  // namespace minikd::api
