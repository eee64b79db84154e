// The messages of a session's link (agent/service_link.h): one WebSocket between the agent that
// runs a session's service and the controller's proxy (controller/services.h), carrying many
// streams at once, each an HTTP exchange or a WebSocket relayed to the service. Each message is
// one binary WebSocket message: its type, its stream, its fields, its body.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace gwang::api {

struct ServiceFrame {
  enum class Type : std::uint8_t {
    Ready = 1,     // agent: the service answers on its port (sent once a link is made and it does)
    Request,       // proxy: an HTTP request for the service (method, target, headers, body)
    Response,      // agent: its answer (status, headers, body)
    Failed,        // agent: the stream could not be served (message says why); the stream is over
    SocketOpen,    // proxy: a WebSocket to open on the service (target, headers)
    SocketOpened,  // agent: the service took it (protocol: the subprotocol it chose)
    Message,       // either: a message of the stream's WebSocket (text or binary)
    SocketClose,   // either: the stream's WebSocket closed; the stream is over
  };
  Type type = Type::Ready;
  std::uint64_t stream = 0;
  std::string method, target;
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string protocol;
  bool text = false;
  std::string message;
  std::string body;
};

std::string encode(const ServiceFrame& f);
// Errors say which byte is wrong.
Result<ServiceFrame> decode_service_frame(std::string_view data);

}  // namespace gwang::api
