// A session link's messages (api/service_frame.h): a type byte, then each field as a varint or as
// length-prefixed bytes (api/codec.h's), headers as a count of pairs.

#include "api/service_frame.h"

#include "api/codec.h"

namespace gwang::api {

namespace {
constexpr std::string_view kMagic = "\x01gwang-link-1\n";
}

std::string encode(const ServiceFrame& f) {
  Encoder e;
  e.u(static_cast<std::uint64_t>(f.type));
  e.u(f.stream);
  e.bytes(f.method);
  e.bytes(f.target);
  e.i(f.status);
  e.u(f.headers.size());
  for (const auto& [name, value] : f.headers) {
    e.bytes(name);
    e.bytes(value);
  }
  e.bytes(f.protocol);
  e.u(f.text);
  e.bytes(f.message);
  e.bytes(f.body);
  return e.finish(kMagic);
}

Result<ServiceFrame> decode_service_frame(std::string_view data) {
  Decoder d(data, kMagic);
  ServiceFrame f;
  const auto type = d.u(static_cast<std::uint64_t>(ServiceFrame::Type::SocketClose));
  if (d.ok() && type == 0) d.fail("no message type 0");
  f.type = static_cast<ServiceFrame::Type>(type);
  f.stream = d.u();
  f.method = d.bytes();
  f.target = d.bytes();
  f.status = static_cast<int>(d.i());
  for (std::size_t n = d.count(); n > 0 && d.ok(); --n) {
    std::string name(d.bytes());
    f.headers.emplace_back(std::move(name), std::string(d.bytes()));
  }
  f.protocol = d.bytes();
  f.text = d.u(1) != 0;
  f.message = d.bytes();
  f.body = d.bytes();
  if (d.ok() && !d.at_end()) d.fail("more after the message's end");
  if (!d.ok()) return fail("a session link's message: " + d.error());
  return f;
}

}  // namespace gwang::api
