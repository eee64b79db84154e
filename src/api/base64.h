// Base64 (RFC 4648, with padding): bytes in JSON, which carries text only.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace gwang::api {

std::string base64(std::string_view bytes);
// Errors: a length not a multiple of 4, a character outside the alphabet, padding inside.
Result<std::string> unbase64(std::string_view text);

}  // namespace gwang::api
