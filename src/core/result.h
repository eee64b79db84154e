// Errors as values at the boundaries of gwang's parts.
//
// Bad input from outside (trace files, CLI arguments, API requests, config) becomes an Error that
// says what is wrong and where. A broken invariant inside the program is an assertion, not an Error.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace gwang {

struct Error {
  std::string message;  // complete, human-readable: "file.swf:12: field 4 (run time): not a number"
};

template <class T>
using Result = tl::expected<T, Error>;

// Builds the unexpected value of a Result: `return fail("...")`.
inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace gwang
