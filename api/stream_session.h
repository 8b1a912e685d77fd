#pragma once
// The websocket sessions behind …/pods/{name}/exec and …/pods/{name}/portforward, over any Beast
// stream (plain TCP in tests, TLS in minikd). Each session runs on the connection's own io_context,
// in the connection's thread, until the command ends or the client goes away.
//
// exec: subprotocol v5.channel.k8s.io (or v4): binary messages whose first byte is the channel —
// 0 stdin, 1 stdout, 2 stderr, 3 the final Status, 4 terminal resize ({"Width":w,"Height":h}),
// 255 + channel = that channel was closed by the client (v5; stdin EOF).
// portforward: subprotocol SPDY/3.1+portforward.k8s.io, SPDY/3.1 frames inside binary messages
// (what kubectl ≥ 1.31 sends): a data and an error stream per forwarded connection.
#include "api/pod_exec.h"

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include <memory>
#include <optional>
#include <string>

namespace minikd::api {

enum class StreamKind { Exec, PortForward };

struct StreamTarget {
  StreamKind kind;
  std::string ns;
  std::string pod;
};

/// …/api/v1/namespaces/{ns}/pods/{name}/exec (or attach, served as exec) or /portforward; else nullopt.
std::optional<StreamTarget> streamTarget(const std::string& path);

/// The subprotocol to answer with, from the client's Sec-WebSocket-Protocol offer; "" = none we speak.
std::string chooseSubprotocol(StreamKind kind, const std::string& offered);

/// The Status sent on channel 3 when a command ends (Success, or NonZeroExitCode with the code).
std::string exitStatusJson(int code);

/// A Failure Status for the error channel (the command could not be started).
std::string failureStatusJson(const std::string& message);

using PlainWebsocket = boost::beast::websocket::stream<boost::beast::tcp_stream&>;
using TlsWebsocket = boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>&>;

/// Relays an accepted websocket to a started command until it ends; sends its exit status on channel 3
/// and closes. The client going away kills the command.
template <class Websocket>
void serveExec(Websocket& ws, boost::asio::io_context& ioc, ExecProcess& process);

/// Sends a Failure Status on channel 3 and closes (the command could not be started).
template <class Websocket>
void failExec(Websocket& ws, const std::string& message);

/// Serves SPDY/3.1 port-forward streams over an accepted websocket until the client closes it.
template <class Websocket>
void servePortForward(Websocket& ws, boost::asio::io_context& ioc, PodExec& exec, const std::string& ns,
                      const std::string& pod);

}  // namespace minikd::api
