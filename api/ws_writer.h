#pragma once
// Serialised binary writes to a Beast websocket from one io_context thread (exec and port-forward).
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>

#include <deque>
#include <functional>
#include <string>
#include <utility>

namespace minikd::api {

/// Serialised binary writes to the websocket; each may carry a completion (for back-pressure).
template <class Websocket>
class WsWriter {
 public:
  WsWriter(Websocket& ws, std::function<void()> on_error) : ws_(ws), on_error_(std::move(on_error)) {}
  void send(std::string message, std::function<void()> done = {}) {
    queue_.push_back({std::move(message), std::move(done)});
    if (!writing_) next();
  }
  bool idle() const { return !writing_ && queue_.empty(); }
  /// Runs `fn` once everything queued so far has been written.
  void whenFlushed(std::function<void()> fn) {
    if (idle()) return fn();
    send_after_ = std::move(fn);
  }

 private:
  void next() {
    if (queue_.empty()) {
      writing_ = false;
      if (send_after_) std::exchange(send_after_, {})();
      return;
    }
    writing_ = true;
    ws_.async_write(boost::asio::buffer(queue_.front().first), [this](boost::beast::error_code ec, std::size_t) {
      if (ec) {
        queue_.clear();
        writing_ = false;
        return on_error_();
      }
      auto done = std::move(queue_.front().second);
      queue_.pop_front();
      if (done) done();
      next();
    });
  }

  Websocket& ws_;
  std::function<void()> on_error_;
  std::deque<std::pair<std::string, std::function<void()>>> queue_;
  std::function<void()> send_after_;
  bool writing_ = false;
};

}  // namespace minikd::api
