#pragma once
// The API's TLS material and token, generated with OpenSSL on first `up` under the state dir.
#include <string>
#include <vector>

namespace minikd::api {

struct Pki {
  std::string ca_cert_file, server_cert_file, server_key_file, token_file;
  std::string ca_pem;  // the CA certificate, for kubeconfigs
  std::string token;
};

/// Ensures <dir>/pki/{ca.crt,ca.key,server.crt,server.key} and <dir>/token exist (creating the ones
/// missing; keys and token 0600, dirs 0700) and returns them. The server certificate is valid for
/// 127.0.0.1, localhost, the kubernetes service names and `extra_sans` (IPs or DNS names).
/// Throws std::runtime_error naming the file on failure.
Pki ensurePki(const std::string& dir, const std::vector<std::string>& extra_sans);

/// A kubeconfig (YAML) for `server` with the CA embedded and the bearer token, context "minikd".
std::string makeKubeconfig(const std::string& server, const std::string& ca_pem, const std::string& token);

/// Writes `content` to `path` atomically (temp file + rename) with `mode`. Throws naming the file.
void writeFileAtomic(const std::string& path, const std::string& content, unsigned mode);
std::string readFile(const std::string& path);

}  // namespace minikd::api
