#pragma once
// The HTTP request and response the API handlers see, independent of the server library: the API
// server (Boost.Beast, api/http_server.cpp) and the dashboard (cpp-httplib) both translate to these.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace minikd::api {

struct CaseLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpRequest {
  std::string method;
  std::string path;  // decoded, without the query
  std::string body;
  std::string remote_addr;
  std::multimap<std::string, std::string, CaseLess> headers;
  std::multimap<std::string, std::string> params;  // in the order of the query string

  std::string header(const std::string& name) const;
  bool hasParam(const std::string& name) const { return params.count(name) > 0; }
  std::string param(const std::string& name) const;  // the first value, or ""
  std::vector<std::string> paramValues(const std::string& name) const;
};

/// Where a streamed (chunked) response body goes.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  /// Sends one chunk (must not be empty); false once the client is gone.
  virtual bool write(std::string_view chunk) = 0;
  /// False once the client has gone away or the server is stopping.
  virtual bool open() = 0;
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  /// When set, the body is streamed (chunked) by calling this after the headers went out.
  std::function<void(StreamSink&)> stream;

  void setContent(std::string b, std::string type) {
    body = std::move(b);
    content_type = std::move(type);
  }
  void setHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

/// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space, as Go's url.Values writes it).
std::multimap<std::string, std::string> parseQuery(std::string_view query);
/// Percent-decoding; `plus_is_space` for query strings.
std::string urlDecode(std::string_view s, bool plus_is_space);

}  // namespace minikd::api
