#pragma once
// The websocket of `exec` and `port-forward` (cli_exec.cpp, cli_port_forward.cpp): Beast over TLS.
#include "minikd/client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include <string>

namespace minikd::cli {

using Websocket = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::asio::ip::tcp::socket>>;

/// Connects to the kubeconfig's https server, verifies it with its CA (unless insecure), upgrades `target`
/// to a websocket with subprotocol `protocol` (binary, one frame per message). Throws UnreachableError
/// when there is no answer, ServerError (kubectl's wording) when the server refuses the upgrade.
void connectWebsocket(boost::asio::io_context& ioc, Websocket& ws, const ClusterAccess& access,
                      const std::string& target, const std::string& protocol);

}  // namespace minikd::cli
