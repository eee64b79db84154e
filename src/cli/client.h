// The command line's side of the HTTP API: where the controller is, who we are, and the calls.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/urls.h"
#include "core/result.h"
#include "net/tls.h"

namespace gwang::cli {

struct Endpoint {
  std::string url;  // http://host:port or https://host:port
  std::string token;
  std::string ca_file;  // what an https:// controller is verified with ("": the system's store)
};

// The local `gwang up` state directory: $GWANG_DATA, else /var/lib/gwang for root, else
// $XDG_STATE_HOME/gwang, else ~/.local/state/gwang.
std::string default_data_dir();

// Server and token from the flags, then GWANG_URL / GWANG_TOKEN, then the files `gwang up` leaves
// in its data directory; the trust for https:// from $GWANG_CA, then the data directory's ca.pem.
// The error says what is missing and how to give it.
Result<Endpoint> resolve_endpoint(const std::string& url_flag, const std::string& token_flag);

// The TLS context that verifies `endpoint`'s controllers (made once per program and trust).
Result<net::TlsContext> tls_context_for(const Endpoint& endpoint);

struct Response {
  int status = 0;
  std::string body;
  std::string next_offset, job_state;  // for logs
  bool standby = false;                // the controller stands by (503)
  std::string leader;                  // the leader a standby names
};

using api::controller_urls;
using api::host_and_port;

// One request; a connection failure is an Error naming the URL. `endpoint.url` may list several
// controllers, separated by commas: the call goes to the one that leads.
Result<Response> call(const Endpoint& endpoint, const std::string& method, const std::string& path,
                      const std::string& body = "");

}  // namespace gwang::cli
