// The websocket connection of `exec` and `port-forward`: TLS with the kubeconfig's CA, bearer token,
// the upgrade; a refusal becomes the error kubectl would print.
#include "minikd/cli_websocket.h"

#include "minikd/cli_args.h"

#include <boost/beast/http.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace minikd::cli {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

namespace {

struct Endpoint {
  std::string host, port;
};

Endpoint parseServer(const std::string& server) {
  std::string rest = server;
  if (rest.rfind("https://", 0) == 0) rest = rest.substr(8);
  else
    throw UsageError("error: exec and port-forward need an https:// server in the kubeconfig, not " + server);
  if (size_t slash = rest.find('/'); slash != std::string::npos) rest = rest.substr(0, slash);
  size_t colon = rest.rfind(':');
  if (colon == std::string::npos || rest.back() == ']') return {rest, "443"};
  std::string host = rest.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  return {host, rest.substr(colon + 1)};
}

}  // namespace

void connectWebsocket(net::io_context& ioc, Websocket& ws, const ClusterAccess& access, const std::string& target,
                      const std::string& protocol) {
  Endpoint ep = parseServer(access.server);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(ep.host, ep.port, ec);
  if (!ec) net::connect(beast::get_lowest_layer(ws), results, ec);
  if (ec)
    throw UnreachableError("The connection to the server " + ep.host + ":" + ep.port +
                           " was refused - is minikd running? (sudo minikd up)");
  if (!access.insecure) {
    ws.next_layer().set_verify_mode(ssl::verify_peer);
    ws.next_layer().set_verify_callback(ssl::host_name_verification(ep.host));
  }
  SSL_set_tlsext_host_name(ws.next_layer().native_handle(), ep.host.c_str());
  ws.next_layer().handshake(ssl::stream_base::client, ec);
  if (ec) throw UnreachableError("TLS handshake with " + access.server + " failed: " + ec.message());
  ws.set_option(websocket::stream_base::decorator([&access, protocol](websocket::request_type& req) {
    req.set(beast::http::field::sec_websocket_protocol, protocol);
    if (!access.token.empty()) req.set(beast::http::field::authorization, "Bearer " + access.token);
  }));
  // The asynchronous handshake: Boost 1.74's synchronous one leaves `res` empty when declined.
  websocket::response_type res;
  ws.async_handshake(res, ep.host, target, [&ec](beast::error_code e) { ec = e; });
  ioc.run();
  ioc.restart();
  if (ec) {
    if (res.result_int() != 0 && res.result_int() != 101) throw makeServerError(res.result_int(), res.body());
    throw UnreachableError("websocket upgrade with " + access.server + " failed: " + ec.message());
  }
  ws.binary(true);
  ws.auto_fragment(false);
}

}  // namespace minikd::cli
