// What `gwang up` and `gwang controller` share: the operator's token, the HTTP server and the
// control loop, and stopping on SIGINT or SIGTERM.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <string>

#include "controller/auth.h"
#include "controller/controller.h"
#include "net/tls.h"

namespace gwang::cli {

// Blocks SIGINT and SIGTERM in the calling thread and the threads it starts later, and ignores
// SIGPIPE; call it before starting any thread. Then stop_on_signal(set, stop) calls `stop`, on a
// thread of its own, when one of them arrives.
sigset_t block_stop_signals();
void stop_on_signal(sigset_t signals, std::function<void()> stop);

// Writes a file only its owner can read, whole or not at all.
bool write_private(const std::string& path, const std::string& text);

// "HOST:PORT" (port 0: any free one). Error: the form is wrong.
Result<std::pair<std::string, int>> parse_listen(const std::string& listen);

// The token in data/token if it stands for `account`; else a new operator token for it, written there.
Result<std::string> operator_token(controller::TokenStore& tokens, const std::string& data, const std::string& account);

// Serves the API on host:port (over TLS with `tls` where given) and runs the control loop until
// SIGINT or SIGTERM; writes the URL to data/url and calls `up(url)` once serving. Returns the
// process's exit code. `period` is the control loop's: how soon an ended task or a freed node is
// noticed. `web` is the dashboard's directory ("": none; see find_web_dir).
int serve(controller::Controller& ctl, controller::TokenStore& tokens, const std::string& secret,
          const std::string& host, int port, const std::string& data, std::chrono::milliseconds period,
          const std::string& web, const std::shared_ptr<net::ServerCredentials>& tls,
          const std::function<void(const std::string&)>& up);

// `gwang up --tls`'s key and self-signed certificate, in `data` (tls-key.pem, only its owner's;
// ca.pem, the certificate, which clients trust): those already there if they name `names` and
// are valid for 30 days more, else new ones for `names` (valid for a year).
Result<std::shared_ptr<net::ServerCredentials>> local_credentials(const std::string& data,
                                                                  const std::vector<std::string>& names);

// The dashboard's built files: `configured` if given; else `web/` beside this program (a build
// tree), then ../share/gwang/web beside it and /usr/share/gwang/web (installed); "" if none holds
// an index.html.
std::string find_web_dir(const std::string& configured);

}  // namespace gwang::cli
