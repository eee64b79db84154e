// The HTTP API (/api/v1/...): thin handlers that authenticate, convert the wire format, call the
// controller and map its errors. docs/api/openapi.yaml describes every route.
#pragma once

#include <memory>
#include <string>

#include "controller/auth.h"
#include "controller/controller.h"

namespace gwang::net {
class ServerCredentials;
}

namespace gwang::controller {

class ApiServer {
 public:
  // `cluster_secret` signs the agent protocol; empty: this controller takes no remote agents.
  ApiServer(Controller& controller, TokenStore& tokens, std::string cluster_secret = "");
  ~ApiServer();
  // Binds `host:port` (port 0: any free one); returns the port bound.
  Result<int> bind(const std::string& host, int port);
  // Every connection speaks TLS with `credentials` (before serve()).
  void use_tls(std::shared_ptr<net::ServerCredentials> credentials);
  // Serves until stop(); blocks.
  void serve();
  void stop();
  // Serves the web dashboard's built files from `dir` at / (before serve()); where `dir` is empty
  // or holds no index.html, / answers a page saying so.
  void serve_dashboard(const std::string& dir);
  // Every route served, as "METHOD /path" with {id} and {name} placeholders as the API document
  // (docs/api/openapi.yaml) writes them.
  const std::vector<std::string>& routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gwang::controller
