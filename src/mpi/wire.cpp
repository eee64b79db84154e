#include "mpi/wire.h"

#include <charconv>

namespace gwang::mpi {

std::string encode(const WireMessage& m) {
  std::string out =
      m.verb + " " + std::to_string(m.a) + " " + std::to_string(m.b) + " " + std::to_string(m.data.size()) + "\n";
  out += m.data;
  return out;
}

Result<std::optional<WireMessage>> WireReader::next() {
  const std::size_t nl = buffer_.find('\n');
  if (nl == std::string::npos) {
    if (buffer_.size() > 256) return fail("a PMIx message header longer than 256 bytes");
    return std::optional<WireMessage>{};
  }
  const std::string_view head(buffer_.data(), nl);
  WireMessage m;
  const std::size_t space = head.find(' ');
  if (space == 0 || space == std::string_view::npos)
    return fail("malformed PMIx message header '" + std::string(head) + "'");
  m.verb = std::string(head.substr(0, space));
  const char* at = head.data() + space + 1;
  const char* end = head.data() + head.size();
  std::int64_t fields[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    auto [next, ec] = std::from_chars(at, end, fields[k]);
    if (ec != std::errc() || (k < 2 ? next == end || *next != ' ' : next != end)) {
      return fail("malformed PMIx message header '" + std::string(head) + "'");
    }
    at = next + (k < 2 ? 1 : 0);
  }
  if (fields[2] < 0 || static_cast<std::uint64_t>(fields[2]) > kMaxWireData) {
    return fail("a PMIx message of " + std::to_string(fields[2]) + " bytes");
  }
  const auto length = static_cast<std::size_t>(fields[2]);
  if (buffer_.size() - nl - 1 < length) return std::optional<WireMessage>{};
  m.a = fields[0];
  m.b = fields[1];
  m.data = buffer_.substr(nl + 1, length);
  buffer_.erase(0, nl + 1 + length);
  return std::optional<WireMessage>(std::move(m));
}

}  // namespace gwang::mpi
