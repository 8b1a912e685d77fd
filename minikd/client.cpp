#include "minikd/client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace minikd {
namespace {

/// An X509_STORE holding every certificate of `pem`; nullptr if there is none.
X509_STORE* storeFromPem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) return nullptr;
  X509_STORE* store = X509_STORE_new();
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, cert);
    X509_free(cert);
    ++count;
  }
  BIO_free(bio);
  if (count == 0) {
    X509_STORE_free(store);
    return nullptr;
  }
  return store;
}

std::string reasonForCode(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "Unknown";
  }
}

std::string kubectlWording(int code, const std::string& reason, const std::string& message) {
  if (code == 401) return "error: You must be logged in to the server (Unauthorized)";
  // kubectl prints Invalid errors ("The Pod \"x\" is invalid: ...") without a prefix.
  if (reason == "Invalid" && message.rfind("The ", 0) == 0) return message;
  return "Error from server (" + reason + "): " + message;
}

}  // namespace

ServerError::ServerError(int code, std::string reason, std::string message, Json status)
    : std::runtime_error(kubectlWording(code, reason, message)),
      code_(code),
      reason_(std::move(reason)),
      message_(std::move(message)),
      status_(std::move(status)) {}

ServerError makeServerError(int http_status, const std::string& body) {
  Json status = Json::parse(body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    std::string reason = status.value("reason", "");
    if (reason.empty()) reason = reasonForCode(http_status);
    std::string message = status.value("message", "");
    if (message.empty()) message = "the server responded with status " + std::to_string(http_status);
    return ServerError(status.value("code", http_status), reason, message, status);
  }
  std::string message = body.empty() ? "the server responded with status " + std::to_string(http_status) : body;
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
  if (http_status == 404 && body.empty()) message = "the server could not find the requested resource";
  Json synth = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                {"code", http_status}, {"reason", reasonForCode(http_status)}, {"message", message}};
  return ServerError(http_status, reasonForCode(http_status), message, synth);
}

ApiClient::ApiClient(ClusterAccess access) : access_(std::move(access)) {
  if (access_.server.rfind("https://", 0) != 0 && access_.server.rfind("http://", 0) != 0)
    throw UnreachableError("error: server \"" + access_.server + "\" in " + access_.source +
                           " is not an http(s) URL");
  if (!access_.ca_pem.empty() && !access_.insecure) {
    X509_STORE* probe = storeFromPem(access_.ca_pem);
    if (!probe) throw UnreachableError("error: the certificate-authority in " + access_.source + " holds no PEM certificate");
    X509_STORE_free(probe);
  }
}

ApiClient::~ApiClient() = default;

std::unique_ptr<httplib::Client> ApiClient::makeClient(bool streaming) const {
  auto cli = std::make_unique<httplib::Client>(access_.server);
  cli->set_connection_timeout(5, 0);
  cli->set_read_timeout(streaming ? 24 * 3600 : 60, 0);
  cli->set_write_timeout(60, 0);
  if (!access_.token.empty()) cli->set_bearer_token_auth(access_.token);
  if (access_.server.rfind("https://", 0) == 0) {
    if (access_.insecure) {
      cli->enable_server_certificate_verification(false);
    } else if (!access_.ca_pem.empty()) {
      cli->set_ca_cert_store(storeFromPem(access_.ca_pem));  // the SSL context takes ownership
      cli->enable_server_certificate_verification(true);
    } else {
      cli->enable_server_certificate_verification(true);
    }
  }
  return cli;
}

UnreachableError ApiClient::unreachable(const std::string& why) const {
  return UnreachableError("minikd is not running (no answer at " + access_.server + "): start it with `sudo minikd up`" +
                          (why.empty() ? "" : " [" + why + "]"));
}

HttpResponse ApiClient::request(const std::string& method, const std::string& path, const std::string& body,
                                const std::string& content_type, const std::string& accept) {
  auto cli = makeClient(false);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.headers.emplace("Accept", accept);
  req.headers.emplace("User-Agent", "minikd-cli/0.1");
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    req.body = body;
    req.headers.emplace("Content-Type", content_type.empty() ? "application/json" : content_type);
  }
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (!cli->send(req, res, err)) {
    if (err == httplib::Error::SSLServerVerification)
      throw UnreachableError("error: the server at " + access_.server +
                             " does not present a certificate signed by the CA in " + access_.source);
    throw unreachable(httplib::to_string(err));
  }
  HttpResponse out;
  out.status = res.status;
  out.body = std::move(res.body);
  out.content_type = res.get_header_value("Content-Type");
  return out;
}

Json ApiClient::call(const std::string& method, const std::string& path, const Json& body,
                     const std::string& content_type, const std::string& accept) {
  HttpResponse res = request(method, path, body.is_null() ? "" : body.dump(), content_type, accept);
  if (res.status < 200 || res.status > 299) throw makeServerError(res.status, res.body);
  if (res.body.empty()) return Json::object();
  Json parsed = Json::parse(res.body, nullptr, false);
  if (parsed.is_discarded())
    throw ServerError(res.status, "InternalError", "the server's answer to " + method + " " + path + " is not JSON",
                      Json::object());
  return parsed;
}

void ApiClient::stream(const std::string& path, const std::string& accept,
                       const std::function<bool(std::string_view)>& on_data) {
  auto cli = makeClient(true);
  httplib::Headers headers = {{"Accept", accept}, {"User-Agent", "minikd-cli/0.1"}};
  int status = 0;
  std::string error_body;
  auto res = cli->Get(
      path, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        return true;
      },
      [&](const char* data, size_t len) {
        if (status < 200 || status > 299) {
          error_body.append(data, len);
          return true;
        }
        return on_data(std::string_view(data, len));
      });
  if (status != 0 && (status < 200 || status > 299)) throw makeServerError(status, error_body);
  if (!res && res.error() != httplib::Error::Canceled && status == 0) {
    if (res.error() == httplib::Error::SSLServerVerification)
      throw UnreachableError("error: the server at " + access_.server +
                             " does not present a certificate signed by the CA in " + access_.source);
    throw unreachable(httplib::to_string(res.error()));
  }
}

std::string urlEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void JsonStreamSplitter::feed(std::string_view data, const std::function<void(Json)>& on_value) {
  buf_.append(data);
  size_t start = 0;
  for (size_t i = scan_; i < buf_.size(); ++i) {
    char c = buf_[i];
    if (in_string_) {
      if (escape_) escape_ = false;
      else if (c == '\\') escape_ = true;
      else if (c == '"') in_string_ = false;
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      if (depth_ == 0) start = i;
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (--depth_ == 0) {
        Json v = Json::parse(buf_.begin() + static_cast<long>(start), buf_.begin() + static_cast<long>(i) + 1, nullptr, false);
        if (!v.is_discarded()) on_value(std::move(v));
        buf_.erase(0, i + 1);
        i = static_cast<size_t>(-1);  // restart the scan at the new beginning
        start = 0;
      }
    } else if (depth_ == 0 && !std::isspace(static_cast<unsigned char>(c))) {
      // Garbage between values: drop it.
      buf_.erase(0, i + 1);
      i = static_cast<size_t>(-1);
    }
  }
  if (depth_ == 0) buf_.clear();
  scan_ = buf_.size();
}

}  // namespace minikd
