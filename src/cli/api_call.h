// One call of the HTTP API from a command: its JSON answer, or the error printed.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/commands.h"

namespace gwang::cli {

// Runs a call and returns the parsed JSON body of a 2xx answer; prints the error otherwise and sets
// `*exit_code` (2: a request the server found bad; 1: refused, not found, or unreachable).
// `raw`: the body is returned as text in a JSON string, unparsed (for --json, printed as it came).
// What the error messages of request() start with: "gwang: " unless a command says otherwise
// ("sbatch: error: Batch job submission failed: ").
void set_error_prefix(std::string prefix);

std::optional<nlohmann::json> request(const ClientArgs& args, const std::string& method, const std::string& path,
                                      const std::string& body, int* exit_code, bool raw = false);

// The same call, printing nothing: the answer's status and JSON body, or (status 0) why there is no
// answer. `error` holds the message request() would print. Without `parse`, a success's body is
// left as text (a large answer passed through as it came).
struct ApiAnswer {
  int status = 0;       // 0: no answer
  std::string text;     // the body as it came
  nlohmann::json body;  // parsed (discarded when it is not JSON)
  std::string error;
  bool usage = false;  // no call made: the URL or the token is wrong where it was given
  bool ok() const { return status >= 200 && status < 300 && !body.is_discarded(); }
  // Worth trying again: no answer, or the controller's own trouble (a restart, a standby).
  bool transient() const { return status == 0 || status >= 500; }
};
ApiAnswer call_api(const ClientArgs& args, const std::string& method, const std::string& path, const std::string& body,
                   bool parse = true);

}  // namespace gwang::cli
