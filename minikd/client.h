#pragma once
// An HTTP(S) client for the minikd API, built from a kubeconfig's cluster access (CA, bearer token).
#include "minikd/kubeconfig.h"

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace httplib {
class Client;
}

namespace minikd {

/// The Accept header kubectl sends to get server-side Tables (falls back to plain JSON).
inline constexpr const char* kTableAccept =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

/// No answer from the server (not running, refused, TLS failure). what() is the one-line message
/// for the user.
class UnreachableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The server answered with an error. `status` is the Kubernetes Status (synthesised when the body
/// was not one); what() is kubectl's wording, e.g. `Error from server (NotFound): pods "x" not found`.
class ServerError : public std::runtime_error {
 public:
  ServerError(int code, std::string reason, std::string message, Json status);
  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  /// The Status message alone (`pods "x" not found`).
  const std::string& message() const { return message_; }
  const Json& status() const { return status_; }

 private:
  int code_;
  std::string reason_;
  std::string message_;
  Json status_;
};

/// Builds the error for a non-2xx answer: parses a Status body, else uses the HTTP code.
ServerError makeServerError(int http_status, const std::string& body);

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string content_type;
};

/// A client for one API server. Thread-compatible (one thread at a time per client).
class ApiClient {
 public:
  /// Throws UnreachableError if the CA cannot be loaded.
  explicit ApiClient(ClusterAccess access);
  ~ApiClient();
  ApiClient(const ApiClient&) = delete;
  ApiClient& operator=(const ApiClient&) = delete;

  const ClusterAccess& access() const { return access_; }

  /// One request; returns whatever the server answered. Throws UnreachableError when there is no answer.
  HttpResponse request(const std::string& method, const std::string& path, const std::string& body = "",
                       const std::string& content_type = "", const std::string& accept = "application/json");

  /// request() that throws ServerError on a non-2xx answer and parses the JSON body.
  Json call(const std::string& method, const std::string& path, const Json& body = nullptr,
            const std::string& content_type = "application/json", const std::string& accept = "application/json");
  Json get(const std::string& path, const std::string& accept = "application/json") {
    return call("GET", path, nullptr, "", accept);
  }

  /// GETs `path` and hands the body to `on_data` as it arrives (watches, `logs -f`); `on_data` returns
  /// false to stop. Throws ServerError for a non-2xx answer, UnreachableError for no answer.
  void stream(const std::string& path, const std::string& accept,
              const std::function<bool(std::string_view)>& on_data);

 private:
  std::unique_ptr<httplib::Client> makeClient(bool streaming) const;
  UnreachableError unreachable(const std::string& why) const;

  ClusterAccess access_;
};

/// Percent-encodes a query value.
std::string urlEncode(std::string_view s);

/// Splits a stream of concatenated JSON values (a watch body) into values; keeps the incomplete tail.
class JsonStreamSplitter {
 public:
  /// Appends data and calls `on_value` for every complete top-level value.
  void feed(std::string_view data, const std::function<void(Json)>& on_value);

 private:
  std::string buf_;
  size_t scan_ = 0;
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
};

}  // namespace minikd
