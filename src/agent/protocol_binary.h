// The binary form of the agent protocol's bodies (protocol.h): the same fields as the JSON form,
// written with api/codec.h. A task's output travels as raw bytes, not base64.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "agent/protocol.h"
#include "api/codec.h"

namespace gwang::agent {

// A node's devices: the protocol's form, and the controller's records' (controller/record_codec.h).
void encode_devices(api::Encoder& e, const std::vector<Device>& devices);
std::vector<Device> decode_devices(api::Decoder& d);

}  // namespace gwang::agent

namespace gwang::agent::protocol::binary {

bool is_binary(std::string_view body);  // starts with either body's magic
std::string encode(const SyncRequest& r);
std::string encode(const SyncResponse& r);
// The fields as read; what they must hold is checked by protocol.cpp for both forms.
Result<SyncRequest> decode_request(std::string_view body);
Result<SyncResponse> decode_response(std::string_view body);

}  // namespace gwang::agent::protocol::binary
